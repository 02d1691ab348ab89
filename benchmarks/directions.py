"""What the stroke-direction planes cost, next to what a training chunk already pays for.

    python benchmarks/directions.py [--size 32] [--chunk 1024] [--repeats 5]

On one chunk of synthetic kanji images (what ``nn.train`` distorts at a time): the time of
``direction_planes`` at pool 1, 2, 4 and 8, against the kyōiku recipe's distortion (rotate 5°,
scale 5 %, shift 1 px) of the same chunk and the first layer's forward product of a 768-neuron
layer over the pixels. Prints medians and their ratios to the distortion (peers in the same run:
the ratios carry over to a loaded machine better than the times). Not a test.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from mojinet.data.augment import Augment
from mojinet.data.directions import direction_planes
from mojinet.data.kanji import synthetic_dataset


def median_seconds(f, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--chunk", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    per_class = -(-args.chunk // 50)
    X = synthetic_dataset("一三二代使便全初副化北反坂央女始安忘想感旅族板業歯水氷決泣温漢版発神"
                          "福練習育訪象近金防集駅右左上下中大小", per_class, args.size, 0,
                          "default").X[: args.chunk]  # (chunk, h·w)
    shape = (args.size, args.size)
    rng = np.random.default_rng(0)
    augment = Augment(shape, rotate=5, scale=0.05, shift=1)
    W = rng.normal(size=(args.size * args.size, 768)).astype(np.float32)  # (h·w, 768)
    base = median_seconds(lambda: augment(X, rng), args.repeats)
    rows = [("distortion (rotate 5°, scale 5 %, shift 1 px)", base),
            ("first layer, pixels → 768 (X @ W)", median_seconds(lambda: X @ W, args.repeats))]
    for pool in (1, 2, 4, 8):
        rows.append((f"direction_planes, pool {pool}",
                     median_seconds(lambda pool=pool: direction_planes(X, shape, pool),
                                    args.repeats)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{len(X)} images of {args.size}×{args.size}, median of {args.repeats}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}, "
          f"load average {load:.1f}")
    for name, seconds in rows:
        print(f"  {name:<48} {seconds * 1e3:8.1f} ms  {seconds / len(X) * 1e6:7.1f} µs/image  "
              f"{seconds / base:5.2f}× the distortion")


if __name__ == "__main__":
    main()
