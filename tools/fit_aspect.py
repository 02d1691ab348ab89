"""Fit the writer's aspect jitter (``Style.aspect_sigma``) to real writers' narrow and wide hands.

    python tools/fit_aspect.py ../shared/data/handwriting/tomoe_data [--style fitted] [--draws 4]

For every sample whose character KanjiVG has (each character once: hiragana.tdic repeats
all.tdic's kana), d = log(w/h) of its strokes' box − that of KanjiVG's glyph
(``mojinet.data.aspectfit``); the writer's ``style`` draws the same characters ``--draws``
times and is measured the same way; σ is fitted so that the writer's spread of d equals the real
one (``fit_aspect_sigma``; the quadrature estimate beside it). Fit on tomoe_data only, never on a
writer that checks a model (cnn_chinese_hw, tegaki).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

import numpy as np

from mojinet.data.aspectfit import (
    fit_aspect_sigma,
    log_aspect,
    relative_log_aspects,
    writer_log_aspects,
)
from mojinet.data.handwriting import get_style
from mojinet.data.kanjivg import KanjiVGError, load_glyph
from mojinet.data.strokes import read_strokes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("strokes", help="real strokes (the tomoe_data folder)")
    ap.add_argument("--style", default="fitted")
    ap.add_argument("--draws", type=int, default=4, help="writer draws of each character")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-square", action="store_true",
                    help="fit the style without its square stretch (square = (0, 0))")
    args = ap.parse_args()
    style = get_style(args.style)
    style = style.with_(square=(0.0, 0.0)) if args.no_square else style
    samples, glyphs, skipped = [], {}, Counter()
    for s in read_strokes(args.strokes):
        if s.label in glyphs:
            skipped["repeated character"] += 1
            continue
        try:
            glyphs[s.label] = load_glyph(s.label)
        except KanjiVGError:
            skipped["not in KanjiVG"] += 1
            continue
        samples.append(s.to_glyph())
    real = relative_log_aspects(samples, glyphs)
    kanjivg = np.array([log_aspect(g.strokes) for g in glyphs.values()])  # (n,)
    fit = fit_aspect_sigma(real, list(glyphs.values()), style, args.seed, args.draws)
    writer = writer_log_aspects(list(glyphs.values()), style, args.seed, args.draws)
    print(json.dumps({"style": args.style, "square": list(style.square),
                      "skipped": dict(skipped), **fit,
                      # does a sample's d follow its glyph's own aspect (the square stretch)?
                      "real_corr_with_glyph_aspect": float(np.corrcoef(real, kanjivg)[0, 1]),
                      "writer_corr_with_glyph_aspect": float(np.corrcoef(
                          writer, np.tile(kanjivg, args.draws))[0, 1])}, indent=1))


if __name__ == "__main__":
    main()
