"""Fit the writer's hooks (``Style.hook_drop``, ``hook_scale``, ``hook_scale_sd``) to real strokes.

    H=../shared/data/handwriting
    python tools/fit_hooks.py "$H/tegaki/tegaki-lab-japanese.tar.gz,session=train"

For every real sample with as many strokes as KanjiVG's glyph of its character, each KanjiVG
stroke with a hook (``handwriting.hook_corners``) is matched to the real stroke of the same
number and its hook measured (``realfit.hook_factors``, ``realfit.fit_hooks``). ``FILE,session=S``
keeps the sittings whose name starts with S. Fit on the development writers or on Tomoe, never
on a writer that checks a model (cnn_chinese_hw).
"""

from __future__ import annotations

import argparse

from mojinet.data.kanjivg import KanjiVGError, load_glyph
from mojinet.data.realfit import fit_hooks, hook_factors
from mojinet.data.strokes import read_strokes


def pairs(path: str):
    """(real, KanjiVG) glyph pairs of the samples in ``path``."""
    file, _, session = path.partition(",session=")
    for s in read_strokes(file):
        if session and not s.session.startswith(session):
            continue
        try:
            yield s.to_glyph(), load_glyph(s.label)
        except KanjiVGError:
            continue


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("strokes", nargs="+", help="real stroke files (FILE or FILE,session=S)")
    for path in ap.parse_args().strokes:
        fit = fit_hooks(hook_factors(pairs(path)))
        print(f"{path}: hooks {fit['n_hooks']}, left out {fit['hook_drop']:.3f}; f median "
              f"{fit['hook_scale']:.2f}, robust sd of log f {fit['hook_scale_sd']:.2f}")


if __name__ == "__main__":
    main()
