"""Synthetic handwriting: KanjiVG strokes → varied, MNIST-style grey images.

A writer never draws a character the same way twice. We imitate that on the stroke polylines
(in KanjiVG's 109-unit box) before any pixel exists, so the cost is a few small array operations
per image:

0. per component (KanjiVG's ``<g kvg:element>`` groups, outermost first): an own random scale
   along x and y, shear, rotation and shift, so that the proportions between the parts of a
   character (田 and 丁 in 町, 目 and 儿 in 見) vary as they do between writers and fonts;
1. per stroke: shift, rotation and scaling about the stroke's centre, and a bow (curvature) —
   each point moves along the chord's normal by ``c · sin(π t)``, t = 0 … 1 along the stroke;
   then, optionally, a stretch towards a square box (print fills the em square);
2. the whole character: a random affine map (rotation, shear, aspect ratio) and a smooth
   "elastic" displacement field (a sum of a few random low-frequency sine waves);
3. a random pen: width (capped for characters with many strokes), a broad nib that draws
   horizontal strokes thinner than vertical ones, and a taper towards each stroke's end;
4. drawing as in MNIST (``render.draw``, the same code that draws real strokes): the ink's
   bounding box (pen included) is fitted into a ``box``-pixel square (20 px for 28 × 28, kept in
   ratio for other sizes), drawn with round joins and caps on a canvas ``supersample`` times
   larger, averaged down (anti-aliasing gives grey levels), and centred by its centre of mass —
   the same normalisation ``images.to_input`` applies to a user's picture; styles with a
   ``scan`` (``pencil``, ``scan``) put the ink on paper first (``render.scan``).

Real strokes (``strokes.Sample.to_glyph``) go through the same ``render`` with ``jitter=False``
(drawn as written, with the style's pen) or with the writer's distortions on top (components
only where the source knows them: KanjiVG).

Everything random comes from the ``np.random.Generator`` passed in, so a seed fixes the images.
The draws of steps 0, 1's square stretch and 3's nib and taper come after all the others and are
skipped when a style turns them off, so the style "plain" draws generator version 1's images.
Joined strokes (``join``): consecutive strokes made one pen-down path, drawn after everything
else (``join_strokes``). Hooks (``hook_drop``, ``hook_scale_sd``): the short flick that ends a
stroke such as 亅 (hane), found on KanjiVG's glyph by ``hook_corners``, left out or drawn longer or
shorter (``vary_hooks``), after everything else but the joins. Pen pressure (``pressure_sd``):
each stroke's pen a little wider or narrower (``pick_pressure``, step 3½). Non-goal: tremor (real
pens tremble by about a fiftieth of a pixel at 32 × 32; docs/kanji.md, "Stroke ends, tremor and
pen pressure").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from importlib import resources

import numpy as np

from .kanjivg import BOX, Glyph
from .render import Scan, draw, scan


@dataclass(frozen=True)
class Style:
    """How much a synthetic writer varies. Distances are in KanjiVG units (the box is 109);
    ``*_sd`` are standard deviations of normal draws, ``(lo, hi)`` pairs are uniform ranges."""

    stroke_shift_sd: float = 2.0  # units: where each stroke is put
    stroke_angle_sd: float = 4.0  # degrees: each stroke's slant
    stroke_scale_sd: float = 0.06  # relative: each stroke's length
    curvature_sd: float = 0.05  # bow height as a fraction of the stroke's chord
    rotation: tuple[float, float] = (-8.0, 8.0)  # degrees, whole character
    shear: tuple[float, float] = (-0.15, 0.15)  # x += shear · y
    aspect: tuple[float, float] = (0.85, 1.18)  # width / height multiplier
    elastic: float = 2.5  # units: amplitude of the smooth displacement field
    elastic_waves: int = 3  # sine waves per axis in that field
    elastic_wavelength: tuple[float, float] = (50.0, 110.0)  # units
    pen_width: tuple[float, float] = (0.8, 2.8)  # pixels at 28 × 28 (scaled with the size)
    # Per component (KanjiVG's <g> groups: 田 and 丁 in 町, then 一 and 亅 in 丁, …): an own
    # affine map about the group's centre, so the proportions between the parts vary. At nesting
    # depth d the standard deviations are multiplied by component_decay ** d.
    component_scale_sd: float = 0.12  # log of the x and y scale factors (independent)
    component_shift_sd: float = 0.06  # fraction of the group's size (bounding box, longer side)
    component_shear_sd: float = 0.06  # x += shear · y within the group
    component_angle_sd: float = 3.0  # degrees
    component_decay: float = 0.5
    # The pen's shape: a broad nib draws horizontal strokes ``nib`` times as wide as vertical
    # ones (1 = a round pen; print's Mincho is about 0.3), and every stroke narrows towards its
    # end by up to ``taper`` of its width (0 = no taper).
    nib: tuple[float, float] = (0.35, 1.0)
    taper: tuple[float, float] = (0.0, 0.5)
    # Print fills the square: a character whose strokes span w × h is stretched so that its
    # width/height ratio becomes (w/h)^(1 − λ), λ uniform in ``square`` (0 = as written,
    # 1 = a square box), keeping its area.
    square: tuple[float, float] = (0.0, 1.0)
    # Busy characters get finer strokes (as in print, where a bold 議 is not a blot): with
    # k strokes the pen is at most max(lo, crowding / (k + 2)) pixels at 28 × 28 (0 = no cap).
    crowding: float = 32.0
    # Paper, pencil and scanner (``render.Scan``): None = ink drawn straight into the field.
    scan: Scan | None = None
    # Joined strokes (cursive): each stroke, in writing order, is joined to the one before it
    # with probability ``join`` when the pen would travel less than ``join_gap`` units from the
    # earlier stroke's end to its start: one pen-down path, the straight connector included.
    join: float = 0.0
    join_gap: float = 40.0
    # Narrow and wide hands: after the square stretch the width/height ratio is multiplied by
    # e^ε, ε ~ N(0, aspect_sigma), keeping the area (0 = off, the images as before it existed).
    aspect_sigma: float = 0.0
    # Hooks (hane, ``hook_corners``): each hook is left out with probability ``hook_drop``, else
    # its length is multiplied by hook_scale · e^z, z ~ N(0, hook_scale_sd) (0, 1, 0 = off).
    hook_drop: float = 0.0
    hook_scale: float = 1.0
    hook_scale_sd: float = 0.0
    # Pen pressure: each stroke's pen width times e^z, z ~ N(0, pressure_sd) (0 = off; the data
    # record no pressure, so this is a guess, not a fit).
    pressure_sd: float = 0.0

    @property
    def hooks_on(self) -> bool:
        return (self.hook_drop, self.hook_scale, self.hook_scale_sd) != (0.0, 1.0, 0.0)

    def with_(self, **changes) -> Style:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """The parameters as JSON values (``scan`` only when set, so that the styles without
        one keep the dataset cache keys they had before it existed)."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        if self.join == 0.0:  # likewise for the styles that never join a stroke
            del out["join"], out["join_gap"]
        if self.aspect_sigma == 0.0:  # and for the styles without aspect jitter
            del out["aspect_sigma"]
        if not self.hooks_on:  # and for those that leave KanjiVG's hooks alone
            del out["hook_drop"], out["hook_scale"], out["hook_scale_sd"]
        if self.pressure_sd == 0.0:  # and for one pressure throughout
            del out["pressure_sd"]
        if self.scan is None:
            del out["scan"]
        else:
            out["scan"] = {k: list(v) if isinstance(v, tuple) else v
                           for k, v in asdict(self.scan).items()}
        return out


# The writer of generator version 1: a round pen of 1.2–2.4 px, KanjiVG's proportions between
# components, no print-like layout. Kept as the style "plain" so older results can be redrawn.
_ROUND_PEN = dict(component_scale_sd=0.0, component_shift_sd=0.0, component_shear_sd=0.0,
                  component_angle_sd=0.0, nib=(1.0, 1.0), taper=(0.0, 0.0), square=(0.0, 0.0),
                  crowding=0.0)

# Named styles; "clean" draws the KanjiVG glyph as it is (useful for figures and tests).
STYLES: dict[str, Style] = {
    "default": Style(),
    "plain": Style(pen_width=(1.2, 2.4), **_ROUND_PEN),
    "clean": Style(0, 0, 0, 0, (0, 0), (0, 0), (1, 1), 0, 0, (50, 110), (1.8, 1.8), **_ROUND_PEN),
    "thin": Style(pen_width=(0.6, 0.9)),
    "thick": Style(pen_width=(2.8, 3.6)),
    "wild": Style(stroke_shift_sd=3.5, stroke_angle_sd=7, curvature_sd=0.09,
                  rotation=(-14, 14), shear=(-0.3, 0.3), aspect=(0.75, 1.33), elastic=4.5),
    # Stronger component and pen variation: the best transfer to fonts for grade 1, but too
    # varied for 1,026 kanji at 32 × 32 (see docs/kanji.md).
    "varied": Style(component_scale_sd=0.18, component_shift_sd=0.09, component_shear_sd=0.1,
                    component_angle_sd=5.0, pen_width=(0.7, 3.2), nib=(0.3, 1.0),
                    taper=(0.0, 0.6), crowding=40.0),
    # On paper: a thin, light, grainy pencil, or a pen; then a phone photo or a scan.
    "pencil": Style(pen_width=(0.5, 1.3), scan=Scan(pencil=(0.4, 0.8), grain=0.5,
                                                    paper=(0.0, 0.2), texture=0.012,
                                                    blur=(0.0, 0.6), jpeg=(60, 95))),
    "scan": Style(scan=Scan(pencil=(0.7, 1.0), grain=0.1, paper=(0.0, 0.3), texture=0.015,
                            blur=(0.2, 0.9), jpeg=(40, 90))),
}


def fitted_style(base: Style = STYLES["default"]) -> Style:
    """``base`` with the variation measured on real strokes (``fitted_style.json``: tomoe_data
    aligned with KanjiVG by ``realfit``; per-stroke shift, angle and scale, the character's
    rotation, shear and aspect). The style "fitted"."""
    record = json.loads((resources.files("mojinet.data") / "fitted_style.json").read_text(
        "utf-8"))
    fields = {k: tuple(v) if isinstance(v, list) else v
              for k, v in record["parameters"].items() if k in Style.__dataclass_fields__}
    return base.with_(**fields)


# Measured, not chosen: see realfit.py and docs/kanji.md ("Closing the gap").
STYLES["fitted"] = fitted_style()
# The same writer joining strokes at the rate fitted on Tomoe (tools/fit_join.py; docs/kanji.md,
# "Joined strokes"); a style of its own, so that "fitted" keeps its images.
JOIN_FITTED = 0.0056  # per short gap: 4.2 % of Tomoe's 6,645 samples join somewhere
STYLES["fitted-joined"] = STYLES["fitted"].with_(join=JOIN_FITTED)
# A heavier dose for the ablation (about a third of Tomoe's characters joined somewhere).
STYLES["fitted-cursive"] = STYLES["fitted"].with_(join=0.05)
# Narrow and wide hands (Style.aspect_sigma; docs/kanji.md, "Aspect jitter"). Provisional, not
# fitted: tools/fit_aspect.py finds the writer's ink-box aspect already spreading more than
# tomoe_data's (robust σ of log(w/h) against KanjiVG 0.188 against 0.108, n 12,036 and 3,009),
# so its fit is 0; tomoe_data is one writer and cannot show how hands differ. 0.108 is that
# writer's own spread, taken as a guess at the spread between writers.
ASPECT_SIGMA = 0.108
STYLES["fitted-aspect"] = STYLES["fitted"].with_(aspect_sigma=ASPECT_SIGMA)
# The fitted writer on paper: its strokes, drawn as the "pencil" and "scan" styles draw theirs
# (a photo or scan's pencil, grain, paper, blur and JPEG), for training mixtures (docs/kanji.md,
# "Paper in the training mixture").
STYLES["fitted-pencil"] = STYLES["fitted"].with_(pen_width=STYLES["pencil"].pen_width,
                                                 scan=STYLES["pencil"].scan)
STYLES["fitted-scan"] = STYLES["fitted"].with_(scan=STYLES["scan"].scan)
# Hooks as the development writers draw them (tools/fit_hooks.py on the tegaki-lab ``train``
# sittings, 160 hooks: 15.6 % left out; the rest, against the stroke before them, 1.28 × as
# long as KanjiVG's at the median, with a robust σ of 0.59 in the log); docs/kanji.md, "Stroke
# ends, tremor and pen pressure".
HOOKS_FITTED = dict(hook_drop=0.156, hook_scale=1.28, hook_scale_sd=0.59)
STYLES["fitted-hooks"] = STYLES["fitted"].with_(**HOOKS_FITTED)
# Pen pressure that changes from stroke to stroke (Style.pressure_sd): a guess, as no data set
# here records pressure or width — a stroke pressed 1.28 or 0.78 times as wide at one σ.
PRESSURE_SD = 0.25
STYLES["fitted-pressure"] = STYLES["fitted"].with_(pressure_sd=PRESSURE_SD)


def get_style(style: str | Style | None) -> Style:
    if style is None:
        return STYLES["default"]
    if isinstance(style, Style):
        return style
    try:
        return STYLES[style]
    except KeyError:
        raise ValueError(f"unknown style {style!r}; choose one of: {', '.join(STYLES)}") from None


def _rotation(deg: np.ndarray) -> np.ndarray:
    """(k,) angles in degrees → (k, 2, 2) rotation matrices acting on row vectors (p @ R)."""
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], -2)  # (k, 2, 2)


def jitter_strokes(glyph: Glyph, style: Style, rng: np.random.Generator) -> list[np.ndarray]:
    """Steps 0, 1 and 2: the varied stroke polylines (each (n_i, 2), KanjiVG units).

    All strokes are moved at once: per-stroke parameters are gathered to their points by the
    glyph's ``stroke`` index, so the cost does not grow with a Python loop over strokes."""
    k = len(glyph.strokes)
    s = glyph.stroke  # (N,) stroke of each point
    shift = rng.normal(0.0, style.stroke_shift_sd, (k, 2))  # (k, 2)
    R = _rotation(rng.normal(0.0, style.stroke_angle_sd, k))  # (k, 2, 2)
    scale = 1.0 + rng.normal(0.0, style.stroke_scale_sd, k)  # (k,)
    bow = rng.normal(0.0, style.curvature_sd, k)  # (k,)
    # The character's affine map A (row vectors: p @ A), about the box centre.
    theta = np.deg2rad(rng.uniform(*style.rotation))
    c, si = np.cos(theta), np.sin(theta)
    sh = rng.uniform(*style.shear)
    aspect = np.sqrt(rng.uniform(*style.aspect))
    A = (np.array([[c, si], [-si, c]]) @ np.array([[1.0, 0.0], [sh, 1.0]])
         @ np.diag([aspect, 1.0 / aspect]))  # (2, 2)
    m = style.elastic_waves
    elastic = style.elastic > 0 and m > 0
    if elastic:  # d(p) = Σ_j a_j sin(w_j · p + φ_j), independently for x and y
        wavelength = rng.uniform(*style.elastic_wavelength, (2, m))  # (2, m)
        direction = rng.uniform(0.0, 2 * np.pi, (2, m))  # (2, m)
        w = (2 * np.pi / wavelength)[..., None] * np.stack(
            [np.cos(direction), np.sin(direction)], -1)  # (2, m, 2)
        phase = rng.uniform(0.0, 2 * np.pi, (2, m))  # (2, m)
        amp = rng.normal(0.0, style.elastic / np.sqrt(m), (2, m))  # (2, m)

    P = glyph.points  # (N, 2)
    if _component_sds(style).any():  # drawn last, so that without it the images stay as before
        P = vary_components(P, s, glyph.groups, style, rng)  # (N, 2)
    count = np.bincount(s, minlength=k)[:, None]  # (k, 1) points per stroke
    mid = np.stack([np.bincount(s, P[:, 0], k), np.bincount(s, P[:, 1], k)], -1) / count  # (k, 2)
    Q = np.einsum("nd,nde->ne", P - mid[s], R[s]) * scale[s, None] + mid[s] + shift[s]  # (N, 2)
    chord = Q[glyph.last] - Q[glyph.first]  # (k, 2)
    normal = np.stack([-chord[:, 1], chord[:, 0]], -1)  # (k, 2), length = chord length
    Q = Q + (bow[s] * np.sin(np.pi * glyph.t))[:, None] * normal[s]  # (N, 2) bow each stroke
    if style.square != (0.0, 0.0):
        Q = toward_square(Q, rng.uniform(*style.square))  # (N, 2)
    if style.aspect_sigma > 0:
        Q = stretch_aspect(Q, rng.normal(0.0, style.aspect_sigma))  # (N, 2)
    centre = BOX / 2
    Q = (Q - centre) @ A + centre  # (N, 2)
    if elastic:
        phi = np.einsum("nd,amd->anm", Q, w) + phase[:, None, :]  # (2, N, m)
        Q = Q + (np.sin(phi) * amp[:, None, :]).sum(-1).T  # (N, 2)
    strokes = np.split(Q, glyph.last[:-1] + 1)
    if style.hooks_on:  # drawn after the rest, so that styles without hooks keep their images
        strokes = vary_hooks(strokes, hook_corners(glyph), hook_factors(style, k, rng))
    if style.join > 0:  # drawn last, so that styles that never join keep their images
        strokes = join_strokes(strokes, style, rng.random(k - 1))
    return strokes


def toward_square(Q: np.ndarray, lam: float, floor: float = 1.0) -> np.ndarray:
    """Points Q (N, 2) stretched about their box's centre so that its width/height ratio r
    becomes r^(1 − λ), keeping its area: λ = 0 as written, 1 a square box. Sides shorter than
    ``floor`` (1 KanjiVG unit) count as ``floor``, so a stroke of one line stays a line."""
    lo, hi = Q.min(axis=0), Q.max(axis=0)  # (2,)
    wide, tall = np.maximum(hi - lo, floor)
    stretch = (wide / tall) ** (-lam / 2)  # x · stretch, y / stretch: ratio → ratio^(1 − λ)
    return (Q - (lo + hi) / 2) * np.array([stretch, 1.0 / stretch]) + (lo + hi) / 2  # (N, 2)


def stretch_aspect(Q: np.ndarray, eps: float) -> np.ndarray:
    """Points Q (N, 2) stretched about their box's centre so that its width/height ratio is
    multiplied by e^ε, keeping its area (x · e^(ε/2), y · e^(−ε/2))."""
    lo, hi = Q.min(axis=0), Q.max(axis=0)  # (2,)
    f = np.exp(eps / 2)
    return (Q - (lo + hi) / 2) * np.array([f, 1.0 / f]) + (lo + hi) / 2  # (N, 2)


def hook_corners(glyph: Glyph, window: float = 6.0, min_turn: float = 75.0,
                 max_tail: float = 14.0, max_share: float = 0.25,
                 min_length: float = 30.0) -> np.ndarray:
    """(k,) where each stroke's hook starts: the index (within the stroke) of the point where a
    stroke of at least ``min_length`` units turns by more than ``min_turn`` degrees (its
    direction over ``window`` units before against after) with a tail of 3 … ``max_tail``
    units and at most ``max_share`` of the stroke's length after it — the short flick of 亅, 乚
    or 子's hook; -1 for strokes without one (and for dots). The sharpest such turn is taken."""
    out = np.full(len(glyph.strokes), -1, dtype=np.int64)
    for j, P in enumerate(glyph.strokes):
        arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(P, axis=0), axis=1))]  # (n,)
        tail = arc[-1] - arc  # (n,)
        ok = (tail >= 3.0) & (tail <= min(max_tail, max_share * arc[-1]))  # (n,)
        ok[[0, -1]] = False
        if arc[-1] < min_length or not ok.any():
            continue
        turn = np.where(ok, turning(P, arc, window), 0.0)  # (n,)
        if turn.max() > min_turn:
            out[j] = int(turn.argmax())
    return out


def turning(P: np.ndarray, arc: np.ndarray, window: float) -> np.ndarray:
    """(n,) degrees a polyline P (n, 2) turns at each point: its direction over the ``window``
    units before the point against the ``window`` after (clipped at the ends). arc: (n,) arc
    length at each point."""
    def at(s):  # (n,) arc lengths → (n, 2) points
        return np.stack([np.interp(s, arc, P[:, 0]), np.interp(s, arc, P[:, 1])], -1)

    u = P - at(arc - window)  # (n, 2) direction in
    v = at(np.minimum(arc + window, arc[-1])) - P  # (n, 2) direction out
    cos = (u * v).sum(1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1) + 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def hook_factors(style: Style, k: int, rng: np.random.Generator) -> np.ndarray:
    """(k,) each stroke's hook length factor (0 = left out); drawn for every stroke, hook or
    not, so that a glyph's images do not depend on how many hooks it has."""
    drop = rng.random(k)  # (k,)
    z = rng.standard_normal(k)  # (k,)
    return np.where(drop < style.hook_drop, 0.0,
                    style.hook_scale * np.exp(style.hook_scale_sd * z))  # (k,)


def vary_hooks(strokes: list[np.ndarray], corners: np.ndarray,
               factors: np.ndarray) -> list[np.ndarray]:
    """Each stroke's hook (the points after ``corners[j]``) drawn ``factors[j]`` times as long,
    about the corner c: p → c + f·(p − c), the rest of the stroke as it was. f = 0 puts the
    hook's points on the corner (left out: the stroke ends there)."""
    out = list(strokes)
    for j in np.flatnonzero(corners >= 0):
        P, i = strokes[j].copy(), corners[j]
        P[i + 1 :] = P[i] + factors[j] * (P[i + 1 :] - P[i])
        out[j] = P
    return out


def join_strokes(strokes: list[np.ndarray], style: Style, u: np.ndarray) -> list[np.ndarray]:
    """Step 1½: stroke i (i ≥ 1) becomes part of the path before it when u[i−1] < ``join`` and
    the gap |start_i − end_{i−1}| < ``join_gap`` (units); the path then runs straight from the
    one to the other. u: (k − 1,) uniform draws."""
    out = [strokes[0]]
    for P, draw_ in zip(strokes[1:], u):
        gap = float(np.hypot(*(P[0] - out[-1][-1])))
        if draw_ < style.join and gap < style.join_gap:
            out[-1] = np.concatenate([out[-1], P])
        else:
            out.append(P)
    return out


def _component_sds(style: Style) -> np.ndarray:
    return np.array([style.component_scale_sd, style.component_shift_sd,
                     style.component_shear_sd, style.component_angle_sd])


def vary_components(P: np.ndarray, s: np.ndarray, groups: tuple[np.ndarray, ...], style: Style,
                    rng: np.random.Generator) -> np.ndarray:
    """Move each component group of a glyph by its own random affine map, outermost first.

    P: (N, 2) points, s: (N,) stroke of each point, groups: ``Glyph.groups``. A group at depth d
    is scaled by exp(N(0, σ_s·decay^d)) along x and y independently, sheared, rotated and
    shifted (by N(0, σ_t·decay^d) times the group's size), about the centre of its points'
    bounding box; points outside every group stay."""
    sd_scale, sd_shift, sd_shear, sd_angle = _component_sds(style)
    for d, member in enumerate(groups):
        n = int(member.max()) + 1
        if n <= 0:
            continue
        f = style.component_decay**d
        scale = np.exp(rng.normal(0.0, sd_scale * f, (n, 2)))  # (n, 2)
        shear = rng.normal(0.0, sd_shear * f, n)  # (n,)
        R = _rotation(rng.normal(0.0, sd_angle * f, n))  # (n, 2, 2)
        shift = rng.normal(0.0, sd_shift * f, (n, 2))  # (n, 2)
        S = np.zeros((n, 2, 2))
        S[:, 0, 0], S[:, 1, 0], S[:, 1, 1] = 1.0, shear, 1.0  # (n, 2, 2) row vectors: x += h·y
        M = S @ R * scale[:, None, :]  # (n, 2, 2): shear, rotate, then scale x and y
        g = member[s]  # (N,) group of each point at this depth
        inside = g >= 0  # (N,)
        gi, Pi = g[inside], P[inside]  # (m,), (m, 2)
        lo = np.full((n, 2), np.inf)
        hi = np.full((n, 2), -np.inf)
        np.minimum.at(lo, gi, Pi)
        np.maximum.at(hi, gi, Pi)
        centre = (lo + hi) / 2  # (n, 2)
        shift *= (hi - lo).max(axis=1, keepdims=True)  # (n, 2) relative → units
        P = P.copy()
        P[inside] = (np.einsum("md,mde->me", Pi - centre[gi], M[gi]) + centre[gi]
                     + shift[gi])  # (m, 2)
    return P


def pick_pen(style: Style, n_strokes: int, size: int, rng: np.random.Generator):
    """Step 3: (width in output pixels, nib, taper) for one image of ``n_strokes`` strokes."""
    lo, hi = style.pen_width
    if style.crowding > 0:
        hi = min(hi, max(lo, style.crowding / (n_strokes + 2)))
    pen = rng.uniform(lo, hi) * size / 28
    # Drawn only when the style asks for them, so that round-pen styles keep their images.
    nib = rng.uniform(*style.nib) if style.nib != (1.0, 1.0) else 1.0
    taper = rng.uniform(*style.taper) if style.taper != (0.0, 0.0) else 0.0
    return pen, nib, taper


def pick_pressure(style: Style, n_strokes: int, n_paths: int,
                  rng: np.random.Generator) -> np.ndarray | None:
    """Step 3½: (n_paths,) each drawn path's pen-width factor e^z, z ~ N(0, ``pressure_sd``),
    from one draw a stroke (so joins do not shift later draws); None when the style has no
    pressure (nothing drawn)."""
    if style.pressure_sd == 0.0:
        return None
    return np.exp(style.pressure_sd * rng.standard_normal(n_strokes))[:n_paths]  # (n_paths,)


def render(glyph: Glyph, size: int = 28, rng: np.random.Generator | None = None,
           style: str | Style | None = None, supersample: int = 4,
           jitter: bool = True) -> np.ndarray:
    """One handwritten ``glyph``: (size, size) float32 in [0, 1], ink = 1.

    With ``jitter`` (the synthetic writer) the strokes are varied first (steps 0–2); without
    (real strokes, ``strokes.Sample.to_glyph``) they are drawn as written, with the style's pen
    (step 3) and, if the style has one, its ``scan``."""
    style = get_style(style)
    rng = rng if rng is not None else np.random.default_rng()
    strokes = jitter_strokes(glyph, style, rng) if jitter else list(glyph.strokes)
    pen, nib, taper = pick_pen(style, len(glyph.strokes), size, rng)
    pressure = pick_pressure(style, len(glyph.strokes), len(strokes), rng)
    if style.scan is None:
        return draw(strokes, size, pen, supersample=supersample, nib=nib, taper=taper,
                    pressure=pressure)

    def page(side: int, box: int) -> np.ndarray:
        return draw(strokes, side, pen * side / size, box, supersample, nib, taper, pressure)

    return scan(page, size, max(1, round(size * 20 / 28)), style.scan, rng)
