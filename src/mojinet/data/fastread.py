"""A clean canvas read fast, to exactly the ``Reading`` the reference preprocessing gives.

The draw page sends a white canvas with black, anti-aliased strokes. For such a picture the
reference (``images.page_ink``) spends most of its time proving that there is nothing to do:
a 70×70 grey-level closing to find the paper flat, two passes of ``contrast`` and the ruled-line
search over every row and column. ``read_clean`` makes the same decisions from cheap, exact
tests and computes the ink only inside the strokes' bounding box; where a test cannot decide,
it returns None and the caller runs the reference. Each decision it takes is one the reference
takes with the same result:

- greyscale: modes L and RGB are converted as ``to_grey`` does; an RGBA picture only when
  every pixel is opaque (compositing opaque pixels over white leaves them unchanged — tested on
  every byte value), anything else goes to the reference;
- paper polarity and level: every border pixel is white (255), so the border's median is 1.0,
  the background level 0.0 and the ink ``1 − grey`` (``images.contrast``);
- flat paper: the paper level ``paper.paper_level`` is a closing (a maximum, then a minimum
  filter) of the page with a window of ``paper.WINDOW`` of the longer side; it is at most 1.0
  and at least the smallest of the maxima. When every window that size holds a pixel at least
  ``BRIGHT`` (of 255), every maximum is that bright, so the level varies by at most
  ``paper.FLAT`` and ``paper.flat`` holds (``flat_paper``). Pictures over ``paper.WORK_SIDE``
  a side (the level is then estimated on a shrunk copy) go to the reference;
- no ruled lines: ``paper.remove_rules`` changes nothing unless at least two bands of rows (or
  columns) have ink in ``paper.RULE_COVER`` of them (``_ruled`` finds the bands as it does);
- the ink's peak, the 99.9th percentile of the whole ink map, is found from the box's byte
  histogram (the paper outside adds to the white bin) and interpolated between its two order
  statistics as ``np.percentile`` does (``ink_peak``, tested equal to it); a peak too faint to
  read (the reference's "blank" error) goes to the reference;
- stretching and the noise floor are element-wise, so doing them on the box changes nothing
  (outside it the ink is 0 and stays 0).

``tests/test_fastread.py`` checks the result equal, array for array, to the reference on the
page's canvases, and that ruled paper, gradients, shadows, grain and transparency are refused.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from . import inkloops, paper
from .images import InkFacts, Reading, fit_and_center, ink_box

#: Ink after stretching is dropped below this (``images.ink_map``'s default ``noise``).
NOISE = 0.15
#: A peak closer than this to the background is "blank" (``images.ink_map``).
MIN_PEAK = 0.1


def _bright_byte() -> int:
    """The darkest byte v whose paper level, as ``paper.paper_level`` stores it (float32 of
    v / 255), lets ``paper.flat`` hold on a page whose brightest level is 1.0."""
    for v in range(256):
        if 1.0 - float(np.float32(v / 255.0)) <= paper.FLAT:
            return v
    raise AssertionError("unreachable: 255 is always bright")


#: Paper at least this bright (of 255) is flat enough (``flat_paper``).
BRIGHT = _bright_byte()


def grey_bytes(img: Image.Image) -> np.ndarray | None:
    """(h, w) uint8 lightness exactly as ``images.to_grey`` would give it ×255, or None."""
    mode = img.mode
    if mode == "RGBA":
        if img.getchannel("A").getextrema() != (255, 255):
            return None  # transparency: the reference composites it over white
    elif mode not in ("L", "RGB") or "transparency" in img.info:
        return None
    return np.asarray(img if mode == "L" else img.convert("L"))


def white_everywhere(white: np.ndarray, side: int) -> bool:
    """True when every side×side window of (h, w) ``white`` holds at least one True pixel."""
    h, w = white.shape
    if h < side or w < side:
        return True  # no such window lies inside
    if inkloops.loaded:
        return inkloops.windows_hold(white, side)  # the same counts, compiled
    s = np.zeros((h + 1, w + 1), dtype=np.int32)  # summed-area table
    s[1:, 1:] = white.cumsum(axis=0, dtype=np.int32).cumsum(axis=1, dtype=np.int32)
    count = s[side:, side:] - s[:-side, side:] - s[side:, :-side] + s[:-side, :-side]
    return bool(count.min() > 0)


def flat_paper(grey: np.ndarray, box: tuple[slice, slice]) -> bool:
    """True when ``paper.flat(paper.paper_level(grey / 255))`` provably holds (see the module).

    Each maximum of the closing is taken over a window × window square of the page (outside
    the picture, a mirror of it). A square that reaches past ``box`` holds a pixel outside it,
    which is white (so is a mirrored one: it reaches the border, which is white); so only the
    squares inside ``box`` can lack a bright pixel, and those are checked."""
    h, w = grey.shape
    if max(h, w) > paper.WORK_SIDE:
        return False  # the level is estimated on a shrunk copy: let the reference decide
    window = max(3, round(paper.WINDOW * max(h, w)))  # as paper_level takes it
    if min(h, w) < window:
        return False
    return white_everywhere(grey[box] >= BRIGHT, window)


def _ruled(dark: np.ndarray, shape: tuple[int, int]) -> bool:
    """Could ``paper.remove_rules`` find ruled lines in ink whose inked pixels, cropped to their
    box, are ``dark``? It looks for at least two bands of rows (then of columns) with ink in
    ``RULE_COVER`` of the picture's width, as ``paper._unrule_rows`` computes them (rows
    outside the box have no ink, so they never join a band)."""
    return _ruled_counts(dark.sum(axis=1), dark.sum(axis=0), shape)


def _ruled_counts(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> bool:
    """``_ruled`` from the box's inked pixels counted by row, (bh,) int, and column, (bw,)."""
    h, w = shape
    rows, cols = rows / w >= paper.RULE_COVER, cols / h >= paper.RULE_COVER
    if not (rows.any() or cols.any()):
        return False  # no row or column covered: no band (the page's strokes, nearly always)
    rows = paper._bands(rows, max(1, round(paper.RULE_THICK * h)))
    cols = paper._bands(cols, max(1, round(paper.RULE_THICK * w)))
    return len(rows) >= 2 or len(cols) >= 2


def ink_peak(grey: np.ndarray, n: int, q: float = 99.9) -> float:
    """``np.percentile(1 − page / 255, q)`` of a page of ``n`` pixels whose pixels other than
    those of ``grey`` (uint8, any shape) are white, from a histogram instead of a partition.

    The ink 1 − v/255 rises as the byte v falls, so its k-th smallest value is that of the
    k-th largest byte; the two order statistics around the (n − 1)·q/100-th are interpolated
    with numpy's own arithmetic (its "linear" method, ``_lerp``)."""
    index, lo, hi = _order_index(n, q)
    if inkloops.loaded and grey.dtype == np.uint8:  # the same two bytes, one compiled pass
        two = inkloops.order_bytes(grey, n - grey.size, lo, hi)
    else:
        counts = np.bincount(grey.ravel(), minlength=256)  # (256,)
        counts[255] += n - grey.size  # the paper outside
        at_least = counts[::-1].cumsum()  # (256,) at_least[j]: pixels of byte ≥ 255 − j
        two = (255 - int(np.searchsorted(at_least, k, side="right")) for k in (lo, hi))
    return _lerp_ink(*two, index)


def _order_index(n: int, q: float) -> tuple[float, int, int]:
    """The q-th percentile's virtual index among n values, as numpy takes it, and the two
    order statistics (0-based) around it."""
    index = (n - 1) * float(np.true_divide(q, 100))
    lo = int(np.floor(index))
    return index, lo, min(lo + 1, n - 1)


def _lerp_ink(byte_lo: int, byte_hi: int, index: float) -> float:
    """The ink 1 − v/255 between the order statistics' bytes, interpolated at ``index`` with
    numpy's own arithmetic (its "linear" method, ``_lerp``)."""
    a, b = 1.0 - byte_lo / 255.0, 1.0 - byte_hi / 255.0
    t = index - float(np.floor(index))
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def clean_ink(img: Image.Image) -> tuple[np.ndarray, float] | None:
    """(h, w) ink map and contrast of a clean picture, equal to ``images.page_ink``'s, or None
    when the picture is not provably clean (the caller then runs the reference)."""
    grey = grey_bytes(img)  # (h, w) uint8
    if grey is None or grey.ndim != 2:
        return None
    return clean_grey_ink(grey)


def ink_levels(peak: float) -> np.ndarray:
    """(256,) float64: the ink of each byte v on a clean page whose ink peaks at ``peak``, by
    exactly the reference's element-wise steps (so ``ink_levels(peak)[grey]`` is its ink)."""
    ink = np.clip((1.0 - np.arange(256, dtype=np.uint8) / 255.0) / peak, 0.0, 1.0)
    ink[ink < NOISE] = 0.0
    return ink


def clean_grey_read(grey: np.ndarray) -> tuple[np.ndarray, float, InkFacts | None] | None:
    """``clean_grey_ink``'s ink map and contrast, with what its compiled passes counted of the
    ink (``InkFacts``, for the fit and the verdict), or None when not provably clean.

    Two compiled passes (``inkloops``) instead of a dozen NumPy ones: ``clean_scan`` (white
    border, the box, the paper windows, the peak's two bytes), then ``ink_facts``, which
    writes the box's ink through ``ink_levels``' table and counts it (its box, by row and
    column for the ruled-line test, the stroke width, the pieces). The decisions are the
    same integer tests; the ink is the table's values, the reference's own
    (``tests/test_fastread.py``). Without the compiled loops: ``clean_grey_ink`` (facts
    None)."""
    if not inkloops.loaded:
        found = clean_grey_ink(grey)
        return None if found is None else (*found, None)
    h, w = grey.shape
    window = max(3, round(paper.WINDOW * max(h, w)))  # as flat_paper takes it
    if max(h, w) > paper.WORK_SIDE or min(h, w) < window:
        return None  # flat_paper cannot tell: the reference decides
    index, lo, hi = _order_index(grey.size, 99.9)
    code, top, bottom, left, right, a, b = inkloops.clean_scan(grey, BRIGHT, window, lo, hi)
    if code:
        return None  # a border pixel not white, no ink, or paper not provably flat
    peak = _lerp_ink(a, b, index)
    if peak < MIN_PEAK:
        return None
    box = (slice(top, bottom), slice(left, right))
    ink = np.zeros(grey.shape)  # (h, w), the box's ink written in by ink_facts
    i0, i1, j0, j1, n, rows, cols, width, pieces = inkloops.ink_facts(
        grey[box], ink_levels(peak), ink[box])
    if n == 0 or _ruled_counts(rows, cols, grey.shape):
        return None
    facts = InkFacts((slice(top + i0, top + i1), slice(left + j0, left + j1)), int(n),
                     float(width), int(pieces))
    return ink, peak, facts


def clean_grey_ink(grey: np.ndarray) -> tuple[np.ndarray, float] | None:
    """``clean_ink`` of a picture already in (h, w) uint8 lightness (``grey_bytes``' form: a
    canvas the server drew itself, ``data.canvas``), or None when not provably clean."""
    if not ((grey[0] == 255).all() and (grey[-1] == 255).all() and (grey[:, 0] == 255).all()
            and (grey[:, -1] == 255).all()):
        return None
    box = ink_box(grey != 255)
    if box is None or not flat_paper(grey, box):
        return None
    peak = ink_peak(grey[box], grey.size)
    if peak < MIN_PEAK:
        return None  # the reference says why it cannot read it
    crop = np.clip((1.0 - grey[box] / 255.0) / peak, 0.0, 1.0)  # (bh, bw) the reference's ink
    crop[crop < NOISE] = 0.0
    if not crop.any() or _ruled(crop > 0, grey.shape):
        return None
    ink = np.zeros(grey.shape)  # (h, w)
    ink[box] = crop
    return ink, peak


def read_clean(img: Image.Image, size: int = 28, box: int | None = None) -> Reading | None:
    """The ``Reading`` ``images.read_image`` makes of a clean picture, or None (not clean)."""
    grey = grey_bytes(img)  # (h, w) uint8
    if grey is None or grey.ndim != 2:
        return None
    return read_clean_grey(grey, size, box)


def read_clean_grey(grey: np.ndarray, size: int = 28, box: int | None = None) -> Reading | None:
    """``read_clean`` of (h, w) uint8 lightness (what ``grey_bytes`` gives), or None; its
    ``facts``, what the compiled passes counted (None without them)."""
    found = clean_grey_read(grey)
    if found is None:
        return None
    ink, contrast, facts = found
    return Reading(fit_and_center(ink, size=size, box=box, facts=facts), ink, "clean", contrast,
                   facts)
