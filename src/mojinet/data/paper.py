"""Photos and scans: take the paper away before the ink is measured.

A global threshold fails on a photo: a 15 % lighting gradient, a shadow or grey paper moves the
paper's brightness more than faint ink differs from it, so the "ink" spans the whole page. So
the paper's own brightness P(x, y) is estimated and divided out (a flat-field correction):

    page = grey (light paper) or 1 − grey (dark paper),   P = closing(page),   page / P

``closing`` is a grey-level morphological closing (a maximum then a minimum filter,
``scipy.ndimage.grey_closing``) with a window a quarter of the image's longer side, on a copy
shrunk to at most ``WORK_SIDE`` pixels a side (an area average, which also averages the paper's
grain away): every stroke narrower than the window is closed over by the paper around it,
while the paper's gradients and a shadow's edge, wider than the window, are kept — a closing
follows a step exactly, where a blur would smear it. Dividing makes the paper 1 everywhere and
leaves ink as the fraction of light it absorbs (pencil on grey paper in a shadow is as dark as
it is on white paper in daylight).

A shadow's band narrower than the window is closed over too, and stays as faint ink where a
ruled line or the page's edge crosses it. When the strokes are thin (measured on the first
flattening: ``FINE`` stroke widths less than the window), the paper level is taken again with a
closing ``FINE`` stroke widths wide, which keeps every stroke's ink and follows the shadow.

Ruled lines (lined or squared paper) are thin, straight and cross the whole picture; a
character's strokes do not. Rows (or columns) where ink covers ≥ ``RULE_COVER`` of the width,
in bands at most ``RULE_THICK`` of the height thick, are ruled lines when there are at least
two of them; each is divided out as the paper level is (a stroke on a rule is darker than the
rule alone), so strokes crossing a line, or running along it, keep their ink.

Clean pictures (a drawing, a scan of white paper) have a flat paper level: ``flat`` tells, and
``images.to_input`` then leaves the picture exactly as before (the page's net.js mirrors that
path operation by operation).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .._lazy import lazy_import

ndimage = lazy_import("scipy.ndimage")  # ~0.25 s, only when a function here needs it

#: The paper level is estimated at most this many pixels a side.
WORK_SIDE = 512
#: The closing window, as a share of the (shrunk) longer side: strokes up to this wide are ink.
WINDOW = 0.25
#: Thin strokes: a second closing this many stroke widths wide follows a shadow's edge closely.
FINE = 6
#: The paper level varies by at most this much (of full scale) on a flat, evenly lit page.
FLAT = 0.08
#: The paper level is taken to be at least this share of the paper's bright level.
DARKEST = 0.5
#: Ruled lines: ink in at least this share of a row, in bands at most this share thick.
RULE_COVER = 0.85
RULE_THICK = 0.025
#: Ink on a rule less than this much darker than the rule is the rule's own grain.
RULE_RESIDUE = 0.15
#: … and a stroke along a rule runs for at least this share of the width.
RULE_RUN = 0.03
#: After flattening, ink components holding less than this share of the ink are specks.
SPECK = 0.01
#: … or whose darkest pixel stays below this (of the darkest ink).
CORE = 0.75


def paper_level(page: np.ndarray, window: float | None = None) -> np.ndarray:
    """(h, w) page (paper bright, ink dark, in [0, 1]) → (h, w) estimated paper brightness P:
    a closing ``window`` of the page's pixels wide (default ``WINDOW`` of its longer side)."""
    h, w = page.shape
    k = max(1.0, max(h, w) / WORK_SIDE)
    small_w, small_h = max(1, round(w / k)), max(1, round(h / k))
    img = Image.fromarray(page.astype(np.float32))  # mode "F"
    small = np.asarray(img.resize((small_w, small_h), Image.Resampling.BOX), dtype=np.float64)
    side = WINDOW * max(small_h, small_w) if window is None else window / k
    window = max(3, round(side))
    closed = ndimage.grey_closing(small, size=(window, window), mode="reflect")
    if closed.shape == page.shape:
        return closed
    big = Image.fromarray(closed.astype(np.float32)).resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(big, dtype=np.float64)


def flat(level: np.ndarray) -> bool:
    """True when the paper is evenly lit: its level varies by at most ``FLAT``."""
    return float(level.max() - level.min()) <= FLAT


def flatten(page: np.ndarray, level: np.ndarray) -> np.ndarray:
    """page / P, clipped to [0, 1]: paper 1, ink as the share of light it lets through.

    P is kept at least ``DARKEST`` of the paper's bright level (its 95th percentile): a filled
    area wider than the closing window (a bold blot of grey ink) is darker than any shadow, and
    stays ink instead of being taken for paper."""
    floor = DARKEST * float(np.percentile(level, 95))
    return np.clip(page / np.maximum(level, max(floor, 1e-3)), 0.0, 1.0)


def _bands(cover: np.ndarray, thick: int) -> list[tuple[int, int]]:
    """Runs of consecutive True in ``cover`` at most ``thick`` long: (start, stop)."""
    runs, start = [], None
    for i, c in enumerate([*cover.tolist(), False]):
        if c and start is None:
            start = i
        elif not c and start is not None:
            if i - start <= thick:
                runs.append((start, i))
            start = None
    return runs


def _rule_level(band: np.ndarray, crossing: np.ndarray) -> np.ndarray:
    """(b, w) rows of a rule's band → (b,) the rule's ink in each: the lower quartile of the
    row's inked pixels away from the strokes crossing it (0 where there are none) — the rule
    is the lighter of the two, and a stroke along it may cover half the row."""
    rule = (band > 0) & ~crossing  # (b, w)
    return np.array([np.percentile(row[m], 25) if m.any() else 0.0
                     for row, m in zip(band, rule)])


def _unrule_rows(ink: np.ndarray) -> np.ndarray:
    """Take away horizontal ruled lines from (h, w) ink, keeping the strokes on and across them.

    A rule darkens the paper under it by its own ink r; a stroke of ink s over it lets through
    (1 − s)(1 − r) of the light, so its pixel reads v = s + r − s·r and s = (v − r)/(1 − r).
    In each row of a rule's band (and its blurred rims, a row each side) r is the rule's ink
    there (``_rule_level``), at most its level in the band's darkest row (a rim is lighter
    than the rule's core). What stays is stroke: at least ``RULE_RESIDUE`` darker than the
    rule, and either crossing the band (ink just above and below it) or running along it for
    ``RULE_RUN`` of the width; the rest is the rule's own unevenness (grain, JPEG; on an
    empty page the rule is the darkest ink, stretched to 1)."""
    h, w = ink.shape
    cover = (ink > 0).mean(axis=1)  # (h,) share of each row that is ink
    bands = _bands(cover >= RULE_COVER, max(1, round(RULE_THICK * h)))
    if len(bands) < 2:
        return ink
    out = ink.copy()
    along = np.ones((1, max(3, round(RULE_RUN * w))), dtype=bool)  # a run along the rule
    for core_start, core_stop in bands:
        start, stop = max(core_start - 1, 0), min(core_stop + 1, h)  # the blurred rims too
        above = ink[start - 2] if start >= 2 else np.zeros(w)
        below = ink[stop + 1] if stop + 1 < h else np.zeros(w)
        crossing = (above > 0) & (below > 0)  # (w,) a stroke goes through the line here
        band = ink[start:stop]  # (b, w)
        level = _rule_level(band, crossing)  # (b,)
        core = level[core_start - start : core_stop - start].max()  # the rule at its darkest
        r = np.minimum(level, core)[:, None]  # (b, 1)
        darker = band - r >= RULE_RESIDUE  # (b, w)
        stroke = darker & (crossing | ndimage.binary_opening(darker, structure=along))
        s = np.clip((band - r) / np.maximum(1.0 - r, 1e-6), 0.0, 1.0)  # (b, w) the strokes'
        out[start:stop] = np.where(stroke, s, 0.0)
    return out


def remove_rules(ink: np.ndarray) -> np.ndarray:
    """(h, w) ink map without the ruled lines of lined or squared paper."""
    return _unrule_rows(_unrule_rows(ink).T).T


def ruled(ink: np.ndarray) -> bool:
    """True when ``remove_rules`` would take something away."""
    return not np.array_equal(remove_rules(ink), ink)


def _sides(box: tuple[slice, slice], shape: tuple[int, int]) -> int:
    """How many of the picture's four sides a component's bounding box touches."""
    rows, cols = box
    return ((rows.start == 0) + (rows.stop == shape[0]) + (cols.start == 0)
            + (cols.stop == shape[1]))


def drop_specks(ink: np.ndarray, noise: float) -> np.ndarray:
    """Zero the connected ink components (8-connected, ink ≥ ``noise``) that hold less than
    ``SPECK`` of all the ink, never reach ``CORE``, or touch two sides of the picture: paper
    grain, dust, the faint rim a shadow's edge leaves after flattening (a hysteresis threshold:
    strokes have a dark core), and a shadow's dark wedge in a corner or band across the page
    (narrower than the closing window, so not taken for paper; writing on a photographed page
    does not run off two of its sides)."""
    labels, n = ndimage.label(ink >= noise, structure=np.ones((3, 3)))
    if n == 0:
        return ink
    index = np.arange(1, n + 1)
    mass = ndimage.sum_labels(ink, labels, index=index)  # (n,)
    peak = ndimage.maximum(ink, labels, index=index)  # (n,)
    edges = np.array([_sides(box, ink.shape) for box in ndimage.find_objects(labels)])  # (n,)
    weak = np.flatnonzero((mass < SPECK * mass.sum()) | (peak < CORE) | (edges >= 2)) + 1
    out = ink.copy()
    out[np.isin(labels, weak)] = 0.0
    return out
