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
- ``order_bytes``: ``fastread.ink_peak``'s two order statistics from one histogram pass;
- ``clean_scan``: ``fastread.clean_grey_ink``'s integer tests in one scan (white border, the
  box, the paper windows, the two order statistics);
- ``ink_facts``: on the box's bytes, what the read, the fit and the verdict count of the ink:
  its box and pixel count, counts by row and column (the ruled-line test), the strokes' width
  (``across_median``) and its number of 8-connected pieces (``scipy.ndimage.label``'s count,
  by union–find);
- ``times_255``: ``fit_and_center``'s float32 samples of the ink for Pillow, in one pass.

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


def _clean_scan_loops(grey: np.ndarray, bright: int, window: int, lo: int,
                      hi: int) -> tuple[int, int, int, int, int, int, int]:
    """``fastread.clean_grey_ink``'s integer tests of (h, w) uint8 ``grey``:
    (code, top, bottom, left, right, a, b). ``code`` 0: the border is white (255), the box of
    the pixels that are not is (top, bottom, left, right) (half-open), every window × window
    square inside it holds a byte ≥ ``bright`` (``fastread.flat_paper``'s test; the caller
    checked the picture's size) and a, b are the lo-th and hi-th largest bytes of the picture
    (``order_bytes``, the paper outside the box counted white). Code 1: a border pixel is not
    white; 2: every pixel is white; 3: a window inside the box has no bright byte.

    Each pass is a loop without branches that the compiler vectorises: the rows' and the
    columns' least bytes (the border, the box), then, row by row down the box, each column's
    run of dark bytes so far (a window lacks a bright byte exactly when it is a square of dark
    ones: a row where ``window`` columns side by side have runs ≥ ``window``, checked only in a
    row whose longest run gets there) and the count of black bytes: when at least n − lo are
    0, both order statistics are 0 without a histogram (``_order_bytes_loops`` otherwise)."""
    h, w = grey.shape
    row_least = np.empty(h, dtype=np.uint8)
    for i in range(h):
        least = np.uint8(255)
        for j in range(w):
            least = min(least, grey[i, j])
        row_least[i] = least
    col_least = np.full(w, 255, dtype=np.uint8)
    for i in range(h):
        if row_least[i] != 255:
            for j in range(w):
                col_least[j] = min(col_least[j], grey[i, j])
    if (row_least[0] != 255 or row_least[h - 1] != 255 or col_least[0] != 255
            or col_least[w - 1] != 255):
        return 1, -1, -1, -1, -1, -1, -1
    top, bottom, left, right = h, 0, w, 0
    for i in range(h):
        if row_least[i] != 255:
            top, bottom = min(top, i), i + 1
    for j in range(w):
        if col_least[j] != 255:
            left, right = min(left, j), j + 1
    if top >= bottom:
        return 2, -1, -1, -1, -1, -1, -1
    bw = right - left
    runs = np.zeros(bw, dtype=np.int32)  # each column's dark bytes up to this row
    black = 0
    for i in range(top, bottom):
        longest = 0
        for j in range(bw):
            v = grey[i, left + j]
            runs[j] = (runs[j] + 1) * (v < bright)
            longest = max(longest, runs[j])
            black += v == 0
        if longest >= window and _square_ends_here(runs, window):
            return 3, -1, -1, -1, -1, -1, -1
    n = h * w
    if black >= n - lo:  # the lo-th largest byte and all after it are 0
        return 0, top, bottom, left, right, 0, 0
    a, b = _order_bytes_loops(grey[top:bottom, left:right], n - (bottom - top) * bw, lo, hi)
    return 0, top, bottom, left, right, a, b


def _square_ends_here(runs: np.ndarray, window: int) -> bool:
    """Do ``window`` columns side by side have dark runs at least ``window`` long?"""
    wide = 0
    for j in range(runs.size):
        wide = wide + 1 if runs[j] >= window else 0
        if wide >= window:
            return True
    return False


def _ink_facts_loops(g: np.ndarray, levels: np.ndarray, ink: np.ndarray):
    """The ink of uint8 bytes ``g`` (bh, bw) by the table ``levels`` (256,) written into
    ``ink`` (bh, bw, all 0.0), and what the read, the fit and the verdict count of it:
    (top, bottom, left, right, n, rows, cols, width, pieces) — the half-open box of the ink
    (the pixels > 0; top = −1: none), its pixel count, its counts by row (bh,) and by column
    (bw,), the median of the shorter run through each dark pixel (ink ≥ 0.5,
    ``_across_median_loops``; 0.0 with none) and the number of its 8-connected pieces
    (``scipy.ndimage.label``'s), by union–find over provisional labels kept for two rows."""
    bh, bw = g.shape
    rows = np.zeros(bh, dtype=np.int64)
    cols = np.zeros(bw, dtype=np.int64)
    up = np.zeros(bw + 2, dtype=np.int32)  # the row above's labels (0: no ink), padded
    here = np.zeros(bw + 2, dtype=np.int32)
    parent = np.empty(bh * ((bw + 1) // 2) + 1, dtype=np.int32)  # a new label needs paper left
    n_labels = n = 0
    top, bottom, left, right = bh, -1, bw, -1
    for i in range(bh):
        in_row = 0
        for j in range(bw):
            value = levels[g[i, j]]
            if value <= 0.0:
                here[j + 1] = 0
                continue
            ink[i, j] = value
            in_row += 1
            cols[j] += 1
            left, right = min(left, j), max(right, j)
            # the neighbours seen: left (here[j]), up-left (up[j]), up, up-right (up[j + 2]).
            # Up touches all the others, up-left touches left: only up-right may need joining
            mine = up[j + 1]
            if mine == 0:
                mine = up[j] if up[j] else here[j]
                if up[j + 2]:
                    mine = _join(parent, _root(parent, up[j + 2]), mine) if mine else up[j + 2]
                elif mine == 0:
                    n_labels += 1
                    parent[n_labels] = n_labels
                    mine = n_labels
            here[j + 1] = mine
        if in_row:
            rows[i] = in_row
            n += in_row
            top, bottom = min(top, i), i
        up, here = here, up
    if n == 0:
        return -1, -1, -1, -1, 0, rows, cols, 0.0, 0
    pieces = 0
    for k in range(1, n_labels + 1):
        pieces += parent[k] == k
    return top, bottom + 1, left, right + 1, n, rows, cols, _dark_width(ink), pieces


def _root(parent: np.ndarray, k: int) -> int:
    """The root of k's set (halving the path on the way)."""
    while parent[k] != k:
        parent[k] = parent[parent[k]]
        k = parent[k]
    return k


def _join(parent: np.ndarray, root: int, k: int) -> int:
    """Join k's set to that of ``root`` (a root); the joined set's root."""
    other = _root(parent, k)
    if other == root:
        return root
    lo, hi = min(root, other), max(root, other)
    parent[hi] = lo
    return lo


def _dark_width(ink: np.ndarray) -> float:
    """``_across_median_loops`` of the mask ink ≥ 0.5 of (bh, bw) ``ink`` (0.0 when it has no
    True pixel), in one pass by rows: each row's runs, and each column's run as it ends."""
    bh, bw = ink.shape
    along = np.empty((bh, bw), dtype=np.int32)  # the horizontal run through each dark pixel
    down = np.zeros(bw, dtype=np.int32)  # the vertical run each column is in, so far
    counts = np.zeros(max(bh, bw) + 1, dtype=np.int64)
    n = 0
    for i in range(bh):
        run = 0
        for j in range(bw):
            if ink[i, j] >= 0.5:
                run += 1
                down[j] += 1
                continue
            if run:
                along[i, j - run:j] = run
                run = 0
            if down[j]:  # column j's run ended in the row above: count its pixels
                n += _count_run(counts, along, down[j], i, j)
                down[j] = 0
        if run:
            along[i, bw - run:] = run
    for j in range(bw):
        if down[j]:
            n += _count_run(counts, along, down[j], bh, j)
    if n == 0:
        return 0.0
    return (_order_statistic(counts, (n - 1) // 2) + _order_statistic(counts, n // 2)) / 2.0


def _count_run(counts: np.ndarray, along: np.ndarray, length: int, end: int, j: int) -> int:
    """Count the shorter run of each pixel of column j's vertical run of ``length`` ending
    above row ``end``; its length."""
    for k in range(end - length, end):
        counts[min(along[k, j], length)] += 1
    return length


def _times_255_loops(crop: np.ndarray) -> np.ndarray:
    """``(crop * 255).astype(np.float32)`` of (h, w) float64 ``crop`` in one pass, without the
    float64 product's array: each value multiplied in double, then rounded to float32, as
    NumPy does it."""
    h, w = crop.shape
    out = np.empty((h, w), dtype=np.float32)
    for i in range(h):
        for j in range(w):
            out[i, j] = np.float32(crop[i, j] * 255.0)
    return out


def load() -> bool:
    """Compile the loops now (or load them from Numba's cache); returns ``loaded``."""
    global loaded, _order_statistic, _row_runs, across_median_kernel, box_kernel, \
        windows_kernel, order_bytes_kernel, _root, _join, \
        _dark_width, _count_run, clean_scan_kernel, ink_facts_kernel, _order_bytes_loops, \
        _square_ends_here, times_255_kernel
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
        _root, _join = jit(_root), jit(_join)
        _order_bytes_loops, _square_ends_here = order_bytes_kernel, jit(_square_ends_here)
        _dark_width, _count_run = jit(_dark_width), jit(_count_run)
        clean_scan_kernel, ink_facts_kernel = jit(_clean_scan_loops), jit(_ink_facts_loops)
        page = np.full((4, 4), 255, dtype=np.uint8)
        page[1:3, 1:3] = 0
        clean_scan_kernel(page, 250, 3, 0, 1)
        levels, ink = np.linspace(1.0, 0.0, 256), np.zeros((4, 4))
        ink_facts_kernel(page[1:3, 1:3], levels, ink[1:3, 1:3])  # boxes (not contiguous)
        ink_facts_kernel(page, levels, ink)
        times_255_kernel = jit(_times_255_loops)
        times_255_kernel(ink[1:3, 1:3])  # a box of the ink (not contiguous)
        times_255_kernel(ink)
    loaded = HAVE_NUMBA
    return loaded


across_median_kernel = _across_median_loops  # compiled by ``load``
box_kernel = _box_loops
windows_kernel, order_bytes_kernel = _windows_hold_loops, _order_bytes_loops
clean_scan_kernel, ink_facts_kernel = _clean_scan_loops, _ink_facts_loops
times_255_kernel = _times_255_loops


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


def clean_scan(grey: np.ndarray, bright: int, window: int, lo: int, hi: int):
    """``_clean_scan_loops``, compiled (call it once ``loaded``)."""
    return clean_scan_kernel(grey, bright, window, lo, hi)


def ink_facts(g: np.ndarray, levels: np.ndarray, ink: np.ndarray):
    """``_ink_facts_loops``, compiled (call it once ``loaded``)."""
    return ink_facts_kernel(g, levels, ink)


def times_255(crop: np.ndarray) -> np.ndarray:
    """``(crop * 255).astype(np.float32)`` of a 2-d float64 array, compiled (once ``loaded``)."""
    return times_255_kernel(crop)


def across_median(mask: np.ndarray) -> float:
    """``images.stroke_width``'s median for (h, w) bool ``mask`` with at least one True."""
    return float(across_median_kernel(np.ascontiguousarray(mask, dtype=np.bool_)))

