"""Synthetic handwriting speed: images per CPU-second at each size, and against a naive peer.

The peer draws the same jittered strokes with PIL's own round joins (``joint="curve"``, one
Python call per vertex) — what one would write first. Sizes and peer are interleaved and repeated
so that a busy machine slows all of them alike; compare the ratios, not the absolute numbers.

Ours is ``handwriting.render`` (per-stroke, component and whole-character variation, then
drawing) in the chosen style; the peer draws the same style's jittered strokes with a round pen.

    python benchmarks/kanji_render.py [--chars grade3] [--repeats 3] [--style default]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image, ImageDraw

from mojinet.data.handwriting import STYLES, jitter_strokes, render
from mojinet.data.kanji import resolve_chars
from mojinet.data.kanjivg import load_glyph


def naive_draw(strokes, size, pen, supersample=4):
    box = round(size * 20 / 28)
    allp = np.concatenate(strokes)
    lo, hi = allp.min(0), allp.max(0)
    k = max(box - pen, 1.0) / max(float(max(hi - lo)), 1e-6)
    S = supersample
    img = Image.new("L", (size * S, size * S), 0)
    d = ImageDraw.Draw(img)
    off = size * S / 2 - (lo + hi) / 2 * k * S
    for P in strokes:
        d.line((P * k * S + off).ravel().tolist(), fill=255, width=max(1, round(pen * S)),
               joint="curve")
    return np.asarray(img, np.float32).reshape(size, S, size, S).mean((1, 3)) / 255


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--chars", default="grade3")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--style", default="default", choices=list(STYLES))
    args = p.parse_args()
    glyphs = [load_glyph(c) for c in resolve_chars(args.chars)]
    style = STYLES[args.style]

    def ours(g, size, rng):
        return render(g, size, rng, style)

    def peer(g, size, rng):
        return naive_draw(jitter_strokes(g, style, rng), size, rng.uniform(*style.pen_width)
                          * size / 28)

    results: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for size in (28, 32, 48, 64):
            for name, fn in (("mojinet", ours), ("naive joint=curve", peer)):
                rng = np.random.default_rng(0)
                t = time.process_time()
                for g in glyphs:
                    fn(g, size, rng)
                rate = len(glyphs) / (time.process_time() - t)
                results.setdefault(f"{size}px {name}", []).append(rate)
    for size in (28, 32, 48, 64):
        ours = np.median(results[f"{size}px mojinet"])
        peer = np.median(results[f"{size}px naive joint=curve"])
        print(f"{size}px: {ours:7.0f} images/CPU-s (naive peer {peer:6.0f}); "
              f"ratio {ours / peer:.2f}x")


if __name__ == "__main__":
    main()
