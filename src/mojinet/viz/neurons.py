"""What the neurons look for: incoming weights as images, preferred inputs, within-class firing.

Non-goals: computing anything — the numbers come from ``mojinet.inspect``; this module draws.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..inspect import OverlapSummary
from .style import BLUE, HEAT_CMAP, IMAGE_CMAP, VERMILION, WEIGHT_CMAP, new_figure, styled

#: The outline of a top-k neuron on the activation heat map: a black stroke under a white one, so
#: that it stands out on every colour of the map, dark or light, with any colour vision.
OUTLINE = (("black", 2.8), ("white", 1.2))


def _grid(n: int, max_cols: int = 8) -> tuple[int, int]:
    cols = min(n, max_cols)
    return int(np.ceil(n / cols)), cols


@styled
def image_grid_figure(images: np.ndarray, labels: list[str], *, diverging: bool,
                      colorbar_label: str = "", title: str = "", max_cols: int = 8,
                      panel: float = 0.8) -> Figure:
    """A grid of (n, h, w) images with a label each.

    ``diverging=True`` draws signed values (weights) with one symmetric colour scale for all
    panels (``palette``: orange +, blue −, white 0); otherwise values in [0, 1] are ink on paper.
    """
    n = len(images)
    rows, cols = _grid(n, max_cols)
    fig = new_figure(width=min(6.4, cols * panel + (0.9 if diverging else 0.2)),
                     height=rows * (panel + 0.2) + (0.35 if title else 0.1))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    if diverging:
        vmax = float(np.abs(images).max()) or 1.0
        kw = dict(cmap=WEIGHT_CMAP, vmin=-vmax, vmax=vmax)
    else:
        kw = dict(cmap=IMAGE_CMAP, vmin=0.0, vmax=1.0)
    im = None
    for ax, img, label in zip(axes, images, labels):
        im = ax.imshow(img, **kw)
        ax.set_title(label, fontsize=7.5, pad=2)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ("top", "right"):
            ax.spines[side].set_visible(True)
        for sp in ax.spines.values():
            sp.set_linewidth(0.4)
            sp.set_color("0.6")
    for ax in axes[n:]:
        ax.set_visible(False)
    if diverging and im is not None:
        cb = fig.colorbar(im, ax=list(axes[:n]), shrink=0.8, fraction=0.04, pad=0.02)
        cb.set_label(colorbar_label)
    if title:
        fig.suptitle(title, fontsize=9.5)
    return fig


@styled
def within_class_figure(images: np.ndarray, H: np.ndarray, k: int, class_label: str,
                        summary: OverlapSummary, classes, layer_label: str = "hidden 1",
                        scores: np.ndarray | None = None, ranked_by: str = "") -> Figure:
    """Several examples of one class, which hidden neurons fire for each, and overlap numbers.

    images: (m, h, w) examples; H: (m, n) their hidden activations; the k most active neurons
    of each example (by ``scores`` if given, e.g. z-scores, else by H) are outlined. Right:
    the class-by-class mean Jaccard overlap of top-k sets from ``summary`` (diagonal = within
    a class). Bottom: within vs between per class.
    """
    m, n = H.shape
    fig = new_figure(height=5.4)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.25, 1])
    left, right = top.subfigures(1, 2, width_ratios=[1.35, 1])
    axes = left.subplots(m, 2, gridspec_kw=dict(width_ratios=[1, n / 5], wspace=0.05),
                         squeeze=False)
    order = np.argsort(-(H if scores is None else scores), axis=1, kind="stable")[:, :k]
    vmax = 1.0 if H.max() <= 1 else float(H.max())
    for i in range(m):
        ax_img, ax_h = axes[i]
        ax_img.imshow(images[i], cmap=IMAGE_CMAP, vmin=0, vmax=1)
        ax_img.set_axis_off()
        im = ax_h.imshow(H[i][None, :], cmap=HEAT_CMAP, vmin=0, vmax=vmax, aspect="auto")
        for j in order[i]:
            for colour, width in OUTLINE:
                ax_h.add_patch(Rectangle((j - 0.5, -0.5), 1, 1, fill=False, ec=colour, lw=width))
        ax_h.set_yticks([])
        ax_h.set_xticks(range(0, n, 1 if n <= 32 else int(np.ceil(n / 16))))
        ax_h.tick_params(length=0, labelsize=6, labelbottom=(i == m - 1))
        for sp in ax_h.spines.values():
            sp.set_visible(False)
    axes[-1, 1].set_xlabel(f"{layer_label} neuron", fontsize=7.5)
    left.suptitle(f"{m} different-looking “{class_label}”s: activation of each {layer_label} "
                  f"neuron,\nits top {k}{' by ' + ranked_by if ranked_by else ''} outlined",
                  fontsize=8.5)
    cb = left.colorbar(im, ax=axes[:, 1], shrink=0.6, fraction=0.05, pad=0.02)
    cb.set_label("activation", fontsize=7)
    cb.ax.tick_params(labelsize=6.5)

    ax_m = right.subplots()
    C = summary.matrix
    mi = ax_m.imshow(C, cmap=HEAT_CMAP, vmin=0, vmax=max(float(np.nanmax(C)), 1e-9))
    ax_m.set_xticks(range(len(classes)), labels=list(classes), fontsize=7)
    ax_m.set_yticks(range(len(classes)), labels=list(classes), fontsize=7)
    ax_m.set_xlabel("class")
    ax_m.set_ylabel("class")
    ax_m.set_title(f"mean top-{k} overlap (Jaccard)", fontsize=8.5)
    cbm = right.colorbar(mi, ax=ax_m, shrink=0.8)
    cbm.ax.tick_params(labelsize=6.5)

    ax_b = bottom.subplots()
    x = np.arange(len(classes))
    ax_b.bar(x - 0.2, summary.per_class_within, 0.4, color=BLUE, label="within the class")
    ax_b.bar(x + 0.2, summary.per_class_between, 0.4, color=VERMILION,
             label="with the other classes")
    ax_b.axhline(summary.chance, color="0.3", ls="--", lw=0.9,
                 label=f"chance ({summary.chance:.2f})")
    ax_b.set_xticks(x, labels=list(classes))
    ax_b.set_xlabel("class")
    ax_b.set_ylabel("mean Jaccard overlap")
    ax_b.set_title(f"overlap of the top-{k} {layer_label} neurons of two examples: same class "
                   f"{summary.within:.2f}, different classes {summary.between:.2f}",
                   fontsize=8.5)
    ax_b.legend(ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    ax_b.set_ylim(0, 1)
    return fig
