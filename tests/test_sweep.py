"""mojinet sweep: the space, real sweeps on a little MNIST (journal file and PostgreSQL), kill and
restart, the results folder, the figures. Trials are tiny (a few hundred images, 1-2 epochs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

optuna = pytest.importorskip("optuna")

from mojinet.cli import main  # noqa: E402
from mojinet.cli import sweep as cli_sweep  # noqa: E402
from mojinet.config import ConfigError, RunConfig, read_config  # noqa: E402
from mojinet.io import load_model  # noqa: E402
from mojinet.nn.train import evaluate  # noqa: E402
from mojinet.runner import load_data, run  # noqa: E402
from mojinet.sweep import Sweep, parse_space, read_space, run_sweep  # noqa: E402
from mojinet.sweep import space as sp  # noqa: E402
from mojinet.sweep import study as st_  # noqa: E402
from mojinet.sweep.plots import frontier, frontier_figure, history_figure, hyper_figure  # noqa
from mojinet.sweep.results import TrialRow, rows  # noqa: E402
from mojinet.sweep.trials import model_path, work, work_in_parallel  # noqa: E402

# A few hundred images, two epochs, tiny networks: a trial takes about a second.
# The BLAS engine: no Numba compiling in every new process.
BASE = RunConfig(limit=500, validation=100, epochs=2, hidden=(8,), batch_size=20, engine="blas")
FLAGS = ["--limit", "500", "--validation", "100", "--epochs", "2", "--batch-size", "20",
         "--engine", "blas", "--no-progress"]
POSTGRES = os.environ.get("MOJINET_TEST_POSTGRES")


# ----------------------------------------------------------------------------- the space
def test_space_text_ranges_choices_and_fixed_values():
    s = parse_space("hidden=16..1024:log layers=1..3 eta=0.01..5:log activation=relu,tanh "
                    "batch-size=16,32 nesterov=true momentum=0.9")
    d = s.dimensions
    assert d["hidden"] == sp.Range(16, 1024, log=True, integer=True)
    assert d["layers"] == sp.Range(1, 3, integer=True)
    assert d["eta"] == sp.Range(0.01, 5.0, log=True)
    assert d["activation"] == sp.Choice(("relu", "tanh"))
    assert d["batch_size"] == sp.Choice((16, 32))
    assert d["nesterov"] == sp.Choice((True,))
    assert d["momentum"] == sp.Choice((0.9,))


def test_space_toml_is_the_same_space(tmp_path):
    (tmp_path / "s.toml").write_text(
        '[space]\nhidden = "16..1024:log"\nlayers = {low = 1, high = 3}\n'
        'eta = {low = 0.01, high = 5, log = true}\nactivation = ["relu", "tanh"]\n')
    assert read_space(tmp_path / "s.toml") == parse_space(
        "hidden=16..1024:log layers=1..3 eta=0.01..5:log activation=relu,tanh")


@pytest.mark.parametrize("text, words", [
    ("hidden", "NAME=VALUES"), ("colour=1..2", "not a field"), ("eta=5..1", "higher high"),
    ("eta=0..1:log", "above 0"), ("layers=1.5..3", "whole number"),
    ("activation=relu..tanh", "list of choices"), ("epochs=a,b", "int values"),
    ("eta=1..2 eta=3..4", "twice"), ("eta=0.1:log", "belongs to a range"), ("", "nothing"),
])
def test_space_errors_name_the_problem(text, words):
    with pytest.raises(ConfigError, match=words):
        parse_space(text)


@given(st.integers(1, 500), st.integers(1, 500), st.booleans())
def test_space_text_round_trips(low, span, log):
    s = parse_space(f"hidden={low}..{low + span}{':log' if log else ''} activation=relu,tanh")
    assert parse_space(str(s)) == s


def test_hidden_layers_and_dropout_become_fields():
    base = RunConfig(hidden=(30, 30), dropout=(0.1, 0.0))
    assert sp.changes({"hidden": 64}, base) == {"hidden": (64, 64)}
    assert sp.changes({"layers": 3}, base) == {"hidden": (30, 30, 30)}
    assert sp.changes({"layers": 0, "hidden": 5}, base) == {"hidden": ()}
    assert sp.changes({"dropout": 0.5, "eta": 0.2}, base) == {"dropout": (0.1, 0.5), "eta": 0.2}
    trial = optuna.trial.FixedTrial({"hidden": 40, "layers": 2, "eta": 0.3})
    s = parse_space("hidden=16..1024:log layers=1..3 eta=0.01..5:log")
    assert sp.suggest(trial, s, base) == {"hidden": (40, 40), "eta": 0.3}


def test_grid_needs_lists():
    assert sp.grid(parse_space("hidden=8,16 eta=0.1,1")) == {"hidden": [8, 16], "eta": [0.1, 1.0]}
    with pytest.raises(ConfigError, match="lists instead"):
        sp.grid(parse_space("hidden=8,16 eta=0.1..1"))


def test_cli_choices_are_the_librarys():
    assert cli_sweep.SAMPLERS == st_.SAMPLERS and cli_sweep.PRUNERS == st_.PRUNERS


def test_cli_base_config_preset_flags_and_validation():
    from mojinet.cli import parse_args

    args = parse_args(["sweep", "--space", "eta=0.1..1", "--preset", "nielsen", "--limit",
                       "600", "--activation", "relu"])
    base = cli_sweep.base_of(args)
    assert (base.preset, base.hidden, base.activation, base.limit) == ("nielsen", (30,), "relu",
                                                                       600)
    assert base.epochs == 30 and base.validation == 100  # the preset's; a sixth of the limit
    assert base.out is None  # trials are saved in the sweep's folder, never where train saves
    args = parse_args(["sweep", "--space", "eta=0.1..1", "--validation", "0"])
    with pytest.raises(ConfigError, match="validation split"):
        cli_sweep.base_of(args)


# ----------------------------------------------------------------------------- a real sweep
def _sweep(out: Path, **kw) -> Sweep:
    options = dict(sampler="random", pruner="none", trials=3, seed=1)
    options.update(kw)
    return Sweep(BASE, parse_space("hidden=4..32:log eta=0.5..5:log"), str(out), **options)


def test_sweep_writes_results_and_best_config_reruns(tmp_path):
    report = run_sweep(_sweep(tmp_path), log=lambda _: None, progress=False, top=2)
    study = optuna.load_study(study_name="mojinet", storage=_sweep(tmp_path).storage_object())
    trials = rows(study)
    assert [r.number for r in trials] == [0, 1, 2] and {r.state for r in trials} == {"COMPLETE"}
    for name in ("trials.csv", "best.toml", "results.md", "index.md", "index.html",
                 "history.png", "importance.png", "hyper.png", "frontier.png"):
        assert (tmp_path / name).is_file(), name
    lines = (tmp_path / "trials.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert len(lines) == 1 + 3 and len(set(header)) == len(header)
    assert {"hidden", "eta", "val_accuracy", "hidden_layers"} <= set(header)
    best = max(trials, key=lambda r: r.val_accuracy)
    assert f"| {best.number} |" in report.table.splitlines()[4]  # the first row of the table
    # best.toml reruns to the same validation accuracy
    again = run(read_config(tmp_path / "best.toml"), score_test=False)
    assert again.training["history"][-1]["eval_accuracy"] == best.val_accuracy
    # the trials never saw the test set; the chosen ones were scored once, from their networks
    saved = load_model(model_path(tmp_path, best.number))
    assert "test_accuracy" not in saved.training
    scored = [r for r in trials if r.test is not None]
    assert len(scored) == 2 and best in scored
    test = load_data(BASE).test
    assert best.test == (evaluate(saved.network, test.X, test.y)[1], len(test))


def test_sweep_restarted_carries_on_the_same_study(tmp_path):
    assert work(_sweep(tmp_path, trials=2)) == 2
    assert work(_sweep(tmp_path, trials=4)) == 2
    study = optuna.load_study(study_name="mojinet", storage=_sweep(tmp_path).storage_object())
    assert [t.number for t in study.trials] == [0, 1, 2, 3]
    assert len({tuple(t.params.items()) for t in study.trials}) == 4  # not the same trials again


def test_pruner_stops_trials_on_validation_accuracy(tmp_path):
    # eta so small the network learns nothing: the median pruner must stop those after epoch 1
    s = Sweep(BASE.replace(epochs=3), parse_space("eta=0.0001,3"), str(tmp_path),
              sampler="grid", pruner="median", trials=2)
    assert work(s) == 2  # the loop alone: no report (figures take time)
    study = optuna.load_study(study_name="mojinet", storage=s.storage_object())
    assert sorted(t.params["eta"] for t in study.trials) == [0.0001, 3.0]
    for eta in (3.0, 0.0001, 0.0001, 3.0, 0.0001):  # after 3 startup trials the pruner acts
        study.enqueue_trial({"eta": eta})
    work(Sweep(s.base, s.space, s.out_dir, sampler="random", pruner="median", trials=7))
    last = study.trials[-1]
    assert last.params == {"eta": 0.0001} and last.state.name == "PRUNED"
    assert last.last_step == 1 and set(last.intermediate_values) == {1}
    study.enqueue_trial({"eta": 0.0001})  # --prune-from 3: it trains 3 epochs before it may go
    work(Sweep(s.base, s.space, s.out_dir, sampler="random", pruner="median", prune_from=3,
               trials=8))
    last = study.trials[-1]
    assert last.state.name == "PRUNED" and set(last.intermediate_values) == {1, 2, 3}


def test_jobs_run_in_processes_with_their_share_of_threads(tmp_path):
    outcome = work_in_parallel(_sweep(tmp_path, trials=4, jobs=2))
    study = optuna.load_study(study_name="mojinet", storage=_sweep(tmp_path).storage_object())
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert 4 <= len(done) <= 5  # two workers may both start the last one
    assert len({t.user_attrs["worker"] for t in done}) == 2
    assert sorted(outcome) == [0, 1] and sum(outcome.values()) == len(done)
    share = str(max(1, (os.cpu_count() or 1) // 2))
    assert {t.user_attrs["threads"] for t in done} == {share}


def _sweep_command(out: Path, trials: int, *extra) -> list[str]:
    return [sys.executable, "-m", "mojinet", "sweep", "--space", "hidden=4..32:log "
            "eta=0.5..5:log", "--out", str(out), "--trials", str(trials), "--sampler", "random",
            "--pruner", "none", *FLAGS, *extra]


def test_killed_sweep_continues_where_it_stopped(tmp_path):
    child = subprocess.Popen(_sweep_command(tmp_path, 100, "--epochs", "4"),
                             stdout=subprocess.DEVNULL)
    storage = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if (tmp_path / "study.journal").is_file():
                storage = storage or _sweep(tmp_path).storage_object()
                try:
                    trials = optuna.load_study(study_name="mojinet", storage=storage).trials
                except KeyError:  # the worker is writing the record just now: read it next time
                    continue
                if sum(t.state.name == "COMPLETE" for t in trials) >= 2 and \
                        trials[-1].state.name == "RUNNING":
                    break
        else:
            pytest.fail("the sweep did not finish 2 trials in 2 minutes")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    before = optuna.load_study(study_name="mojinet", storage=storage).trials
    kept = [t for t in before if t.state.name == "COMPLETE"]
    abandoned = [t.number for t in before if t.state.name == "RUNNING"]
    assert len(abandoned) <= 1 and len(kept) + len(abandoned) == len(before)
    assert main(_sweep_command(tmp_path, len(kept) + 1, "--epochs", "4")[3:]) == 0
    after = optuna.load_study(study_name="mojinet", storage=storage).trials
    assert [(t.number, t.value, t.params) for t in after if t.number in {k.number for k in kept}
            ] == [(t.number, t.value, t.params) for t in kept]
    assert [after[n].state.name for n in abandoned] == ["FAIL"] * len(abandoned)
    assert len(after) == len(before) + 1 and after[-1].state.name == "COMPLETE"


@pytest.mark.skipif(not POSTGRES and not os.environ.get("CI"),
                    reason="set MOJINET_TEST_POSTGRES=postgresql://… (CI does)")
def test_two_workers_share_one_postgresql_study(tmp_path):
    assert POSTGRES, "CI must run this test: .ci/run starts PostgreSQL and sets " \
                     "MOJINET_TEST_POSTGRES"
    study_name = f"test-{uuid.uuid4().hex[:8]}"
    storage = st_.storage_for(POSTGRES, tmp_path)  # the tables, made before the workers start
    try:
        _two_workers_on_one_study(storage, study_name, tmp_path)
    finally:  # even when the check fails: a connection left open fails a later test
        optuna.delete_study(study_name=study_name, storage=storage)
        storage.engine.dispose()


def _two_workers_on_one_study(storage, study_name: str, tmp_path) -> None:
    st_.open_study(storage, study_name)
    command = _sweep_command(tmp_path, 6, "--storage", POSTGRES, "--study", study_name)
    workers = [subprocess.Popen(command[:command.index("--out") + 1] + [str(tmp_path / f"w{i}")]
                                + command[command.index("--out") + 2:], stdout=subprocess.PIPE,
                                text=True) for i in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    trials = optuna.load_study(study_name=study_name, storage=storage).trials
    done = [t for t in trials if t.state.name == "COMPLETE"]
    assert 6 <= len(done) <= 7 and len(done) == len(trials)
    assert sorted(t.number for t in trials) == list(range(len(trials)))  # none twice
    by_worker = {}
    for t in trials:
        by_worker.setdefault(t.user_attrs["worker"], []).append(t.number)
        assert sorted(t.intermediate_values) == [1, 2]  # each trial trained once
    assert len(by_worker) == 2 and sum(map(len, by_worker.values())) == len(trials)
    said = [int(o.split("This session ran ")[1].split()[0]) for o in outputs]
    assert sorted(said) == sorted(map(len, by_worker.values()))  # each its own, all told


# ----------------------------------------------------------------------------- the figures
def _row(n, state, acc, seconds, hidden=(16,), eta=1.0):
    return TrialRow(n, state, acc, seconds, 100, 2, {"eta": eta},
                    {"hidden": list(hidden), "eta": eta})


def test_frontier_keeps_the_trials_nothing_beats():
    trials = [_row(0, "COMPLETE", 0.90, 10), _row(1, "COMPLETE", 0.80, 5),
              _row(2, "COMPLETE", 0.85, 20), _row(3, "COMPLETE", 0.95, 30),
              _row(4, "PRUNED", 0.99, 1), _row(5, "COMPLETE", 0.70, 2)]
    assert [r.number for r in frontier(trials)] == [5, 1, 0, 3]


def test_figures_draw_every_trial():
    trials = [_row(0, "COMPLETE", 0.9, 10, (16, 16), 0.1), _row(1, "PRUNED", 0.5, 3, (64,), 2.0),
              _row(2, "COMPLETE", 0.95, 20, (64,), 1.0)]
    history = history_figure(trials).axes[0]
    assert sum(len(c.get_offsets()) for c in history.collections) == 3
    left, right = hyper_figure(trials).axes
    xs = np.concatenate([c.get_offsets()[:, 0] for c in left.collections if len(c.get_offsets())])
    assert sorted(xs) == [16, 64, 64]
    assert len(frontier_figure(trials).axes[0].lines) == 1
