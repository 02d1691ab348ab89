"""How much real pen strokes tremble, against KanjiVG's drawn strokes (``realfit.tremor``).

    H=../shared/data/handwriting
    python tools/measure_tremor.py "$H/tegaki/tegaki-lab-japanese.tar.gz,session=train"

Prints, per file, the median and 90th percentile of the strokes' tremor (units of KanjiVG's
109-unit box; a pixel of a 32 × 32 model image is about 4.7 units), and the same for the
KanjiVG glyphs of the characters written. ``FILE,session=S`` keeps the sittings whose name
starts with S.
"""

from __future__ import annotations

import argparse

import numpy as np

from mojinet.data.kanjivg import BOX, KanjiVGError, load_glyph
from mojinet.data.realfit import tremor
from mojinet.data.strokes import read_strokes

UNITS_A_PIXEL = BOX / (32 * 20 / 28)  # the ink box's long side is 20/28 of the field


def summary(values: list[float]) -> str:
    v = np.array([x for x in values if np.isfinite(x)])
    median = np.median(v)
    return (f"{len(v)} strokes, median {median:.2f} units ({median / UNITS_A_PIXEL:.3f} px "
            f"at 32 × 32), 90th pct {np.quantile(v, 0.9):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("strokes", nargs="+", help="real stroke files (FILE or FILE,session=S)")
    for path in ap.parse_args().strokes:
        file, _, session = path.partition(",session=")
        real, drawn, chars = [], [], set()
        for s in read_strokes(file):
            if not session or s.session.startswith(session):
                real += [tremor(P) for P in s.to_glyph().strokes]
                chars.add(s.label)
        for c in sorted(chars):
            try:
                drawn += [tremor(P) for P in load_glyph(c).strokes]
            except KanjiVGError:
                continue
        print(f"{path}\n  real:    {summary(real)}\n  KanjiVG: {summary(drawn)}")


if __name__ == "__main__":
    main()
