"""The strokes' width on a bitmap of ink, as plain loops that Numba compiles (the server's path).

It is a median of integer counts, so the compiled loops give exactly what the NumPy reference
gives (``tests/test_inkloops.py`` checks them equal on random, thin, thick and degenerate masks):

- ``across_median(mask)``: over the True pixels, the median of the shorter of the horizontal
  and vertical runs of True through each (``images.stroke_width``'s number, which NumPy
  computes with a cumulative sum, a bincount and a sort for each direction, ~0.7 ms on the
  draw page's box; one pass here, counting the lengths instead of sorting them).

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


def load() -> bool:
    """Compile the loops now (or load them from Numba's cache); returns ``loaded``."""
    global loaded, _order_statistic, _row_runs, across_median_kernel
    if HAVE_NUMBA and across_median_kernel is _across_median_loops:
        import numba

        jit = numba.njit(cache=True, nogil=True)
        _order_statistic = jit(_order_statistic)  # the compiled median calls the compiled ones
        _row_runs = jit(_row_runs)
        across_median_kernel = jit(_across_median_loops)
        across_median_kernel(np.ones((2, 2), dtype=np.bool_))  # compile (or load) now
    loaded = HAVE_NUMBA
    return loaded


across_median_kernel = _across_median_loops  # compiled by ``load``


def across_median(mask: np.ndarray) -> float:
    """``images.stroke_width``'s median for (h, w) bool ``mask`` with at least one True."""
    return float(across_median_kernel(np.ascontiguousarray(mask, dtype=np.bool_)))

