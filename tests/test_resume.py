"""Rerun and resume: a model's recorded run trains the same weights again; a run killed with
SIGKILL after epoch 2 of 4 and resumed ends with the weights of one never stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from mojinet import load_model
from mojinet.cli import main
from mojinet.engines import compiled
from mojinet.presets import PRESETS
from mojinet.runner import resume, run

ENGINES = ["reference"] + (["compiled"] if compiled.HAVE_NUMBA else [])

# Trains as the command line would, and kills itself (SIGKILL: no clean-up of any kind) right
# after epoch 2 has been saved.
KILLED_AFTER_EPOCH_2 = """
import os, signal, sys
from mojinet.cli import parse_args
from mojinet.cli.train import config_from_args
from mojinet.runner import run

def kill_after_epoch_2(net, record):
    if record.epoch == 2:
        os.kill(os.getpid(), signal.SIGKILL)

run(config_from_args(parse_args(sys.argv[1:])), callbacks=[kill_after_epoch_2])
"""


def _max_diff(a, b) -> float:
    return max(float(np.max(np.abs(p - q)))
               for p, q in zip(a.network.parameters(), b.network.parameters(), strict=True))


def _history(model):
    return [{k: v for k, v in e.items() if "seconds" not in k} for e in model.training["history"]]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["sgd", "momentum"])
@pytest.mark.parametrize("augment", [[], ["--rotate", "8", "--shift", "1.5"]],
                         ids=["plain", "augment"])
def test_kill_9_after_epoch_2_of_4_then_resume_ends_as_if_never_stopped(tmp_path, engine,
                                                                        momentum, augment):
    flags = ["train", "--limit", "800", "--epochs", "4", "--engine", engine, "--momentum",
             str(momentum), "--eta", "1.0" if momentum else "3.0", "--no-progress", *augment]
    assert main([*flags, "--out", str(tmp_path / "whole.npz")]) == 0
    whole = load_model(tmp_path / "whole.npz")
    killed = tmp_path / "killed.npz"
    child = subprocess.run([sys.executable, "-c", KILLED_AFTER_EPOCH_2, *flags, "--out",
                            str(killed)], capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr
    saved = load_model(killed)
    assert saved.training["status"] == "running" and len(saved.training["history"]) == 2
    assert saved.training["engine"] == engine
    assert bool(saved.state) == bool(momentum)  # the velocities are in the file
    assert _max_diff(saved, whole) > 1e-3  # two epochs short of the end

    assert main(["train", "--resume", str(killed), "--no-progress"]) == 0
    resumed = load_model(killed)
    assert resumed.training["status"] == "finished" and resumed.state == {}
    assert _max_diff(resumed, whole) < 1e-6
    assert _history(resumed) == _history(whole)
    assert resumed.training["test_accuracy"] == whole.training["test_accuracy"]


def test_resume_keeps_adam_moments_best_epoch_early_stopping_and_dropout(tmp_path):
    config = PRESETS["chapter"].config.replace(
        limit=600, validation=100, epochs=5, optimizer="adam", eta=0.01, best=True,
        early_stopping=4, dropout=(0.1, 0.2), max_norm=2.0, hidden=(24,),
        out=str(tmp_path / "whole.npz"))
    whole = run(config)

    def stop_after_3(net, record):
        if record.epoch == 3:
            raise KeyboardInterrupt

    cut = config.replace(out=str(tmp_path / "cut.npz"))
    with pytest.raises(KeyboardInterrupt):
        run(cut, callbacks=[stop_after_3])
    saved = load_model(tmp_path / "cut.npz")
    assert saved.training["status"] == "interrupted" and len(saved.training["history"]) == 3
    assert saved.training["resume"]["optimizer"]["values"]["t"] == 3 * 50  # 500 / batch 10
    assert {"optimizer.m.0", "optimizer.s.0", "best.0"} <= set(saved.state)
    resumed = resume(tmp_path / "cut.npz")
    assert _max_diff(resumed, whole) == 0
    assert _history(resumed) == _history(whole)
    assert resumed.training["best_epoch"] == whole.training["best_epoch"]


def test_a_killed_command_line_run_resumes(tmp_path):
    """``mojinet train`` itself, killed from outside once epoch 2 is reported."""
    flags = ["--limit", "3000", "--epochs", "4", "--engine", "reference", "--no-progress"]
    assert main(["train", *flags, "--out", str(tmp_path / "whole.npz")]) == 0
    out = tmp_path / "killed.npz"
    child = subprocess.Popen([sys.executable, "-m", "mojinet", "train", *flags, "--out",
                              str(out)], stdout=subprocess.PIPE, text=True)
    try:
        for line in child.stdout:
            if line.startswith("epoch   2/4"):  # printed after the epoch was saved
                os.kill(child.pid, signal.SIGKILL)
                break
        assert child.wait(60) == -signal.SIGKILL
    finally:
        child.stdout.close()
    assert 2 <= len(load_model(out).training["history"]) < 4
    assert main(["train", "--resume", str(out)]) == 0
    assert _max_diff(load_model(out), load_model(tmp_path / "whole.npz")) < 1e-6


def test_rerunning_a_models_recorded_run_gives_the_same_weights_bit_for_bit(tmp_path, capsys):
    first = tmp_path / "m.npz"
    assert main(["train", "--preset", "chapter-tuned", "--limit", "500", "--epochs", "2",
                 "--hidden", "20", "--out", str(first)]) == 0
    assert main(["train", "--config", str(first), "--out", str(tmp_path / "b.npz")]) == 0
    a, b = load_model(first), load_model(tmp_path / "b.npz")
    for p, q in zip(a.network.parameters(), b.network.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)
    assert _history(a) == _history(b)
    # the same through a TOML file, and options given still override the file
    from mojinet.config import read_config

    (tmp_path / "run.toml").write_text(read_config(first).to_toml())
    assert main(["train", "--config", str(tmp_path / "run.toml"), "--epochs", "1", "--out",
                 str(tmp_path / "c.npz")]) == 0
    c = load_model(tmp_path / "c.npz")
    assert c.training["config"]["epochs"] == 1 and c.training["config"]["hidden"] == [20]
    assert c.training["config"]["preset"] == "chapter-tuned"


def test_resume_refuses_what_it_cannot_continue(tmp_path, capsys):
    done = tmp_path / "done.npz"
    assert main(["train", "--limit", "200", "--epochs", "1", "--out", str(done)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(done)]) == 2
    assert "it has finished" in capsys.readouterr().err

    def stop(net, record):
        raise KeyboardInterrupt

    cut = tmp_path / "cut.npz"
    with pytest.raises(KeyboardInterrupt):
        run(PRESETS["chapter"].config.replace(limit=200, epochs=3, out=str(cut)),
            callbacks=[stop])
    assert main(["train", "--resume", str(cut), "--epochs", "5"]) == 2
    err = capsys.readouterr().err
    assert "these options differ from it: epochs (3 → 5)" in err and "--config" in err
    assert main(["train", "--resume", str(cut), "--preset", "nielsen"]) == 2
    assert "without --config or --preset" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "missing.npz")]) == 2
    assert "no such config or model file" in capsys.readouterr().err


def test_the_two_head_kanji_model_resumes_with_its_component_head(tmp_path):
    options = {"chars": "林森村校", "per_class": 6, "test_per_class": 2, "size": 28}
    config = PRESETS["kanji-radical"].config.replace(
        dataset_options=options, hidden=(12,), epochs=3, dropout=(0.0, 0.2),
        out=str(tmp_path / "whole.npz"))
    whole = run(config)

    def stop_after_1(net, record):
        if record.epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(config.replace(out=str(tmp_path / "cut.npz")), callbacks=[stop_after_1])
    assert {"head.V", "head.c", "optimizer.velocity.0"} <= set(load_model(tmp_path / "cut.npz")
                                                                .state)
    resumed = resume(tmp_path / "cut.npz")
    assert _max_diff(resumed, whole) == 0
    assert resumed.training["component_head"] == whole.training["component_head"]
    assert resumed.training["engine"] == "reference"  # the two-head model has no fast path
