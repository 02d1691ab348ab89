"""User images → network inputs, the way MNIST itself was made.

MNIST's digits were size-normalised to fit a 20×20 box (keeping their aspect ratio, with
anti-aliasing giving grey levels) and then centred in a 28×28 field by their centre of mass
(LeCun et al.). ``to_input`` does the same to any picture of a character:

1. decode safely (size limit against decompression bombs, clear error for non-images);
2. greyscale, transparent areas treated as paper;
3. decide the polarity from the border (a light border means dark ink on light paper → invert),
   so that ink = 1 and background = 0, as the network was trained;
4. stretch contrast between the background level and the ink level, and drop faint noise
   (JPEG ringing, paper texture);
5. crop to the ink, fit the longer side into the box (20 px for 28×28), centre by centre of mass.

The result is a float32 image in [0, 1] of the model's input size.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # 40 megapixels: far beyond any scan of one character


class ImageError(ValueError):
    """An image cannot be used: not an image, too large, or blank."""


def open_image(source, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode ``source`` (a path, bytes or a file object) into a fully loaded PIL image.

    Only the header is read before the size check, so a decompression bomb is refused before
    any pixel is decoded.
    """
    name = str(source) if isinstance(source, (str, os.PathLike)) else "image"
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(source)
            w, h = img.size
            if w * h > max_pixels:
                raise ImageError(
                    f"{name}: {w}×{h} pixels is over the {max_pixels:,}-pixel limit; "
                    f"scale the picture down (a character needs a few hundred pixels a side)"
                )
            if w == 0 or h == 0:
                raise ImageError(f"{name}: image has no pixels")
            img.load()
    except FileNotFoundError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, SyntaxError, ValueError, EOFError) as e:
        if isinstance(e, ImageError):
            raise
        raise ImageError(
            f"{name}: not a readable image ({type(e).__name__}: {e}); use a PNG, JPEG, BMP, "
            f"GIF or TIFF file"
        ) from e
    return img


def to_grey(img: Image.Image) -> np.ndarray:
    """Float greyscale in [0, 1] (0 = black), with transparent pixels as white paper."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, rgba)
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(img, dtype=np.float64)
        lo, hi = a.min(), a.max()
        return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    return np.asarray(img.convert("L"), dtype=np.float64) / 255.0


def ink_map(grey: np.ndarray, noise: float = 0.15) -> np.ndarray:
    """Ink = 1, background = 0: polarity from the border, contrast stretched, noise dropped."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    ink = 1.0 - grey if background > 0.5 else grey.copy()
    background = min(background, 1.0 - background)
    peak = float(np.percentile(ink, 99.9))
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


def fit_and_center(ink: np.ndarray, size: int = 28, box: int | None = None) -> np.ndarray:
    """Crop to the ink, scale the longer side to ``box`` (20 for 28), centre by centre of mass."""
    if box is None:
        box = max(1, round(size * 20 / 28))
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise ImageError("the image looks blank: no ink found")
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
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


def to_input(source, size: int = 28, box: int | None = None) -> np.ndarray:
    """A picture of one character → (size, size) float32 input activations in [0, 1]."""
    img = source if isinstance(source, Image.Image) else open_image(source)
    return fit_and_center(ink_map(to_grey(img)), size=size, box=box)


def load_images(paths, size: int = 28, box: int | None = None) -> np.ndarray:
    """Several image files → (n, size·size) float32 rows ready for a network."""
    return np.stack([to_input(Path(p), size, box).reshape(-1) for p in paths])
