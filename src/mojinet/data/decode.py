"""Decoding a user's picture safely: what may be opened, how large it may get, how it is turned.

``open_image`` is the one door every user image goes through (``mojinet predict``, the web
API, folder datasets):

- only regular files are opened (a FIFO named ``x.png`` would block forever, a device never
  ends, a folder is not an image); the file is checked with ``stat`` before it is opened and
  again, on the open descriptor, after;
- the size is checked from the header, before any pixel is decoded: at most ``max_pixels``
  pixels, and at most ``MAX_DECODE_BYTES`` of decoded samples (Pillow keeps an RGB pixel in 4
  bytes, so a 36-megapixel PNG would need 144 MB). A large JPEG is decoded at 1/2, 1/4 or 1/8
  scale (``Image.draft``: the decoder skips the detail), so a phone photo costs little;
- a decoded image larger than ``WORK_PIXELS`` is shrunk by an integer factor (``Image.reduce``,
  an area average) before any float copy is made: a character needs far fewer pixels;
- the EXIF orientation a camera writes is applied (``ImageOps.exif_transpose``), so a photo taken
  with the phone on its side is read upright;
- anything Pillow cannot decode is an ``ImageError`` that says what to send instead.
"""

from __future__ import annotations

import io
import math
import os
import stat
import struct
import warnings
import zlib

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # 40 megapixels: far beyond any scan of one character
#: Decoded sample bytes one image may take (after the JPEG draft): keeps a decode near 64 MB.
MAX_DECODE_BYTES = 64_000_000
#: Pixels kept for the preprocessing; larger images are shrunk by an integer factor first.
WORK_PIXELS = 2_000_000

#: What Pillow raises for a damaged or unsupported file (zlib: a flipped compressed byte).
DECODE_ERRORS = (UnidentifiedImageError, Image.DecompressionBombError,
                 Image.DecompressionBombWarning, OSError, SyntaxError, ValueError, EOFError,
                 TypeError, KeyError, IndexError, struct.error, zlib.error, MemoryError,
                 OverflowError, RecursionError, ZeroDivisionError)


class ImageError(ValueError):
    """An image cannot be used: not an image, too large, blank, or not a regular file."""


def bytes_per_pixel(mode: str) -> int:
    """Bytes Pillow keeps for one pixel of ``mode`` once decoded."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4  # RGB, RGBA, CMYK, LAB, I, F, LA, PA … (Pillow pads 2-3 bands to 4 bytes)


def _open_file(path, name: str):
    """A file object for ``path``, only if it is a regular file (checked before opening)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise
    except OSError as e:  # a name too long, a loop of links, no permission
        raise ImageError(f"{name}: cannot be read ({e.strerror or e}); give the path of an "
                         f"image file") from e
    if not stat.S_ISREG(info.st_mode):
        kind = ("a folder" if stat.S_ISDIR(info.st_mode) else
                "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else
                "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
                "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
        raise ImageError(f"{name}: is {kind}, not an image file; give the path of a PNG, JPEG, "
                         f"BMP, GIF or TIFF file")
    try:
        # O_NONBLOCK: should the path have been swapped for a FIFO since the stat, opening it
        # does not wait for a writer; the fstat below then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ImageError(f"{name}: cannot be opened ({e.strerror or e})") from e
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise ImageError(f"{name}: is not a regular file; give the path of an image file")
    return f


def _check_size(img: Image.Image, name: str, max_pixels: int) -> None:
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageError(f"{name}: image has no pixels")
    if w * h > max_pixels:
        raise ImageError(f"{name}: {w}×{h} pixels is over the {max_pixels:,}-pixel limit; scale "
                         f"the picture down (a character needs a few hundred pixels a side)")
    need = w * h * bytes_per_pixel(img.mode)
    if need > MAX_DECODE_BYTES:
        raise ImageError(f"{name}: {w}×{h} pixels in mode {img.mode} would take "
                         f"{need / 1e6:.0f} MB to decode, over the {MAX_DECODE_BYTES / 1e6:.0f} "
                         f"MB limit; scale the picture down or save it as a JPEG")


def _draft(img: Image.Image) -> None:
    """Let a large JPEG decode at a reduced scale (1/2 … 1/8), at least ``WORK_PIXELS``."""
    w, h = img.size
    if img.format == "JPEG" and w * h > WORK_PIXELS:
        s = math.sqrt(WORK_PIXELS / (w * h))
        img.draft(img.mode, (math.ceil(w * s), math.ceil(h * s)))


def shrink(img: Image.Image, max_pixels: int = WORK_PIXELS) -> Image.Image:
    """Reduce by an integer factor (area average) until at most ``max_pixels`` remain."""
    w, h = img.size
    if w * h <= max_pixels:
        return img
    k = math.ceil(math.sqrt(w * h / max_pixels))
    if img.mode in ("1", "P", "PA"):
        has_alpha = img.mode == "PA" or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "L")
    elif img.mode.startswith("I;16"):
        img = img.convert("I")
    try:
        return img.reduce(k)
    except ValueError:  # a mode reduce() does not handle
        return img.resize((max(1, w // k), max(1, h // k)), Image.Resampling.BOX)


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (a damaged EXIF block is ignored: the pixels are still good)."""
    try:
        return ImageOps.exif_transpose(img)
    except DECODE_ERRORS:
        return img


def open_image(source, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode ``source`` (a path, bytes or a file object) into a loaded, upright PIL image of at
    most ``WORK_PIXELS`` pixels. Only the header is read before the size checks."""
    is_path = isinstance(source, (str, os.PathLike))
    name = str(source) if is_path else "image"
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    f = _open_file(source, name) if is_path else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data" and the like
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(f)
            _check_size(img, name, max_pixels)
            _draft(img)
            _check_size(img, name, max_pixels)
            img.load()
            img = _upright(shrink(img))
    except ImageError:
        raise
    except DECODE_ERRORS as e:
        raise ImageError(f"{name}: not a readable image ({type(e).__name__}: {e}); use a PNG, "
                         f"JPEG, BMP, GIF or TIFF file") from e
    finally:
        if is_path:
            f.close()
    return img
