"""What a sweep found: rows of trials, the test score of the chosen ones, the table, the files.

``rows(study)`` turns Optuna's trials into ``TrialRow`` s (plain values: the plots and tables
need no Optuna). ``score_test(study, sweep, top)`` scores the test set once for each of the
``top`` trials with the best validation accuracy (the score is kept in the study, so a rerun or
another machine does not score it again) from the trial's saved network, or, when this machine
does not have it (the trial ran elsewhere), from the same run again. The test score never
chooses anything: the order is the validation accuracy's.

Files in the output folder: ``trials.csv`` (one row a trial), ``best.toml`` (the best trial's
config: ``mojinet train --config best.toml`` reruns it), ``results.md`` (the table).

Non-goals: choosing on the test set, ever.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import optuna

from .._files import atomic_write_bytes
from ..config import RunConfig
from ..io import load_model
from ..nn.train import evaluate
from ..real_eval import wilson_interval
from ..runner import load_data, run
from .trials import Sweep, model_path

__all__ = ["TrialRow", "best_rows", "format_table", "rows", "score_test", "write_best",
           "write_csv", "write_table"]

TEST_KEY = "test_accuracy.{}"  # a study user attribute: [accuracy, n] of trial {}


@dataclass(frozen=True)
class TrialRow:
    """One trial as plain values."""

    number: int
    state: str  # COMPLETE, PRUNED, FAIL, RUNNING
    val_accuracy: float | None  # after the last (or best) epoch; a pruned trial's last report
    seconds: float | None  # wall-clock training time
    parameters: int | None  # weights and biases
    epochs: int | None  # epochs trained (fewer when pruned)
    params: dict = field(default_factory=dict)  # the values the sampler picked
    config: dict | None = None  # the whole RunConfig
    test: tuple[float, int] | None = None  # (accuracy, n) once scored

    @property
    def hidden(self) -> tuple[int, ...]:
        return tuple((self.config or {}).get("hidden", ()))

    @property
    def eta(self) -> float | None:
        return (self.config or {}).get("eta")


def rows(study: optuna.Study) -> list[TrialRow]:
    scores = study.user_attrs
    out = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        test = scores.get(TEST_KEY.format(t.number))
        out.append(TrialRow(t.number, t.state.name, t.value, a.get("seconds"),
                            a.get("parameters"), a.get("epochs"), dict(t.params),
                            a.get("config"), tuple(test) if test else None))
    return out


def best_rows(trials: list[TrialRow], top: int) -> list[TrialRow]:
    """The ``top`` finished trials by validation accuracy (ties: the faster first)."""
    done = [r for r in trials if r.state == "COMPLETE" and r.val_accuracy is not None]
    return sorted(done, key=lambda r: (-r.val_accuracy, r.seconds or 0.0))[:top]


def score_test(study: optuna.Study, sweep: Sweep, top: int) -> list[TrialRow]:
    """Score the test set once for each of the ``top`` best trials; their rows, scored."""
    tests = {}  # the test split of each dataset and limit, read once
    for r in best_rows(rows(study), top):
        if r.test is None:
            config = RunConfig.from_dict(r.config)
            key = (config.dataset, repr(sorted(config.dataset_options.items())),
                   config.data_dir, config.limit)
            if key not in tests:
                tests[key] = load_data(config).test
            score = _test_score(config, model_path(sweep.out_dir, r.number), tests[key])
            study.set_user_attr(TEST_KEY.format(r.number), list(score))
    return best_rows(rows(study), top)


def _test_score(config: RunConfig, path: Path, test) -> tuple[float, int]:
    """(accuracy, n) on the test split of the trial's saved network (or of its run again)."""
    net = load_model(path).network if path.is_file() else run(config, score_test=False).network
    _, accuracy = evaluate(net, test.X, test.y)
    return accuracy, len(test)


# ----------------------------------------------------------------------------- text and files
def _hidden_text(hidden) -> str:
    return "-".join(map(str, hidden)) if hidden else "none"


def _value_text(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _test_text(test) -> str:
    if test is None:
        return "–"
    accuracy, n = test
    low, high = wilson_interval(round(accuracy * n), n)
    return f"{accuracy:.2%} [{low:.1%}, {high:.1%}]"


def format_table(best: list[TrialRow], names: tuple[str, ...]) -> str:
    """A Markdown table of the best trials: what was picked, validation and test accuracy
    (test with its 95% Wilson interval), time, parameters."""
    picked = [n for n in names if n not in ("hidden", "layers")]
    head = ["trial", "hidden", *picked, "validation", "test [95% CI]", "seconds", "parameters"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in best:
        cells = [str(r.number), _hidden_text(r.hidden),
                 *(_value_text((r.config or {}).get(n, r.params.get(n))) for n in picked),
                 f"{r.val_accuracy:.2%}", _test_text(r.test),
                 f"{r.seconds:.1f}" if r.seconds is not None else "–",
                 f"{r.parameters:,}" if r.parameters is not None else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(trials: list[TrialRow]) -> str:
    states = {s: sum(r.state == s for r in trials) for s in ("COMPLETE", "PRUNED", "FAIL")}
    seconds = sum(r.seconds or 0.0 for r in trials)
    took = f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
    return (f"{len(trials)} trials: {states['COMPLETE']} finished, {states['PRUNED']} pruned, "
            f"{states['FAIL']} failed; {took} of training")


def write_table(out_dir: Path, text: str) -> Path:
    path = Path(out_dir) / "results.md"
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def write_csv(trials: list[TrialRow], out_dir: Path) -> Path:
    """trials.csv: number, state, accuracies, time, size, then each picked value."""
    names = sorted({k for r in trials for k in r.params})
    buffer = io.StringIO()
    w = csv.writer(buffer, lineterminator="\n")
    w.writerow(["number", "state", "val_accuracy", "test_accuracy", "seconds", "parameters",
                "epochs", "hidden_layers", *names])
    for r in trials:
        w.writerow([r.number, r.state, _csv(r.val_accuracy), _csv(r.test and r.test[0]),
                    _csv(r.seconds), _csv(r.parameters), _csv(r.epochs),
                    _hidden_text(r.hidden) if r.config else "", *(_csv(r.params.get(n))
                                                                 for n in names)])
    path = Path(out_dir) / "trials.csv"
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))
    return path


def _csv(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return repr(v) if isinstance(v, float) else str(v)


def write_best(best: TrialRow, out_dir: Path) -> Path:
    """best.toml: the best trial's whole config (``mojinet train --config best.toml``)."""
    config = RunConfig.from_dict(best.config).replace(out=None)
    path = Path(out_dir) / "best.toml"
    header = (f"# mojinet sweep: trial {best.number}, validation accuracy "
              f"{best.val_accuracy:.4%} (rerun: mojinet train --config {path.name})\n")
    atomic_write_bytes(path, (header + config.to_toml()).encode("utf-8"))
    return path
