"""Fit the writer's joining rate (``Style.join``) to real writers' joined strokes.

    python tools/fit_join.py ../shared/data/handwriting/tomoe_debian/handwriting-ja.xml.gz

A real sample with fewer strokes than KanjiVG's glyph counts as joined (an upper bound: a
dropped stroke counts too). The writer joins each stroke to the one before it with probability
p when the gap is under ``join_gap``; a synthetic sample of a character with n such gaps is
joined somewhere with probability 1 − (1 − p)^n. p solves mean_i [1 − (1 − p)^{n_i}] = the real
rate, n_i counted on the style's own strokes (seeded) for each real sample's character. Fit on
Tomoe or tegaki, never on a writer that checks a model (cnn_chinese_hw).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mojinet.data.handwriting import STYLES, jitter_strokes
from mojinet.data.kanjivg import KanjiVGError, load_glyph
from mojinet.data.strokes import read_strokes


def short_gaps(glyph, style, rng) -> int:
    """Gaps under ``style.join_gap`` between consecutive strokes of one synthetic sample."""
    strokes = jitter_strokes(glyph, style.with_(join=0.0), rng)
    return sum(np.hypot(*(b[0] - a[-1])) < style.join_gap for a, b in zip(strokes, strokes[1:]))


def solve(n: np.ndarray, rate: float) -> float:
    """p with mean(1 − (1 − p)^n) = rate, by bisection (the left side rises with p)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        p = (lo + hi) / 2
        lo, hi = (p, hi) if np.mean(1 - (1 - p) ** n) < rate else (lo, p)
    return (lo + hi) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("strokes", type=Path, nargs="+", help="real stroke files (Tomoe, tegaki)")
    ap.add_argument("--style", default="fitted-joined")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    style, rng = STYLES[args.style], np.random.default_rng(args.seed)
    for path in args.strokes:
        fewer, n = [], []
        for s in read_strokes(path):
            try:
                g = load_glyph(s.label)
            except KanjiVGError:
                continue
            fewer.append(len(s.strokes) < len(g.strokes))
            n.append(short_gaps(g, style, rng))
        rate, n = float(np.mean(fewer)), np.array(n)
        print(f"{path.name}: n {len(n)}, fewer strokes {rate:.4f}, short gaps a sample "
              f"{n.mean():.2f} (join_gap {style.join_gap}); p = {solve(n, rate):.4f}")


if __name__ == "__main__":
    main()
