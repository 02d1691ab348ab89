"""Where a sweep's trials live and how the next one is chosen: Optuna storage, sampler, pruner.

Storage: by default a journal file beside the results (``OUT/study.journal``: Optuna's
``JournalStorage`` with a file backend, no server; every change is appended, so a killed sweep
loses only the trial it was running). ``--storage URL`` takes any URL Optuna takes:
``postgresql+psycopg://user:password@host/db`` (SQLAlchemy with psycopg) lets many machines share
one study, each running ``mojinet sweep --storage URL --study NAME``; ``postgresql://`` means the
same. A path ending in ``.journal`` is a journal file.

Samplers: ``tpe`` (the default), ``random``, ``grid`` (every combination of listed values).
Pruners: ``median`` (stop a trial whose validation accuracy after an epoch is below the median of
earlier trials at that epoch), ``halving`` (successive halving), ``none``.

A trial records the worker running it (``host:pid``). A worker on the same host whose process
is gone (killed) left its trial RUNNING forever: ``fail_abandoned`` marks such trials failed, so
a restarted sweep does not wait for them or count them.

Non-goals: a scheduler of our own; storage back ends Optuna does not have.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import optuna
from optuna.trial import TrialState

from ..config import ConfigError
from .space import Space, grid

__all__ = ["DONE", "PRUNERS", "SAMPLERS", "count", "fail_abandoned", "make_pruner",
           "make_sampler", "open_study", "storage_for", "worker_id"]

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "halving", "none")
DONE = (TrialState.COMPLETE, TrialState.PRUNED)  # what --trials counts
JOURNAL = "study.journal"


def storage_for(url: str | None, out_dir: str | Path):
    """The Optuna storage of ``url``, or the journal file in ``out_dir`` when url is None."""
    if url is None or url.endswith(".journal"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = Path(out_dir) / JOURNAL if url is None else Path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("postgresql://"):  # SQLAlchemy's default driver is psycopg2: use psycopg
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
    except ImportError as e:
        raise ConfigError(f"--storage {url.split('@')[-1]}: {e}; install the sweep extra "
                          f"(pip install 'mojinet[sweep]')") from e


def make_sampler(name: str, space: Space, seed: int | None):
    """The sampler called ``name``, seeded (None: fresh randomness)."""
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(grid(space), seed=seed)
    raise ConfigError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")


def make_pruner(name: str, prune_from: int = 1):
    """The pruner called ``name``, pruning from epoch ``prune_from`` on (the median pruner also
    waits for 3 finished trials)."""
    if prune_from < 1:
        raise ConfigError(f"--prune-from must be an epoch >= 1, got {prune_from}")
    if name == "median":
        # Optuna prunes at steps >= n_warmup_steps (the epochs are steps 1, 2, …)
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=prune_from)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=prune_from,
                                                      reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"--pruner must be one of {', '.join(PRUNERS)}, got {name!r}")


def open_study(storage, name: str, sampler=None, pruner=None) -> optuna.Study:
    """The study ``name`` in ``storage`` (made when new), maximising validation accuracy."""
    return optuna.create_study(storage=storage, study_name=name, direction="maximize",
                               sampler=sampler, pruner=pruner, load_if_exists=True)


def count(study: optuna.Study, states=DONE) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def fail_abandoned(study: optuna.Study) -> int:
    """Mark failed the RUNNING trials of workers on this host whose process is gone; how many."""
    host, n = socket.gethostname(), 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker_host, _, pid = str(t.user_attrs.get("worker", "")).rpartition(":")
        if worker_host == host and pid.isdigit() and not _alive(int(pid)):
            study.tell(t.number, state=TrialState.FAIL)
            n += 1
    return n
