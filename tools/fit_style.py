"""Fit the writer's variation to real strokes: writes src/mojinet/data/fitted_style.json.

    python tools/fit_style.py ../shared/data/handwriting/tomoe_data

Aligns every sample whose character KanjiVG has with the same number of strokes
(``mojinet.data.realfit.align``), fits the spreads (``fitted_parameters``) and writes them with
their provenance. Fit on tomoe_data only (Apache-2.0 or CC BY 4.0): its numbers ship in the
package, and the checking writers (tegaki, cnn_chinese_hw) must stay unseen.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from mojinet.data.kanjivg import load_glyph
from mojinet.data.realfit import align, fitted_parameters
from mojinet.data.strokes import read_strokes

OUT = Path(__file__).resolve().parents[1] / "src" / "mojinet" / "data" / "fitted_style.json"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("strokes", help="the tomoe_data folder (all.tdic, hiragana.tdic)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    samples = read_strokes(args.strokes)
    seen: set[str] = set()
    alignments, skipped = [], Counter()
    for s in samples:
        if s.label in seen:  # hiragana.tdic repeats all.tdic's kana: count each once
            skipped["repeated character"] += 1
            continue
        seen.add(s.label)
        try:
            glyph = load_glyph(s.label)
        except (KeyError, ValueError, OSError):
            skipped["not in KanjiVG"] += 1
            continue
        if len(glyph.strokes) != len(s.strokes):
            skipped["other stroke count"] += 1
            continue
        a = align(s.to_glyph(), glyph)
        if a is None:
            skipped["strokes do not correspond"] += 1
            continue
        alignments.append(a)
    fitted = fitted_parameters(alignments)
    record = {
        "what": "the synthetic writer's variation, measured: real strokes aligned with KanjiVG "
                "(mojinet.data.realfit)",
        "source": "tomoe_data by Hiroyuki Komatsu, available at "
                  "https://github.com/hiroyuki-komatsu/tomoe_data/ (Apache-2.0 or CC BY 4.0), "
                  "commit eb972ca7; KanjiVG (CC BY-SA 3.0, Ulrich Apel and contributors)",
        "made_by": "python tools/fit_style.py PATH/tomoe_data",
        "samples": len(samples), "skipped": dict(skipped),
        "parameters": fitted,
    }
    args.out.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(json.dumps(record, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
