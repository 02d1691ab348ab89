"""The draw page's strokes drawn on its canvas, as its browser draws them: the server's own canvas.

The page draws each stroke on a white pad (280×280 pixels) with a round black pen ``pen``
pixels wide (``lineCap`` and ``lineJoin`` round; a one-point stroke is a dot of that
diameter), anti-aliased. ``pad_grey`` draws the same strokes into the (h, w) uint8 lightness
a PNG of the canvas decodes to (``fastread.grey_bytes``' form), with ``fastdraw``'s analytic
rasteriser: each segment a capsule of radius pen/2 at the pad's own scale (no fitting), pixel
p spanning [p, p + 1) as a canvas's does, lightness ``255 − round(255 · coverage)``.

So the server can read the strokes without a PNG: the same grey bytes go through the same
preprocessing as a PNG of them would (``web.readout.read_strokes``), and the answers are equal
byte for byte (``tests/test_web_strokes.py``). What differs from the browser's canvas is the
rasteriser only: a browser's anti-aliasing is its own (and differs between browsers); edge
pixels of the strokes get slightly different grey levels, the strokes' insides are the same
black (``tests/test_canvas.py`` bounds the difference on the network's input).
"""

from __future__ import annotations

import math

import numpy as np

from . import fastdraw

#: The draw page's pad and pen (``web/static/app.js``: the canvas size, ``PEN_WIDTH``).
PAD = (280, 280)
PEN = 18.0


def capsules(strokes: list[np.ndarray], width: int, height: int, pen: float) -> fastdraw.Layout:
    """Strokes, each (n_i, 2) pad pixels (x, y), → their capsules of radius pen/2 at the pad's
    scale (one image; ``size`` left to the caller), clipped to the pad and cut into pieces.

    Each segment's centre line is clipped to the pad grown by r + 1 on every side (Liang–Barsky):
    a pixel centre inside the pad lies over r + ½ from any point beyond that, so no pixel's
    coverage changes, and a stroke dragged far off the pad costs nothing. Pieces are at most
    ``pen`` long: the window a piece of length l visits, (l + 2r + 2)², is then near its least
    per unit of length."""
    r = pen / 2
    P = np.concatenate([np.asarray(s, dtype=np.float64)[:, :2] for s in strokes])  # (M, 2)
    counts = np.array([len(s) for s in strokes])  # (S,)
    ends = np.cumsum(counts)  # (S,)
    last = np.zeros(len(P), dtype=bool)
    last[ends - 1] = True
    a = np.flatnonzero(~last[:-1])  # (C,) segment i → i + 1 inside a stroke
    dots = (ends - counts)[counts == 1]  # one-point strokes: a dot
    A, B = np.r_[P[a], P[dots]], np.r_[P[a + 1], P[dots]]  # (C, 2) each
    A, B = _clip(A, B, -(r + 1), -(r + 1), width + r + 1, height + r + 1)
    n = len(A)
    Q = np.empty((2 * n, 2))
    Q[0::2], Q[1::2] = A, B
    ends_a = np.arange(0, 2 * n, 2)
    L = fastdraw.Layout(Q, np.full(2 * n, r), ends_a, ends_a + 1,
                        np.zeros(n, dtype=np.int64), 1, 0)
    return fastdraw._cut(L, max(pen, fastdraw.MAX_PIECE))


def _clip(A: np.ndarray, B: np.ndarray, x0: float, y0: float, x1: float, y1: float):
    """Segments A → B, (C, 2) each, clipped to the rectangle [x0, x1] × [y0, y1]; those
    entirely outside are dropped (Liang–Barsky)."""
    D = B - A  # (C, 2)
    t0, t1 = np.zeros(len(A)), np.ones(len(A))
    keep = np.ones(len(A), dtype=bool)
    for k, lo, hi in ((0, x0, x1), (1, y0, y1)):
        d, p = D[:, k], A[:, k]
        still = d == 0
        keep &= ~still | ((p >= lo) & (p <= hi))  # parallel to this side: inside or dropped
        with np.errstate(all="ignore"):  # d = 0 (handled above) or tiny: t = ±inf is right
            ta, tb = (lo - p) / d, (hi - p) / d
        enter, leave = np.where(still, 0.0, np.minimum(ta, tb)), np.where(still, 1.0,
                                                                           np.maximum(ta, tb))
        t0, t1 = np.maximum(t0, enter), np.minimum(t1, leave)
    keep &= t0 <= t1
    A, D, t0, t1 = A[keep], D[keep], t0[keep, None], t1[keep, None]
    return A + t0 * D, A + t1 * D


def _layout_loops(P, counts, r, width, height, max_piece):  # pragma: no cover - Numba
    """``capsules`` as loops (Numba compiles them): the same Q, radii, a and b, number for
    number — the same segments in the same order, Liang–Barsky's t, the same cuts — with the
    same float operations one at a time (no fused or reordered arithmetic), and none of NumPy's
    dozens of small-array calls. P: (M, 2) the strokes' points, counts: (S,) points a stroke."""
    lo_x, lo_y, hi_x, hi_y = -(r + 1), -(r + 1), width + r + 1, height + r + 1
    n_seg = 0
    for c in counts:
        n_seg += c - 1 if c > 1 else 1  # a stroke's segments, or its dot
    A = np.empty((n_seg, 2))
    B = np.empty((n_seg, 2))
    n = 0
    for order in range(2):  # the segments of every stroke first, then the dots
        start = 0
        for c in counts:
            if order == 0 and c > 1:
                for i in range(start, start + c - 1):
                    n = _clip_one(P[i, 0], P[i, 1], P[i + 1, 0], P[i + 1, 1],
                                  lo_x, lo_y, hi_x, hi_y, A, B, n)
            elif order == 1 and c == 1:
                n = _clip_one(P[start, 0], P[start, 1], P[start, 0], P[start, 1],
                              lo_x, lo_y, hi_x, hi_y, A, B, n)
            start += c
    pieces = np.ones(n, dtype=np.int64)
    extra = 0
    for k in range(n):
        dx, dy = B[k, 0] - A[k, 0], B[k, 1] - A[k, 1]
        m = math.ceil(math.sqrt(dx * dx + dy * dy) / max_piece)
        pieces[k] = max(1, m)
        extra += pieces[k] - 1
    Q = np.empty((2 * n + extra, 2))
    rr = np.full(2 * n + extra, r)
    for k in range(n):
        Q[2 * k, 0], Q[2 * k, 1], Q[2 * k + 1, 0], Q[2 * k + 1, 1] = A[k, 0], A[k, 1], B[k, 0], \
            B[k, 1]
    n_caps = n + extra
    a = np.empty(n_caps, dtype=np.int64)
    b = np.empty(n_caps, dtype=np.int64)
    out = 0
    for k in range(n):  # the capsules left whole, in order …
        if pieces[k] == 1:
            a[out], b[out] = 2 * k, 2 * k + 1
            out += 1
    new = 2 * n  # … then each long one's pieces, its inner points appended to Q
    for k in range(n):
        m = pieces[k]
        if m == 1:
            continue
        ca, cb = 2 * k, 2 * k + 1
        for j in range(1, m):
            f = j / m
            Q[new + j - 1, 0] = Q[ca, 0] * (1 - f) + Q[cb, 0] * f
            Q[new + j - 1, 1] = Q[ca, 1] * (1 - f) + Q[cb, 1] * f
            rr[new + j - 1] = rr[ca] * (1 - f) + rr[cb] * f
        for q in range(m):
            a[out] = ca if q == 0 else new + q - 1
            b[out] = cb if q == m - 1 else new + q
            out += 1
        new += m - 1
    return Q, rr, a, b


def _clip_one(ax, ay, bx, by, x0, y0, x1, y1, A, B, n):  # pragma: no cover - Numba
    """``_clip`` of one segment: append it to A, B at n if any of it is inside; the new n."""
    t0, t1 = 0.0, 1.0
    dx, dy = bx - ax, by - ay
    for d, p, lo, hi in ((dx, ax, x0, x1), (dy, ay, y0, y1)):
        if d == 0:
            if not (p >= lo and p <= hi):
                return n
            continue
        ta, tb = (lo - p) / d, (hi - p) / d
        t0, t1 = max(t0, min(ta, tb)), min(t1, max(ta, tb))
    if not t0 <= t1:
        return n
    A[n, 0], A[n, 1] = ax + t0 * dx, ay + t0 * dy
    B[n, 0], B[n, 1] = ax + t1 * dx, ay + t1 * dy
    return n + 1


def visits(L: fastdraw.Layout) -> int:
    """How many pixel visits drawing ``L`` takes at most (the sum of its capsules' windows):
    what a request's strokes cost, checked against the server's limit before drawing."""
    if _visits is not None:  # the windows' areas in one compiled pass, summed by NumPy
        return int(_visits(L.Q, L.a, L.b, L.r).sum())
    span = np.abs(L.Q[L.b] - L.Q[L.a]) + 2 * L.r[L.a, None] + 3  # (C, 2) window sides
    return int(np.prod(span, axis=1).sum())


def _visits_loops(Q, a, b, r):  # pragma: no cover - Numba
    """(C,) each capsule's window area, as ``visits`` computes it (the same float operations
    one capsule at a time), for NumPy's own sum."""
    area = np.empty(len(a))
    for k in range(len(a)):
        sx = abs(Q[b[k], 0] - Q[a[k], 0]) + 2 * r[a[k]] + 3
        sy = abs(Q[b[k], 1] - Q[a[k], 1]) + 2 * r[a[k]] + 3
        area[k] = sx * sy
    return area


def _grey_loops(Q, a, b, r, grey):  # pragma: no cover - compiled by Numba
    """The pad's lightness (grey: (h, w) uint8, all 255) after drawing capsules a → b of
    radius r: each pixel centre's squared distance to the nearest centre line (the least over
    the capsules' windows, as ``fastdraw._coverage_loops`` measures it), then its coverage
    ``fastdraw``'s c(d, r) = min(r, d + ½) − max(−r, d − ½) and lightness 255 − round(255 c).
    The nearest capsule gives the most coverage (c falls as d grows), so this equals the union
    ``fastdraw`` takes, with one square root per pixel instead of one per visit. Each row of a
    window is visited only where it meets the capsule (``_row_span``, a pixel more each side):
    the window's corners, out of reach, would change nothing (a pixel inked at all lies over
    1/510 px inside reach)."""
    h, w = grey.shape
    reach = r + 0.5
    far = reach * reach  # pixels at least this far (squared) get no ink
    y_lo, y_hi, x_lo, x_hi = h, -1, w, -1  # the pixels any window touches
    for s in range(len(a)):
        x0, x1, y0, y1 = _window(Q, a[s], b[s], reach, h, w)
        if x0 <= x1 and y0 <= y1:
            y_lo, y_hi, x_lo, x_hi = min(y_lo, y0), max(y_hi, y1), min(x_lo, x0), max(x_hi, x1)
    if y_lo > y_hi:
        return
    d2 = np.full((y_hi - y_lo + 1, x_hi - x_lo + 1), far)  # those pixels only, from (y_lo, x_lo)
    for s in range(len(a)):
        ax, ay, bx, by = Q[a[s], 0], Q[a[s], 1], Q[b[s], 0], Q[b[s], 1]
        x0, x1, y0, y1 = _window(Q, a[s], b[s], reach, h, w)
        if x0 > x1 or y0 > y1:
            continue
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        for py in range(y0, y1 + 1):
            cy = py + 0.5
            lo, hi = _row_span(ax, ay, bx, by, dx, dy, L2, cy, reach)
            if lo > hi:
                continue
            # the pixels whose centres the span holds, and one more each side (rounding): the
            # rest of the window is over reach away and would change nothing
            lo_px = max(x0, int(math.ceil(lo - 0.5)) - 1)
            hi_px = min(x1, int(math.floor(hi - 0.5)) + 1)
            row = d2[py - y_lo]
            if L2 > 0.0:
                _nearer_segment(row, lo_px - x_lo, hi_px - x_lo, x_lo, ax, ay, dx, dy, L2, cy)
            else:
                _nearer_point(row, lo_px - x_lo, hi_px - x_lo, x_lo, ax, ay, cy)
    for py in range(y_lo, y_hi + 1):
        for px in range(x_lo, x_hi + 1):
            e2 = d2[py - y_lo, px - x_lo]
            if e2 < far:
                d = math.sqrt(e2)
                c = min(min(r, d + 0.5) - max(-r, d - 0.5), 1.0)
                if c > 0.0:
                    grey[py, px] = 255 - np.uint8(np.rint(255.0 * c))


def _nearer_segment(row, lo, hi, x_lo, ax, ay, dx, dy, L2, cy):  # pragma: no cover - Numba
    """row[lo..hi] (pixels x_lo + k of the row whose centres are at y = cy) lowered to the
    squared distance from each pixel centre to the segment from (ax, ay) by (dx, dy) (L2 =
    its squared length > 0) where that is nearer: a loop without branches (the compiler
    vectorises it), the same operations as ``fastdraw._coverage_loops``' for each visit."""
    for k in range(lo, hi + 1):
        cx = (x_lo + k) + 0.5
        t = min(max(((cx - ax) * dx + (cy - ay) * dy) / L2, 0.0), 1.0)
        ex, ey = cx - (ax + t * dx), cy - (ay + t * dy)
        row[k] = min(row[k], ex * ex + ey * ey)


def _nearer_point(row, lo, hi, x_lo, ax, ay, cy):  # pragma: no cover - Numba
    """``_nearer_segment`` for a segment of length 0 (a dot: t = 0)."""
    for k in range(lo, hi + 1):
        cx = (x_lo + k) + 0.5
        ex, ey = cx - (ax + 0.0 * 0.0), cy - (ay + 0.0 * 0.0)
        row[k] = min(row[k], ex * ex + ey * ey)


def _window(Q, i, j, reach, h, w):  # pragma: no cover - Numba
    """The pixels (x0, x1, y0, y1, inclusive; empty when x0 > x1 or y0 > y1) of the (h, w)
    pad a capsule Q[i] → Q[j] of radius ``reach`` may ink."""
    ax, ay, bx, by = Q[i, 0], Q[i, 1], Q[j, 0], Q[j, 1]
    x0 = max(0, int(math.floor(min(ax, bx) - reach - 0.5)))
    x1 = min(w - 1, int(math.ceil(max(ax, bx) + reach - 0.5)))
    y0 = max(0, int(math.floor(min(ay, by) - reach - 0.5)))
    y1 = min(h - 1, int(math.ceil(max(ay, by) + reach - 0.5)))
    return x0, x1, y0, y1


def _row_span(ax, ay, bx, by, dx, dy, L2, cy, reach):  # pragma: no cover - Numba
    """The x where the row y = cy meets the capsule A → B of radius ``reach`` (convex: the
    hull of its two end disks and the band between them), as (lo, hi); lo > hi: it misses."""
    far = reach * reach
    lo, hi = math.inf, -math.inf
    for px, py in ((ax, ay), (bx, by)):  # the end disks
        v2 = (cy - py) * (cy - py)
        if v2 <= far:
            h = math.sqrt(far - v2)
            lo, hi = min(lo, px - h), max(hi, px + h)
    if L2 > 0.0:  # the band: the foot on the segment (0 ≤ t ≤ 1), within reach of it
        v = cy - ay
        if dy == 0.0:
            if abs(v) <= reach:
                lo, hi = min(lo, ax, bx), max(hi, ax, bx)
        else:
            R = reach * math.sqrt(L2)  # |u·dy − v·dx| ≤ R, u = x − ax
            u0, u1 = (v * dx - R) / dy, (v * dx + R) / dy
            u_lo, u_hi = min(u0, u1), max(u0, u1)
            if dx == 0.0:
                inside = 0.0 <= v * dy <= L2
            else:  # 0 ≤ u·dx + v·dy ≤ L2
                t0, t1 = -v * dy / dx, (L2 - v * dy) / dx
                u_lo, u_hi = max(u_lo, min(t0, t1)), min(u_hi, max(t0, t1))
                inside = True
            if inside and u_lo <= u_hi:
                lo, hi = min(lo, ax + u_lo), max(hi, ax + u_hi)
    return lo, hi


_compiled = None  # ``_grey_loops`` compiled, once ``load`` has run
_layout = None  # ``_layout_loops`` compiled
_visits = None  # ``_visits_loops`` compiled


def load() -> bool:
    """Compile the pad's rasteriser now (or load it from Numba's cache); whether it could."""
    global _compiled, _layout, _clip_one, _row_span, _window, _visits, _nearer_segment, \
        _nearer_point
    if _compiled is None and fastdraw.HAVE_NUMBA:
        import numba

        jit = numba.njit(cache=True, nogil=True)
        _clip_one, _row_span, _window = jit(_clip_one), jit(_row_span), jit(_window)
        _nearer_segment, _nearer_point = jit(_nearer_segment), jit(_nearer_point)
        _visits = jit(_visits_loops)
        _layout = jit(_layout_loops)
        _compiled = jit(_grey_loops)
        pad_grey([np.array([[1.0, 1.0], [3.0, 4.0]]), np.array([[2.0, 2.0]])], 8, 8, 2.0,
                 max_visits=10**9)  # and ``visits``' loops
    return _compiled is not None


def compiled_capsules(strokes: list[np.ndarray], width: int, height: int,
                      pen: float) -> fastdraw.Layout:
    """``capsules`` by the compiled loops (once ``load`` has run): equal arrays."""
    P = np.ascontiguousarray(np.concatenate([np.asarray(s, dtype=np.float64)[:, :2]
                                             for s in strokes]))  # (M, 2)
    counts = np.array([len(s) for s in strokes], dtype=np.int64)  # (S,)
    Q, r, a, b = _layout(P, counts, pen / 2, float(width), float(height),
                         float(max(pen, fastdraw.MAX_PIECE)))
    return fastdraw.Layout(Q, r, a, b, np.zeros(len(a), dtype=np.int64), 1, 0)


def coverage(strokes: list[np.ndarray], width: int, height: int, pen: float = PEN) -> np.ndarray:
    """(height, width) float64 ink coverage in [0, 1] of ``strokes`` on the pad, by
    ``fastdraw``'s NumPy rasteriser: the reference ``pad_grey`` is tested against."""
    L = capsules(strokes, width, height, pen)
    side = max(width, height)
    out = np.zeros((1, side, side))  # (1, side, side): the rasteriser's square field
    if len(L.a):
        fastdraw._coverage_numpy(fastdraw.Layout(L.Q, L.r, L.a, L.b, L.image, 1, side), out,
                                 fastdraw.PIXEL_CENTRE)
    return np.clip(out[0, :height, :width], 0.0, 1.0)


class TooMuchWork(ValueError):
    """The strokes would take more than the allowed pixel visits to draw."""


def pad_grey(strokes: list[np.ndarray], width: int = PAD[0], height: int = PAD[1],
             pen: float = PEN, max_visits: int | None = None) -> np.ndarray:
    """(height, width) uint8 lightness of ``strokes`` drawn on the white pad with a black pen
    ``pen`` pixels wide: compiled once ``load`` has run, else from ``coverage``.
    ``max_visits``: refuse (``TooMuchWork``) strokes whose drawing would visit more pixels."""
    L = (capsules if _layout is None else compiled_capsules)(strokes, width, height, pen)
    if max_visits is not None and (n := visits(L)) > max_visits:
        raise TooMuchWork(f"the strokes would take {n:,} pixel visits to draw, over the limit "
                          f"of {max_visits:,}; send fewer or shorter strokes, a thinner pen, or "
                          f"the drawing as a PNG")
    if _compiled is None:
        return (255 - np.rint(255.0 * coverage(strokes, width, height, pen))).astype(np.uint8)
    grey = np.full((height, width), 255, dtype=np.uint8)
    _compiled(L.Q, L.a, L.b, pen / 2, grey)
    return grey
