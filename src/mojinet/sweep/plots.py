"""A sweep's figures, as pure functions of its trials (``TrialRow`` s) returning Figures.

``history_figure``: validation accuracy of each trial in order, and the best so far.
``importance_figure``: how much each searched value mattered (Optuna's importance evaluator).
``hyper_figure``: validation accuracy against hidden-layer size (one colour per depth) and
against the learning rate η. ``frontier_figure``: validation accuracy against training time, the
accuracy/cost frontier (the trials no other trial beats on both) drawn as a line.

Pruned trials are drawn hollow at the accuracy they had when stopped: they are not finished
results. Non-goals: interactive plots (Optuna's own plotly figures do that).
"""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from ..viz.style import BLACK, GREEN, PALETTE, VERMILION, new_figure, styled
from .results import TrialRow

__all__ = ["frontier", "frontier_figure", "history_figure", "hyper_figure",
           "importance_figure"]


def _scored(trials: list[TrialRow], state: str) -> list[TrialRow]:
    return [r for r in trials if r.state == state and r.val_accuracy is not None]


def _percent(ax) -> None:
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}" if v >= 0.1 else f"{v:.1%}")


def _log_x(ax, values=()) -> None:
    """A log x axis labelled with plain numbers (16, 100, 0.5), no crowded minor labels; a tick
    at each value when there are only a few (a grid)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_minor_formatter(NullFormatter())
    distinct = sorted({v for v in values if v is not None})
    if 0 < len(distinct) <= 8:
        ax.set_xticks(distinct)


def _label(text: str, points: list) -> str | None:
    return text if points else None  # no legend entry for nothing


@styled
def history_figure(trials: list[TrialRow]) -> Figure:
    fig = new_figure(height=3.2)
    ax = fig.add_subplot()
    done, pruned = _scored(trials, "COMPLETE"), _scored(trials, "PRUNED")
    ax.scatter([r.number for r in done], [r.val_accuracy for r in done], s=18, color=PALETTE[0],
               label=_label("finished", done), zorder=3)
    ax.scatter([r.number for r in pruned], [r.val_accuracy for r in pruned], s=18,
               facecolors="none", edgecolors=VERMILION,
               label=_label("pruned (when stopped)", pruned), zorder=3)
    best, xs, ys = -1.0, [], []
    for r in sorted(done, key=lambda r: r.number):
        best = max(best, r.val_accuracy)
        xs.append(r.number)
        ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", color=BLACK, lw=1.2, label="best so far")
    ax.set(xlabel="trial", ylabel="validation accuracy", title="Optimisation history")
    _percent(ax)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best")
    return fig


@styled
def importance_figure(importances: Mapping[str, float]) -> Figure:
    fig = new_figure(height=0.6 + 0.35 * max(1, len(importances)))
    ax = fig.add_subplot()
    names = list(importances)[::-1]  # the most important on top
    if names:
        ax.barh(names, [importances[n] for n in names], color=GREEN)
    else:
        ax.text(0.5, 0.5, "too few finished trials to tell", ha="center", va="center",
                transform=ax.transAxes)
    ax.set(xlabel="importance (share of the variation of validation accuracy)",
           title="Which searched values mattered")
    return fig


@styled
def hyper_figure(trials: list[TrialRow]) -> Figure:
    fig = new_figure(height=3.2)
    left, right = fig.subplots(1, 2, sharey=True)
    done, pruned = _scored(trials, "COMPLETE"), _scored(trials, "PRUNED")
    depths = sorted({len(r.hidden) for r in done + pruned})
    for i, depth in enumerate(depths):
        colour = PALETTE[i % len(PALETTE)]
        d = [r for r in done if len(r.hidden) == depth and r.hidden]
        p = [r for r in pruned if len(r.hidden) == depth and r.hidden]
        left.scatter([r.hidden[0] for r in d], [r.val_accuracy for r in d], s=18, color=colour,
                     label=f"{depth} hidden layer{'s' if depth != 1 else ''}")
        left.scatter([r.hidden[0] for r in p], [r.val_accuracy for r in p], s=18,
                     facecolors="none", edgecolors=colour)
    right.scatter([r.eta for r in done], [r.val_accuracy for r in done], s=18, color=PALETTE[0],
                  label=_label("finished", done))
    right.scatter([r.eta for r in pruned], [r.val_accuracy for r in pruned], s=18,
                  facecolors="none", edgecolors=VERMILION, label=_label("pruned", pruned))
    left.set(xlabel="neurons per hidden layer", ylabel="validation accuracy",
             title="Accuracy against hidden size")
    right.set(xlabel="learning rate η", title="Accuracy against η")
    _log_x(left, [r.hidden[0] for r in done + pruned if r.hidden])
    _log_x(right, [r.eta for r in done + pruned])
    _percent(left)
    for ax in (left, right):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best")
    return fig


def frontier(trials: list[TrialRow]) -> list[TrialRow]:
    """The finished trials no other finished trial beats on both accuracy and time, fastest
    first (each is more accurate than every faster one)."""
    done = sorted((r for r in _scored(trials, "COMPLETE") if r.seconds is not None),
                  key=lambda r: (r.seconds, -r.val_accuracy))
    out, best = [], -1.0
    for r in done:
        if r.val_accuracy > best:
            out.append(r)
            best = r.val_accuracy
    return out


@styled
def frontier_figure(trials: list[TrialRow]) -> Figure:
    fig = new_figure(height=3.2)
    ax = fig.add_subplot()
    done = [r for r in _scored(trials, "COMPLETE") if r.seconds]
    pruned = [r for r in _scored(trials, "PRUNED") if r.seconds]
    ax.scatter([r.seconds for r in done], [r.val_accuracy for r in done], s=18,
               color=PALETTE[0], label=_label("finished", done), zorder=3)
    ax.scatter([r.seconds for r in pruned], [r.val_accuracy for r in pruned], s=18,
               facecolors="none", edgecolors=VERMILION,
               label=_label("pruned (when stopped)", pruned), zorder=3)
    line = frontier(trials)
    if line:
        ax.step([r.seconds for r in line], [r.val_accuracy for r in line], where="post",
                color=BLACK, lw=1.2, label="frontier")
    ax.set(xlabel="training time (s)", ylabel="validation accuracy",
           title="Accuracy against training cost")
    if done or pruned:
        _log_x(ax)
    _percent(ax)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best")
    return fig
