"""The server's first large drawings, read at once on the decode pool's threads, all read: the
photo path's SciPy is imported when the app is made, not lazily by whichever thread gets there
first (a lazy module used from two threads at once can be seen half-imported)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = '''
import json, sys, threading
sys.path.insert(0, {benchmarks!r})
from bench_serve_load import large_drawing
from mojinet.io import Model
from mojinet.nn.network import Network
from mojinet.web import readout
from mojinet.web.app import create_app

net = Network([784, 16, 16, 10], "sigmoid", init="xavier", seed=0)
model = Model(net, tuple("0123456789"), {{"image_shape": [28, 28], "user_images": {{"box": 20}}}})
create_app(model, hosts=None, samples=None)
raws = [readout.decode_drawing(json.loads(large_drawing(600, i))["image"]) for i in range(8)]
errors = []

def read(raw):
    try:
        readout.read_drawing(model, raw)
    except Exception as e:  # noqa: BLE001
        errors.append(repr(e))

threads = [threading.Thread(target=read, args=(raw,)) for raw in raws]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("errors", errors)
'''


def test_the_first_large_drawings_read_on_threads_at_once():
    benchmarks = str(Path(__file__).resolve().parent.parent / "benchmarks")
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(benchmarks=benchmarks)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "errors []" in out.stdout, out.stdout + out.stderr
