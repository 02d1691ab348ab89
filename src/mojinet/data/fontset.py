"""Fonts as more training writers: every character of a font drawn with the synthetic writer's
whole-character variation and read as ``mojinet predict`` reads a picture.

A font is one more hand. KanjiVG's strokes are one design of each character; a font's glyph is
another — its own proportions between components, stroke ends and, for a brush font, a
calligrapher's forms — which no stroke jitter reaches. ``font_images`` draws each character a
font has ``repeat`` times:

1. the glyph, black on a white 160 × 160 sheet at ``PIXELS`` px (as ``benchmarks/kanji_fonts.py``
   reads fonts), ink = 1 − lightness;
2. a random affine map A about the sheet's centre, drawn as the writer draws a character's
   (``handwriting``, step 2): rotation θ ~ U(style.rotation), shear s ~ U(style.shear),
   aspect α² ~ U(style.aspect) times e^ε, ε ~ N(0, style.aspect_sigma) (area kept):
   A = R(θ) · [[1, 0], [s, 1]] · diag(α e^(ε/2), 1 / (α e^(ε/2))) on row vectors (x, y↓);
3. the pen's weight: a grey erosion (ρ = −1), nothing (0) or a dilation (+1) by a 3 × 3 disk
   on the sheet, ρ uniform;
4. ``images.fit_and_center`` at the model's size: crop to the ink, fit the 20/28 box,
   centre of mass.

The square stretch (step 1) is left out: a font's glyphs already fill its design square. A
character the font does not map (its cmap) or that draws nothing is skipped and counted.
Fonts are data we did not make: credit them, with their licences, where a model trained on
them is described (docs/kanji.md lists the ones measured).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .._lazy import lazy_import
from .images import ImageError, fit_and_center

ndimage = lazy_import("scipy.ndimage")
log = logging.getLogger(__name__)

PIXELS = 96  # font size on the sheet
SHEET = 160  # the sheet's side
_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)  # the 3 × 3 disk


def font_paths(fonts) -> list[Path]:
    """``fonts``: a path, a comma-separated string of paths or a list of them → font files,
    each checked to exist and to open as a font (else a ValueError that says which)."""
    if isinstance(fonts, (str, Path)):
        fonts = [f for f in str(fonts).split(",") if f.strip()]
    paths = [Path(str(f).strip()).expanduser() for f in fonts]
    if not paths:
        raise ValueError("fonts: give at least one font file (.ttf, .otf or .ttc)")
    for p in paths:
        if not p.is_file():
            raise ValueError(f"fonts: {p} is not a file; give the path of a font file, e.g. "
                             f"/usr/share/fonts/truetype/klee/KleeOne-Regular.ttf")
        try:
            _font(str(p))
        except OSError as e:
            raise ValueError(f"fonts: {p} does not open as a font ({e})") from e
    return paths


@lru_cache(maxsize=32)
def _font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, PIXELS)


@lru_cache(maxsize=32)
def codepoints(path: str) -> frozenset[int]:
    """The characters a font file maps to a glyph (its cmap; the first face of a collection)."""
    from fontTools.ttLib import TTFont  # fontTools comes with matplotlib

    with TTFont(path, fontNumber=0, lazy=True) as f:
        return frozenset(f.getBestCmap() or ())


def glyph_ink(path: str, char: str) -> np.ndarray | None:
    """(SHEET, SHEET) float64 ink in [0, 1] of ``char`` in the font, centred on the sheet, or
    None when the font does not map it or it draws nothing."""
    if ord(char) not in codepoints(path):
        return None
    img = Image.new("L", (SHEET, SHEET), 255)
    ImageDraw.Draw(img).text((SHEET / 2, SHEET / 2), char, font=_font(path), fill=0, anchor="mm")
    ink = 1.0 - np.asarray(img, dtype=np.float64) / 255.0  # (SHEET, SHEET)
    return ink if ink.max() > 0.5 else None


def character_map(style, rng: np.random.Generator) -> np.ndarray:
    """Step 2: the (2, 2) map A on row vectors (x, y↓) of one drawing, from ``style``."""
    theta = np.deg2rad(rng.uniform(*style.rotation))
    c, si = np.cos(theta), np.sin(theta)
    shear = rng.uniform(*style.shear)
    alpha = np.sqrt(rng.uniform(*style.aspect))
    if style.aspect_sigma > 0:
        alpha *= np.exp(rng.normal(0.0, style.aspect_sigma) / 2)
    return (np.array([[c, si], [-si, c]]) @ np.array([[1.0, 0.0], [shear, 1.0]])
            @ np.diag([alpha, 1.0 / alpha]))  # (2, 2)


def transform(ink: np.ndarray, A: np.ndarray) -> np.ndarray:
    """(h, w) ink mapped by A about its centre: output p' = (p − c) A + c (bilinear)."""
    h, w = ink.shape
    inv = np.linalg.inv(A)  # input p = (p' − c) A⁻¹ + c
    cx, cy = w / 2, h / 2
    a, b, d, e = inv[0, 0], inv[1, 0], inv[0, 1], inv[1, 1]
    coeffs = (a, b, cx - a * cx - b * cy, d, e, cy - d * cx - e * cy)
    img = Image.fromarray(ink.astype(np.float32), mode="F")
    return np.asarray(img.transform((w, h), Image.Transform.AFFINE, coeffs,
                                    Image.Resampling.BILINEAR), dtype=np.float64)


def pen_weight(ink: np.ndarray, rho: int) -> np.ndarray:
    """Step 3: ink thinned (ρ = −1), kept (0) or thickened (+1) by the 3 × 3 disk."""
    if rho == 0:
        return ink
    op = ndimage.grey_erosion if rho < 0 else ndimage.grey_dilation
    return op(ink, footprint=_CROSS, mode="constant", cval=0.0)


def draw_font_char(path: str, char: str, size: int, style, rng: np.random.Generator
                   ) -> np.ndarray | None:
    """One drawing of ``char`` in the font: (size, size) float32 in [0, 1], or None (missing)."""
    ink = glyph_ink(path, char)
    return None if ink is None else draw_glyph(ink, size, style, rng)


def draw_glyph(ink: np.ndarray, size: int, style, rng: np.random.Generator) -> np.ndarray | None:
    """Steps 2–4 on a glyph's sheet (``glyph_ink``): (size, size) float32, or None if thinned
    away to nothing."""
    ink = pen_weight(transform(ink, character_map(style, rng)), int(rng.integers(-1, 2)))
    try:
        return fit_and_center(np.clip(ink, 0.0, 1.0), size=size)
    except ImageError:  # thinned away to nothing
        return None


def font_images(fonts, classes, size: int, style, repeat: int, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Every class character of every font drawn ``repeat`` times.

    Returns (n, size, size) float32 images, (n,) class indices and, per font file, the
    characters it lacks. The draws are seeded by ``seed``, the font's file name and the
    character, so a font draws the same images whatever is drawn beside it."""
    images, labels, missing = [], [], {}
    for path in font_paths(fonts):
        lacks = []
        for i, char in enumerate(classes):
            key = [seed, *path.name.encode("utf-8"), *char.encode("utf-8")]
            rng = np.random.default_rng(key)
            ink = glyph_ink(str(path), char)  # (SHEET, SHEET), drawn once for every repeat
            drawn = [] if ink is None else [draw_glyph(ink, size, style, rng)
                                            for _ in range(repeat)]
            drawn = [a for a in drawn if a is not None]
            if not drawn:
                lacks.append(char)
            images += drawn
            labels += [i] * len(drawn)
        missing[str(path)] = "".join(lacks)
        if lacks:
            log.info("%s lacks %d of the %d characters: %s", path.name, len(lacks), len(classes),
                     "".join(lacks[:40]))
    if not images:
        raise ValueError(f"fonts: none of {', '.join(str(p) for p in font_paths(fonts))} has "
                         f"any of the {len(classes)} characters")
    return (np.stack(images).astype(np.float32), np.asarray(labels, dtype=np.int64), missing)


def trained_fonts(model) -> set[str]:
    """The font files (their names) a model was trained on: kanjivg's ``fonts`` option."""
    config = model.training.get("config", {}) if hasattr(model, "training") else {}
    fonts = (config.get("dataset_options") or {}).get("fonts")
    if not fonts:
        return set()
    names = fonts.split(",") if isinstance(fonts, str) else fonts
    return {Path(str(f).strip()).name for f in names if str(f).strip()}
