"""``mojinet serve --workers N``: several processes answer on one port, and all of them stop.

A real ``mojinet serve`` process on loopback (a free port) with two workers: every request gets
the same prediction whichever worker answers, and SIGTERM to
the parent ends the parent and both workers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from mojinet.io import Model, save_model
from mojinet.nn.network import Network

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="workers need os.fork")


def _children(pid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return {int(p) for p in f.read().split()}


def test_two_workers_share_the_port_and_stop_together(tmp_path):
    net = Network([784, 16, 10], ["sigmoid", "softmax"], "cross-entropy", seed=0)
    path = save_model(Model(net, tuple("0123456789"), {"image_shape": [28, 28]}),
                      tmp_path / "m.npz")
    proc = subprocess.Popen([sys.executable, "-m", "mojinet", "serve", str(path), "--port", "0",
                             "--workers", "2", "--no-samples"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "2 worker processes" in line, line + proc.stderr.read()
        url = re.search(r"(http://127\.0\.0\.1:\d+)/", line).group(1)
        pixels = [0.0] * 784
        pixels[300:320] = [1.0] * 20
        answers, deadline = [], time.monotonic() + 60
        while len(answers) < 40 and time.monotonic() < deadline:
            try:  # a new connection per request, so that either worker may take it
                r = httpx.post(url + "/api/predict", json={"pixels": pixels, "top": 3}, timeout=30)
            except httpx.TransportError:
                time.sleep(0.1)  # the workers are still starting
                continue
            assert r.status_code == 200, r.text
            answers.append(r.json()["top"])
        assert len(answers) == 40
        assert all(a == answers[0] for a in answers)  # the same model in every worker
        workers = _children(proc.pid)
        assert len(workers) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        for pid in workers:
            assert not os.path.exists(f"/proc/{pid}") or _zombie(pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_workers_with_learn_my_hand_are_refused(tmp_path):
    """Learn my hand adapts the model inside one process: with samples on, --workers 2 would
    leave the other worker answering with the old model, so serve stops and says what to do."""
    net = Network([784, 8, 10], ["sigmoid", "softmax"], "cross-entropy", seed=0)
    path = save_model(Model(net, tuple("0123456789"), {"image_shape": [28, 28]}),
                      tmp_path / "m.npz")
    samples = tmp_path / "samples"
    done = subprocess.run([sys.executable, "-m", "mojinet", "serve", str(path), "--port", "0",
                           "--workers", "2", "--samples", str(samples)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "--no-samples" in done.stderr and "--workers 2" in done.stderr, done.stderr
    assert "serving" not in done.stdout  # it never listened
    assert not samples.exists()  # and saved nothing
