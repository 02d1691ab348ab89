"""User images → network inputs, the way MNIST itself was made.

MNIST's digits were size-normalised to fit a 20×20 box (keeping their aspect ratio, with
anti-aliasing giving grey levels) and then centred in a 28×28 field by their centre of mass
(LeCun et al.). ``to_input`` does the same to any picture of a character:

1. decode safely (``decode.open_image``: regular files only, size limits checked from the
   header, large JPEGs decoded at reduced scale, EXIF orientation applied);
2. greyscale (every Pillow mode read or refused), transparent areas treated as paper;
3. decide the polarity from the border (a light border means dark ink on light paper → invert),
   so that ink = 1 and background = 0, as the network was trained;
4. photos: divide out the paper's uneven brightness (gradients, shadows, grey paper) and take
   ruled lines away (``paper``); clean pictures skip this and are read exactly as before;
5. stretch contrast between the background level and the ink level, and drop faint noise
   (JPEG ringing, paper texture);
6. strokes much thinner than the synthetic writer's thinnest pen (a fine pencil photographed
   whole) are thickened (``even_strokes``), so that they survive being shrunk into the box;
7. crop to the ink, fit the longer side into the box (20 px for 28×28), centre by centre of mass.

The result is a float32 image in [0, 1] of the model's input size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .._lazy import lazy_import
from . import inkloops, paper
from .decode import MAX_PIXELS, ImageError, open_image

ndimage = lazy_import("scipy.ndimage")  # ~0.25 s, only when a function here needs it

__all__ = ["MAX_PIXELS", "ImageError", "InkFacts", "Reading", "center_of_mass", "even_strokes",
           "fit_and_center", "ink_box", "ink_map", "load_images", "open_image", "read_image",
           "stroke_width", "to_grey", "to_input"]

#: Modes read as their lightness band by Pillow's own conversion to "L".
_TO_L = ("1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr")
_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")
_NUMBERS = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")
#: Strokes thinner than this share of the ink's longer side are thickened: the synthetic
#: writer's thinnest pen is 0.8 px at 28 × 28 with the box 20 px, 4 % of the box.
THIN = 0.04
#: … to about this share (a disk-shaped dilation of the ink).
EVEN_PEN = 0.05


def to_grey(img: Image.Image) -> np.ndarray:
    """Float greyscale in [0, 1] (0 = black), with transparent pixels as white paper.

    Every mode Pillow decodes is read or refused: 1, L, P, RGB(X), CMYK, YCbCr through Pillow's
    conversion; RGBA, LA, PA, RGBa, La and P with transparency over white paper; LAB by its L*
    band; HSV by way of RGB; I, I;16 and F stretched from their lowest to their highest sample
    (samples that are not finite numbers are refused)."""
    mode = img.mode
    if mode in _ALPHA or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img, mode = Image.alpha_composite(white, rgba), "RGBA"
    if mode in _NUMBERS:
        a = np.asarray(img, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise ImageError("the image's samples are not all finite numbers (inf or NaN in a "
                             "floating-point TIFF); save it with 8-bit samples")
        lo, hi = a.min(), a.max()
        return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    if mode == "LAB":
        return np.asarray(img.getchannel("L"), dtype=np.float64) / 255.0
    if mode == "HSV":
        img, mode = img.convert("RGB"), "RGB"
    if mode not in (*_TO_L, "RGBA"):
        raise ImageError(f"images in Pillow mode {mode!r} are not supported; save the picture "
                         f"as an 8-bit greyscale or RGB PNG or JPEG")
    return np.asarray(img.convert("L"), dtype=np.float64) / 255.0


def contrast(grey: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(ink before stretching, background level, ink peak): polarity from the border."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    ink = 1.0 - grey if background > 0.5 else grey.copy()
    return ink, min(background, 1.0 - background), float(np.percentile(ink, 99.9))


def ink_map(grey: np.ndarray, noise: float = 0.15) -> np.ndarray:
    """Ink = 1, background = 0: polarity from the border, contrast stretched, noise dropped."""
    ink, background, peak = contrast(grey)
    if peak - background < 0.1:
        raise ImageError(
            "the image looks blank (no strokes stand out from the background); draw or scan a "
            "character with clear contrast"
        )
    ink = np.clip((ink - background) / (peak - background), 0.0, 1.0)
    ink[ink < noise] = 0.0
    return ink


def center_of_mass(a: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(a.shape)
    total = a.sum()
    return float((rows * a).sum() / total), float((cols * a).sum() / total)


def _runs(mask: np.ndarray) -> np.ndarray:
    """(h, w) bool → (h, w) int: the length of the horizontal run of True through each pixel."""
    h, w = mask.shape
    on = np.zeros((h, w + 1), dtype=bool)  # a False column ends every row's last run
    on[:, :w] = mask
    flat = on.ravel()
    starts = flat & ~np.concatenate([[False], flat[:-1]])
    run = np.cumsum(starts) * flat  # (h·(w+1),) the run each pixel is in, 0 = off
    return np.bincount(run)[run].reshape(h, w + 1)[:, :w] * mask


def ink_box(ink: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of the ink (the nonzero or True pixels), or None for a blank picture."""
    if inkloops.loaded and ink.ndim == 2 and ink.dtype.kind in "fbu":
        return inkloops.ink_box(ink)  # the same box, scanned only until the ink
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(ink.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def stroke_width(ink: np.ndarray) -> float:
    """(h, w) ink → the strokes' width in pixels: over the pixels of ink ≥ 0.5, the median of
    the shorter of the horizontal and vertical runs through each (a stroke's width across it;
    √2 times that for a diagonal one). 0 when no pixel reaches 0.5. Measured on the ink's box:
    a run ends where the ink does, so the paper around it changes no run."""
    box = ink_box(ink)
    if box is None:
        return 0.0
    return _box_stroke_width(ink[box])


def _box_stroke_width(crop: np.ndarray) -> float:
    """``stroke_width`` of ink cropped to its box already (its box is itself)."""
    mask = crop >= 0.5
    if not mask.any():
        return 0.0
    if inkloops.loaded:  # the same median, counted in one compiled pass
        return inkloops.across_median(mask)
    across = np.minimum(_runs(mask), _runs(mask.T).T)  # (bh, bw)
    return float(np.median(across[mask]))


def even_strokes(ink: np.ndarray) -> np.ndarray:
    """(h, w) ink → the same with strokes thinner than ``THIN`` of the ink's longer side widened
    to about ``EVEN_PEN`` of it by a grey dilation (a maximum over a disk of radius
    r = (EVEN_PEN · side − width)/2 rounded, at least 1, ink beyond the picture being 0).

    A fine pencil photographed whole leaves strokes 1–2 % of the character's size: shrunk into
    the box they fade to faint hairlines that no synthetic writer drew (a kyōiku model read 52 %
    of a real writer's kanji drawn so, 93 % once thickened; docs/images.md). Strokes at least
    ``THIN`` wide (every pen of the draw page, whose 18 px on the 280 px pad are 6.4 % of any
    box) are left exactly as they are."""
    return _evened(ink)[0]


def _thin(width: float, box: tuple[slice, slice]) -> bool:
    """Are strokes ``width`` wide thin (``THIN``) for ink whose box is ``box``?"""
    rows, cols = box
    return width < THIN * max(rows.stop - rows.start, cols.stop - cols.start)


def _evened(ink: np.ndarray) -> tuple[np.ndarray, tuple[slice, slice] | None]:
    """``even_strokes(ink)`` and its ink box (None: blank), found once for both."""
    box = ink_box(ink)
    if box is None:
        return ink, None
    rows, cols = box
    side = max(rows.stop - rows.start, cols.stop - cols.start)
    width = _box_stroke_width(ink[box])  # stroke_width(ink[box]): that crop is its own box
    if not _thin(width, box):
        return ink, box  # unchanged: the same box
    r = max(1, round((EVEN_PEN * side - width) / 2))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    disk = dy**2 + dx**2 <= r * r + r
    # Only the box and r pixels around it can gain ink; beyond the picture the ink is 0 (cval),
    # and so is the paper around the box, so dilating this part alone changes no pixel.
    h, w = ink.shape
    near = (slice(max(rows.start - r, 0), min(rows.stop + r, h)),
            slice(max(cols.start - r, 0), min(cols.stop + r, w)))
    out = np.zeros_like(ink)
    out[near] = ndimage.grey_dilation(ink[near], footprint=disk, mode="constant", cval=0.0)
    return out, ink_box(out)


def fit_and_center(ink: np.ndarray, size: int = 28, box: int | None = None,
                   facts: InkFacts | None = None) -> np.ndarray:
    """Even thin strokes out (``even_strokes``), crop to the ink, scale the longer side to
    ``box`` (20 for 28), centre by centre of mass. ``facts``: the ink's box and stroke width,
    counted already (``InkFacts``), so not again."""
    if box is None:
        box = max(1, round(size * 20 / 28))
    if facts is not None and not _thin(facts.width, facts.box):
        crop_box = facts.box  # even_strokes leaves the ink as it is: its box is the same
    else:
        ink, crop_box = _evened(ink)  # even_strokes(ink) and ink_box of that
    if crop_box is None:
        raise ImageError("the image looks blank: no ink found")
    crop = ink[crop_box]
    h, w = crop.shape
    scale = box / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    if inkloops.loaded and crop.dtype == np.float64:  # the same samples, one compiled pass
        pil = Image.frombuffer("F", (w, h), inkloops.times_255(crop), "raw", "F", 0, 1)
    else:
        pil = Image.fromarray((crop * 255).astype(np.float32))  # mode "F"
    # Box (area-averaging) filter when shrinking, like anti-aliased rendering; bilinear if growing.
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    small = np.asarray(pil.resize((new_w, new_h), resample), dtype=np.float64) / 255.0
    small = np.clip(small, 0.0, 1.0)
    out = np.zeros((size, size), dtype=np.float64)
    cy, cx = center_of_mass(small)
    # MNIST puts the centre of mass at pixel (14, 14) of 28×28 — measured on its images, this is
    # half a pixel below and right of the geometric centre 13.5; do the same for any size.
    top = int(round(size / 2 - cy))
    left = int(round(size / 2 - cx))
    # Keep the whole character inside the field even if its mass is lopsided.
    top = min(max(top, 0), size - new_h)
    left = min(max(left, 0), size - new_w)
    out[top : top + new_h, left : left + new_w] = small
    return out.astype(np.float32)


def page_ink(grey: np.ndarray, noise: float = 0.15) -> tuple[np.ndarray, str, float]:
    """(h, w) greyscale → (ink map, what the paper was, the ink's contrast with the paper).

    Evenly lit paper goes through ``ink_map`` unchanged ("clean"); ruled lines are then taken
    away ("ruled"). Unevenly lit paper (gradients, shadows) is first divided by its estimated
    level (``paper``; again with a finer closing when the strokes are thin), then mapped,
    unruled, and cleared of specks ("photo"). The contrast is the ink's peak minus the paper's
    level, before stretching (1 = black ink on white)."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    page = grey if float(np.median(border)) > 0.5 else 1.0 - grey  # paper bright, ink dark
    level = paper.paper_level(page)
    if paper.flat(level):
        _, background, peak = contrast(grey)
        ink = ink_map(grey, noise)
        unruled = paper.remove_rules(ink)
        kind = "clean" if np.array_equal(unruled, ink) else "ruled"
        return _nonblank(unruled), kind, peak - background
    flattened = paper.flatten(page, level)
    ink = ink_map(flattened, noise)
    fine = paper.FINE * max(stroke_width(ink), 1.0)  # page pixels
    if fine < paper.WINDOW * max(page.shape):  # thin strokes: a closer paper level
        flattened = paper.flatten(page, paper.paper_level(page, fine))
        ink = ink_map(flattened, noise)
    _, background, peak = contrast(flattened)
    ink = paper.remove_rules(ink)
    return _nonblank(paper.drop_specks(ink, noise)), "photo", peak - background


def _nonblank(ink: np.ndarray) -> np.ndarray:
    if not ink.any():
        raise ImageError("the image looks blank: only paper, lines or specks, no strokes; "
                         "write or draw a character with clear contrast")
    return ink


@dataclass(frozen=True)
class InkFacts:
    """What a fast read (``fastread``) counted of an ink map, so that the fit and the verdict
    need not count it again: ``box``, its ``ink_box``; ``n``, its pixels of ink (> 0);
    ``width``, its ``stroke_width``; ``pieces``, its 8-connected pieces of ink."""

    box: tuple[slice, slice]
    n: int
    width: float
    pieces: int


@dataclass(frozen=True)
class Reading:
    """A picture as the preprocessing saw it.

    x: (size, size) float32 network input in [0, 1]; ink: (h, w) ink map of the whole picture
    (1 = ink) before the crop; paper: "clean", "ruled" or "photo", contrast: the ink's peak
    minus the paper's level before stretching (``page_ink``); facts: what a fast read counted
    of the ink (``InkFacts``), or None."""

    x: np.ndarray
    ink: np.ndarray
    paper: str
    contrast: float
    facts: InkFacts | None = None


def read_image(source, size: int = 28, box: int | None = None) -> Reading:
    """A picture of one character (a path, bytes or a PIL image) → its ``Reading``."""
    img = source if isinstance(source, Image.Image) else open_image(source)
    ink, kind, ink_contrast = page_ink(to_grey(img))
    return Reading(fit_and_center(ink, size=size, box=box), ink, kind, ink_contrast)


def to_input(source, size: int = 28, box: int | None = None) -> np.ndarray:
    """A picture of one character → (size, size) float32 input activations in [0, 1]."""
    return read_image(source, size, box).x


def load_images(paths, size: int = 28, box: int | None = None) -> np.ndarray:
    """Several image files → (n, size·size) float32 rows ready for a network."""
    return np.stack([to_input(Path(p), size, box).reshape(-1) for p in paths])
