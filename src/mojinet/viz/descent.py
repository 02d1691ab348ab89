"""Gradient descent on a two-parameter cost surface with a local and a global minimum.

A network's cost depends on thousands of weights; with two of them it is a landscape we can
draw. ``cost_surface`` is a wide bowl with two valleys carved into it: a deep one (the global
minimum) and a shallower one (a local minimum). ``descend`` runs plain gradient descent,
v ← v − η ∇C(v), from a starting point; the figure shows where several starts end up.

Non-goals: momentum or adaptive optimisers (the chapter's point is the plain rule).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from .style import BLUE, VERMILION, new_figure, styled

Array = np.ndarray

# (depth, centre x, centre y, width): C = bowl − Σ depth·exp(−‖v − centre‖² / (2 width²))
VALLEYS = ((2.0, 1.3, 0.8, 0.9), (1.2, -1.5, -1.0, 0.6))
BOWL = 0.08


def cost_surface(v1: Array, v2: Array) -> Array:
    """C(v₁, v₂) for arrays of any (matching) shape."""
    c = BOWL * (v1 ** 2 + v2 ** 2)
    for depth, c1, c2, width in VALLEYS:
        c = c - depth * np.exp(-((v1 - c1) ** 2 + (v2 - c2) ** 2) / (2 * width ** 2))
    return c


def surface_gradient(v1: Array, v2: Array) -> tuple[Array, Array]:
    """(∂C/∂v₁, ∂C/∂v₂), written out from ``cost_surface``."""
    g1 = 2 * BOWL * v1
    g2 = 2 * BOWL * v2
    for depth, c1, c2, width in VALLEYS:
        e = depth * np.exp(-((v1 - c1) ** 2 + (v2 - c2) ** 2) / (2 * width ** 2))
        g1 = g1 + e * (v1 - c1) / width ** 2
        g2 = g2 + e * (v2 - c2) / width ** 2
    return g1, g2


def descend(start: tuple[float, float], eta: float = 0.1, steps: int = 300) -> Array:
    """The path of gradient descent from ``start``: (steps + 1, 2), start first."""
    path = np.empty((steps + 1, 2))
    path[0] = start
    for t in range(steps):
        g1, g2 = surface_gradient(path[t, 0], path[t, 1])
        path[t + 1] = path[t] - eta * np.array([g1, g2])  # v ← v − η∇C
    return path


class Minima(NamedTuple):
    global_min: Array  # (2,)
    local_min: Array  # (2,)


def find_minima(eta: float = 0.1, steps: int = 2000) -> Minima:
    """The two minima, found by descending from each valley's centre; the lower one is global."""
    ends = [descend((c1, c2), eta, steps)[-1] for _, c1, c2, _ in VALLEYS]
    ends.sort(key=lambda v: float(cost_surface(v[0], v[1])))
    return Minima(ends[0], ends[1])


DEFAULT_STARTS = ((-2.8, 2.4), (-0.2, 2.8), (2.8, 2.6), (2.9, -1.6), (0.6, -2.9),
                  (-2.9, -2.8), (-2.9, 0.2), (-0.6, -0.4), (-1.0, 0.9))


@styled
def descent_figure(starts=DEFAULT_STARTS, eta: float = 0.1, steps: int = 300
                   ) -> tuple[Figure, dict]:
    """Surface (3-D) and contour map with the descent paths; paths coloured by where they end.

    Returns (figure, facts) with facts = {"n_starts", "n_global", "n_local", "eta", "steps",
    "global_min", "local_min"} computed from the runs, for the caption.
    """
    minima = find_minima(eta)
    paths = [descend(s, eta, steps) for s in starts]
    ends_global = [bool(np.linalg.norm(p[-1] - minima.global_min)
                        < np.linalg.norm(p[-1] - minima.local_min)) for p in paths]
    grid = np.linspace(-3.2, 3.2, 161)
    V1, V2 = np.meshgrid(grid, grid)
    C = cost_surface(V1, V2)

    fig = new_figure(height=3.2, layout="constrained")
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax3.plot_surface(V1, V2, C, cmap="Greys_r", alpha=0.55, linewidth=0, rstride=4, cstride=4,
                     antialiased=True, rasterized=True)  # a bitmap inside SVG/PDF: smaller
    ax = fig.add_subplot(1, 2, 2)
    ax.contourf(V1, V2, C, levels=24, cmap="Greys_r", alpha=0.8, rasterized=True)
    ax.contour(V1, V2, C, levels=24, colors="white", linewidths=0.3, alpha=0.6)
    for path, to_global in zip(paths, ends_global):
        colour = BLUE if to_global else VERMILION
        cost = cost_surface(path[:, 0], path[:, 1])
        ax3.plot(path[:, 0], path[:, 1], cost + 0.03, color=colour, lw=1.4)
        ax3.scatter(*path[0], cost[0] + 0.03, color=colour, s=8)
        ax.plot(path[:, 0], path[:, 1], color=colour, lw=1.4)
        ax.plot(*path[0], "o", color=colour, ms=3.5)
        ax.plot(*path[-1], "x", color=colour, ms=5, mew=1.5)
    for m, name in ((minima.global_min, "global\nminimum"), (minima.local_min, "local\nminimum")):
        ax.annotate(name, m, xytext=(8, -18), textcoords="offset points", color="white",
                    fontsize=7.5, fontweight="bold")
    ax.plot([], [], color=BLUE, label="ends in the global minimum")
    ax.plot([], [], color=VERMILION, label="ends in the local minimum")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    ax.set_xlabel("weight $v_1$")
    ax.set_ylabel("weight $v_2$")
    ax.set_aspect("equal")
    ax.set_title("seen from above")
    ax3.set_xlabel("$v_1$", labelpad=-8)
    ax3.set_ylabel("$v_2$", labelpad=-8)
    ax3.set_zlabel("cost $C$", labelpad=-12)
    ax3.set_zticklabels([])
    ax3.tick_params(labelsize=6, pad=-2)
    ax3.view_init(elev=38, azim=-60)
    ax3.set_title("the cost surface")
    n_global = sum(ends_global)
    facts = {"n_starts": len(paths), "n_global": n_global, "n_local": len(paths) - n_global,
             "eta": eta, "steps": steps, "global_min": minima.global_min.round(2).tolist(),
             "local_min": minima.local_min.round(2).tolist(),
             "global_cost": float(cost_surface(*minima.global_min)),
             "local_cost": float(cost_surface(*minima.local_min))}
    return fig, facts
