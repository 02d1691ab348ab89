"""A bounded loopback load test of `mojinet serve`: a burst of large drawings must leave the
server's memory bounded at its peak and back near idle afterwards.

It runs ``benchmarks/bench_serve_load.py`` (the heavy version: 16 clients × 4 drawings of
2000×2000, results in docs/web.md) with a CI-sized burst: 8 concurrent clients, one 2000×2000
drawing each. The script starts a real ``mojinet serve`` in its own process, reads its RSS from
/proc, and exits 1 if the peak is over 500 MB, the RSS after the burst is over 1.1 × idle, or any
answer is not 200 or 503 with Retry-After.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_serve_load.py"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_burst_of_large_drawings_keeps_memory_bounded():
    run = subprocess.run([sys.executable, str(SCRIPT), "--clients", "8", "--requests", "1",
                          "--settle", "1"], capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    m = re.search(r"idle (\d+) MB, peak (\d+) MB, 1 s after (\d+) MB", out)
    assert m, out
    idle, peak, after = map(int, m.groups())
    assert peak < 500 and after <= 1.1 * idle, out
    assert "errors 0" in out and "HTTP 200 × " in out and "still up afterwards: True" in out, out
    assert run.returncode == 0, out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU times from /proc")
def test_sustained_load_against_the_reference_server():
    """``bench_serve_load.py --rate`` in miniature (1 s a run, the built-in load generator in
    its own process): both servers answer every request with 200, give the same answers to
    the same drawings, and the report has its numbers (the speed itself is not tested)."""
    run = subprocess.run([sys.executable, str(SCRIPT), "--rate", "--seconds", "1", "--rounds",
                          "1", "--connections", "2", "--tool", "loadgen"], capture_output=True,
                         text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    for kind in ("reference", "fast     "):
        m = re.search(rf"1 worker\(s\), {kind}: +(\d+) predictions/s, p50 +[\d.]+ ms, p90 "
                      rf"+[\d.]+ ms, p99 +[\d.]+ ms, errors (\d+), server CPU ([\d.]+) ms", out)
        assert m, out
        assert int(m.group(1)) > 0 and m.group(2) == "0" and float(m.group(3)) > 0, out
    assert "the same answers to the same drawings: True" in out, out
