"""The synthetic writer's two engines: images per second by size and style, reference against
fast at 1 and 2 worker processes, interleaved in one run; then the wall time of drawing the
kyōiku-400 set (1,026 kanji × 400) with the fast engine, in a fresh process.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/fast_writer.py \\
        [--chars grade3] [--repeats 3] [--sizes 28 32 48 64] [--styles default plain pencil] \\
        [--kyoiku-workers 2] [--no-kyoiku]

Rates are images per wall-clock second (what a user waits; with workers the only fair one) and
per CPU-second of all processes (what a loaded machine distorts least), medians over the
repeats; each repeat runs every engine at every size and style back to back, so that a busy
machine slows them alike: read the ratios. The reference draws one round of ``--chars``, the
fast engine ``--rounds`` rounds (more images, the same per-image work). The glyphs are parsed
before timing (once per process: the kyōiku run below includes it). The kyōiku line also
gives the reference's time at its measured 32-px default-style rate (an estimate: drawing it
takes about a quarter of an hour).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import numpy as np

from mojinet.data import kanji
from mojinet.data.handwriting import STYLES
from mojinet.data.kanjivg import load_glyph

KYOIKU = """
import resource, time
t = time.perf_counter()
from mojinet.data import kanji
images, _ = kanji.render_images(kanji.charset("kyoiku"), 400, 32, 0, None, engine="fast",
                                workers={workers})
cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF,
          resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))
print(time.perf_counter() - t, len(images), cpu)
"""


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the workers, once joined)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rate(chars: str, rounds: int, size: int, style: str, engine: str,
         workers: int) -> tuple[float, float]:
    """(images per wall-clock second, images per CPU-second) of drawing ``rounds`` rounds."""
    t, c = time.perf_counter(), cpu_seconds()
    images, _ = kanji.render_images(chars, rounds, size, 0, style, engine=engine,
                                    workers=workers)
    return len(images) / (time.perf_counter() - t), len(images) / (cpu_seconds() - c)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chars", default="grade3")
    p.add_argument("--rounds", type=int, default=8, help="rounds the fast engine draws")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sizes", type=int, nargs="+", default=[28, 32, 48, 64])
    p.add_argument("--styles", nargs="+", default=["default", "plain", "pencil"],
                   choices=list(STYLES))
    p.add_argument("--kyoiku-workers", type=int, default=2)
    p.add_argument("--no-kyoiku", action="store_true")
    args = p.parse_args()
    chars = kanji.resolve_chars(args.chars)
    for c in chars:
        load_glyph(c)
    kanji.render_images(chars[:2], 1, 28, 0, engine="fast")  # compile (Numba) before timing
    engines = {"reference": ("reference", 1, 1), "fast 1 worker": ("fast", 1, args.rounds),
               "fast 2 workers": ("fast", 2, args.rounds)}
    rates: dict[tuple, list[tuple[float, float]]] = {}
    for _ in range(args.repeats):
        for style in args.styles:
            for size in args.sizes:
                for name, (engine, workers, rounds) in engines.items():
                    r = rate(chars, rounds, size, style, engine, workers)
                    rates.setdefault((style, size, name), []).append(r)
    print(f"{len(chars)} characters ({args.chars}); medians of {args.repeats}; images per "
          f"wall-clock second, and per CPU-second (all processes)")
    print(f"{'style':8} {'size':>4} | wall: {'ref':>5} {'fast×1':>7} {'fast×2':>7} {'×1/ref':>7} "
          f"{'×2/ref':>7} | CPU: {'ref':>5} {'fast×1':>7} {'fast×2':>7} {'×1/ref':>7}")
    for style in args.styles:
        for size in args.sizes:
            (rw, rc), (ow, oc), (tw, tc) = (np.median(rates[(style, size, n)], axis=0)
                                            for n in engines)
            print(f"{style:8} {size:4} | wall: {rw:5.0f} {ow:7.0f} {tw:7.0f} {ow / rw:6.1f}x "
                  f"{tw / rw:6.1f}x | CPU: {rc:5.0f} {oc:7.0f} {tc:7.0f} {oc / rc:6.1f}x")
    if args.no_kyoiku:
        return
    code = KYOIKU.format(workers=args.kyoiku_workers)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    wall = time.perf_counter() - t
    inner, n, cpu = float(out[0]), int(out[1]), float(out[2])
    ref32 = rates.get(("default", 32, "reference"))
    estimate = (f"; the reference at its CPU rate above ≈ "
                f"{n / np.median([c for _, c in ref32]):,.0f} s of one core" if ref32 else "")
    print(f"kyōiku-400 ({n:,} images, 32 px, default style), fast engine, "
          f"{args.kyoiku_workers} workers: {wall:.1f} s wall from process start "
          f"({inner:.1f} s after Python started; {n / wall:,.0f} images/s); {cpu:.0f} CPU-s in "
          f"all ({n / cpu:,.0f} images per CPU-second: {cpu / args.kyoiku_workers:,.0f} s "
          f"on {args.kyoiku_workers} free cores){estimate}")


if __name__ == "__main__":
    main()
