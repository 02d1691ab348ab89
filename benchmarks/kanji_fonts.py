"""Writing styles the generator never made: how a KanjiVG-trained model reads printed fonts.

Draws every class of a model in each Japanese font found on the machine (e.g. Noto Sans/Serif CJK
JP, Regular and Bold), passes the picture through the same preprocessing as ``mojinet predict``
(``images.to_input``: crop to ink, fit the 20/28 box, centre of mass), and reports top-1 and
top-10 accuracy per font. Not part of the test suite: fonts differ from machine to machine.

    python benchmarks/kanji_fonts.py MODEL.npz [--fonts FILE.ttc ...]
"""

from __future__ import annotations

import argparse
import glob

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mojinet.data.images import to_input
from mojinet.io import load_model
from mojinet.kanji_cli import topk_accuracy

DEFAULT_FONTS = sorted(glob.glob("/usr/share/fonts/**/*CJK*.tt[cf]", recursive=True)
                       + glob.glob("/usr/share/fonts/**/*CJK*.otf", recursive=True))


def japanese_faces(path):
    """(name, font) for the JP face of a collection (or the font itself)."""
    for index in range(12):
        try:
            font = ImageFont.truetype(path, 96, index=index)
        except OSError:
            break
        family, style = font.getname()
        if "JP" in family and "Mono" not in family:
            yield f"{family} {style}", font


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--fonts", nargs="*", default=DEFAULT_FONTS)
    args = p.parse_args()
    model = load_model(args.model)
    size = model.image_shape[0]
    box = model.preprocessing.get("user_images", {}).get("box")
    y = np.arange(len(model.classes))
    for path in args.fonts:
        for name, font in japanese_faces(path):
            rows = []
            for c in model.classes:
                img = Image.new("L", (128, 128), 255)
                ImageDraw.Draw(img).text((64, 64), c, font=font, fill=0, anchor="mm")
                rows.append(to_input(img, size, box).reshape(-1))
            X = np.stack(rows)
            print(f"{name:32s} top-1 {topk_accuracy(model.network, X, y, 1):6.2%}   "
                  f"top-10 {topk_accuracy(model.network, X, y, 10):6.2%}   "
                  f"({len(y)} characters)")


if __name__ == "__main__":
    main()
