"""The network as a diagram, and its training history.

``network_diagram`` draws each layer as a column of neurons (at most ``max_drawn`` per layer,
with "⋮" for the rest), connections coloured by the trained weights' sign and strength, and the
neuron and parameter counts under each layer. ``history_figure`` plots the cost and accuracy per
epoch as recorded in the model file while it trained.

Non-goals: drawing every one of 784 inputs, architectures other than fully connected layers.
"""

from __future__ import annotations

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..nn.network import Network
from .style import BLUE, GREEN, VERMILION, WEIGHT_CMAP, new_figure, styled


def _drawn(n: int, max_drawn: int) -> tuple[np.ndarray, bool]:
    """Which neuron indices to draw (the first and last ones when there are too many)."""
    if n <= max_drawn:
        return np.arange(n), False
    half = max_drawn // 2
    return np.r_[np.arange(half), np.arange(n - (max_drawn - half), n)], True


@styled
def network_diagram(net: Network, classes=None, max_drawn: int = 16) -> Figure:
    """Layers, neuron counts and parameter counts; edges coloured by the weights (orange +,
    blue −)."""
    L = len(net.sizes)
    fig = new_figure(height=4.2)
    ax = fig.add_subplot()
    ax.set_axis_off()
    xs = np.linspace(0, 1, L)
    positions = []
    for l, n in enumerate(net.sizes):
        if l == 0 and n > max_drawn:
            # Of many input pixels draw those with the strongest outgoing weights (the border
            # pixels of an image are always blank and their weights barely move).
            strength = np.abs(net.weights[0]).sum(axis=1)  # (n_in,)
            idx, cut = np.sort(np.argsort(-strength, kind="stable")[:max_drawn]), True
        else:
            idx, cut = _drawn(n, max_drawn)
        m = len(idx) + (1 if cut else 0)
        ys = np.linspace(0.95, 0.1, max_drawn + 1)[:m] if m > 1 else np.array([0.5])
        ys = ys + (0.95 - 0.1 - (ys[0] - ys[-1])) / 2 * -1 if m > 1 else ys
        ys = ys - (ys.mean() - 0.525)  # centre the column
        if cut:  # leave the middle slot for the ellipsis
            half = len(idx) // 2
            slots = np.r_[ys[:half], ys[half + 1:]]
            ax.text(xs[l], ys[half], "⋮", ha="center", va="center", fontsize=12)
        else:
            slots = ys
        positions.append((idx, slots))
    # Each layer's weights are scaled by that layer's largest |w|: first-layer weights are many
    # and small, and would be invisible on the scale of the last layer's.
    norm = Normalize(-1.0, 1.0)
    cmap = WEIGHT_CMAP
    for l, W in enumerate(net.weights):
        (i_idx, i_y), (j_idx, j_y) = positions[l], positions[l + 1]
        w = W[np.ix_(i_idx, j_idx)] / (np.abs(W).max() or 1.0)  # (drawn_in, drawn_out) in [-1, 1]
        ya, yb = np.meshgrid(i_y, j_y, indexing="ij")  # (drawn_in, drawn_out) each
        segments = np.stack([np.stack([np.full(ya.size, xs[l]), ya.ravel()], 1),
                             np.stack([np.full(yb.size, xs[l + 1]), yb.ravel()], 1)], 1)
        s = np.abs(w).ravel()  # (n_edges,)
        colours = cmap(norm(w.ravel()))  # (n_edges, 4)
        colours[:, 3] = 0.2 + 0.7 * s
        ax.add_collection(LineCollection(segments, colors=colours, linewidths=0.2 + 1.2 * s,
                                         zorder=1))
    for l, (idx, ys) in enumerate(positions):
        face = "white" if l == 0 else ("#f3f3f3" if l < L - 1 else "#e8f1f8")
        ax.scatter(np.full(len(ys), xs[l]), ys, s=60, facecolor=face, edgecolor="0.2", lw=0.8,
                   zorder=3)
        if l == L - 1 and classes is not None:
            for j, y in zip(idx, ys):
                ax.text(xs[l] + 0.025, y, str(classes[j]), va="center", fontsize=7.5)
    for l, n in enumerate(net.sizes):
        if l == 0:
            name = "input"
            detail = (f"{n} pixels" if n <= max_drawn else
                      f"{n} pixels; drawn: the {max_drawn}\nwith the strongest weights")
        else:
            W = net.weights[l - 1]
            name = "output" if l == L - 1 else f"hidden {l}"
            detail = (f"{net.activations[l - 1].name}\n{W.size:,} weights\n"
                      f"+ {net.biases[l - 1].size:,} biases")
        ax.annotate(f"{name}\n{n} neurons", (xs[l], 0.04), ha="center", va="top",
                    fontsize=8.5, fontweight="bold")
        ax.annotate(detail, (xs[l], 0.04), xytext=(0, -26), textcoords="offset points",
                    ha="center", va="top", fontsize=7.5, color="0.3")
    ax.set_title(f"{'–'.join(map(str, net.sizes))} network: {net.n_weights:,} weights + "
                 f"{net.n_biases:,} biases = {net.n_params:,} parameters; cost {net.cost.name}")
    ax.set_xlim(-0.06, 1.06)
    ax.set_ylim(-0.3, 1.0)
    cax = ax.inset_axes([0.40, 0.0, 0.2, 0.018])
    cb = fig.colorbar(ScalarMappable(norm, cmap), cax=cax, orientation="horizontal")
    cb.set_label("weight ÷ largest |weight| of its layer (drawn edges only)", fontsize=7)
    cb.ax.tick_params(labelsize=6.5)
    return fig


@styled
def history_figure(history: list[dict], title: str = "", eval_name: str = "evaluation"
                   ) -> Figure:
    """Cost (training and evaluation) and evaluation accuracy per epoch.

    ``history`` is the list stored in a model file's ``training["history"]``: dicts with
    epoch, train_cost, eval_cost, eval_accuracy (None if there was no evaluation set), eta.
    """
    if not history:
        raise ValueError("the model holds no training history (it was not trained with "
                         "`mojinet train`, or trained for 0 epochs)")
    epochs = np.array([r["epoch"] for r in history])
    train_cost = np.array([r["train_cost"] for r in history], dtype=float)
    eval_cost = np.array([np.nan if r.get("eval_cost") is None else r["eval_cost"]
                          for r in history], dtype=float)
    eval_acc = np.array([np.nan if r.get("eval_accuracy") is None else r["eval_accuracy"]
                         for r in history], dtype=float)
    fig = new_figure(height=2.8)
    ax_c, ax_a = fig.subplots(1, 2)
    ax_c.plot(epochs, train_cost, color=BLUE, label="training (mean over the epoch)")
    if np.isfinite(eval_cost).any():
        ax_c.plot(epochs, eval_cost, color=VERMILION, label=f"{eval_name} set (end of epoch)")
    ax_c.set_xlabel("epoch")
    ax_c.set_ylabel("cost C")
    ax_c.set_title("cost per epoch")
    ax_c.legend()
    if np.isfinite(eval_acc).any():
        ax_a.plot(epochs, 100 * eval_acc, color=GREEN, marker="o", ms=2.5)
        best = int(np.nanargmax(eval_acc))
        ax_a.text(0.98, 0.04, f"best {100 * eval_acc[best]:.2f}% (epoch {epochs[best]})\n"
                  f"last {100 * eval_acc[-1]:.2f}% (epoch {epochs[-1]})", ha="right",
                  va="bottom", transform=ax_a.transAxes, fontsize=7.5)
        ax_a.set_ylabel("accuracy (%)")
        ax_a.set_title(f"{eval_name} accuracy per epoch")
    else:
        ax_a.text(0.5, 0.5, f"no {eval_name} set was recorded", ha="center", va="center",
                  transform=ax_a.transAxes)
        ax_a.set_axis_off()
    ax_a.set_xlabel("epoch")
    if title:
        fig.suptitle(title)
    return fig
