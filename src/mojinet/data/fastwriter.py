"""The synthetic writer, batch-first: ``handwriting.render`` for many characters at once.

Two stages, kept apart so that new perturbations plug in without touching the rasteriser:

1. geometry — each image's varied stroke polylines. ``jitter_batch`` is
   ``handwriting.jitter_strokes`` (steps 0–2) for many glyphs at once: each image's random
   numbers are taken from its own generator in the reference's order (a few calls per image,
   consecutive draws of one distribution merged into one call, which gives the same numbers),
   then the arithmetic runs once over all images' points. Any other geometry — a
   ``geometry=`` callable ``(glyph, style, rng) → strokes``, or a ``Style`` with fields this
   module does not know (a new perturbation) — is called image by image.
2. pen and pixels — ``handwriting.pick_pen`` per image (the same draws), then
   ``fastdraw.draw_batch`` (the analytic rasteriser) for ink straight into the field, or, for
   styles with a ``scan`` (pencil, paper, blur, JPEG), ``render.scan`` per image with the fast
   rasteriser drawing its page: the paper and scanner are the reference's own code.

``tests/test_fastdraw.py`` holds stage 1 equal to the reference (to 1e-9 units) and the
images within ``fastdraw``'s stated bounds of the reference's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import fastdraw
from .handwriting import (
    Style,
    get_style,
    hook_corners,
    hook_factors,
    jitter_strokes,
    pick_pen,
    pick_pressure,
)
from .kanjivg import BOX, Glyph
from .render import scan

# The Style fields stage 1 implements; a Style with others is drawn by the reference geometry.
KNOWN_FIELDS = frozenset({
    "stroke_shift_sd", "stroke_angle_sd", "stroke_scale_sd", "curvature_sd", "rotation",
    "shear", "aspect", "elastic", "elastic_waves", "elastic_wavelength", "pen_width",
    "component_scale_sd", "component_shift_sd", "component_shear_sd", "component_angle_sd",
    "component_decay", "nib", "taper", "square", "crowding", "scan", "join", "join_gap",
    "aspect_sigma", "hook_drop", "hook_scale", "hook_scale_sd", "pressure_sd",
})


def batch_geometry_applies(style: Style) -> bool:
    """Whether ``jitter_batch`` reproduces ``handwriting.jitter_strokes`` for ``style``."""
    return (type(style) is Style
            and {f.name for f in dataclasses.fields(style)} == KNOWN_FIELDS)


def _rotation(deg: np.ndarray) -> np.ndarray:
    """(k,) degrees → (k, 2, 2) rotations of row vectors, as ``handwriting`` builds them."""
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], -2)  # (k, 2, 2)


def _times(P: np.ndarray, M: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Row i of P times matrix M[index[i]] (``einsum("nd,nde->ne", P, M[index])``, written out:
    gathering four columns is cheaper than gathering (N, 2, 2) matrices). P: (N, 2)."""
    x, y = P[:, 0], P[:, 1]
    return np.stack([x * M[:, 0, 0][index] + y * M[:, 1, 0][index],
                     x * M[:, 0, 1][index] + y * M[:, 1, 1][index]], -1)  # (N, 2)


def _components_on(style: Style) -> bool:
    return any((style.component_scale_sd, style.component_shift_sd, style.component_shear_sd,
                style.component_angle_sd))


def _draws(glyph: Glyph, style: Style, rng: np.random.Generator) -> dict:
    """One image's random numbers for steps 0–2, in ``jitter_strokes``'s order."""
    k = len(glyph.strokes)
    z = rng.standard_normal(5 * k)  # shift (k, 2), angle, scale, bow
    u = rng.random(3)  # rotation, shear, aspect
    m = style.elastic_waves
    elastic = style.elastic > 0 and m > 0
    out = dict(shift=style.stroke_shift_sd * z[: 2 * k].reshape(k, 2),
               angle=style.stroke_angle_sd * z[2 * k : 3 * k],
               scale=1.0 + style.stroke_scale_sd * z[3 * k : 4 * k],
               bow=style.curvature_sd * z[4 * k :], u=u, elastic=elastic)
    sizes = []  # groups per depth with any
    if _components_on(style):
        sizes = [int(member.max()) + 1 for member in glyph.groups]
    n_normal = (2 * m if elastic else 0) + sum(6 * n for n in sizes if n > 0)
    if elastic:
        v = rng.random(6 * m).reshape(3, 2, m)  # wavelength, direction, phase
        out["wave"] = v
    zn = rng.standard_normal(n_normal) if n_normal else np.empty(0)
    if elastic:
        out["amp"] = (style.elastic / np.sqrt(m)) * zn[: 2 * m].reshape(2, m)
        zn = zn[2 * m :]
    comps = []  # per depth: None or the raw normals (scale (n, 2), shear, angle, shift (n, 2))
    for n in sizes:
        if n <= 0:
            comps.append(None)
            continue
        w, zn = zn[: 6 * n], zn[6 * n :]
        comps.append((w[: 2 * n].reshape(n, 2), w[2 * n : 3 * n], w[3 * n : 4 * n],
                      w[4 * n :].reshape(n, 2)))
    out["components"] = comps
    if style.square != (0.0, 0.0):
        out["lam"] = style.square[0] + (style.square[1] - style.square[0]) * rng.random()
    if style.aspect_sigma > 0:
        out["eps"] = rng.normal(0.0, style.aspect_sigma)
    if style.hooks_on:
        out["hooks"] = hook_factors(style, k, rng)
    if style.join > 0:
        out["join"] = rng.random(k - 1)
    return out


def _vary_components(P, first, last, glyphs, draws, style: Style) -> np.ndarray:
    """``handwriting.vary_components`` over all images' points at once, depth by depth.
    P: (M, 2); first, last: (K,) each global stroke's first and last point."""
    depth = max(len(dr["components"]) for dr in draws)
    k = np.array([len(g.strokes) for g in glyphs])  # (n,)
    lengths = last - first + 1  # (K,)
    for d in range(depth):
        raw = [dr["components"][d] if d < len(dr["components"]) else None for dr in draws]
        n_groups = np.array([0 if z is None else len(z[1]) for z in raw])  # (n,)
        if not n_groups.any():
            continue
        offset = np.r_[0, np.cumsum(n_groups)[:-1]]  # (n,) first global group of each image
        own = np.concatenate([g.groups[d] if z is not None else np.full(len(g.strokes), -1)
                              for g, z in zip(glyphs, raw)])  # (K,)
        member = np.where(own >= 0, own + np.repeat(offset, k), -1)  # (K,) global group
        G = int(n_groups.sum())
        f = style.component_decay**d
        z_scale, z_shear, z_angle, z_shift = (np.concatenate(z) for z in
                                              zip(*(z for z in raw if z is not None)))
        scale = np.exp((style.component_scale_sd * f) * z_scale)  # (G, 2)
        S = np.zeros((G, 2, 2))
        S[:, 0, 0], S[:, 1, 0], S[:, 1, 1] = 1.0, (style.component_shear_sd * f) * z_shear, 1.0
        M = S @ _rotation((style.component_angle_sd * f) * z_angle) * scale[:, None, :]
        # The groups' bounding boxes: each stroke's, then over the strokes of a group.
        grouped = member >= 0  # (K,)
        lo = np.full((G, 2), np.inf)
        hi = np.full((G, 2), -np.inf)
        np.minimum.at(lo, member[grouped], np.minimum.reduceat(P, first, axis=0)[grouped])
        np.maximum.at(hi, member[grouped], np.maximum.reduceat(P, first, axis=0)[grouped])
        centre = (lo + hi) / 2  # (G, 2)
        shift = (style.component_shift_sd * f) * z_shift * (hi - lo).max(axis=1, keepdims=True)
        g = np.repeat(member, lengths)  # (M,) group of each point
        inside = g >= 0
        gi, Pi = g[inside], P[inside]
        P = P.copy()
        P[inside] = _times(Pi - centre[gi], M, gi) + centre[gi] + shift[gi]  # (m, 2)
    return P


def _character_maps(draws, style: Style) -> np.ndarray:
    """(n, 2, 2) each image's affine map A (rotation, shear, aspect) of row vectors."""
    A = []
    for dr in draws:
        u = dr["u"]
        lo, hi = style.rotation
        theta = np.deg2rad(lo + (hi - lo) * u[0])
        c, si = np.cos(theta), np.sin(theta)
        sh = style.shear[0] + (style.shear[1] - style.shear[0]) * u[1]
        aspect = np.sqrt(style.aspect[0] + (style.aspect[1] - style.aspect[0]) * u[2])
        A.append(np.array([[c, si], [-si, c]]) @ np.array([[1.0, 0.0], [sh, 1.0]])
                 @ np.diag([aspect, 1.0 / aspect]))
    return np.stack(A)


def _square(Q, image, starts, draws) -> np.ndarray:
    """Step 1's stretch towards a square box, per image (``jitter_strokes``'s formula)."""
    lo = np.minimum.reduceat(Q, starts, axis=0)  # (n, 2)
    hi = np.maximum.reduceat(Q, starts, axis=0)  # (n, 2)
    lam = np.array([dr["lam"] for dr in draws])  # (n,)
    size = np.maximum(hi - lo, 1.0)  # (n, 2)
    stretch = (size[:, 0] / size[:, 1]) ** (-lam / 2)  # (n,)
    factor = np.stack([stretch, 1.0 / stretch], -1)  # (n, 2)
    mid = (lo + hi) / 2  # (n, 2)
    return (Q - mid[image]) * factor[image] + mid[image]


def _stretch_aspect(Q, image, starts, draws) -> np.ndarray:
    """The aspect jitter after step 1, per image (``handwriting.stretch_aspect``)."""
    lo = np.minimum.reduceat(Q, starts, axis=0)  # (n, 2)
    hi = np.maximum.reduceat(Q, starts, axis=0)  # (n, 2)
    f = np.exp(np.array([dr["eps"] for dr in draws]) / 2)  # (n,)
    factor = np.stack([f, 1.0 / f], -1)  # (n, 2)
    mid = (lo + hi) / 2  # (n, 2)
    return (Q - mid[image]) * factor[image] + mid[image]


def _elastic(Q, image, draws, style: Style) -> np.ndarray:
    """Step 2's smooth displacement d(p) = Σ_j a_j sin(w_j · p + φ_j), per image."""
    v = np.stack([dr["wave"] for dr in draws])  # (n, 3, 2, m)
    wavelength = style.elastic_wavelength[0] + (
        style.elastic_wavelength[1] - style.elastic_wavelength[0]) * v[:, 0]  # (n, 2, m)
    direction = 2 * np.pi * v[:, 1]
    phase = 2 * np.pi * v[:, 2]  # (n, 2, m)
    amp = np.stack([dr["amp"] for dr in draws])  # (n, 2, m)
    w = (2 * np.pi / wavelength)[..., None] * np.stack(
        [np.cos(direction), np.sin(direction)], -1)  # (n, 2, m, 2)
    x, y = Q[:, 0, None], Q[:, 1, None]  # (M, 1)
    shifts = [(np.sin(x * w[:, a, :, 0][image] + y * w[:, a, :, 1][image] + phase[:, a][image])
               * amp[:, a][image]).sum(-1) for a in (0, 1)]  # 2 × (M,)
    return Q + np.stack(shifts, -1)  # (M, 2)


def jitter_batch(glyphs: list[Glyph], style: Style,
                 rngs: list[np.random.Generator]) -> fastdraw.Strokes:
    """``handwriting.jitter_strokes(glyph, style, rng)`` for every (glyph, rng) pair, the
    arithmetic done once for all (``.to_lists()`` gives the reference's lists); each rng is
    left where the reference leaves it."""
    draws = [_draws(g, style, r) for g, r in zip(glyphs, rngs)]
    k = np.array([len(g.strokes) for g in glyphs])  # (n,)
    stroke0 = np.r_[0, np.cumsum(k)[:-1]]  # (n,) first global stroke of each image
    npts = np.array([len(g.points) for g in glyphs])
    starts = np.r_[0, np.cumsum(npts)[:-1]]  # (n,) first point of each image
    image = np.repeat(np.arange(len(glyphs)), npts)  # (M,)
    s = np.concatenate([g.stroke for g in glyphs]) + stroke0[image]  # (M,) global stroke
    P = np.concatenate([g.points for g in glyphs])  # (M, 2)
    first = np.concatenate([g.first for g in glyphs]) + starts.repeat(k)  # (K,)
    last = np.concatenate([g.last for g in glyphs]) + starts.repeat(k)  # (K,)
    if _components_on(style):
        P = _vary_components(P, first, last, glyphs, draws, style)
    K = int(k.sum())
    shift = np.concatenate([dr["shift"] for dr in draws])  # (K, 2)
    R = _rotation(np.concatenate([dr["angle"] for dr in draws]))  # (K, 2, 2)
    scale = np.concatenate([dr["scale"] for dr in draws])  # (K,)
    bow = np.concatenate([dr["bow"] for dr in draws])  # (K,)
    count = np.bincount(s, minlength=K)[:, None]
    mid = np.stack([np.bincount(s, P[:, 0], K), np.bincount(s, P[:, 1], K)], -1) / count
    Q = _times(P - mid[s], R, s) * scale[s, None] + mid[s] + shift[s]  # (M, 2)
    chord = Q[last] - Q[first]  # (K, 2)
    normal = np.stack([-chord[:, 1], chord[:, 0]], -1)
    t = np.concatenate([g.t for g in glyphs])  # (M,)
    Q = Q + (bow[s] * np.sin(np.pi * t))[:, None] * normal[s]
    if style.square != (0.0, 0.0):
        Q = _square(Q, image, starts, draws)
    if style.aspect_sigma > 0:
        Q = _stretch_aspect(Q, image, starts, draws)
    centre = BOX / 2
    Q = _times(Q - centre, _character_maps(draws, style), image) + centre  # (M, 2)
    if draws[0]["elastic"]:
        Q = _elastic(Q, image, draws, style)
    if style.hooks_on:
        Q = _hooks(Q, glyphs, first, last, draws)
    flat = fastdraw.Strokes(Q, last - first + 1, k)
    return _join(flat, first, last, stroke0, draws, style) if style.join > 0 else flat


def _hooks(Q, glyphs, first, last, draws) -> np.ndarray:
    """``handwriting.vary_hooks`` for all images: the points after each hook's corner (global
    index c) move to c + f·(p − c). Q: (M, 2); first, last: (K,) global stroke ends."""
    corners = {}  # hook_corners once per distinct glyph of the batch
    corner = np.concatenate([corners.setdefault(id(g), hook_corners(g)) for g in glyphs])  # (K,)
    f = np.concatenate([dr["hooks"] for dr in draws])  # (K,)
    hooked = np.flatnonzero(corner >= 0)  # strokes with a hook
    if not len(hooked):
        return Q
    c = first[hooked] + corner[hooked]  # (H,) global index of each corner
    n = last[hooked] - c  # (H,) points after it
    point = np.repeat(c, n) + _ramp(n) + 1  # (Σn,) the hooks' points
    owner = np.repeat(np.arange(len(hooked)), n)  # (Σn,)
    Q = Q.copy()
    Q[point] = Q[c][owner] + f[hooked][owner, None] * (Q[point] - Q[c][owner])
    return Q


def _ramp(n: np.ndarray) -> np.ndarray:
    """0, 1, …, n_0 − 1, 0, 1, …, n_1 − 1, … for counts n (H,)."""
    return np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)


def _join(flat: fastdraw.Strokes, first, last, stroke0, draws, style: Style) -> fastdraw.Strokes:
    """``handwriting.join_strokes`` for all images: a stroke joined to the one before it (in
    the same image) is the same path, so only the lengths and counts change, not the points."""
    opens = np.ones(len(first), dtype=bool)  # (K,) stroke starts a new pen-down path
    u = np.concatenate([dr["join"] for dr in draws])  # (K − n,) one per stroke after the first
    later = np.setdiff1d(np.arange(len(first)), stroke0)  # (K − n,) those strokes, in order
    gap = np.hypot(*(flat.points[first[later]] - flat.points[last[later - 1]]).T)  # (K − n,)
    opens[later] = ~((u < style.join) & (gap < style.join_gap))
    path = np.cumsum(opens) - 1  # (K,) each stroke's path
    lengths = np.bincount(path, flat.lengths)  # (P,)
    counts = np.add.reduceat(opens, stroke0) if len(stroke0) else flat.counts  # (n,)
    return fastdraw.Strokes(flat.points, lengths.astype(np.int64), counts.astype(np.int64))


def geometry_batch(glyphs: list[Glyph], style: Style, rngs: list[np.random.Generator],
                   jitter: bool = True, geometry=None) -> fastdraw.Strokes:
    """Stage 1 for a batch: the strokes to draw. ``geometry(glyph, style, rng)`` replaces the
    writer's perturbations (called per image); by default ``jitter_batch`` where it reproduces
    ``handwriting.jitter_strokes``, else that function image by image."""
    if not jitter:
        return fastdraw.Strokes.from_lists([list(g.strokes) for g in glyphs])
    if geometry is None and batch_geometry_applies(style):
        return jitter_batch(glyphs, style, rngs)
    fn = geometry or jitter_strokes
    return fastdraw.Strokes.from_lists([fn(g, style, r) for g, r in zip(glyphs, rngs)])


def render_batch(glyphs: list[Glyph], size: int, rngs: list[np.random.Generator],
                 style: str | Style | None = None, jitter: bool = True, geometry=None,
                 backend: str | None = None) -> np.ndarray:
    """``handwriting.render(glyph, size, rng, style, jitter=jitter)`` for every (glyph, rng)
    pair → (n, size, size) float32 in [0, 1], drawn by the fast rasteriser."""
    style = get_style(style)
    if not glyphs:
        return np.zeros((0, size, size), dtype=np.float32)
    strokes = geometry_batch(glyphs, style, rngs, jitter, geometry)
    pens, pressures = [], []
    for g, r, paths in zip(glyphs, rngs, strokes.counts):
        pens.append(pick_pen(style, len(g.strokes), size, r))
        pressures.append(pick_pressure(style, len(g.strokes), int(paths), r))
    pen, nib, taper = (np.array(v, dtype=np.float64) for v in zip(*pens))
    pressure = None if style.pressure_sd == 0.0 else np.concatenate(pressures)  # (K,)
    if style.scan is None:
        return fastdraw.draw_batch(strokes, size, pen, nib, taper, backend=backend,
                                   pressures=pressure)
    # The pages (``options.page`` times larger) drawn as one batch; ``scan`` asks for its page
    # before it draws any random number, so handing it the drawn page changes nothing.
    box = max(1, round(size * 20 / 28))
    side = size * style.scan.page
    pages = fastdraw.draw_batch(strokes, side, pen * side / size, nib, taper, box * style.scan.page,
                                backend, pressure)  # (n, side, side)
    out = np.empty((len(glyphs), size, size), dtype=np.float32)
    for i, r in enumerate(rngs):
        def page(side_: int, box_: int, i=i) -> np.ndarray:
            return pages[i]

        out[i] = scan(page, size, box, style.scan, r)
    return out
