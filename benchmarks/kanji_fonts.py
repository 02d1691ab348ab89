"""Writing styles the generator never made: how a KanjiVG-trained model reads Japanese fonts.

Draws every class of a model once in each Japanese font found on the machine, passes the picture
through the same preprocessing as ``mojinet predict`` (``images.to_input``: crop to ink, fit the
20/28 box, centre of mass), and prints top-1 and top-10 accuracy per font, per group of fonts and
their mean. A font the model was trained on (kanjivg's ``fonts`` option, recorded with the
model) is marked "trained", and every face from the same folder (the same package: Klee One
SemiBold beside Klee One Regular, the Kouzan brushes together) "related"; both are left out of
the means, so that the means are over fonts the model never saw.

The fonts (Debian packages in brackets; missing ones are skipped):

* gothic (sans): Noto Sans CJK JP Regular/Bold [fonts-noto-cjk], IPAexGothic [fonts-ipaexfont],
  VL Gothic [fonts-vlgothic], Ume Gothic [fonts-horai-umefont];
* mincho (serif): Noto Serif CJK JP Regular/Bold, IPAexMincho, Ume Mincho;
* pen: Klee One Regular/SemiBold [fonts-klee] — a hand-written, pen-style design, the closest to
  real handwriting;
* brush: Kouzan brush (kaisho and gyōsho) [fonts-kouzan-mouhitsu], Aoyagi Sōseki
  [fonts-aoyagi-soseki] — calligraphy, the hardest.

A font that has no glyph for a character (its cmap does not map it, or it draws nothing) skips that
character: the character is counted as missing, never scored as a tofu box or a blank image.
Accuracy is over the characters the font has. Not part of the test suite: fonts differ from machine
to machine (tests/test_kanji_styles.py and tests/test_fontset.py test the machinery on real font
files: matplotlib's DejaVu Sans, and Noto Sans CJK where it is installed).

    python benchmarks/kanji_fonts.py MODEL.npz [--fonts FILE.ttf ...] [--json]
"""

from __future__ import annotations

import argparse
import glob
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mojinet.data.fontset import PIXELS, SHEET, trained_fonts  # the sheet fonts are drawn on
from mojinet.data.images import ImageError, to_input

# (group, family as the font names itself, style, file pattern under /usr/share/fonts)
KNOWN_FONTS = (
    ("gothic", "Noto Sans CJK JP", "Regular", "**/NotoSansCJK-Regular.tt[cf]"),
    ("gothic", "Noto Sans CJK JP", "Bold", "**/NotoSansCJK-Bold.tt[cf]"),
    ("gothic", "IPAexGothic", None, "**/ipaexg.ttf"),
    ("gothic", "VL Gothic", None, "**/VL-Gothic-Regular.ttf"),
    ("gothic", "Ume Gothic", None, "**/ume-tgo4.ttf"),
    ("mincho", "Noto Serif CJK JP", "Regular", "**/NotoSerifCJK-Regular.tt[cf]"),
    ("mincho", "Noto Serif CJK JP", "Bold", "**/NotoSerifCJK-Bold.tt[cf]"),
    ("mincho", "IPAexMincho", None, "**/ipaexm.ttf"),
    ("mincho", "Ume Mincho", None, "**/ume-tmo3.ttf"),
    ("pen", "Klee One", "Regular", "**/KleeOne-Regular.ttf"),
    ("pen", "Klee One", "SemiBold", "**/KleeOne-SemiBold.ttf"),
    ("brush", "KouzanBrushFont", None, "**/kouzan-mouhitsu.ttf"),
    ("brush", "KouzanBrushFontGyousyo", None, "**/kouzan-mouhitsu-gyosho.ttf"),
    ("brush", "AoyagiSosekiFont2", None, "**/aoyagi-soseki.ttf"),
)
FONT_ROOT = "/usr/share/fonts"


@dataclass(frozen=True)
class Face:
    """One face of a font file (``index`` picks it in a .ttc collection)."""

    group: str
    name: str
    path: str
    index: int = 0

    @cached_property
    def font(self) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(self.path, PIXELS, index=self.index)

    @cached_property
    def codepoints(self) -> frozenset[int]:
        """The characters the font maps to a glyph (its cmap)."""
        from fontTools.ttLib import TTFont  # fontTools comes with matplotlib

        with TTFont(self.path, fontNumber=self.index, lazy=True) as f:
            return frozenset(f.getBestCmap() or ())


def _faces_of(path: str):
    """(index, family, style) of every face in a font file or collection."""
    for index in range(64):
        try:
            font = ImageFont.truetype(path, 12, index=index)
        except OSError:
            return
        family, style = font.getname()
        yield index, family, style


def find_fonts(root: str = FONT_ROOT, known=KNOWN_FONTS, extra=()) -> list[Face]:
    """The known Japanese fonts installed under ``root`` (in ``known``'s order), then ``extra``
    font files (every face of them, group "other")."""
    faces = []
    for group, family, style, pattern in known:
        for path in sorted(glob.glob(f"{root}/{pattern}", recursive=True))[:1]:
            for index, fam, sty in _faces_of(path):
                if fam == family and (style is None or sty == style):
                    faces.append(Face(group, f"{family} {sty}", path, index))
                    break
    for path in extra:
        faces += [Face("other", f"{fam} {sty}", path, i) for i, fam, sty in _faces_of(path)]
    return faces


def draw_char(face: Face, char: str, size: int, box: int | None) -> np.ndarray | None:
    """``char`` in ``face`` as a network input (size·size,), or None if the font lacks it."""
    if ord(char) not in face.codepoints:
        return None
    img = Image.new("L", (SHEET, SHEET), 255)
    ImageDraw.Draw(img).text((SHEET / 2, SHEET / 2), char, font=face.font, fill=0, anchor="mm")
    try:
        return to_input(img, size, box).reshape(-1)  # (size·size,)
    except ImageError:  # the glyph is mapped but draws nothing
        return None


def evaluate_face(model, classes, face: Face, size: int, box: int | None,
                  top: int = 10) -> dict:
    """Top-1/top-k accuracy on the classes the font has; the others are counted as missing."""
    rows, y, missing = [], [], []
    for i, c in enumerate(classes):
        x = draw_char(face, c, size, box)
        if x is None:
            missing.append(c)
        else:
            rows.append(x)
            y.append(i)
    result = {"group": face.group, "font": face.name, "scored": len(y), "missing": len(missing),
              "missing_chars": "".join(missing), "top1": None, f"top{top}": None}
    if y:
        A = model.feedforward(np.stack(rows))  # (scored, n_classes): the model's own inputs
        k = min(top, A.shape[1])
        ranked = np.argsort(-A, axis=1)[:, :k]  # (scored, k)
        hit = ranked == np.asarray(y)[:, None]  # (scored, k)
        result["top1"] = float(hit[:, 0].mean())
        result[f"top{top}"] = float(hit.any(axis=1).mean())
    return result


def seen(face: Face, trained: set[str]) -> str:
    """"trained" if the model was trained on this face's file, "related" if on another file in
    the same folder (the same font package), else ""."""
    path = Path(face.path)
    if path.name in trained:
        return "trained"
    siblings = {p.name for p in path.parent.iterdir()} if path.parent.is_dir() else set()
    return "related" if siblings & trained else ""


def summarise(results: list[dict], top: int = 10) -> list[dict]:
    """Mean top-1/top-k per group and over all fonts (fonts that scored something)."""
    out = []
    groups = dict.fromkeys(r["group"] for r in results)
    for name, rs in [*((g, [r for r in results if r["group"] == g]) for g in groups),
                     ("all", results)]:
        rs = [r for r in rs if r["top1"] is not None]
        if rs:
            out.append({"group": name, "fonts": len(rs),
                        "top1": float(np.mean([r["top1"] for r in rs])),
                        f"top{top}": float(np.mean([r[f"top{top}"] for r in rs]))})
    return out


def main(argv=None):
    from mojinet.io import load_model

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("--fonts", nargs="*", default=(), help="more font files to test")
    p.add_argument("--only", nargs="*", default=None, help="groups to test (default: all)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    model = load_model(args.model)
    size = model.image_shape[0]
    box = model.preprocessing.get("user_images", {}).get("box")
    faces = [f for f in find_fonts(extra=args.fonts) if args.only is None or f.group in args.only]
    if not faces:
        raise SystemExit("no Japanese font found; install e.g. fonts-noto-cjk or fonts-klee")
    results = [evaluate_face(model, model.classes, f, size, box) for f in faces]
    trained = trained_fonts(model)
    for face, r in zip(faces, results):
        r["seen"] = seen(face, trained)
    summary = summarise([r for r in results if not r["seen"]])
    if args.json:
        print(json.dumps({"model": args.model, "fonts": results, "summary": summary},
                         ensure_ascii=False))
        return
    print(f"{args.model}: {len(model.classes)} classes")
    print(f"{'group':7s} {'font':34s} {'top-1':>8s} {'top-10':>8s}  missing")
    for r in results:
        top1 = "—" if r["top1"] is None else f"{r['top1']:.2%}"
        top10 = "—" if r["top10"] is None else f"{r['top10']:.2%}"
        note = f"  ({r['seen']}: not in the means)" if r["seen"] else ""
        print(f"{r['group']:7s} {r['font']:34s} {top1:>8s} {top10:>8s}  {r['missing']}{note}")
    for s in summary:
        label = f"{s['group']} ({s['fonts']} fonts)"
        print(f"mean    {label:34s} {s['top1']:8.2%} {s['top10']:8.2%}")


if __name__ == "__main__":
    main()
