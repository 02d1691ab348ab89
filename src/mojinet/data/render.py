"""Strokes → bitmaps: the synthetic writer's pen, paper and scanner, for any strokes.

The synthetic writer (``handwriting``) and real strokes (``strokes.Sample``) are drawn by this
code alike, so that a model sees real and synthetic handwriting through the same pen and the
same normalisation:

* ``draw`` — polylines → an MNIST-style image: the ink's bounding box (pen included) fitted into
  ``box`` pixels (20 of 28, kept in ratio for other sizes), drawn on a canvas ``supersample``
  times larger — a round pen as wide lines with round dots at the ends and sharp turns, a shaped
  pen (broad nib, taper) as one polygon per piece between those dots — averaged down
  (anti-aliasing gives grey levels) and centred by its centre of mass.
* ``Scan`` and ``scan`` — what a photo or a scan of paper adds: pencil (lighter, grainy ink),
  grey and textured paper, blur, a JPEG round trip; the page then goes through
  ``images.to_input``, the normalisation ``mojinet predict`` gives a user's picture (its
  thresholding, crop and fit), and is centred as ``draw`` centres. Off unless a style asks for
  it.

Coordinates are whatever unit the strokes use (KanjiVG's 109-unit box for the writer): ``draw``
scales the ink's extent to the box. Non-goals: pressure-dependent width, ink bleeding.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def draw(strokes: list[np.ndarray], size: int, pen: float, box: int | None = None,
         supersample: int = 4, nib: float = 1.0, taper: float = 0.0,
         pressure: np.ndarray | None = None) -> np.ndarray:
    """Polylines → (size, size) float32 image in [0, 1], ink = 1.

    ``pen`` is the pen width in output pixels (of vertical strokes, with a broad ``nib`` < 1:
    horizontal ones are ``nib · pen`` wide; ``taper`` narrows each stroke's last 40 % down to
    (1 − taper) · pen; ``pressure``, one factor a stroke, widens or narrows each stroke's pen
    by its factor). Fits the inked bounding box into ``box`` pixels (default
    round(size · 20/28)), then centres by centre of mass like ``images.fit_and_center``.
    """
    if box is None:
        box = max(1, round(size * 20 / 28))
    allp = np.concatenate(strokes)  # (N, 2)
    lo, hi = allp.min(axis=0), allp.max(axis=0)  # (2,)
    extent = float(max(hi - lo))  # longer side of the centre-line box, units
    # Scale so that centre-line extent + pen width (in pixels) = box: extent·k + pen = box.
    k = max(box - pen, 1.0) / max(extent, 1e-6)  # pixels per unit
    S = supersample
    canvas = size * S
    offset = (canvas / 2) - (lo + hi) / 2 * k * S  # (2,) centre the box on the canvas
    Q = allp * (k * S) + offset  # (N, 2) canvas pixels
    # Sharp turns (> 25°) inside a stroke get a round dot, as do both ends of every stroke:
    # PIL's own round joins (joint="curve") cost a Python call per vertex.
    v = np.diff(Q, axis=0)  # (N-1, 2)
    norm = np.linalg.norm(v, axis=1) + 1e-12  # (N-1,)
    cos = (v[:-1] * v[1:]).sum(1) / (norm[:-1] * norm[1:])  # (N-2,) at points 1 … N-2
    last = np.cumsum([len(P) for P in strokes]) - 1  # (k,)
    first = np.r_[0, last[:-1] + 1]  # (k,)
    dot = np.zeros(len(Q), dtype=bool)  # (N,)
    dot[1:-1] = cos < 0.9
    dot[first] = dot[last] = True
    img = Image.new("L", (canvas, canvas), 0)
    d = ImageDraw.Draw(img)
    width = max(1, int(round(pen * S)))
    r = width / 2
    if pressure is not None and np.all(np.asarray(pressure) == 1.0):
        pressure = None  # the same pen for every stroke
    if nib == 1.0 and taper == 0.0 and pressure is None:  # a round pen of one width
        for a, b in zip(first, last):
            if b > a:
                d.line(Q[a : b + 1].ravel().tolist(), fill=255, width=width)
        for x, y in Q[dot].tolist():
            d.ellipse((x - r, y - r, x + r, y + r), fill=255)
    else:
        _draw_shaped(d, Q, v / norm[:, None], first, last, dot, pen * S / 2, nib, taper,
                     pressure)
    a = np.asarray(img, dtype=np.float32).reshape(size, S, size, S).mean(axis=(1, 3))  # (s, s)
    a *= np.float32(1 / 255)
    return center_by_mass(a)


def center_by_mass(a: np.ndarray) -> np.ndarray:
    """Move the ink's centre of mass to pixel (size/2, size/2), by whole pixels, keeping the ink
    inside (a blank pixel from the edge where it fits): the place ``images.fit_and_center``
    (and so ``predict``, the page and MNIST) puts it. a: (size, size) float image, ink > 0."""
    size = len(a)
    total = a.sum()
    if total <= 0:
        return a
    rows = np.flatnonzero(a.any(axis=1))
    cols = np.flatnonzero(a.any(axis=0))
    cy = (a.sum(axis=1) @ np.arange(size)) / total
    cx = (a.sum(axis=0) @ np.arange(size)) / total
    dy = int(round(size / 2 - cy))
    dx = int(round(size / 2 - cx))
    return np.roll(a, (_inside(dy, rows, size), _inside(dx, cols, size)), axis=(0, 1))


def _inside(shift: int, inked: np.ndarray, size: int) -> int:
    """The shift nearest to ``shift`` that keeps the inked rows (or columns) inside the field,
    one blank pixel from its edge when they leave room for it."""
    margin = 1 if inked[-1] - inked[0] + 1 <= size - 2 else 0
    return min(max(shift, margin - inked[0]), size - 1 - margin - inked[-1])


def along_strokes(Q: np.ndarray, u: np.ndarray, stroke: np.ndarray, first: np.ndarray,
                  last: np.ndarray) -> tuple[np.ndarray, ...]:
    """Where each point is along its stroke and which way the stroke goes there. Q: (N, 2)
    points, u: (N−1, 2) unit segment directions, stroke: (N,) stroke index of each point,
    first/last: (k,) each stroke's first and last point. Returns t (N,), 0 … 1 along the stroke's
    length; u_in and u_out (N, 2), the directions of the segments ending and starting at each
    point (a stroke's end takes its one segment's); tangent (N, 2), their unit bisector."""
    seg = np.r_[0.0, np.linalg.norm(np.diff(Q, axis=0), axis=1)]  # (N,) length up to point i
    seg[first] = 0.0
    arc = np.cumsum(seg)  # (N,)
    arc -= arc[first][stroke]
    t = arc / np.maximum(arc[last][stroke], 1e-9)  # (N,) 0 … 1 along each stroke
    u_in = np.r_[u[:1], u]  # (N, 2) direction of the segment ending at each point
    u_out = np.r_[u, u[-1:]]  # (N, 2) … and of the one starting there
    u_in[first] = u_out[first]
    u_out[last] = u_in[last]
    tangent = u_in + u_out  # (N, 2)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-12
    return t, u_in, u_out, tangent


def pen_radius(t: np.ndarray, tangent: np.ndarray, r0, nib, taper) -> np.ndarray:
    """(N,) the pen's half-width at each point: r = r0 · (nib + (1 − nib)·|tangent_y|) ·
    (1 − taper · ramp²), ramp 0 until 60 % of the stroke, then rising to 1 at its end (a broad
    nib draws vertical strokes wider; a taper thins each stroke's last 40 %). r0, nib, taper:
    numbers or (N,) arrays."""
    ramp = np.clip((t - 0.6) / 0.4, 0.0, 1.0)  # (N,)
    return r0 * (nib + (1.0 - nib) * np.abs(tangent[:, 1])) * (1.0 - taper * ramp**2)


def _draw_shaped(d: ImageDraw.ImageDraw, Q: np.ndarray, u: np.ndarray, first: np.ndarray,
                 last: np.ndarray, dot: np.ndarray, r0: float, nib: float, taper: float,
                 pressure: np.ndarray | None = None) -> None:
    """Strokes whose half-width varies point by point: r = r0 · (nib + (1 − nib)·|u_y|) · taper
    (· the stroke's ``pressure`` factor, if given).

    Q: (N, 2) canvas points, u: (N−1, 2) unit segment directions. Each stroke is cut at its
    ``dot`` points (ends and sharp turns) into pieces; a piece is one polygon (its centre line
    offset by ± r along the normals) and every dot a disc of the local radius, so the Python
    calls stay one per piece and dot, as for the round pen."""
    n = len(Q)
    stroke = np.zeros(n, dtype=np.int64)  # (N,) stroke index of each point
    stroke[first[1:]] = 1
    stroke = np.cumsum(stroke)
    t, u_in, u_out, tangent = along_strokes(Q, u, stroke, first, last)
    if pressure is not None:
        r0 = r0 * np.asarray(pressure, dtype=np.float64)[stroke]  # (N,)
    r = pen_radius(t, tangent, r0, nib, taper)  # (N,)
    normal_in = np.stack([-u_in[:, 1], u_in[:, 0]], -1)  # (N, 2)
    normal_out = np.stack([-u_out[:, 1], u_out[:, 0]], -1)  # (N, 2)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], -1)  # (N, 2)
    cuts = np.flatnonzero(dot)  # includes every stroke's first and last point
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b == a or stroke[a] != stroke[b]:
            continue
        nrm = normal[a : b + 1].copy()  # (m, 2)
        nrm[0], nrm[-1] = normal_out[a], normal_in[b]  # a piece's ends follow its own segment
        off = nrm * r[a : b + 1, None]  # (m, 2)
        outline = np.concatenate([Q[a : b + 1] + off, (Q[a : b + 1] - off)[::-1]])  # (2m, 2)
        d.polygon(outline.ravel().tolist(), fill=255)
    for (x, y), rr in zip(Q[dot].tolist(), r[dot].tolist()):
        d.ellipse((x - rr, y - rr, x + rr, y + rr), fill=255)


# ----------------------------------------------------------------------------- paper and scanner
@dataclass(frozen=True)
class Scan:
    """What a photo or scan of a character on paper adds. ``(lo, hi)`` pairs are uniform
    ranges, drawn once per image.

    pencil: the ink's darkness (1 = black ink; a soft pencil on paper is about 0.4–0.8)
    grain: the share of the ink a pencil's grain may drop at each page pixel (0 = solid ink)
    paper: how grey the paper is (0 = white, 0.3 = recycled or in poor light)
    texture: standard deviation of the paper's brightness, as smooth blotches and fine noise
    blur: Gaussian blur σ in output pixels (focus, motion, the scanner's optics)
    jpeg: JPEG quality range, or None for no JPEG round trip
    page: page pixels per output pixel: the page is drawn this much larger, so that the grain,
        blur and JPEG blocks are as fine as on a real picture, and shrunk by ``to_input``
    """

    pencil: tuple[float, float] = (1.0, 1.0)
    grain: float = 0.0
    paper: tuple[float, float] = (0.0, 0.0)
    texture: float = 0.0
    blur: tuple[float, float] = (0.0, 0.0)
    jpeg: tuple[int, int] | None = None
    page: int = 3

    def __post_init__(self):
        lo_ok = 0.3 <= self.pencil[0] <= self.pencil[1] <= 1.0
        if not (lo_ok and 0 <= self.grain < 1 and 0 <= self.paper[0] <= self.paper[1] <= 0.5
                and self.texture >= 0 and 0 <= self.blur[0] <= self.blur[1]
                and 1 <= self.page <= 8):
            raise ValueError(f"Scan parameters out of range: {self} (pencil in [0.3, 1], grain "
                             f"in [0, 1), paper in [0, 0.5], blur >= 0, page 1-8)")
        if self.jpeg is not None and not 1 <= self.jpeg[0] <= self.jpeg[1] <= 95:
            raise ValueError(f"JPEG quality must be within 1-95, got {self.jpeg}")


def scan(draw_page, size: int, box: int, options: Scan, rng: np.random.Generator) -> np.ndarray:
    """A character as a photo of paper would give it to ``mojinet predict``.

    ``draw_page(side, box)`` draws the ink (1 = ink) on a (side, side) page with the character
    in ``box`` pixels; the page is ``options.page`` times the output size. Returns the page after
    pencil, paper, blur and JPEG, normalised by ``images.to_input`` to (size, size) float32."""
    from .images import ImageError, to_input

    k = options.page
    ink = draw_page(size * k, box * k)  # (side, side) in [0, 1]
    darkness = rng.uniform(*options.pencil)
    grey_paper = rng.uniform(*options.paper)
    sigma = rng.uniform(*options.blur) * k
    quality = int(rng.integers(options.jpeg[0], options.jpeg[1] + 1)) if options.jpeg else None
    ink = ink * darkness * (1.0 - options.grain * rng.uniform(0.0, 1.0, ink.shape))
    paper = (1.0 - grey_paper) + _texture(ink.shape, options.texture, rng)  # (side, side)
    page = Image.fromarray(np.rint(np.clip(paper * (1.0 - ink), 0, 1) * 255).astype(np.uint8))
    if sigma > 0:
        page = page.filter(ImageFilter.GaussianBlur(sigma))
    if quality is not None:
        buf = io.BytesIO()
        page.save(buf, "JPEG", quality=quality)
        page = Image.open(io.BytesIO(buf.getvalue()))
    try:
        return to_input(page, size=size, box=box)  # centred where draw centres
    except ImageError:  # nothing stands out any more (a very faint pencil): an empty field
        return np.zeros((size, size), dtype=np.float32)


def _texture(shape: tuple[int, int], sd: float, rng: np.random.Generator) -> np.ndarray:
    """Paper brightness variation: smooth blotches (a coarse random field, enlarged) plus fine
    noise, together of standard deviation about ``sd``."""
    if sd <= 0:
        return np.zeros(shape)
    coarse = rng.normal(0.0, sd * 0.8, (6, 6)).astype(np.float32)
    blotches = np.asarray(Image.fromarray(coarse).resize(
        shape[::-1], Image.Resampling.BICUBIC), dtype=np.float64)  # (h, w)
    return blotches + rng.normal(0.0, sd * 0.6, shape)
