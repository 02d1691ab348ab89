"""The whole set of figures for a trained model, with an index of captions (``mojinet figures``).

Every figure is computed from the model and a dataset at the time it is drawn: the captions
quote the numbers the figures show (accuracy, overlaps, how many descent paths end where).
Writes ``index.md`` and ``index.html`` beside the figures; each figure in every requested format.

Non-goals: a layout engine for a whole document; the index is a starting point to copy from.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import inspect as ins
from .._files import atomic_write_bytes
from ..data.dataset import Dataset
from ..io import Model
from . import fonts, palette
from .activations import activations_figure
from .descent import descent_figure
from .errors import confusion_figure, mistakes_figure
from .network import history_figure, network_diagram
from .neurons import image_grid_figure, within_class_figure
from .style import FORMATS, save_figure

FIGURES = ("activation-functions", "network", "gradient-descent", "training",
           "first-layer-weights", "preferred-inputs", "confusion-matrix", "confident-mistakes",
           "within-class")


@dataclass
class FigureEntry:
    stem: str
    title: str
    caption: str
    paths: list[Path] = field(default_factory=list)


@dataclass
class WithinClassResult:
    """The numbers behind the within-class figure (also printed by ``mojinet figures``)."""

    layer: int
    k: int
    class_index: int
    summary: ins.OverlapSummary
    examples: np.ndarray  # dataset indices of the examples shown
    standardised: bool  # whether "most active" ranked z-scores instead of raw activations
    other: ins.OverlapSummary  # the summary with the other ranking, for comparison
    activations: np.ndarray  # (n_examples, n) the examples' activations in that layer
    scores: np.ndarray  # (n_examples, n) what was ranked: activations or their z-scores


def _predict_all(model: Model, X: np.ndarray) -> np.ndarray:
    return np.concatenate([model.probabilities(X[i:i + 10_000]) for i in range(0, len(X), 10_000)])


def within_class_analysis(model: Model, data: Dataset, layer: int = 1, k: int | None = None,
                          class_index: int | None = None, n_examples: int = 6,
                          standardised: bool = False) -> WithinClassResult:
    """Top-k overlap within vs between classes for hidden layer ``layer`` on ``data``.

    "Most active" ranks raw activations, or with ``standardised`` each neuron's z-score over
    ``data`` (``other`` holds the summary for the other choice). Default k: a quarter of the
    layer's neurons. Default class: the one whose examples share the fewest top-k neurons (the
    most varied); the examples are different-looking (farthest-point sampling in pixel space)
    among those the network classifies correctly.
    """
    net = model.network
    if not 1 <= layer <= net.n_layers - 1:
        raise ValueError(f"layer must name a hidden layer, 1..{net.n_layers - 1}; the network "
                         f"{net.sizes} has {net.n_layers - 1} hidden layers")
    n = net.sizes[layer]
    k = max(1, n // 4) if k is None else k
    H = np.concatenate([net.forward(data.X[i:i + 10_000])[1][layer]
                        for i in range(0, len(data), 10_000)])  # (batch, n)
    Hs = ins.standardise(H)
    summary = ins.overlap_summary(Hs if standardised else H, data.y, data.n_classes, k)
    other = ins.overlap_summary(H if standardised else Hs, data.y, data.n_classes, k)
    if class_index is None:
        class_index = int(np.nanargmin(summary.per_class_within))
    pred = np.argmax(_predict_all(model, data.X), axis=1)
    pool = np.flatnonzero((data.y == class_index) & (pred == class_index))
    if len(pool) == 0:
        pool = np.flatnonzero(data.y == class_index)
    examples = pool[ins.diverse_examples(data.X[pool], n_examples)]
    scores = (Hs if standardised else H)[examples]
    return WithinClassResult(layer, k, class_index, summary, examples, standardised, other,
                             H[examples], scores)


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


_COUNTS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _neurons(n: int, kind: str = "") -> str:
    return f"{n:,} {kind}{' ' if kind else ''}neuron{'' if n == 1 else 's'}"


def _join(words: list[str]) -> str:
    """``a``; ``a and b``; ``a, b and c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def describe_layers(sizes) -> str:
    """The layers in words: ``784 input neurons, two hidden layers of 16 neurons each and 10
    output neurons`` (``one hidden layer of 30 neurons``; ``three hidden layers of 100, 50 and
    20 neurons``; ``no hidden layer``)."""
    hidden = list(sizes[1:-1])
    count = _COUNTS[len(hidden)] if len(hidden) < len(_COUNTS) else f"{len(hidden)}"
    if not hidden:
        middle = "no hidden layer"
    elif len(hidden) == 1:
        middle = f"one hidden layer of {_neurons(hidden[0])}"
    elif len(set(hidden)) == 1:
        middle = f"{count} hidden layers of {_neurons(hidden[0])} each"
    else:
        middle = f"{count} hidden layers of {_join([f'{n:,}' for n in hidden])} neurons"
    return _join([_neurons(sizes[0], "input"), middle, _neurons(sizes[-1], "output")])


#: The sign colours' names for the captions (``palette``: the figures' and the page's convention).
SIGNS = {"positive": palette.NAMES["positive"], "negative": palette.NAMES["negative"]}

# Title and caption of every figure: text with the numbers the figure shows filled in
# (``str.format`` fields, computed by the figure's function below).
CAPTIONS = {
    "activation-functions": (
        "Activation functions and their derivatives",
        "Top: the activation σ(z) of a neuron as a function of its weighted input z; bottom: "
        "its derivative σ′(z). Backpropagation multiplies every gradient by σ′(z), so with the "
        "step function of the perceptron (left) a small change to a weight changes no output "
        "and the gradient is 0: there is nothing for gradient descent to follow. Sigmoid, tanh "
        "and ReLU change smoothly, so small nudges to the weights give small, measurable "
        "changes in the cost. Curves computed with mojinet's own activation functions."),
    "network": (
        "The network",
        "The trained {shape} network ({layers}): {n_weights:,} weights and {n_biases:,} biases, "
        "{n_params:,} parameters in all. Each line is one weight, {positive} for positive and "
        "{negative} for negative, stronger colour for larger magnitude (scaled per layer). Only "
        "some neurons of large layers are drawn."),
    "gradient-descent": (
        "Gradient descent with a local minimum",
        "Gradient descent v ← v − η∇C (η = {eta}, {steps} steps) on a cost surface of two "
        "weights with a global minimum (C = {global_cost:.2f} at {global_min}) and a local one "
        "(C = {local_cost:.2f} at {local_min}). Of {n_starts} starting points (dots), "
        "{n_global} roll into the global minimum (blue) and {n_local} get stuck in the local "
        "valley (vermilion): each step only sees the slope where it stands. The paths are computed "
        "by running the descent on the surface."),
    "training": (
        "Cost and accuracy per epoch",
        "Training history stored in the model file ({epochs} epochs{detail}). Left: the mean "
        "cost over each epoch's mini-batches and the cost on the {eval} set after the epoch; "
        "right: the accuracy on the {eval} set after each epoch."),
    "first-layer-weights": (
        "What each first-layer {name} neuron looks for",
        "The {n_in} incoming weights of each of the {which}{n_first} first-layer {name} "
        "neurons, drawn as a {h}×{w} image: {positive} pixels excite the neuron when they hold "
        "ink, {negative} pixels inhibit it, white ones do not matter (the border, where the "
        "images have no ink, keeps weights near 0). One colour scale for all panels."),
    "preferred-inputs": (
        "The input that most excites each {layer} neuron",
        "For each {layer} neuron{which}, the input image (pixels in [0, 1], Euclidean norm at "
        "most {norm:.1f}, the median norm of the {data} images) that maximises its weighted "
        "input z, found by projected gradient ascent on the pixels through the trained network "
        "(z reached: {z_min:.1f} to {z_max:.1f}). Black = ink. These are local optima (each "
        "ascent starts from faint random noise): hints of which strokes a neuron responds to, "
        "not the one shape it detects."),
    "confusion-matrix": (
        "Confusion matrix",
        "Rows: the true class of each of the {n:,} {data} images; columns: the network's "
        "answer. The diagonal holds the {right:,} correct answers ({accuracy}); the most "
        "frequent confusion is {true} read as {read} ({times} times)."),
    "confident-mistakes": (
        "The most confidently wrong test images",
        "The {n} misclassified {data} images to which the network gives its wrong answer the "
        "highest confidence (its share of the output activation, from {low} to {high}). Above "
        "each: true label → the network's answer, and that answer's confidence."),
    "within-class": (
        "Different neurons fire for different variations of a character",
        "Top left: {n_examples} different-looking “{c}”s ({chosen}; picked by farthest-point "
        "sampling among correctly classified {data} images) and the activation of each {layer} "
        "neuron; the {k} {ranking} neurons of each example are outlined (black and white). "
        "Different variations "
        "of the same character light up partly different neurons. Top right: the mean Jaccard "
        "overlap |A∩B|/|A∪B| of the top-{k} sets A, B of two examples, for every pair of "
        "classes. Bottom: the same per class. Over all {n:,} {data} images the mean overlap is "
        "{within:.2f} for two examples of the same class, {between:.2f} for two examples of "
        "different classes and {chance:.2f} for two random sets of {k} of the {n_neurons} "
        "neurons (ranking {alternative} instead: {other_within:.2f} and {other_between:.2f})."),
}


@dataclass
class _Figures:
    """What the figure functions read: the model, the test images, the options, the answers."""

    model: Model
    data: Dataset
    max_neurons: int
    n_mistakes: int
    layer: int
    k: int | None
    class_index: int | None
    standardised: bool
    log: object
    within: WithinClassResult | None = None

    @property
    def net(self):
        return self.model.network

    @functools.cached_property
    def P(self) -> np.ndarray:  # (n, n_classes) class probabilities of the test images
        return _predict_all(self.model, self.data.X)

    # each returns [(stem, title fields, caption fields, figure), …] (empty: nothing to draw)
    def activation_functions(self):
        return [("activation-functions", {}, {}, activations_figure())]

    def network(self):
        net = self.net
        facts = dict(shape="–".join(map(str, net.sizes)), layers=describe_layers(net.sizes),
                     n_weights=net.n_weights, n_biases=net.n_biases, n_params=net.n_params,
                     **SIGNS)
        return [("network", {}, facts, network_diagram(net, self.model.classes))]

    def gradient_descent(self):
        fig, facts = descent_figure()
        facts = {**facts, "global_min": tuple(facts["global_min"]),
                 "local_min": tuple(facts["local_min"])}
        return [("gradient-descent", {}, facts, fig)]

    def training(self):
        training = self.model.training
        history = training.get("history") or []
        if not history:
            self.log("  (no training history in the model: skipping the training figure)")
            return []
        config = training.get("config", {})
        detail = ", ".join(f"{key} {config[key]}" for key in ("batch_size", "eta", "schedule")
                           if key in config)
        evald = training.get("eval") or config.get("eval") or "evaluation"
        facts = dict(epochs=len(history), detail=f", {detail}" if detail else "", eval=evald)
        return [("training", {}, facts, history_figure(history, eval_name=evald))]

    def first_layer_weights(self):
        net, (h, w) = self.net, self.data.image_shape
        if net.sizes[0] != h * w:
            return []
        first = ins.incoming_weight_images(net, (h, w))[: self.max_neurons]  # (≤ max, h, w)
        name = "hidden" if net.n_layers > 1 else "output"
        labels = ([f"neuron {j}" for j in range(len(first))] if net.n_layers > 1
                  else [f"“{c}”" for c in self.model.classes])
        which = "" if len(first) == net.sizes[1] else f"first {len(first)} of the "
        facts = dict(n_in=net.sizes[0], which=which, n_first=net.sizes[1], name=name, h=h, w=w,
                     **SIGNS)
        fig = image_grid_figure(first, labels, diverging=True, colorbar_label="weight")
        return [("first-layer-weights", {"name": name}, facts, fig)]

    def preferred_inputs(self):
        net, data = self.net, self.data
        norm = float(np.median(np.linalg.norm(data.X, axis=1)))
        drawn = []
        for l in range(2, net.n_layers + 1):
            shown = range(min(net.sizes[l], self.max_neurons))
            X_best, z_best = ins.preferred_inputs(net, l, norm=norm, neurons=shown)
            lname = ins.layer_name(net, l)
            labels = ([f"neuron {j}" for j in range(len(X_best))] if l < net.n_layers
                      else [f"“{c}”" for c in self.model.classes])
            which = "" if len(X_best) == net.sizes[l] else f" (the first {len(X_best)})"
            facts = dict(layer=lname, which=which, norm=norm, data=data.name,
                         z_min=z_best.min(), z_max=z_best.max())
            fig = image_grid_figure(X_best.reshape(-1, *data.image_shape), labels,
                                    diverging=False)
            drawn.append((f"preferred-inputs-{lname.replace(' ', '')}", {"layer": lname}, facts,
                          fig))
        return drawn

    def confusion_matrix(self):
        data, classes = self.data, self.model.classes
        cm = ins.confusion_matrix(data.y, np.argmax(self.P, axis=1), data.n_classes)
        off = cm.copy()
        np.fill_diagonal(off, 0)
        i, j = np.unravel_index(int(np.argmax(off)), off.shape)
        facts = dict(n=len(data), data=data.name, right=int(np.trace(cm)),
                     accuracy=_pct(np.trace(cm) / len(data)), true=classes[i], read=classes[j],
                     times=off[i, j])
        return [("confusion-matrix", {}, facts, confusion_figure(cm, classes))]

    def confident_mistakes(self):
        P, data, classes = self.P, self.data, self.model.classes
        pred = np.argmax(P, axis=1)
        wrong = ins.confident_mistakes(P, data.y, self.n_mistakes)
        if not len(wrong):
            return []
        facts = dict(n=len(wrong), data=data.name, low=_pct(P[wrong[-1], pred[wrong[-1]]]),
                     high=_pct(P[wrong[0], pred[wrong[0]]]))
        fig = mistakes_figure(data.images()[wrong], [classes[c] for c in data.y[wrong]],
                              [classes[c] for c in pred[wrong]], P[wrong, pred[wrong]])
        return [("confident-mistakes", {}, facts, fig)]

    def within_class(self):
        net, data, model = self.net, self.data, self.model
        if net.n_layers < 2:
            return []
        r = self.within = within_class_analysis(model, data, self.layer, self.k,
                                                self.class_index, standardised=self.standardised)
        s, o, c = r.summary, r.other, model.classes[r.class_index]
        lname = ins.layer_name(net, self.layer)
        facts = dict(
            n_examples=len(r.examples), c=c, data=data.name, layer=lname, k=s.k, n=len(data),
            chosen=("chosen with --class" if self.class_index is not None else
                    "the class whose examples share the fewest top neurons"),
            ranking=("most active relative to their usual level (activation z-scored per "
                     f"neuron over the {data.name} images)" if self.standardised
                     else "most active"),
            alternative=("raw activations" if self.standardised else
                         "activations z-scored per neuron (--standardise)"),
            within=s.within, between=s.between, chance=s.chance, n_neurons=s.n_neurons,
            other_within=o.within, other_between=o.between)
        fig = within_class_figure(data.images()[r.examples], r.activations, s.k, c, s,
                                  model.classes, lname, scores=r.scores,
                                  ranked_by="z-score" if self.standardised else "")
        return [("within-class", {}, facts, fig)]


def make_figures(model: Model, data: Dataset, out_dir: str | Path,
                 formats: tuple[str, ...] = FORMATS, *, layer: int = 1, k: int | None = None,
                 class_index: int | None = None, n_mistakes: int = 16,
                 standardised: bool = False, only: set[str] | None = None,
                 max_neurons: int = 64, log=lambda msg: None
                 ) -> tuple[list[FigureEntry], WithinClassResult | None]:
    """Draw every figure for ``model`` (with test images from ``data``) into ``out_dir``.

    ``only``: draw just these figures (names from ``FIGURES``; "preferred-inputs" means all
    of that kind). Neuron grids show at most ``max_neurons`` neurons per layer. Returns the
    entries (stem, title, caption, written paths) and the within-class numbers (None if that
    figure was not drawn or there is no hidden layer).
    """
    unknown = set(only or ()) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown figure name(s) {', '.join(sorted(unknown))}; choose from "
                         f"{', '.join(FIGURES)}")
    net = model.network
    if model.features.name != "pixels":  # its figures draw first-layer weights as images
        raise ValueError(f"the figures draw a network that reads pixels; this model reads "
                         f"{model.features.name} (direction planes beside the pixels). Use "
                         f"mojinet inspect MODEL IMAGE, or radicals, for it")
    if data.n_features != net.sizes[0] or data.n_classes != len(model.classes):
        raise ValueError(f"the model expects {net.sizes[0]} inputs and {len(model.classes)} "
                         f"classes, but {data.name} has {data.n_features} and {data.n_classes}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fonts.warn_if_missing(model.classes)
    figures = _Figures(model, data, max_neurons, n_mistakes, layer, k, class_index,
                       standardised, log)
    entries: list[FigureEntry] = []
    for name in FIGURES:
        if only is not None and name not in only:
            continue
        for stem, title_facts, facts, fig in getattr(figures, name.replace("-", "_"))():
            title, caption = CAPTIONS[name]
            log(f"  {stem}")
            entries.append(FigureEntry(stem, title.format(**title_facts), caption.format(**facts),
                                       save_figure(fig, out_dir, stem, formats)))
    write_index(entries, out_dir, formats, model, data)
    return entries, figures.within


def write_index(entries: list[FigureEntry], out_dir: Path, formats, model: Model,
                data: Dataset) -> None:
    """index.md and index.html: each figure (PNG if written) with its caption and file links."""
    head = (f"Figures for a {'–'.join(map(str, model.network.sizes))} mojinet network, drawn "
            f"with {data.name} images. Formats: {', '.join(formats)}.")
    md = ["# mojinet figures", "", head, ""]
    body = [f"<h1>mojinet figures</h1>\n<p>{html.escape(head)}</p>"]
    for n, e in enumerate(entries, start=1):
        names = [p.name for p in e.paths]
        shown = next((p for p in names if p.endswith(".png")), names[0] if names else "")
        links = " · ".join(f"[{p.rsplit('.', 1)[1].upper()}]({p})" for p in names)
        md += [f"## Figure {n}. {e.title}", ""]
        if shown.endswith((".png", ".svg")):
            md += [f"![{e.title}]({shown})", ""]
        md += [f"**Figure {n}.** {e.caption}", "", f"Files: {links}", ""]
        hlinks = " · ".join(f'<a href="{html.escape(p)}">{p.rsplit(".", 1)[1].upper()}</a>'
                            for p in names)
        img = (f'<img src="{html.escape(shown)}" alt="{html.escape(e.title)}" '
               f'style="max-width:100%">' if shown.endswith((".png", ".svg")) else "")
        body.append(f'<figure id="{e.stem}">{img}<figcaption><b>Figure {n}.</b> '
                    f'{html.escape(e.caption)}<br>{hlinks}</figcaption></figure>')
    atomic_write_bytes(out_dir / "index.md", "\n".join(md).encode("utf-8"))
    page = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>mojinet figures</title><style>body{font-family:sans-serif;max-width:52em;"
            "margin:2em auto;padding:0 1em;line-height:1.45}figure{margin:2.5em 0}"
            "figcaption{font-size:.92em;color:#333}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    atomic_write_bytes(out_dir / "index.html", page.encode("utf-8"))
