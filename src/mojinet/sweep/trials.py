"""Running trials: the objective (one ``run(config)``), a worker's loop, parallel workers.

A trial's config is the base config with the values the sampler picked (``space.suggest``). It
trains on the training split and is checked on the validation split after every epoch; each
epoch's validation accuracy is reported to the trial, and the pruner may stop it there. The
test set is never looked at (``run(..., score_test=False)``): it is scored later, once, for the
trials chosen on validation (``results.py``). A finished trial's network is kept as
``OUT/trials/trial-NNNN.npz`` for that.

A worker asks the study for trials until the study holds ``trials`` finished or pruned ones (so a
restarted sweep carries on where it stopped; trials running in other workers count too), or the
time is up (``timeout``: no new trial starts after it). ``--jobs N`` starts N worker processes on
the same storage, each with its share of the cores for its BLAS and Numba threads.

Non-goals: distributing across machines ourselves (start a worker on each, on one database).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import TrialState

from ..config import ConfigError, RunConfig
from ..io import save_model
from ..nn.train import TrainingDiverged
from ..runner import run
from .space import Space, suggest
from .study import (
    DONE,
    count,
    fail_abandoned,
    make_pruner,
    make_sampler,
    open_study,
    storage_for,
    worker_id,
)

__all__ = ["Sweep", "SweepError", "THREAD_VARIABLES", "model_path", "objective", "work",
           "work_in_parallel"]

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")
MAX_FAILURES = 5  # trials failing one after another: the space or base config is wrong


class SweepError(RuntimeError):
    """A sweep that cannot go on (e.g. every trial fails); the message says why."""


@dataclass(frozen=True)
class Sweep:
    """What a sweep worker needs: the base config and space, where the study lives, budgets."""

    base: RunConfig
    space: Space
    out_dir: str
    study: str = "mojinet"
    storage: str | None = None  # None: the journal file OUT/study.journal
    sampler: str = "tpe"
    pruner: str = "median"
    prune_from: int = 1  # the first epoch after which a trial may be pruned
    trials: int = 20  # until the study holds this many finished or pruned trials
    timeout: float | None = None  # seconds after which no new trial starts
    jobs: int = 1
    seed: int | None = 0  # the sampler's seed (None: fresh randomness)

    def storage_object(self):
        return storage_for(self.storage, self.out_dir)


def model_path(out_dir: str | Path, number: int) -> Path:
    return Path(out_dir) / "trials" / f"trial-{number:04d}.npz"


def objective(trial: optuna.Trial, sweep: Sweep) -> float:
    """Train the trial's config; its validation accuracy after the last (or best) epoch."""
    trial.set_user_attr("worker", worker_id())
    trial.set_user_attr("threads", os.environ.get("OPENBLAS_NUM_THREADS"))
    config = sweep.base.replace(**suggest(trial, sweep.space, sweep.base))
    trial.set_user_attr("config", config.to_dict())
    started = time.perf_counter()

    def report(net, record) -> None:
        trial.report(record.eval_accuracy, record.epoch)
        if trial.should_prune():
            trial.set_user_attr("seconds", round(time.perf_counter() - started, 2))
            trial.set_user_attr("epochs", record.epoch)
            trial.set_user_attr("parameters", net.n_params)
            raise optuna.TrialPruned(f"validation accuracy {record.eval_accuracy:.2%} after "
                                     f"epoch {record.epoch}")

    model = run(config, callbacks=[report], score_test=False)
    history = model.training["history"]
    chosen = max(history, key=lambda e: e["eval_accuracy"]) if config.best else history[-1]
    trial.set_user_attr("seconds", model.training["seconds"])
    trial.set_user_attr("cpu_seconds", model.training["cpu_seconds"])
    trial.set_user_attr("epochs", len(history))
    trial.set_user_attr("parameters", model.network.n_params)
    path = model_path(sweep.out_dir, trial.number)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    return chosen["eval_accuracy"]


def _run_trial(study: optuna.Study, sweep: Sweep) -> optuna.trial.FrozenTrial:
    """Run one trial (through ``study.optimize``, which tells the study how it ended: also a
    failure, or an interruption, which fails the trial and goes on up)."""
    number = []

    def wrapped(trial: optuna.Trial) -> float:
        number.append(trial.number)
        try:
            return objective(trial, sweep)
        except (ConfigError, TrainingDiverged) as e:
            trial.set_user_attr("error", str(e))
            raise

    study.optimize(wrapped, n_trials=1, catch=(ConfigError, TrainingDiverged))
    return study.get_trials(deepcopy=False)[number[0]]


def work(sweep: Sweep, worker: int = 0,
         on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None) -> int:
    """One worker's loop (see the module's docstring); the number of trials it finished or
    pruned. ``on_trial(study, trial)`` is called after each trial."""
    storage = sweep.storage_object()
    study = open_study(storage, sweep.study)
    fail_abandoned(study)
    seed = None if sweep.seed is None else sweep.seed + 1000 * worker + len(study.trials)
    sampler = make_sampler(sweep.sampler, sweep.space, seed)
    study = open_study(storage, sweep.study, sampler, make_pruner(sweep.pruner, sweep.prune_from))
    started, done, failures = time.monotonic(), 0, []
    while count(study, DONE + (TrialState.RUNNING,)) < sweep.trials:
        if sweep.timeout is not None and time.monotonic() - started > sweep.timeout:
            break
        if sweep.sampler == "grid" and sampler.is_exhausted(study):
            break
        frozen = _run_trial(study, sweep)
        done += frozen.state in DONE
        failed = frozen.state == TrialState.FAIL
        failures = failures + [frozen.user_attrs.get("error")] if failed else []
        if on_trial is not None:
            on_trial(study, frozen)
        if len(failures) >= MAX_FAILURES:
            raise SweepError(f"{MAX_FAILURES} trials failed one after another; the last: "
                             f"{failures[-1]}")
    return done


def _child(sweep: Sweep, worker: int, results) -> None:
    """A worker process (spawned: its thread variables were set before numpy loaded)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def line(study, t):
        print(f"[worker {worker}] {describe_trial(t)}", flush=True)

    try:
        results.put((worker, work(sweep, worker, line), None))
    except Exception as e:
        results.put((worker, 0, f"{type(e).__name__}: {e}"))


def describe_trial(t: optuna.trial.FrozenTrial) -> str:
    """One line: the trial's number, how it ended, its values."""
    picked = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in t.params.items())
    seconds = t.user_attrs.get("seconds")
    end = {"COMPLETE": "finished", "PRUNED": f"pruned after epoch {t.last_step}",
           "FAIL": f"failed ({t.user_attrs.get('error', 'interrupted')})"}.get(t.state.name,
                                                                               t.state.name)
    value = f" validation {t.value:.2%}" if t.value is not None else ""
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    return f"trial {t.number} {end}:{value}{took}  {picked}"


@contextlib.contextmanager
def _threads(n: int):
    """The thread variables set to ``n`` while worker processes start (they inherit them)."""
    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update({k: str(n) for k in THREAD_VARIABLES})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def work_in_parallel(sweep: Sweep, poll: Callable[[], None] = lambda: None,
                     every: float = 2.0) -> dict[int, int]:
    """``sweep.jobs`` worker processes on the sweep's storage; {worker: trials it finished or
    pruned}. ``poll()`` is called every ``every`` seconds while they run (the progress bar)."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // sweep.jobs)
    with _threads(threads):
        workers = [ctx.Process(target=_child, args=(sweep, i, results), daemon=True)
                   for i in range(sweep.jobs)]
        for w in workers:
            w.start()
    outcome, errors = {}, []
    try:
        while len(outcome) < len(workers):
            with contextlib.suppress(Exception):
                worker, done, error = results.get(timeout=every)
                outcome[worker] = done
                errors += [f"worker {worker}: {error}"] if error else []
            poll()
            if len(outcome) < len(workers) and not any(w.is_alive() for w in workers):
                lost = sorted(set(range(len(workers))) - set(outcome))
                errors.append(f"worker(s) {lost} ended without a result")
                break
    finally:
        for w in workers:
            w.join(timeout=5 if not errors else 0.1)
            if w.is_alive():
                w.terminate()
    if errors:
        raise SweepError("; ".join(errors))
    return outcome
