"""``run_sweep(sweep)``: the workers (in this process or ``jobs`` processes), a progress bar, the
report.

The bar counts the study's finished and pruned trials against ``--trials`` and shows the best
validation accuracy so far; its ETA is the remaining trials at the pace of this session's.

Non-goals: the trials themselves (``trials.py``), the results (``report.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from tqdm.auto import tqdm

from .report import Report, write_report
from .study import DONE, count, open_study
from .trials import Sweep, describe_trial, work, work_in_parallel

__all__ = ["run_sweep"]


def _best(study) -> float | None:
    done = [t.value for t in study.get_trials(deepcopy=False, states=DONE[:1])]
    return max(done) if done else None


class _Bar:
    """Trials done of the budget, the best so far, the ETA (tqdm's, at this session's pace)."""

    def __init__(self, study, total: int, enabled: bool | None):
        self.study = study
        self.bar = tqdm(total=total, initial=min(total, count(study)), unit="trial",
                        disable=False if enabled else None if enabled is None else True,
                        dynamic_ncols=True, desc="sweep")

    def update(self, *_) -> None:
        done = count(self.study)
        if done > self.bar.n:
            self.bar.update(min(done, self.bar.total) - self.bar.n)
        best = _best(self.study)
        if best is not None:
            self.bar.set_postfix_str(f"best {best:.2%}", refresh=True)

    def write(self, text: str) -> None:
        self.bar.write(text)

    def close(self) -> None:
        self.bar.close()


def run_sweep(sweep: Sweep, log: Callable[[str], None] = print, progress: bool | None = None,
              top: int = 5) -> Report:
    """Run the sweep until its budget is spent, then score and report (see ``report.py``)."""
    study = open_study(sweep.storage_object(), sweep.study)
    log(f"Study {sweep.study!r}: {count(study)} of {sweep.trials} trials done; "
        f"space: {sweep.space}")
    bar = _Bar(study, sweep.trials, progress)
    try:
        if sweep.jobs == 1:
            def after(study, trial):
                bar.write(describe_trial(trial))
                bar.update()

            mine = work(sweep, 0, after)
        else:
            mine = sum(work_in_parallel(sweep, poll=bar.update).values())
        bar.update()
    finally:
        bar.close()
    log(f"This session ran {mine} trials; the study holds {count(study)} finished or pruned; "
        f"writing the report to {sweep.out_dir}")
    return write_report(study, sweep, top)
