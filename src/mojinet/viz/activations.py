"""The activation functions σ(z) and their derivatives σ'(z), with a step function for contrast.

Gradient descent moves each weight by −η ∂C/∂w, and by the chain rule ∂C/∂w carries a factor
σ'(z). A step function's derivative is 0 everywhere (and undefined at 0): a small change to a
weight changes no output at all, so the gradient says nothing. Sigmoid, tanh and ReLU are
continuous and have useful derivatives, which is what makes learning by small nudges possible.
The curves are computed with mojinet's own activation functions (``mojinet.nn.activations``).

Non-goals: every activation ever proposed.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..nn.activations import RELU, SIGMOID, TANH
from .style import BLUE, VERMILION, new_figure, styled


@styled
def activations_figure() -> Figure:
    """Top row σ(z), bottom row σ'(z), for step, sigmoid, tanh and ReLU on z ∈ [−6, 6]."""
    z = np.linspace(-6, 6, 1201)
    zc = z[:, None]  # (n, 1): the library's functions take (batch, neurons)
    curves = []
    for act in (SIGMOID, TANH, RELU):
        a = act(zc)
        curves.append((act.name, a[:, 0], act.derivative(zc, a)[:, 0]))
    fig = new_figure(height=3.4)
    axes = fig.subplots(2, 4, sharex=True)
    # The step (Heaviside/perceptron) function: a jump at 0, derivative 0 wherever it exists.
    ax, dax = axes[:, 0]
    ax.plot(z[z < 0], np.zeros((z < 0).sum()), color=VERMILION)
    ax.plot(z[z >= 0], np.ones((z >= 0).sum()), color=VERMILION)
    ax.plot([0], [0], "o", mfc="white", color=VERMILION, ms=3.5)
    ax.plot([0], [1], "o", color=VERMILION, ms=3.5)
    ax.set_title("step (perceptron)")
    dax.plot(z, np.zeros_like(z), color=VERMILION)
    dax.annotate("0 everywhere\n(undefined at 0)", (0, 0), xytext=(0, 22),
                 textcoords="offset points", ha="center", fontsize=7.5, color=VERMILION)
    titles = {"sigmoid": "sigmoid  σ(z) = 1/(1+e$^{-z}$)", "tanh": "tanh(z)",
              "relu": "ReLU  max(0, z)"}
    for (name, a, d), ax, dax in zip(curves, axes[0, 1:], axes[1, 1:]):
        ax.plot(z, a, color=BLUE)
        dax.plot(z, d, color=BLUE)
        ax.set_title(titles[name])
    axes[0, 0].set_ylabel("activation σ(z)")
    axes[1, 0].set_ylabel("derivative σ′(z)")
    for ax in axes.flat:
        ax.axhline(0, color="0.8", lw=0.6, zorder=0)
        ax.axvline(0, color="0.8", lw=0.6, zorder=0)
    for ax in axes[1]:
        ax.set_xlabel("weighted input z")
    axes[0, 3].set_ylim(-0.3, 6.3)
    axes[1, 3].set_ylim(-0.1, 1.2)
    axes[1, 0].set_ylim(-0.1, 1.2)
    axes[1, 1].set_ylim(-0.02, 0.3)
    return fig
