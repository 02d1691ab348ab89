"""Fit the writer's hooks (``Style.hook_drop``, ``hook_scale``, ``hook_scale_sd``) to real strokes.

    H=../shared/data/handwriting
    python tools/fit_hooks.py "$H/tegaki/tegaki-lab-japanese.tar.gz,session=train"

For every real sample with as many strokes as KanjiVG's glyph of its character, each KanjiVG
stroke with a hook (``handwriting.hook_corners``) is matched to the real stroke of the same
number. The real stroke's hook is its sharpest turn of more than 45° with a tail of 0.5–25
units and at most 35 % of its length (a looser test than KanjiVG's: a hurried hook is rounder
and longer); none found = left out. The factor f is the real tail's share of its stroke over
KanjiVG's share of its own. Reports the share left out and, for the rest, the median of f and
the robust σ of log f (1.4826 × MAD). Fit on the development writers or on Tomoe, never on a
writer that checks a model (cnn_chinese_hw).
"""

from __future__ import annotations

import argparse

import numpy as np

from mojinet.data.handwriting import hook_corners, turning
from mojinet.data.kanjivg import KanjiVGError, load_glyph
from mojinet.data.realfit import robust_sd
from mojinet.data.strokes import read_strokes


def tail_share(P: np.ndarray) -> float:
    """The real stroke's hook as a share of its length (0 = no hook found). P: (n, 2)."""
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(P, axis=0), axis=1))]  # (n,)
    if len(P) < 3 or arc[-1] <= 0:
        return 0.0
    tail = arc[-1] - arc  # (n,)
    ok = (tail >= 0.5) & (tail <= min(25.0, 0.35 * arc[-1]))
    ok[[0, -1]] = False
    turn = np.where(ok, turning(P, arc, 6.0), 0.0)
    return float(tail[turn.argmax()] / arc[-1]) if turn.max() > 45.0 else 0.0


def hook_factors(path: str) -> np.ndarray:
    """f for every KanjiVG hook matched in the samples of ``path`` (``FILE,session=S`` keeps
    the sittings whose name starts with S)."""
    file, _, session = path.partition(",session=")
    out = []
    for s in read_strokes(file):
        if session and not s.session.startswith(session):
            continue
        try:
            g = load_glyph(s.label)
        except KanjiVGError:
            continue
        real = s.to_glyph()
        if len(real.strokes) != len(g.strokes):
            continue
        for K, R, c in zip(g.strokes, real.strokes, hook_corners(g)):
            if c >= 0:
                arc = np.linalg.norm(np.diff(K, axis=0), axis=1)
                out.append(tail_share(R) / (arc[c:].sum() / arc.sum()))
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("strokes", nargs="+", help="real stroke files (FILE or FILE,session=S)")
    for path in ap.parse_args().strokes:
        f = hook_factors(path)
        log_f = np.log(f[f > 0])
        print(f"{path}: hooks {len(f)}, left out {np.mean(f == 0):.3f}; "
              f"f median {np.exp(np.median(log_f)):.2f}, robust sd of log f {robust_sd(log_f):.2f}")


if __name__ == "__main__":
    main()
