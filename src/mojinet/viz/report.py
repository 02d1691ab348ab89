"""The whole set of figures for a trained model, with an index of captions (``mojinet figures``).

Every figure is computed from the model and a dataset at the time it is drawn: the captions
quote the numbers the figures show (accuracy, overlaps, how many descent paths end where).
Writes ``index.md`` and ``index.html`` beside the figures; each figure in every requested format.

Non-goals: a layout engine for a whole document; the index is a starting point to copy from.
"""

from __future__ import annotations

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


POSITIVE, NEGATIVE = palette.NAMES["positive"], palette.NAMES["negative"]
_COUNTS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _neurons(n: int) -> str:
    return f"{n:,} neuron{'' if n == 1 else 's'}"


def _join(words: list[str]) -> str:
    """``a``; ``a and b``; ``a, b and c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def describe_layers(sizes) -> str:
    """The layers in words: ``784 input neurons, two hidden layers of 16 neurons each and 10
    output neurons`` (``one hidden layer of 30 neurons``; ``hidden layers of 100, 50 and 20
    neurons``; ``no hidden layer``)."""
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
    return _join([f"{_neurons(sizes[0]).replace('neuron', 'input neuron')}", middle,
                  _neurons(sizes[-1]).replace("neuron", "output neuron")])


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


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
    if only is not None:
        unknown = set(only) - set(FIGURES)
        if unknown:
            raise ValueError(f"unknown figure name(s) {', '.join(sorted(unknown))}; choose from "
                             f"{', '.join(FIGURES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fonts.warn_if_missing(model.classes)
    net = model.network
    if data.n_features != net.sizes[0] or data.n_classes != len(model.classes):
        raise ValueError(f"the model expects {net.sizes[0]} inputs and {len(model.classes)} "
                         f"classes, but {data.name} has {data.n_features} and {data.n_classes}")
    shape = data.image_shape
    entries: list[FigureEntry] = []

    def wanted(stem: str) -> bool:
        return only is None or stem in only or any(stem.startswith(o + "-") for o in only)

    def add(stem: str, title: str, caption: str, fig) -> None:
        log(f"  {stem}")
        entries.append(FigureEntry(stem, title, caption, save_figure(fig, out_dir, stem, formats)))

    if wanted("activation-functions"):
        add("activation-functions", "Activation functions and their derivatives",
            "Top: the activation σ(z) of a neuron as a function of its weighted input z; bottom: "
            "its derivative σ′(z). Backpropagation multiplies every gradient by σ′(z), so with the "
            "step function of the perceptron (left) a small change to a weight changes no output "
            "and the gradient is 0: there is nothing for gradient descent to follow. Sigmoid, tanh "
            "and ReLU change smoothly, so small nudges to the weights give small, measurable "
            "changes in the cost. Curves computed with mojinet's own activation functions.",
            activations_figure())

    if wanted("network"):
        add("network", "The network",
            f"The trained {'–'.join(map(str, net.sizes))} network ({describe_layers(net.sizes)}): "
            f"{net.n_weights:,} weights and {net.n_biases:,} biases, {net.n_params:,} parameters "
            f"in all. Each line is one weight, {POSITIVE} for positive and {NEGATIVE} for "
            f"negative, "
            f"stronger colour for larger magnitude (scaled per layer). Only some neurons of large "
            f"layers are drawn.", network_diagram(net, model.classes))

    if wanted("gradient-descent"):
        fig, facts = descent_figure()
        add("gradient-descent", "Gradient descent with a local minimum",
            f"Gradient descent v ← v − η∇C (η = {facts['eta']}, {facts['steps']} steps) on a cost "
            f"surface of two weights with a global minimum (C = {facts['global_cost']:.2f} at "
            f"{tuple(facts['global_min'])}) and a local one (C = {facts['local_cost']:.2f} at "
            f"{tuple(facts['local_min'])}). Of {facts['n_starts']} starting points (dots), "
            f"{facts['n_global']} roll into the global minimum (blue) and {facts['n_local']} get "
            f"stuck in the local valley (vermilion): each step only sees the slope where it "
            f"stands. "
            f"The paths are computed by running the descent on the surface.", fig)

    history = model.training.get("history") or []
    if history and wanted("training"):
        config = model.training.get("config", {})
        detail = ", ".join(f"{key} {config[key]}" for key in ("batch_size", "eta", "schedule")
                           if key in config)
        evald = model.training.get("config", {}).get("eval", "evaluation")
        add("training", "Cost and accuracy per epoch",
            f"Training history stored in the model file ({len(history)} epochs"
            f"{', ' + detail if detail else ''}). Left: the mean cost over each epoch's "
            f"mini-batches and the cost on the {evald} set after the epoch; right: the "
            f"accuracy on the {evald} set after each epoch.",
            history_figure(history, eval_name=evald))
    elif wanted("training"):
        log("  (no training history in the model: skipping the training figure)")

    if wanted("first-layer-weights") and net.sizes[0] == shape[0] * shape[1]:
        first = ins.incoming_weight_images(net, shape)[:max_neurons]  # (≤ max_neurons, h, w)
        name = "hidden" if net.n_layers > 1 else "output"
        labels = ([f"neuron {j}" for j in range(len(first))] if net.n_layers > 1
                  else [f"“{c}”" for c in model.classes])
        add("first-layer-weights", f"What each first-layer {name} neuron looks for",
            f"The {net.sizes[0]} incoming weights of each of the "
            f"{'' if len(first) == net.sizes[1] else f'first {len(first)} of the '}"
            f"{net.sizes[1]} first-layer {name} neurons, drawn as a {shape[0]}×{shape[1]} "
            f"image: {POSITIVE} pixels excite the neuron when they hold ink, {NEGATIVE} pixels "
            f"inhibit it, white ones do not matter (the border, where the images have no ink, "
            f"keeps weights near 0). One colour scale for all panels.",
            image_grid_figure(first, labels, diverging=True, colorbar_label="weight"))

    norm = float(np.median(np.linalg.norm(data.X, axis=1)))
    for layer_l in range(2, net.n_layers + 1) if wanted("preferred-inputs") else ():
        shown = range(min(net.sizes[layer_l], max_neurons))
        X_best, z_best = ins.preferred_inputs(net, layer_l, norm=norm, neurons=shown)
        lname = ins.layer_name(net, layer_l)
        labels = ([f"neuron {j}" for j in range(len(X_best))] if layer_l < net.n_layers
                  else [f"“{c}”" for c in model.classes])
        add(f"preferred-inputs-{lname.replace(' ', '')}",
            f"The input that most excites each {lname} neuron",
            f"For each {lname} neuron"
            f"{'' if len(X_best) == net.sizes[layer_l] else f' (the first {len(X_best)})'}, "
            f"the input image (pixels in [0, 1], Euclidean norm at most "
            f"{norm:.1f}, the median norm of the {data.name} images) that maximises its weighted "
            f"input z, found by projected gradient ascent on the pixels through the trained "
            f"network (z reached: {z_best.min():.1f} to {z_best.max():.1f}). Black = ink. These "
            f"are local optima (each ascent starts from faint random noise): hints of which "
            f"strokes a neuron responds to, not the one shape it detects.",
            image_grid_figure(X_best.reshape(-1, *shape), labels, diverging=False))

    P = _predict_all(model, data.X)
    pred = np.argmax(P, axis=1)
    cm = ins.confusion_matrix(data.y, pred, data.n_classes)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    if wanted("confusion-matrix"):
        add("confusion-matrix", "Confusion matrix",
            f"Rows: the true class of each of the {len(data):,} {data.name} images; columns: the "
            f"network's answer. The diagonal holds the {np.trace(cm):,} correct answers "
            f"({_pct(np.trace(cm) / len(data))}); the most frequent confusion is "
            f"{model.classes[i]} read as {model.classes[j]} ({off[i, j]} times).",
            confusion_figure(cm, model.classes))

    wrong = ins.confident_mistakes(P, data.y, n_mistakes)
    if len(wrong) and wanted("confident-mistakes"):
        add("confident-mistakes", "The most confidently wrong test images",
            f"The {len(wrong)} misclassified {data.name} images to which the network gives its "
            f"wrong answer the highest confidence (its share of the output activation, from "
            f"{_pct(P[wrong[-1], pred[wrong[-1]]])} to {_pct(P[wrong[0], pred[wrong[0]]])}). "
            f"Above each: true label → the network's answer, and that answer's confidence.",
            mistakes_figure(data.images()[wrong], [model.classes[c] for c in data.y[wrong]],
                            [model.classes[c] for c in pred[wrong]], P[wrong, pred[wrong]]))

    result = None
    if net.n_layers >= 2 and wanted("within-class"):
        result = within_class_analysis(model, data, layer, k, class_index,
                                       standardised=standardised)
        s = result.summary
        c = model.classes[result.class_index]
        o = result.other
        chosen = ("chosen with --class" if class_index is not None else
                  "the class whose examples share the fewest top neurons")
        lname = ins.layer_name(net, layer)
        ranking = ("most active relative to their usual level (activation z-scored per neuron "
                   f"over the {data.name} images)" if standardised else "most active")
        alternative = ("raw activations" if standardised else
                       "activations z-scored per neuron (--standardise)")
        add("within-class", "Different neurons fire for different variations of a character",
            f"Top left: {len(result.examples)} different-looking “{c}”s ({chosen}; picked by "
            f"farthest-point sampling among correctly classified {data.name} images) and the "
            f"activation of each {lname} neuron; the {s.k} {ranking} neurons of each example "
            f"are outlined (black and white). Different variations of the same character light "
            f"up partly different neurons. Top right: the mean Jaccard overlap |A∩B|/|A∪B| of "
            f"the top-{s.k} sets A, B of two examples, for every pair of classes. Bottom: the "
            f"same per class. "
            f"Over all {len(data):,} {data.name} images the mean overlap is {s.within:.2f} for "
            f"two examples of the same class, {s.between:.2f} for two examples of different "
            f"classes and {s.chance:.2f} for two random sets of {s.k} of the {s.n_neurons} "
            f"neurons (ranking {alternative} instead: {o.within:.2f} and {o.between:.2f}).",
            within_class_figure(data.images()[result.examples], result.activations, s.k, c, s,
                                model.classes, lname, scores=result.scores,
                                ranked_by="z-score" if standardised else ""))
    write_index(entries, out_dir, formats, model, data)
    return entries, result


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
