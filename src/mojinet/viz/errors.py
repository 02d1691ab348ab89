"""Where the network goes wrong: the confusion matrix and the most confidently wrong images.

Non-goals: computing the numbers (``mojinet.inspect``); per-class precision/recall tables.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from .style import IMAGE_CMAP, new_figure, styled


@styled
def confusion_figure(cm: np.ndarray, classes) -> Figure:
    """Counts of (true, predicted) pairs; colour on a log scale so rare confusions show."""
    n = len(classes)
    fig = new_figure(width=min(6.4, 1.6 + 0.42 * n), height=min(6.0, 1.2 + 0.42 * n))
    ax = fig.add_subplot()
    shown = np.where(cm > 0, cm, np.nan)
    im = ax.imshow(shown, cmap="Blues", norm=LogNorm(vmin=1, vmax=max(int(cm.max()), 2)))
    if n <= 30:
        threshold = np.sqrt(max(int(cm.max()), 1))
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=6.5,
                            color="white" if cm[i, j] > threshold else "0.15")
    ax.set_xticks(range(n), labels=list(classes))
    ax.set_yticks(range(n), labels=list(classes))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{cm.sum():,} test images, {acc:.2%} correct")
    cb = fig.colorbar(im, ax=ax, shrink=0.8)
    cb.set_label("images (log scale)")
    return fig


@styled
def mistakes_figure(images: np.ndarray, true: list[str], predicted: list[str],
                    confidence: np.ndarray, second: list[str] | None = None,
                    max_cols: int = 8) -> Figure:
    """The given wrong images with "true → predicted (confidence)" above each."""
    n = len(images)
    if n == 0:
        fig = new_figure(height=1.0)
        fig.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return fig
    cols = min(n, max_cols)
    rows = int(np.ceil(n / cols))
    fig = new_figure(width=cols * 0.8, height=rows * 1.05)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(images[i], cmap=IMAGE_CMAP, vmin=0, vmax=1)
        ax.set_title(f"{true[i]} → {predicted[i]}\n{confidence[i]:.0%}", fontsize=7.5, pad=2)
    return fig
