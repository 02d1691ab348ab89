"""The strokes' width on a bitmap of ink, as plain loops that Numba compiles (the server's path).

It is a median of integer counts, so the compiled loops give exactly what the NumPy reference
gives (``tests/test_inkloops.py`` checks them equal on random, thin, thick and degenerate masks):

- ``across_median(mask)``: over the True pixels, the median of the shorter of the horizontal
  and vertical runs of True through each (``images.stroke_width``'s number, which NumPy
  computes with a cumulative sum, a bincount and a sort for each direction, ~0.7 ms on the
  draw page's box; one pass here, counting the lengths instead of sorting them);
- ``ink_box(a)``: the box of the nonzero entries (``images.ink_box``; NumPy reads the whole
  array twice, here the scan stops at the ink);
- ``windows_hold(white, side)``: ``fastread.white_everywhere``'s summed-area test;
- ``order_bytes``: ``fastread.ink_peak``'s two order statistics from one histogram pass.

All are integer counts or comparisons, so equal to the NumPy forms exactly.

The loops run compiled only once ``load()`` has compiled them (or read Numba's on-disk cache),
which a long-running server does at start-up; until then ``loaded`` is False and the callers
(``images.stroke_width``) uses the NumPy reference: a one-off
``mojinet predict`` does not wait for Numba.
"""

from __future__ import annotations

import importlib.util

import numpy as np

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
loaded = False  # whether the loops below are compiled (set by ``load``)


def _across_median_loops(mask: np.ndarray) -> float:
    """(h, w) bool with at least one True → the median of min(horizontal run, vertical run)."""
    h, w = mask.shape
    along = _row_runs(mask)  # (h, w) the horizontal run through each pixel
    down = _row_runs(mask.T)  # (w, h) the vertical one, by columns
    counts = np.zeros(max(h, w) + 1, dtype=np.int64)  # counts[L]: pixels whose shorter run is L
    n = 0
    for i in range(h):
        for j in range(w):
            if mask[i, j]:
                counts[min(along[i, j], down[j, i])] += 1
                n += 1
    return (_order_statistic(counts, (n - 1) // 2) + _order_statistic(counts, n // 2)) / 2.0


def _row_runs(mask: np.ndarray) -> np.ndarray:
    """(h, w) bool → (h, w) int64: the length of the run of True along its row through each
    True pixel (0 elsewhere)."""
    h, w = mask.shape
    runs = np.zeros((h, w), dtype=np.int64)
    for i in range(h):
        j = 0
        while j < w:
            start = j
            while j < w and mask[i, j]:
                j += 1
            for k in range(start, j):
                runs[i, k] = j - start
            j += j == start  # a False pixel: step over it
    return runs


def _order_statistic(counts: np.ndarray, k: int) -> int:
    """The k-th smallest (0-based) of the values whose histogram is ``counts``."""
    seen = 0
    for value in range(counts.size):
        seen += counts[value]
        if seen > k:
            return value
    return counts.size - 1


def _box_loops(a: np.ndarray) -> tuple[int, int, int, int]:
    """(h, w) array → (top, bottom, left, right), the half-open box of its nonzero (or True)
    entries, as ``images.ink_box`` finds them; top = −1 when there are none. Rows are scanned
    from each end until one has ink, columns only within those rows and outside the columns
    found so far."""
    h, w = a.shape
    top = -1
    for i in range(h):
        for j in range(w):
            if a[i, j] != 0:
                top = i
                break
        if top >= 0:
            break
    if top < 0:
        return -1, -1, -1, -1
    bottom = top
    for i in range(h - 1, top, -1):
        found = False
        for j in range(w):
            if a[i, j] != 0:
                found = True
                break
        if found:
            bottom = i
            break
    left, right = w, -1
    for i in range(top, bottom + 1):
        for j in range(left):
            if a[i, j] != 0:
                left = j
                break
        for j in range(w - 1, right, -1):
            if a[i, j] != 0:
                right = j
                break
    return top, bottom + 1, left, right + 1


def _windows_hold_loops(white: np.ndarray, side: int) -> bool:
    """Does every side×side window of (h, w) bool ``white`` (h, w ≥ side) hold a True pixel?
    (``fastread.white_everywhere``'s summed-area test, with the same integer counts.)"""
    h, w = white.shape
    s = np.zeros((h + 1, w + 1), dtype=np.int64)  # summed-area table
    for i in range(h):
        row = 0
        for j in range(w):
            row += white[i, j]
            s[i + 1, j + 1] = s[i, j + 1] + row
    for i in range(side, h + 1):
        for j in range(side, w + 1):
            if s[i, j] - s[i - side, j] - s[i, j - side] + s[i - side, j - side] <= 0:
                return False
    return True


def _order_bytes_loops(grey: np.ndarray, outside: int, lo: int, hi: int) -> tuple[int, int]:
    """The lo-th and hi-th (0-based) largest bytes of uint8 ``grey`` (any shape, contiguous)
    together with ``outside`` more bytes of 255 (``fastread.ink_peak``'s order statistics)."""
    counts = np.zeros(256, dtype=np.int64)
    flat = grey.ravel()
    for k in range(flat.size):
        counts[flat[k]] += 1
    counts[255] += outside
    a = b = -1
    seen = 0
    for v in range(255, -1, -1):
        seen += counts[v]
        if a < 0 and seen > lo:
            a = v
        if seen > hi:
            b = v
            break
    return a, b


def load() -> bool:
    """Compile the loops now (or load them from Numba's cache); returns ``loaded``."""
    global loaded, _order_statistic, _row_runs, across_median_kernel, box_kernel, \
        windows_kernel, order_bytes_kernel
    if HAVE_NUMBA and across_median_kernel is _across_median_loops:
        import numba

        jit = numba.njit(cache=True, nogil=True)
        _order_statistic = jit(_order_statistic)  # the compiled median calls the compiled ones
        _row_runs = jit(_row_runs)
        across_median_kernel = jit(_across_median_loops)
        across_median_kernel(np.ones((2, 2), dtype=np.bool_))  # compile (or load) now
        box_kernel = jit(_box_loops)
        windows_kernel, order_bytes_kernel = jit(_windows_hold_loops), jit(_order_bytes_loops)
        for a in (np.ones((2, 2)), np.ones((2, 2), dtype=np.bool_),
                  np.ones((2, 2), dtype=np.uint8)):  # the server's kinds of ink, compiled now
            box_kernel(a)
            box_kernel(a[:, :1])  # and a box of one (not contiguous)
        windows_kernel(np.ones((2, 2), dtype=np.bool_), 1)
        order_bytes_kernel(np.ones((2, 2), dtype=np.uint8), 0, 0, 1)
    loaded = HAVE_NUMBA
    return loaded


across_median_kernel = _across_median_loops  # compiled by ``load``
box_kernel = _box_loops
windows_kernel, order_bytes_kernel = _windows_hold_loops, _order_bytes_loops


def ink_box(a: np.ndarray) -> tuple[slice, slice] | None:
    """``images.ink_box`` of a 2-d array, compiled (call it once ``loaded``)."""
    top, bottom, left, right = box_kernel(a)
    if top < 0:
        return None
    return slice(top, bottom), slice(left, right)


def windows_hold(white: np.ndarray, side: int) -> bool:
    return bool(windows_kernel(white, side))


def order_bytes(grey: np.ndarray, outside: int, lo: int, hi: int) -> tuple[int, int]:
    a, b = order_bytes_kernel(np.ascontiguousarray(grey), outside, lo, hi)
    return int(a), int(b)


def across_median(mask: np.ndarray) -> float:
    """``images.stroke_width``'s median for (h, w) bool ``mask`` with at least one True."""
    return float(across_median_kernel(np.ascontiguousarray(mask, dtype=np.bool_)))

