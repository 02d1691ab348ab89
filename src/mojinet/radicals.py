"""Do hidden neurons stand for kanji radicals? Measure it with ROC AUC against a shuffled baseline.

For every hidden neuron h and every component c (a KanjiVG ``kvg:element`` such as 日, 木, 亻)
that at least ``min_kanji`` of the model's classes contain, we ask: on held-out synthetic samples,
how well does h's activation separate the samples whose kanji contains c from those whose kanji
does not? The answer is the ROC AUC — the probability that a random "with c" sample activates h
more than a random "without c" sample (ties count ½):

    AUC = (R₊ − n₊(n₊ + 1)/2) / (n₊ n₋)

where R₊ is the sum of the ranks (1-based, ties averaged) of the n₊ positive samples among all
n₊ + n₋ samples (the Mann–Whitney U statistic divided by n₊n₋). AUC = 1: h fires more for every
kanji with c than for any kanji without; 0.5: h ignores c. (AUC < 0.5 means h is *silenced* by c;
we count only AUC high, a neuron that fires for the component.)

A high AUC alone proves little: with hundreds of neurons and a component shared by few kanji,
some neuron may separate them by chance. So we repeat the measurement with the component ↔ kanji
assignment shuffled (each component keeps its number of kanji, but which kanji is permuted) and
report both: a "radical neuron" claim holds only as far as the real count beats the shuffled one.

Non-goals: causal claims (ablation), convolutional features, components drawn in another shape
(KanjiVG names 氵 and 水 differently; we treat them as different components).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data.kanjivg import load_glyph

Array = np.ndarray


# ----------------------------------------------------------------------------- AUC
def rankdata(a: Array) -> Array:
    """Ranks 1 … n along axis 0, ties given their average rank (like scipy.stats.rankdata)."""
    a = np.asarray(a)
    if a.ndim == 1:
        return rankdata(a[:, None])[:, 0]
    n, m = a.shape
    order = np.argsort(a, axis=0, kind="stable")  # (n, m)
    s = np.take_along_axis(a, order, axis=0)  # (n, m) sorted
    ranks = np.empty((n, m), dtype=np.float64)
    for j in range(m):
        col = s[:, j]
        # Start of each run of equal values, and the average rank of the run.
        starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])  # (runs,)
        ends = np.r_[starts[1:], n]  # (runs,)
        avg = (starts + ends + 1) / 2.0  # ranks starts+1 … ends, averaged
        ranks[order[:, j], j] = np.repeat(avg, ends - starts)
    return ranks


def auc(scores: Array, positive: Array) -> float:
    """ROC AUC of ``scores`` (n,) for the boolean labels ``positive`` (n,), by the rank formula."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs at least one positive and one negative sample")
    R_pos = rankdata(np.asarray(scores, dtype=np.float64))[positive].sum()
    return float((R_pos - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_matrix(H: Array, P: Array) -> Array:
    """AUC of every neuron for every label at once.

    H: (n, neurons) activations; P: (n, labels) boolean membership → (labels, neurons) AUCs.
    One ranking per neuron serves all labels: R₊ = Pᵀ · ranks.
    """
    P = np.asarray(P, dtype=np.float64)  # (n, labels)
    ranks = rankdata(np.asarray(H, dtype=np.float64))  # (n, neurons)
    n_pos = P.sum(axis=0)  # (labels,)
    n_neg = len(P) - n_pos  # (labels,)
    if np.any(n_pos == 0) or np.any(n_neg == 0):
        raise ValueError("every label needs at least one positive and one negative sample")
    R_pos = P.T @ ranks  # (labels, neurons)
    return (R_pos - (n_pos * (n_pos + 1) / 2)[:, None]) / (n_pos * n_neg)[:, None]


# ----------------------------------------------------------------------------- components
def component_table(classes, min_kanji: int = 5) -> tuple[list[str], Array]:
    """(components, M): the components that at least ``min_kanji`` of ``classes`` contain, and
    M (n_classes, n_components) bool, M[k, j] = class k contains component j."""
    per_class = [set(load_glyph(c).components) for c in classes]
    counts: dict[str, int] = {}
    for comps in per_class:
        for c in comps:
            counts[c] = counts.get(c, 0) + 1
    chosen = sorted((c for c, n in counts.items() if n >= min_kanji),
                    key=lambda c: (-counts[c], c))
    M = np.array([[c in comps for c in chosen] for comps in per_class], dtype=bool)
    return chosen, M.reshape(len(classes), len(chosen))


# ----------------------------------------------------------------------------- analysis
@dataclass
class RadicalReport:
    """Best neuron per component, for the real and the shuffled assignment."""

    components: list[str]
    n_kanji: list[int]  # how many classes contain each component
    neurons: list[tuple[int, int]]  # (hidden layer 1-based, index) of every column of `aucs`
    aucs: Array  # (components, neurons)
    shuffled_best: Array  # (shuffles, components): best AUC per component under each shuffle
    threshold: float = 0.9
    n_samples: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def best(self) -> Array:
        return self.aucs.max(axis=1)  # (components,)

    @property
    def best_neuron(self) -> list[tuple[int, int]]:
        return [self.neurons[i] for i in self.aucs.argmax(axis=1)]

    @property
    def n_above(self) -> int:
        return int((self.best >= self.threshold).sum())

    @property
    def shuffled_above(self) -> Array:
        return (self.shuffled_best >= self.threshold).sum(axis=1)  # (shuffles,)

    def counts_at(self, thresholds=(0.7, 0.75, 0.8, 0.85, 0.9)) -> list[dict]:
        """Components with a neuron at AUC ≥ t, real and shuffled (mean, max), for several t."""
        rows = []
        for t in thresholds:
            s = (self.shuffled_best >= t).sum(axis=1)  # (shuffles,)
            rows.append({"threshold": t, "components": int((self.best >= t).sum()),
                         "shuffled_mean": float(s.mean()) if len(s) else None,
                         "shuffled_max": int(s.max()) if len(s) else None})
        return rows

    def summary(self) -> dict:
        s = self.shuffled_above
        return {
            "components": len(self.components), "neurons": len(self.neurons),
            "samples": self.n_samples, "threshold": self.threshold,
            "components_with_neuron_above": self.n_above,
            "shuffled_above_mean": float(s.mean()) if len(s) else None,
            "shuffled_above_max": int(s.max()) if len(s) else None,
            "median_best_auc": float(np.median(self.best)) if len(self.best) else None,
            "shuffled_median_best_auc": float(np.median(self.shuffled_best))
            if self.shuffled_best.size else None,
            "by_threshold": self.counts_at(),
            **self.extra,
        }

    def table(self, top: int | None = None) -> list[dict]:
        order = np.argsort(-self.best)
        rows = []
        for j in order[:top]:
            layer, i = self.best_neuron[j]
            rows.append({"component": self.components[j], "kanji": self.n_kanji[j],
                         "best_auc": round(float(self.best[j]), 4), "layer": layer,
                         "neuron": i,
                         "shuffled_best_auc": round(float(self.shuffled_best[:, j].mean()), 4)
                         if len(self.shuffled_best) else None})
        return rows


def hidden_activations(network, X: Array, batch_size: int = 4096) -> tuple[Array, list]:
    """Activations of every hidden layer, side by side: (n, Σ hidden sizes), and their labels
    (layer 1-based, index)."""
    neurons = [(l, j) for l, size in enumerate(network.sizes[1:-1], start=1) for j in range(size)]
    if not neurons:
        raise ValueError("the network has no hidden layer, so no hidden neurons to analyse")
    blocks = []
    for i in range(0, len(X), batch_size):
        _, acts = network.forward(X[i : i + batch_size])
        blocks.append(np.concatenate(acts[1:-1], axis=1))  # (batch, Σ hidden)
    return np.concatenate(blocks), neurons


def analyse(network, classes, X: Array, y: Array, min_kanji: int = 5, shuffles: int = 10,
            threshold: float = 0.9, seed: int = 0) -> RadicalReport:
    """Measure every (hidden neuron, component) AUC on samples X (n, inputs) of classes y (n,)."""
    components, M = component_table(classes, min_kanji)
    if not components:
        raise ValueError(
            f"no component is shared by {min_kanji} or more of the model's {len(classes)} "
            f"classes; lower --min-kanji or use a model with more kanji"
        )
    H, neurons = hidden_activations(network, X)  # (n, neurons)
    aucs = auc_matrix(H, M[y])  # (components, neurons)
    rng = np.random.default_rng(seed)
    ranks_needed = rankdata(H.astype(np.float64))  # reuse one ranking for all shuffles
    shuffled = np.empty((shuffles, len(components)))
    for s in range(shuffles):
        Ms = M[rng.permutation(len(classes))]  # same counts per component, other kanji
        P = Ms[y].astype(np.float64)  # (n, components)
        n_pos = P.sum(0)
        n_neg = len(P) - n_pos
        if np.any(n_pos == 0) or np.any(n_neg == 0):  # pragma: no cover - counts kept
            raise ValueError("shuffle produced an empty label")
        A = (P.T @ ranks_needed - (n_pos * (n_pos + 1) / 2)[:, None]) / (n_pos * n_neg)[:, None]
        shuffled[s] = A.max(axis=1)
    return RadicalReport(components, [int(v) for v in M.sum(0)], neurons, aucs, shuffled,
                         threshold, len(X))


# ----------------------------------------------------------------------------- figure
def _glyph_image(char: str, size: int) -> Array | None:
    """The component drawn from its own KanjiVG file (no font needed), or None if it has none."""
    from .data.handwriting import render
    from .data.kanjivg import KanjiVGError

    try:
        return render(load_glyph(char), size, np.random.default_rng(0), "clean")
    except KanjiVGError:
        return None


def figure(report: RadicalReport, network, X: Array, y: Array, classes, image_shape,
           top: int = 6, examples: int = 5):
    """The best neuron–component pairs, drawn in the figures' style (``viz.style``: its CJK
    font draws the components' characters); see ``_figure``."""
    from .viz import fonts
    from .viz.style import style

    fonts.warn_if_missing(report.components)
    with style():
        return _figure(report, network, X, y, classes, image_shape, top, examples)


def _figure(report: RadicalReport, network, X: Array, y: Array, classes, image_shape,
            top: int, examples: int):
    """The best neuron–component pairs, one row each: the component (drawn from KanjiVG, so no
    CJK font is needed), the neuron's incoming weights (first hidden layer; orange = positive) or
    its activation-weighted mean input (deeper layers), and samples of kanji with the component, the
    most activating first. Returns a matplotlib Figure (Agg canvas)."""
    from matplotlib.figure import Figure

    from .viz.style import WEIGHT_CMAP

    H, neurons = hidden_activations(network, X)
    n_pixels = image_shape[0] * image_shape[1]  # X's first columns (direction planes may follow)
    index = {n: i for i, n in enumerate(neurons)}
    comp_all, M_all = component_table(classes, 1)
    col = {c: j for j, c in enumerate(comp_all)}
    order = np.argsort(-report.best)[:top]
    ncols = examples + 2
    fig = Figure(figsize=(1.3 * ncols, 1.5 * max(1, len(order))), dpi=100)
    for r, j in enumerate(order):
        comp = report.components[j]
        layer, i = report.best_neuron[j]
        h = H[:, index[(layer, i)]]  # (n,)
        ax = fig.add_subplot(len(order), ncols, r * ncols + 1)
        g = _glyph_image(comp, 48)
        if g is not None:
            ax.imshow(g, cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{comp}  in {report.n_kanji[j]} kanji", fontsize=10)  # CJK font: style
        ax.axis("off")
        ax = fig.add_subplot(len(order), ncols, r * ncols + 2)
        if layer == 1:
            w = network.weights[0][:n_pixels, i].reshape(image_shape)  # from the pixels
            lim = float(np.abs(w).max()) or 1.0
            ax.imshow(w, cmap=WEIGHT_CMAP, vmin=-lim, vmax=lim)
        else:
            mean_input = (h[:, None] * X).sum(0) / max(float(h.sum()), 1e-9)  # (inputs,)
            ax.imshow(mean_input[:n_pixels].reshape(image_shape), cmap="gray_r")
        ax.set_title(f"L{layer} #{i} AUC {report.best[j]:.3f}", fontsize=7)
        ax.axis("off")
        has = M_all[y, col[comp]]  # (n,)
        idx = np.flatnonzero(has)
        idx = idx[np.argsort(-h[idx], kind="stable")]
        picked, seen = [], set()
        for k in idx:  # one sample per kanji, strongest first
            if y[k] not in seen:
                picked.append(k)
                seen.add(y[k])
            if len(picked) == examples:
                break
        for e, k in enumerate(picked):
            ax = fig.add_subplot(len(order), ncols, r * ncols + 3 + e)
            ax.imshow(X[k, :n_pixels].reshape(image_shape), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(f"a = {h[k]:.2f}", fontsize=7)
            ax.axis("off")
    shuffled = report.shuffled_above
    fig.suptitle(f"Best neuron per component: {report.n_above} of {len(report.components)} "
                 f"components have AUC >= {report.threshold} (shuffled: "
                 f"{shuffled.mean() if len(shuffled) else float('nan'):.1f})", fontsize=9)
    fig.tight_layout()
    return fig
