"""Never lose work (issue 17): no Ctrl-C, kill -9 or full disk leaves a worse model at --out;
--out that is a folder or a device is an error; stale temporary files of ours are cleaned; the
options of a run are range-checked before any work.

The full disk is real: a child process with a file-size limit (``RLIMIT_FSIZE``, SIGXFSZ
ignored), so that its writes fail with EFBIG exactly as they fail with ENOSPC on a full disk
(no tmpfs or loop mount is available to tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mojinet import Model, Network, load_model, save_model
from mojinet import runner as runner_module
from mojinet._files import remove_stale_temporaries
from mojinet.cli import main
from mojinet.presets import PRESETS
from mojinet.run_memory import check, estimate
from mojinet.runner import RunInterrupted, run

FLAGS = ["--limit", "300", "--hidden", "8", "--engine", "reference", "--no-progress"]

# Runs `mojinet train ARGS` in a child whose files may not grow past LIMIT bytes (a full disk),
# or which kills itself with SIGKILL after epoch KILL_AT, or Ctrl-Cs itself after epoch INT_AT.
CHILD = """
import os, resource, signal, sys
limit, kill_at, int_at = (int(v) for v in sys.argv[1:4])
if limit:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
import mojinet.runner as r
from mojinet.cli import main
original = r._Run.after_epoch
def after_epoch(self, net, record):
    original(self, net, record)
    if record.epoch == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    if record.epoch == int_at:
        raise KeyboardInterrupt
r._Run.after_epoch = after_epoch
sys.exit(main(sys.argv[4:]))
"""


def child(args, limit=0, kill_at=0, int_at=0):
    return subprocess.run([sys.executable, "-c", CHILD, str(limit), str(kill_at), str(int_at),
                           "train", *args], capture_output=True, text=True, timeout=600)


def cli(argv) -> int:
    """``mojinet ARGV``'s exit status, whether it returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


# ----------------------------------------------------------------------------- --out
def test_out_a_folder_or_a_device_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runner_module, "load_data", lambda c: pytest.fail("data were loaded"))
    for out, message in ((tmp_path, "is a folder; give a file name"),
                         ("/dev/null", "not a regular file"),
                         (tmp_path / "missing" / "m.npz", "does not exist")):
        assert main(["train", "--epochs", "1", "--out", str(out), *FLAGS]) == 2
        assert message in capsys.readouterr().err
    assert not os.path.exists("/dev/null.npz")


def test_out_that_is_not_a_model_is_never_overwritten(tmp_path, capsys):
    precious = tmp_path / "notes.npz"
    precious.write_bytes(b"my notes")
    assert main(["train", "--epochs", "1", "--out", str(precious), *FLAGS]) == 2
    assert "not overwritten" in capsys.readouterr().err
    assert precious.read_bytes() == b"my notes"


# ----------------------------------------------------------------------------- a trained --out
@pytest.fixture
def trained(tmp_path):
    """A finished model at tmp_path/m.npz (the work we must not lose)."""
    out = tmp_path / "m.npz"
    assert main(["train", "--epochs", "2", "--out", str(out), *FLAGS]) == 0
    return out


def test_ctrl_c_before_the_first_epoch_leaves_the_trained_model(trained, monkeypatch, capsys):
    before = trained.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner_module, "train", interrupted)
    assert main(["train", "--epochs", "3", "--seed", "5", "--out", str(trained), *FLAGS]) == 130
    out = capsys.readouterr().out
    assert "before the first epoch ended" in out and "as it was" in out
    assert trained.read_bytes() == before
    assert sorted(p.name for p in trained.parent.iterdir()) == ["m.npz"]


def test_a_new_run_saves_beside_a_trained_model_until_it_finishes(trained, capsys):
    before = trained.read_bytes()
    beside = trained.with_name("m.unfinished.npz")
    config = PRESETS["chapter"].config.replace(limit=300, hidden=(8,), engine="reference",
                                               epochs=3, seed=5, out=str(trained))

    def stop_after_1(net, record):
        assert trained.read_bytes() == before and beside.exists()
        if record.epoch == 1:
            raise KeyboardInterrupt

    lines = []
    with pytest.raises(RunInterrupted, match=f"epoch 1 is in {beside}.*--resume"):
        run(config, callbacks=[stop_after_1], log=lines.append)
    assert any("saves its epochs to" in line for line in lines)
    assert trained.read_bytes() == before
    assert load_model(beside).training["status"] == "interrupted"
    # a second new run would overwrite that unfinished run: refused, saying how to go on
    assert main(["train", "--epochs", "3", "--out", str(trained), *FLAGS]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--resume", str(beside), "--no-progress"]) == 0
    finished = load_model(trained)
    assert finished.training["status"] == "finished" and len(finished.training["history"]) == 3
    assert not beside.exists()


def test_epochs_zero_or_negative_is_refused(trained, capsys):
    before = trained.read_bytes()
    for epochs in ("0", "-1"):
        assert main(["train", "--epochs", epochs, "--out", str(trained), *FLAGS]) == 2
        assert "epochs must be >= 1" in capsys.readouterr().err
    assert trained.read_bytes() == before


# ----------------------------------------------------------------------------- full disk
def test_full_disk_during_a_save_keeps_the_old_file_and_says_how_much_is_needed(tmp_path):
    path = save_model(Model(Network([4, 2], seed=0), ("a", "b")), tmp_path / "m.npz")
    before = path.read_bytes()
    code = f"""
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))
from mojinet import Model, Network, save_model
save_model(Model(Network([784, 64, 2], seed=0), ("a", "b")), {str(path)!r})
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "DiskFullError" in r.stderr and f"cannot write {path}" in r.stderr
    assert "needs 0.2 MB" in r.stderr and "is untouched" in r.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_full_disk_in_a_run_names_the_last_good_model_and_resume_finishes_it(tmp_path):
    out = tmp_path / "run.npz"
    first = child(["--epochs", "3", "--out", str(out), *FLAGS], kill_at=1)
    assert first.returncode == -signal.SIGKILL
    one_epoch = out.read_bytes()
    full = child(["--resume", str(out), "--no-progress"], limit=len(one_epoch) // 2)
    assert full.returncode == 1, full.stderr
    assert f"cannot write {out}" in full.stderr and "MB free" in full.stderr
    assert "The run stopped" in full.stderr and f"--resume {out}" in full.stderr
    assert out.read_bytes() == one_epoch  # the last good model, byte for byte
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert load_model(out).training["status"] == "finished"


def test_no_sequence_of_interruptions_leaves_a_worse_model(trained):
    """kill -9, a refused new run, a full disk and Ctrl-C, one after another on the same --out:
    after each, --out is byte for byte the trained model; only the finished run replaces it."""
    before = trained.read_bytes()
    beside = trained.with_name("m.unfinished.npz")
    args = ["--epochs", "4", "--seed", "9", "--out", str(trained), *FLAGS]
    steps = [child(args, kill_at=1),  # kill -9 after epoch 1 (saved beside)
             child(args),  # a new run: refused, the unfinished one is beside
             child(["--resume", str(beside), "--no-progress"], limit=20_000),  # full disk
             child(["--resume", str(beside), "--no-progress"], int_at=3)]  # Ctrl-C
    assert [s.returncode for s in steps] == [-signal.SIGKILL, 2, 1, 130], steps[-1].stderr
    assert trained.read_bytes() == before
    assert load_model(beside).training["status"] == "interrupted"
    assert len(load_model(beside).training["history"]) == 3
    assert main(["train", "--resume", str(beside), "--no-progress"]) == 0
    finished = load_model(trained)
    assert finished.training["status"] == "finished"
    assert [e["epoch"] for e in finished.training["history"]] == [1, 2, 3, 4]
    assert not beside.exists()
    leftovers = [p.name for p in trained.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


# ----------------------------------------------------------------------------- temporary files
def test_stale_temporary_files_of_ours_are_removed_and_nothing_else(tmp_path):
    path = tmp_path / "m.npz"
    dead = subprocess.Popen(["true"])
    dead.wait()
    old = time.time() - 3600
    files = {
        f".m.npz.{dead.pid}.abcd1234.tmp": (old, True),  # ours, writer gone: stale
        f".m.npz.{os.getpid()}.abcd1234.tmp": (old, False),  # ours, writer running
        f".m.npz.{dead.pid}.efgh5678.tmp": (time.time(), False),  # ours, too fresh
        ".m.npz.abcd1234.tmp": (old, True),  # ours, from before pids in names
        ".m.npz.notours.tmp": (old, False),  # not our pattern
        ".other.npz.abcd1234.tmp": (old, False),  # another file's
        "m.npz.tmp": (old, False),
    }
    for name, (mtime, _) in files.items():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (mtime, mtime))
    removed = remove_stale_temporaries(path)
    assert sorted(p.name for p in removed) == sorted(n for n, (_, s) in files.items() if s)
    save_model(Model(Network([4, 2], seed=0), ("a", "b")), path)  # saving cleans the same way
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"m.npz"} | {n for n, (_, s) in files.items() if not s}


def test_kill_9_during_a_save_leaves_a_temporary_file_the_next_save_cleans(tmp_path):
    path = tmp_path / "m.npz"
    code = f"""
import os, signal
import mojinet._files as f
original = f.atomic_writer
def killed(path, size=None):
    with original(path, size) as out:
        out.write(b"half a file")
        out.flush()
        os.kill(os.getpid(), signal.SIGKILL)
        yield out
import contextlib
f.atomic_writer = contextlib.contextmanager(killed)
from mojinet import Model, Network, save_model
save_model(Model(Network([4, 2], seed=0), ("a", "b")), {str(path)!r})
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert r.returncode == -signal.SIGKILL
    (tmp,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert not path.exists()
    os.utime(tmp, (time.time() - 3600,) * 2)  # as a later save would find it
    save_model(Model(Network([4, 2], seed=0), ("a", "b")), path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


# ----------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("flags,message", [
    (["--epochs", "-1"], "epochs must be >= 1"),
    (["--limit", "-1"], "limit must be >= 0"),
    (["--hidden", "0"], "hidden layer sizes must be from 1"),
    (["--hidden", "20000000"], "hidden layer sizes must be from 1 to 10,000,000"),
    (["--batch-size", "0"], "batch_size must be >= 1"),
    (["--eta", "-1"], "eta must be > 0"),
    (["--image-size", "0"], "must be a whole number from 1"),
    (["--validation", "-5"], "validation must be >= 0"),
    (["--seed", "-1"], "seed must be >= 0"),
])
def test_train_options_are_range_checked_before_any_work(tmp_path, capsys, monkeypatch, flags,
                                                         message):
    monkeypatch.setattr(runner_module, "load_data", lambda c: pytest.fail("data were loaded"))
    assert cli(["train", *flags, "--out", str(tmp_path / "m.npz")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.npz").exists()


def test_a_run_too_large_for_memory_is_refused_with_what_it_needs(tmp_path, capsys):
    assert main(["train", "--hidden", "10000000", "--limit", "100", "--out",
                 str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert "memory" in err and "weights and gradients" in err and "--hidden" in err
    config = PRESETS["chapter"].config.replace(hidden=(1000,), batch_size=100)
    need = estimate(config, 60_000, 784, 10)
    assert need.parts["weights and gradients"] == 2 * 4 * (785 * 1000 + 1001 * 10)
    check(need, available=need.total)  # just fits
    with pytest.raises(ValueError, match="only 1.0 MB"):
        check(need, available=10**6)


def test_a_batch_larger_than_the_data_is_full_batch_descent(tmp_path):
    out = tmp_path / "m.npz"
    assert main(["train", "--batch-size", "1000000000", "--epochs", "1", "--out", str(out),
                 *FLAGS]) == 0
    full = tmp_path / "full.npz"
    assert main(["train", "--batch-size", "300", "--epochs", "1", "--out", str(full),
                 *FLAGS]) == 0
    a, b = load_model(out).network, load_model(full).network
    for p, q in zip(a.parameters(), b.parameters(), strict=True):  # all 300 images, one batch
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("top,message", [("0", "--top must be at least 1"),
                                         ("-1", "--top must be at least 1"),
                                         ("x", "invalid int value")])
def test_predict_top_must_be_positive(tmp_path, capsys, top, message):
    path = save_model(Model(Network([784, 10], seed=0), tuple("0123456789")), tmp_path / "m.npz")
    assert cli(["predict", str(path), "x.png", "--top", top]) == 2
    assert message in capsys.readouterr().err


def test_ctrl_c_while_starting_prints_no_traceback(monkeypatch, capsys, tmp_path):
    def interrupted(config):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner_module, "load_data", interrupted)
    assert main(["train", "--out", str(tmp_path / "m.npz"), *FLAGS]) == 130
    captured = capsys.readouterr()
    assert "Interrupted before training began" in captured.out
    assert "Traceback" not in captured.out + captured.err
