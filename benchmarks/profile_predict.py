"""Where one POST /api/predict's own work goes, stage by stage, in-process (no HTTP).

For the page's 280×280 RGBA PNG drawings (``bench_serve.drawings``) and a 784-16-16-10, each
stage of the handler's work is timed in CPU time (``time.process_time``: what the machine's
other jobs disturb least) and its median over ``--requests`` printed, for the reference
preprocessing and for the fast path for clean canvases (``data.fastread``), side by side:

- decode: base64 → bytes, then the PNG decoded (``decode.open_image``);
- preprocess: the decoded picture → the network's input and ink map (``read_image`` or
  ``fastread.read_clean``);
- forward + readout: ``Network.forward``, the candidates, every layer's values (``readout``);
- verdict: is it a character (``verdict.judge`` on the ink map);
- JSON: the answer written (orjson, as the server does).

The compiled kernels are loaded and BLAS kept to one thread first, as in a server process.
``--profile`` adds cProfile's top functions for the fast path's whole request.

    python benchmarks/profile_predict.py [--requests 300] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serve import drawings  # noqa: E402

from mojinet import engines  # noqa: E402
from mojinet.data import inkloops  # noqa: E402
from mojinet.data.decode import open_image  # noqa: E402
from mojinet.data.fastread import read_clean  # noqa: E402
from mojinet.data.images import read_image  # noqa: E402
from mojinet.io import Model  # noqa: E402
from mojinet.nn.network import Network  # noqa: E402
from mojinet.web.pool import one_blas_thread  # noqa: E402
from mojinet.web.readout import decode_drawing, readout, verdict  # noqa: E402

STAGES = ("decode", "preprocess", "forward + readout", "verdict", "JSON")


def one(model: Model, url: str, fast: bool) -> dict[str, float]:
    """One request's work; the CPU seconds of each stage."""
    t = [time.process_time()]
    img = open_image(decode_drawing(url))
    t.append(time.process_time())
    reading = (read_clean(img) if fast else None) or read_image(img)
    t.append(time.process_time())
    x = reading.x.reshape(-1)  # (784,)
    result = readout(model, x, top=10)
    t.append(time.process_time())
    result["verdict"] = verdict(model, result, reading, x)
    t.append(time.process_time())
    orjson.dumps(result)
    t.append(time.process_time())
    return {s: b - a for s, a, b in zip(STAGES, t[:-1], t[1:], strict=True)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--profile", action="store_true", help="cProfile the fast path too")
    args = p.parse_args(argv)
    engines.load_kernels()  # as the server does at start-up (web.app.create_app) …
    inkloops.load()
    one_blas_thread()  # … and each server process (web.server.make_server)
    net = Network([784, 16, 16, 10], "sigmoid", init="xavier", seed=0)
    model = Model(net, tuple("0123456789"), {"image_shape": [28, 28], "user_images": {"box": 20}})
    urls = drawings()
    for u in urls * 3:  # warm up
        one(model, u, True), one(model, u, False)
    times = {True: [], False: []}
    for i in range(args.requests):  # interleaved, so both see the same machine
        for fast in (False, True):
            times[fast].append(one(model, urls[i % len(urls)], fast))
    print(f"one POST /api/predict's work, in-process, CPU ms (median of {args.requests}), the "
          f"page's 280×280 RGBA PNG drawings, 784-16-16-10; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  {'stage':<18} {'reference':>9} {'fast':>9} {'fast/ref':>9}")
    for stage in (*STAGES, "total"):
        ref, fast = (statistics.median(sum(r.values()) if stage == "total" else r[stage]
                                       for r in times[k]) * 1e3 for k in (False, True))
        print(f"  {stage:<18} {ref:9.3f} {fast:9.3f} {fast / ref:9.2f}")
    if args.profile:
        pr = cProfile.Profile()
        pr.enable()
        for i in range(args.requests):
            one(model, urls[i % len(urls)], True)
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
