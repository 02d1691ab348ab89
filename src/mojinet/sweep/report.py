"""A sweep's results folder: the table, trials.csv, best.toml, the figures and their index.

``write_report(study, sweep, top)`` scores the test set once for the ``top`` trials chosen on
validation, writes every file and returns the table as text. The index (``index.md`` and
``index.html``, like ``mojinet figures`` writes) shows each figure with its caption and the
table.

Non-goals: reports of other kinds of runs (``viz.report`` draws a trained model's figures).
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna

from .._files import atomic_write_bytes
from ..viz.style import save_figure
from .plots import frontier_figure, history_figure, hyper_figure, importance_figure
from .results import format_table, rows, score_test, summary, write_best, write_csv
from .results import write_table as write_results
from .trials import Sweep

__all__ = ["CAPTIONS", "importances", "write_report"]

FORMATS = ("png",)  # SVG/PDF on request: write_report(..., formats=("png", "svg"))
CAPTIONS = {
    "history": ("Optimisation history",
                "Validation accuracy of every trial in the order they ran; hollow: pruned "
                "trials at the accuracy they had when the pruner stopped them; the line: the "
                "best finished trial so far."),
    "importance": ("Importance of the searched values",
                   "How much of the variation of validation accuracy each searched value "
                   "explains (Optuna's default importance evaluator over the finished "
                   "trials)."),
    "hyper": ("Accuracy against hidden size and learning rate",
              "Validation accuracy against the neurons per hidden layer (one colour per number "
              "of hidden layers) and against the learning rate η; hollow: pruned."),
    "frontier": ("Accuracy against training cost",
                 "Validation accuracy against training time (wall clock, on the machine that "
                 "ran the trial); the line is the frontier: each trial on it is more accurate "
                 "than every faster one."),
}


@dataclass(frozen=True)
class Report:
    table: str  # the Markdown table of the best trials, with the summary line above it
    best: Path | None  # best.toml (None: no trial finished)
    files: list[Path]


def importances(study: optuna.Study) -> dict[str, float]:
    """{searched value: importance}, most important first; {} when too few trials finished."""
    done = [t for t in study.get_trials(deepcopy=False)
            if t.state == optuna.trial.TrialState.COMPLETE]
    varied = {k for t in done for k in t.params if len({str(u.params.get(k)) for u in done}) > 1}
    if len(done) < 3 or not varied:
        return {}
    try:
        with warnings.catch_warnings():  # e.g. "importances will be equal" with few trials
            warnings.simplefilter("ignore", UserWarning)
            return dict(optuna.importance.get_param_importances(study, params=sorted(varied)))
    except (RuntimeError, ValueError):  # e.g. every finished trial has the same accuracy
        return {}


def write_report(study: optuna.Study, sweep: Sweep, top: int = 5,
                 formats: tuple[str, ...] = FORMATS) -> Report:
    out_dir = Path(sweep.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    best = score_test(study, sweep, top)
    trials = rows(study)
    table = (f"{summary(trials)}. The best {len(best)} by validation accuracy (the test set "
             f"scored once for these, never used to choose):\n\n"
             f"{format_table(best, sweep.space.names)}\n")
    files = [write_results(out_dir, table), write_csv(trials, out_dir)]
    best_toml = write_best(best[0], out_dir) if best else None
    figures = {"history": history_figure(trials), "importance": importance_figure(
        importances(study)), "hyper": hyper_figure(trials), "frontier": frontier_figure(trials)}
    drawn = {stem: save_figure(fig, out_dir, stem, formats) for stem, fig in figures.items()}
    files += [p for paths in drawn.values() for p in paths]
    files += _write_index(out_dir, sweep, table, drawn)
    return Report(table, best_toml, files + ([best_toml] if best_toml else []))


def _write_index(out_dir: Path, sweep: Sweep, table: str, drawn: dict) -> list[Path]:
    head = (f"Sweep {sweep.study!r} over {sweep.space} on top of the preset "
            f"{sweep.base.preset} ({sweep.sampler} sampler, {sweep.pruner} pruner).")
    md = ["# mojinet sweep", "", head, "", table, ""]
    body = [f"<h1>mojinet sweep</h1>\n<p>{html.escape(head)}</p>\n<pre>{html.escape(table)}"
            f"</pre>"]
    for n, (stem, paths) in enumerate(drawn.items(), start=1):
        title, caption = CAPTIONS[stem]
        md += [f"## Figure {n}. {title}", "", f"![{title}]({stem}.png)", "",
               f"**Figure {n}.** {caption}", "",
               "Files: " + " · ".join(f"[{p.suffix[1:].upper()}]({p.name})" for p in paths), ""]
        body.append(f'<figure id="{stem}"><img src="{stem}.png" alt="{html.escape(title)}" '
                    f'style="max-width:100%"><figcaption><b>Figure {n}.</b> '
                    f'{html.escape(caption)}</figcaption></figure>')
    page = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>mojinet sweep</title><style>body{font-family:sans-serif;max-width:52em;"
            "margin:2em auto;padding:0 1em;line-height:1.45}figure{margin:2.5em 0}"
            "figcaption{font-size:.92em;color:#333}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    atomic_write_bytes(out_dir / "index.md", "\n".join(md).encode("utf-8"))
    atomic_write_bytes(out_dir / "index.html", page.encode("utf-8"))
    return [out_dir / "index.md", out_dir / "index.html"]
