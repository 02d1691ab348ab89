"""Strokes → bitmaps, fast: the batch-first twin of ``render.draw``.

``render.draw`` (the reference) draws one character at a time with PIL on a canvas 4 times
larger and averages it down. Here many characters are drawn at once, straight at the output
resolution, by an analytic anti-aliased rasteriser:

* every stroke is a chain of *capsules*: the segment from point i to point i+1 with a radius
  that runs linearly from r_i to r_{i+1} (a round pen: one radius; a broad nib or a taper: the
  radius ``render`` gives each point, r = r0 · (nib + (1 − nib)|u_y|) · (1 − taper · ramp²));
* a pixel whose centre lies at distance d from a capsule's centre line, where the capsule's
  radius is r, gets the ink coverage of a band of half-width r seen through a one-pixel window,
      c(d, r) = max(0, min(r, d + ½) − max(−r, d − ½))          (exact for axis-parallel edges),
  and the image is the maximum of c over the capsules (their union);
* the same fit into the box (with the pen quantised to a quarter pixel as the reference's
  4× canvas does) and the same centring by mass (``center_by_mass``, batched).

What may differ from the reference (``tests/test_fastdraw.py`` holds these bounds for every
style): before the centring, the centre of mass agrees to 0.4 px (0.2 px on average), the
total ink to 10 % per image (3 % on average), the mean absolute pixel difference is under 0.03
of full ink per image (0.02 on average); single edge pixels differ by up to 0.75 for a round
pen (PIL's grey levels are multiples of 1/16, and its lines leave notches at gentle turns that
the capsules fill) and up to full ink for a shaped pen, where PIL leaves a hole inside a stroke
whose outline polygon crosses itself in a tight curl. The centring moves by whole pixels, so
where a centre of mass lies near a half pixel the engines may round it apart: by one pixel
(at most 35 % of the images), after which they differ by under 0.05 per image on average.
So the images are not byte-identical to the reference's: the fast engine has its own cache
key (``kanji``) and its own pinned hashes.

Numba (``pip install 'mojinet[fast]'``) compiles the rasteriser's loops; without it a NumPy
path (``backend="numpy"``) computes the same coverage, vectorised over fixed windows around
each capsule — slower, same images (equal to rounding, tested).
"""

from __future__ import annotations

import functools
import importlib.util
import math
from dataclasses import dataclass

import numpy as np

from . import render

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
REFERENCE_SUPERSAMPLE = 4  # the reference's canvas scale, whose pen quantisation we keep
PIXEL_CENTRE = 0.5  # output pixel p spans [p, p + 1) (see ``layout``)
MAX_PIECE = 2.0  # output pixels: longer capsules are cut so every window stays small
SHAPED_GROW = 0.1  # output pixels added to a shaped pen's radius (see ``layout``)


@dataclass
class Layout:
    """Many characters' capsules in output pixels, ready to rasterise.

    Q: (M, 2) points (x, y); r: (M,) radius at each point; a, b: (C,) point indices of each
    capsule's ends; image: (C,) image of each capsule; n, size: the batch shape."""

    Q: np.ndarray
    r: np.ndarray
    a: np.ndarray
    b: np.ndarray
    image: np.ndarray
    n: int
    size: int


@dataclass
class Strokes:
    """Many images' stroke polylines, flat: points (M, 2) of every stroke of every image in
    order, lengths (K,) points per stroke, counts (n,) strokes per image."""

    points: np.ndarray
    lengths: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_lists(cls, strokes_list: list[list[np.ndarray]]) -> Strokes:
        flat = [P for strokes in strokes_list for P in strokes]
        return cls(np.concatenate(flat).astype(np.float64),
                   np.array([len(P) for P in flat], dtype=np.int64),
                   np.array([len(strokes) for strokes in strokes_list], dtype=np.int64))

    def to_lists(self) -> list[list[np.ndarray]]:
        pieces = np.split(self.points, np.cumsum(self.lengths)[:-1])
        ends = np.cumsum(self.counts)
        return [pieces[e - c : e] for c, e in zip(self.counts, ends)]


def _index(flat: Strokes):
    """stroke (M,) global stroke of each point, first/last (K,) each stroke's first/last
    point, stroke_image (K,) each stroke's image."""
    last = np.cumsum(flat.lengths) - 1  # (K,)
    first = last - flat.lengths + 1  # (K,)
    stroke = np.repeat(np.arange(len(flat.lengths)), flat.lengths)  # (M,)
    stroke_image = np.repeat(np.arange(len(flat.counts)), flat.counts)  # (K,)
    return stroke, first, last, stroke_image


def _radii(Q: np.ndarray, stroke, first, last, r0, nib, taper) -> np.ndarray:
    """(M,) radius at each point, as the reference gives it (``render.pen_radius``), with r0,
    nib, taper given per point (M,)."""
    v = np.diff(Q, axis=0)  # (M-1, 2)
    u = v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-12)  # (M-1, 2)
    t, _, _, tangent = render.along_strokes(Q, u, stroke, first, last)
    return render.pen_radius(t, tangent, r0, nib, taper)


def layout(strokes: Strokes | list[list[np.ndarray]], size: int, pens, nibs=None,
           tapers=None, box: int | None = None, pressures=None) -> Layout:
    """Fit each image's strokes into ``box`` pixels as ``render.draw`` does and cut them into
    capsules. pens, nibs, tapers: (n,) per image (nib 1 and taper 0 = a round pen); pressures:
    None or (K,) one pen-width factor a stroke, all images' strokes in order (``render.draw``'s
    ``pressure``; an image with one draws a shaped pen).

    Matched to the reference (measured on 90 characters in 4 styles, ``tests/test_fastdraw.py``
    holds the bounds): output pixel p spans [p, p + 1) (``PIXEL_CENTRE``: the centres of mass
    then agree to 0.05 px on average); a round pen is ``round(4 · pen) / 4`` wide, as the
    reference's lines on its 4× canvas; a shaped pen's outline is grown by ``SHAPED_GROW`` =
    0.1 px, as PIL fills every canvas pixel its polygons touch (total ink then agrees to 1 %
    on average)."""
    flat = strokes if isinstance(strokes, Strokes) else Strokes.from_lists(strokes)
    n = len(flat.counts)
    S = REFERENCE_SUPERSAMPLE
    pens = np.broadcast_to(np.asarray(pens, dtype=np.float64), (n,))
    nibs = np.broadcast_to(np.asarray(1.0 if nibs is None else nibs, dtype=np.float64), (n,))
    tapers = np.broadcast_to(np.asarray(0.0 if tapers is None else tapers, np.float64), (n,))
    if box is None:
        box = max(1, round(size * 20 / 28))
    P = flat.points
    stroke, first, last, stroke_image = _index(flat)
    image = stroke_image[stroke]  # (M,) image of each point
    starts = first[np.r_[0, np.cumsum(flat.counts)[:-1]]]  # (n,) each image's first point
    lo = np.minimum.reduceat(P, starts, axis=0)  # (n, 2)
    hi = np.maximum.reduceat(P, starts, axis=0)  # (n, 2)
    extent = (hi - lo).max(axis=1)  # (n,)
    k = np.maximum(box - pens, 1.0) / np.maximum(extent, 1e-6)  # (n,) pixels per unit
    offset = size / 2 - (lo + hi) / 2 * k[:, None]  # (n, 2)
    Q = P * k[image, None] + offset[image]  # (M, 2) output pixels
    round_pen = (nibs == 1.0) & (tapers == 0.0)  # (n,)
    press = None if pressures is None else np.asarray(pressures, dtype=np.float64)  # (K,)
    if press is not None:
        round_pen = round_pen & ~np.bincount(stroke_image, press != 1.0, n).astype(bool)
    width = np.maximum(1, np.rint(pens * S)) / S  # (n,) the reference's quantised round pen
    r = np.where(round_pen[image], width[image] / 2, 0.0)  # (M,)
    shaped = ~round_pen[image]
    if shaped.any():
        r0 = pens[image] / 2 if press is None else pens[image] / 2 * press[stroke]  # (M,)
        rs = _radii(Q, stroke, first, last, r0, nibs[image], tapers[image])
        r = np.where(shaped, rs + SHAPED_GROW, r)
    a = np.arange(len(Q) - 1)  # (M-1,) capsule i → i+1 …
    a = a[stroke[a] == stroke[a + 1]]  # … inside a stroke
    single = first[first == last]  # one-point strokes: a dot
    a, b = np.r_[a, single], np.r_[a + 1, single]
    return _cut(Layout(Q, r, a, b, image[a], n, size))


def _cut(L: Layout, max_piece: float = MAX_PIECE) -> Layout:
    """Cut capsules longer than ``max_piece`` pixels into equal pieces (radii interpolated), so
    that every capsule's window is small."""
    length = np.linalg.norm(L.Q[L.b] - L.Q[L.a], axis=1)  # (C,)
    pieces = np.maximum(1, np.ceil(length / max_piece).astype(np.int64))  # (C,)
    if (pieces == 1).all():
        return L
    long = np.flatnonzero(pieces > 1)  # (L,)
    m = pieces[long]  # (L,) pieces of each long capsule, m − 1 new inner points
    inner0 = np.r_[0, np.cumsum(m - 1)[:-1]]  # (L,) its first inner point among the new ones
    owner = np.repeat(np.arange(len(long)), m - 1)  # (E,) long capsule of each inner point
    j = np.arange(len(owner)) - inner0[owner] + 1  # (E,) 1 … m − 1
    f = (j / m[owner])[:, None]  # (E, 1)
    ca, cb = L.a[long][owner], L.b[long][owner]  # (E,)
    Qn = L.Q[ca] * (1 - f) + L.Q[cb] * f  # (E, 2)
    rn = L.r[ca] * (1 - f[:, 0]) + L.r[cb] * f[:, 0]  # (E,)
    new = len(L.Q) + np.arange(len(owner))  # (E,) indices of the inner points
    # Each long capsule a → b becomes the pieces a → p1 → … → p_{m−1} → b.
    piece_owner = np.repeat(np.arange(len(long)), m)  # (P,)
    q = np.arange(len(piece_owner)) - np.r_[0, np.cumsum(m)[:-1]][piece_owner]  # (P,) 0 … m−1
    inner = inner0[piece_owner] + q  # (P,) index among the new points of the piece's end
    start = np.where(q == 0, L.a[long][piece_owner], new[np.clip(inner - 1, 0, None)])
    end = np.where(q == m[piece_owner] - 1, L.b[long][piece_owner],
                   new[np.minimum(inner, len(new) - 1)])
    keep = pieces == 1
    a = np.r_[L.a[keep], start]
    b = np.r_[L.b[keep], end]
    image = np.r_[L.image[keep], L.image[long][piece_owner]]
    return Layout(np.r_[L.Q, Qn], np.r_[L.r, rn], a, b, image, L.n, L.size)


# ----------------------------------------------------------------------------- rasterisers
def _coverage_loops(Q, r, a, b, image, out, c0):  # pragma: no cover - compiled by Numba
    """The rasteriser as loops (Numba compiles it): out (n, size, size) float64, zeros, gets
    max over capsules of c(d, r) at every pixel centre (p + c0) of each capsule's window."""
    size = out.shape[1]
    for s in range(len(a)):
        i, j, m = a[s], b[s], image[s]
        ax, ay, bx, by = Q[i, 0], Q[i, 1], Q[j, 0], Q[j, 1]
        ra, rb = r[i], r[j]
        reach = max(ra, rb) + 0.5
        x0 = max(0, int(math.floor(min(ax, bx) - reach - c0)))
        x1 = min(size - 1, int(math.ceil(max(ax, bx) + reach - c0)))
        y0 = max(0, int(math.floor(min(ay, by) - reach - c0)))
        y1 = min(size - 1, int(math.ceil(max(ay, by) + reach - c0)))
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        for py in range(y0, y1 + 1):
            cy = py + c0
            for px in range(x0, x1 + 1):
                cx = px + c0
                t = 0.0
                if L2 > 0.0:
                    t = min(max(((cx - ax) * dx + (cy - ay) * dy) / L2, 0.0), 1.0)
                ex, ey = cx - (ax + t * dx), cy - (ay + t * dy)
                d = math.sqrt(ex * ex + ey * ey)
                rr = ra + t * (rb - ra)
                c = min(rr, d + 0.5) - max(-rr, d - 0.5)
                if c > out[m, py, px]:
                    out[m, py, px] = c


@functools.cache
def _compiled():
    import numba

    return numba.njit(cache=True, nogil=True)(_coverage_loops)


def _coverage_numpy(L: Layout, out: np.ndarray, c0: float, chunk: int = 8192) -> None:
    """The same coverage as ``_coverage_loops``, vectorised: each capsule's window is a fixed
    W × W block at its bounding box's corner (W fits the largest), pixels outside the field or
    the capsule's own box get nothing."""
    Q, r, size = L.Q, L.r, L.size
    A, B = Q[L.a], Q[L.b]  # (C, 2)
    ra, rb = r[L.a], r[L.b]  # (C,)
    reach = np.maximum(ra, rb) + 0.5  # (C,)
    lo = np.floor(np.minimum(A, B) - reach[:, None] - c0).astype(np.int64)  # (C, 2)
    hi = np.ceil(np.maximum(A, B) + reach[:, None] - c0).astype(np.int64)  # (C, 2)
    W = int((hi - lo).max()) + 1 if len(lo) else 1
    grid = np.arange(W)
    flat = out.reshape(-1)
    for s in range(0, len(A), chunk):
        e = slice(s, s + chunk)
        px = lo[e, 0, None, None] + grid[None, None, :]  # (c, 1, W)
        py = lo[e, 1, None, None] + grid[None, :, None]  # (c, W, 1)
        cx, cy = px + c0, py + c0
        ax, ay = A[e, 0, None, None], A[e, 1, None, None]
        dx, dy = (B[e, 0] - A[e, 0])[:, None, None], (B[e, 1] - A[e, 1])[:, None, None]
        L2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(L2 > 0.0, ((cx - ax) * dx + (cy - ay) * dy) / L2, 0.0)
        t = np.minimum(np.maximum(t, 0.0), 1.0)  # (c, W, W)
        ex, ey = cx - (ax + t * dx), cy - (ay + t * dy)
        d = np.sqrt(ex * ex + ey * ey)
        rr = ra[e, None, None] + t * (rb[e] - ra[e])[:, None, None]
        c = np.minimum(rr, d + 0.5) - np.maximum(-rr, d - 0.5)  # (c, W, W)
        inside = ((px <= np.minimum(hi[e, 0], size - 1)[:, None, None]) & (px >= 0)
                  & (py <= np.minimum(hi[e, 1], size - 1)[:, None, None]) & (py >= 0)
                  & (c > 0))
        index = (L.image[e, None, None] * size + py) * size + px  # (c, W, W)
        np.maximum.at(flat, index[inside], c[inside])


def rasterise(L: Layout, backend: str | None = None) -> np.ndarray:
    """(n, size, size) float32 coverage in [0, 1] of a ``layout`` (before centring).
    backend: "numba", "numpy", or None (Numba when installed)."""
    backend = backend or ("numba" if HAVE_NUMBA else "numpy")
    out = np.zeros((L.n, L.size, L.size))  # (n, size, size)
    if backend == "numba":
        if not HAVE_NUMBA:
            raise RuntimeError("backend='numba' needs Numba: pip install 'mojinet[fast]'")
        _compiled()(L.Q, L.r, L.a, L.b, L.image, out, PIXEL_CENTRE)
    elif backend == "numpy":
        _coverage_numpy(L, out, PIXEL_CENTRE)
    else:
        raise ValueError(f"unknown backend {backend!r}; choose numba or numpy")
    return out.astype(np.float32)


# ----------------------------------------------------------------------------- centring
def center_by_mass(a: np.ndarray) -> np.ndarray:
    """``render.center_by_mass`` for a batch: a (n, size, size) → each image moved by whole
    pixels so its centre of mass is at (size/2, size/2), ink kept inside (a blank pixel from
    the edge where it fits). Blank images stay as they are."""
    n, size, _ = a.shape
    grid = np.arange(size)
    total = a.reshape(n, -1).sum(axis=1)  # (n,)
    rows, cols = a.sum(axis=2), a.sum(axis=1)  # (n, size) each
    safe = np.where(total > 0, total, 1)
    dy = np.rint(size / 2 - (rows @ grid) / safe).astype(np.int64)  # (n,)
    dx = np.rint(size / 2 - (cols @ grid) / safe).astype(np.int64)  # (n,)
    dy = np.where(total > 0, _inside(dy, a.any(axis=2), size), 0)
    dx = np.where(total > 0, _inside(dx, a.any(axis=1), size), 0)
    r = (grid[None, :] - dy[:, None]) % size  # (n, size) source row of each row
    c = (grid[None, :] - dx[:, None]) % size  # (n, size)
    return a[np.arange(n)[:, None, None], r[:, :, None], c[:, None, :]]


def _inside(shift: np.ndarray, inked: np.ndarray, size: int) -> np.ndarray:
    """``render``'s clamp of a shift, batched: inked (n, size) bool rows (or columns)."""
    any_ink = inked.any(axis=1)
    top = np.where(any_ink, inked.argmax(axis=1), 0)  # (n,) first inked
    bottom = np.where(any_ink, size - 1 - inked[:, ::-1].argmax(axis=1), size - 1)  # (n,)
    margin = (bottom - top + 1 <= size - 2).astype(np.int64)
    return np.minimum(np.maximum(shift, margin - top), size - 1 - margin - bottom)


def draw_batch(strokes: Strokes | list[list[np.ndarray]], size: int, pens, nibs=None,
               tapers=None, box: int | None = None, backend: str | None = None,
               pressures=None) -> np.ndarray:
    """Many characters at once: ``render.draw`` of each (strokes, pen, nib, taper, pressure:
    ``layout``'s (K,) ``pressures``), by the
    analytic rasteriser → (n, size, size) float32 in [0, 1], ink = 1, centred by mass.
    strokes: one list of (n_i, 2) polylines per image, or ``Strokes``."""
    if len(strokes if not isinstance(strokes, Strokes) else strokes.counts) == 0:
        return np.zeros((0, size, size), np.float32)
    L = layout(strokes, size, pens, nibs, tapers, box, pressures)
    return center_by_mass(rasterise(L, backend))


def draw(strokes: list[np.ndarray], size: int, pen: float, box: int | None = None,
         nib: float = 1.0, taper: float = 0.0, backend: str | None = None,
         pressure=None) -> np.ndarray:
    """One character, with ``render.draw``'s arguments (no supersample: the coverage is
    analytic)."""
    return draw_batch([strokes], size, [pen], [nib], [taper], box, backend, pressure)[0]
