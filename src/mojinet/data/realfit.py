"""Measuring real handwriting against KanjiVG: stroke alignment and a fitted writer.

The synthetic writer (``handwriting``) varies KanjiVG's strokes by amounts someone chose. Here
they are measured instead: a real sample (Tomoe, tegaki, …) and KanjiVG's glyph of the same
character, with the same number of strokes, are aligned and their differences collected.

1. Every stroke of both is resampled to ``m`` points evenly spaced by arc length, in KanjiVG's
   109-unit box (``resample``).
2. The whole character: the least-squares affine map from the glyph's points to the sample's,
   T ≈ K·A + b (row vectors, as in ``handwriting.jitter_strokes``). Its 2 × 2 part, scaled to
   determinant 1, is decomposed as the writer composes it, A = Rot(θ)·Shear(h)·diag(a, 1/a)
   (``decompose``): rotation θ, shear h (x += h·y) and aspect a² (width/height multiplier).
3. Each stroke, after that map: the shift of its centre, and the rotation and scale about its
   centre that best fit it (2-D Procrustes: the angle of Σ x × y against Σ x · y, the ratio of
   root-mean-square radii), the writer's per-stroke step.

A sample whose strokes do not correspond point by point — another stroke order or direction, a
joined stroke — leaves a large residual after step 2 (mean distance above ``max_residual``
units): it is counted as not aligned, not fitted.

``fit_style`` turns the spreads of many alignments into a ``handwriting.Style``: the per-stroke
standard deviations (shift, angle, log scale) and, for the whole character, uniform ranges with
the measured median μ and standard deviation σ (a uniform on [μ − √3σ, μ + √3σ]) of rotation,
shear and aspect. Spreads are robust (1.4826 × the median absolute deviation), so that the few
strokes that align badly (a hook KanjiVG draws and the writer left out) do not dominate. The
bow (curvature) is not fitted: Tomoe stores 2–3 key points a stroke, straight segments, so its
"curvature" would measure the recording, not the writer. The packaged fit
(``fitted_style.json``, ``handwriting.STYLES["fitted"]``) was measured on tomoe_data (Apache-2.0
or CC BY 4.0: "tomoe_data by Hiroyuki Komatsu"), by ``tools/fit_style.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .handwriting import hook_corners, turning
from .kanjivg import Glyph

__all__ = ["Alignment", "align", "decompose", "fit_hooks", "fit_style", "fitted_parameters",
           "hook_factors", "real_hook_share", "resample", "robust_sd", "tremor"]


def resample(P: np.ndarray, m: int) -> np.ndarray:
    """(n, 2) polyline → (m, 2) points evenly spaced by arc length, ends kept (a dot → m
    copies of it)."""
    seg = np.linalg.norm(np.diff(P, axis=0), axis=1)  # (n-1,)
    arc = np.r_[0.0, np.cumsum(seg)]  # (n,)
    if arc[-1] <= 0:
        return np.repeat(P[:1], m, axis=0)
    s = np.linspace(0.0, arc[-1], m)  # (m,)
    return np.stack([np.interp(s, arc, P[:, 0]), np.interp(s, arc, P[:, 1])], -1)  # (m, 2)


def decompose(A: np.ndarray) -> tuple[float, float, float]:
    """A 2 × 2 linear map (row vectors) → (rotation θ in degrees, shear h, aspect a²) with
    A / √|det A| = Rot(θ)·Shear(h)·diag(a, 1/a), Rot(θ) = [[c, s], [−s, c]],
    Shear(h) = [[1, 0], [h, 1]] — the writer's composition in ``jitter_strokes``."""
    A = A / math.sqrt(abs(np.linalg.det(A)))
    # Rot·Shear·diag(a, 1/a) = [[a(c + s·h), s/a], [a(c·h − s), c/a]]
    theta = math.atan2(A[0, 1], A[1, 1])
    a = 1.0 / math.hypot(A[0, 1], A[1, 1])
    c, s = math.cos(theta), math.sin(theta)
    h = (s * A[0, 0] + c * A[1, 0]) / a
    return math.degrees(theta), h, a * a


@dataclass(frozen=True)
class Alignment:
    """One real sample against its KanjiVG glyph (units: KanjiVG's box, 109).

    rotation, shear, aspect: the whole character's map (``decompose``); residual: the mean
    distance between corresponding points after it; shift: (k, 2) each stroke's centre moved;
    angle: (k,) degrees each stroke turned; log_scale: (k,) log of each stroke's size change
    (NaN for strokes too short to have a direction)."""

    char: str
    rotation: float
    shear: float
    aspect: float
    residual: float
    shift: np.ndarray
    angle: np.ndarray
    log_scale: np.ndarray


def align(real: Glyph, glyph: Glyph, m: int = 12, max_residual: float = 9.0,
          min_size: float = 4.0) -> Alignment | None:
    """Align a real sample (``Sample.to_glyph()``: its strokes in the 109-unit box) with
    KanjiVG's ``glyph``; None when the stroke counts differ or the strokes do not correspond
    (mean residual after the whole-character map above ``max_residual`` units). Strokes shorter
    than ``min_size`` units (dots) get a shift but NaN angle and scale."""
    if len(real.strokes) != len(glyph.strokes):
        return None
    K = np.stack([resample(P, m) for P in glyph.strokes])  # (k, m, 2)
    T = np.stack([resample(P, m) for P in real.strokes])  # (k, m, 2)
    k = len(K)
    K1 = np.c_[K.reshape(-1, 2), np.ones(k * m)]  # (k·m, 3)
    W, *_ = np.linalg.lstsq(K1, T.reshape(-1, 2), rcond=None)  # (3, 2): [A; b]
    A = W[:2]  # (2, 2)
    if np.linalg.det(A) <= 1e-9:  # mirrored or degenerate: no correspondence
        return None
    scale = math.sqrt(np.linalg.det(A))  # the real sample's size against KanjiVG's
    Kmap = (K1 @ W).reshape(k, m, 2)  # (k, m, 2) the glyph mapped onto the sample
    residual = float(np.linalg.norm(Kmap - T, axis=-1).mean()) / scale
    if residual > max_residual:
        return None
    mu_K, mu_T = Kmap.mean(axis=1), T.mean(axis=1)  # (k, 2)
    X, Y = Kmap - mu_K[:, None], T - mu_T[:, None]  # (k, m, 2) centred
    dot = (X * Y).sum(axis=(1, 2))  # (k,)
    cross = (X[..., 0] * Y[..., 1] - X[..., 1] * Y[..., 0]).sum(axis=1)  # (k,)
    rx = np.sqrt((X**2).sum(axis=(1, 2)) / m)  # (k,) rms radius
    ry = np.sqrt((Y**2).sum(axis=(1, 2)) / m)  # (k,)
    long_enough = 2 * rx / scale >= min_size  # (k,) rms radius ≈ half a straight stroke's length
    angle = np.where(long_enough, np.degrees(np.arctan2(cross, dot)), np.nan)  # (k,)
    log_scale = np.where(long_enough, np.log(np.maximum(ry, 1e-9) / np.maximum(rx, 1e-9)),
                         np.nan)  # (k,)
    theta, h, aspect = decompose(A)
    return Alignment(glyph.char, theta, h, aspect, residual, (mu_T - mu_K) / scale, angle,
                     log_scale)


MAD_TO_SD = 1.4826  # a normal's standard deviation over its median absolute deviation


def robust_sd(values: np.ndarray, centre: float | None = None) -> float:
    """1.4826 · the median absolute deviation (from the median, or from ``centre``): a normal's
    standard deviation, not blown up by the few samples that align badly (a hook KanjiVG draws
    and the writer did not)."""
    c = float(np.median(values)) if centre is None else centre
    return MAD_TO_SD * float(np.median(np.abs(values - c)))


def _uniform(values: np.ndarray) -> tuple[float, float]:
    """A uniform range with the median and (robust) standard deviation of ``values``."""
    mu, sd = float(np.median(values)), robust_sd(values)
    return mu - math.sqrt(3) * sd, mu + math.sqrt(3) * sd


def fitted_parameters(alignments: list[Alignment]) -> dict:
    """The measured spreads as ``handwriting.Style`` fields (plain numbers and pairs), plus the
    means that the Style does not model (``mean_*``) and n, for the record."""
    if not alignments:
        raise ValueError("no aligned samples to fit")
    shift = np.concatenate([a.shift for a in alignments])  # (S, 2)
    angle = np.concatenate([a.angle for a in alignments])  # (S,)
    log_scale = np.concatenate([a.log_scale for a in alignments])  # (S,)
    angle, log_scale = angle[np.isfinite(angle)], log_scale[np.isfinite(log_scale)]
    rotation = np.array([a.rotation for a in alignments])
    shear = np.array([a.shear for a in alignments])
    aspect = np.array([a.aspect for a in alignments])
    return {
        "stroke_shift_sd": robust_sd(shift.ravel(), 0.0),  # per axis, about 0
        "stroke_angle_sd": robust_sd(angle),
        "stroke_scale_sd": robust_sd(log_scale),
        "rotation": _uniform(rotation),
        "shear": _uniform(shear),
        "aspect": _uniform(aspect),
        "mean_stroke_angle": float(np.median(angle)),
        "mean_stroke_log_scale": float(np.median(log_scale)),
        "n_characters": len(alignments),
        "n_strokes": len(shift),
    }


def fit_style(alignments: list[Alignment], base=None):
    """A ``handwriting.Style``: ``base`` (default: the default style) with the per-stroke and
    whole-character variation measured on ``alignments`` (``fitted_parameters``)."""
    from .handwriting import get_style

    fitted = fitted_parameters(alignments)
    return get_style(base).with_(**{k: v for k, v in fitted.items()
                                   if not k.startswith(("mean_", "n_"))})


def real_hook_share(P: np.ndarray) -> float:
    """A real stroke's hook against the rest of the stroke (tail / body length), 0 if it has
    none. The hook starts at the stroke's sharpest turn of more than 45° with a tail of 0.5–25
    units and at most 35 % of its length — a looser test than ``hook_corners``' on KanjiVG,
    since a hurried hook is rounder and longer. P: (n, 2) in KanjiVG units."""
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(P, axis=0), axis=1))]  # (n,)
    if len(P) < 3 or arc[-1] <= 0:
        return 0.0
    tail = arc[-1] - arc  # (n,)
    ok = (tail >= 0.5) & (tail <= min(25.0, 0.35 * arc[-1]))  # (n,)
    ok[[0, -1]] = False
    turn = np.where(ok, turning(P, arc, 6.0), 0.0)  # (n,)
    i = int(turn.argmax())
    return float(tail[i] / arc[i]) if turn.max() > 45.0 else 0.0


def hook_factors(pairs, min_factor: float = 0.25) -> np.ndarray:
    """f for every hook of KanjiVG matched in real writing: ``pairs`` of (real, glyph) Glyphs of
    one character with as many strokes (others are skipped); each glyph stroke with a hook
    (``handwriting.hook_corners``) against the real stroke of the same number, f = the real
    hook's length over the rest of its stroke, divided by the same for KanjiVG: the factor
    ``handwriting.vary_hooks`` applies. 0 = left out, as is any f under ``min_factor`` (a
    quarter of KanjiVG's hook is about half a pixel at 32 × 32, and the slight bend that ends a
    stroke such as 水's without its hook reads as f ≈ 0.1)."""
    out = []
    for real, glyph in pairs:
        if len(real.strokes) != len(glyph.strokes):
            continue
        for K, R, c in zip(glyph.strokes, real.strokes, hook_corners(glyph)):
            if c >= 0:
                arc = np.linalg.norm(np.diff(K, axis=0), axis=1)  # (n − 1,)
                out.append(real_hook_share(R) / (arc[c:].sum() / arc[:c].sum()))
    f = np.array(out)
    return np.where(f < min_factor, 0.0, f)


def fit_hooks(f: np.ndarray) -> dict:
    """``handwriting.Style``'s hook fields from factors f (``hook_factors``): the share left
    out, and for the rest the median factor and the robust σ of its log."""
    kept = np.log(f[f > 0])
    if len(kept) < 2:
        raise ValueError(f"{len(f)} hooks, {len(kept)} drawn: too few to fit")
    return {"hook_drop": float(np.mean(f == 0)), "hook_scale": float(np.exp(np.median(kept))),
            "hook_scale_sd": robust_sd(kept), "n_hooks": len(f)}


def tremor(P: np.ndarray, sigma: float = 2.0) -> float:
    """A stroke's tremor: the root-mean-square distance (units) of its points, resampled 1 unit
    apart, from the same points smoothed along the stroke by a Gaussian of ``sigma`` units —
    the wobble shorter than a few units, which the pen's path has and a drawn curve has not.
    The 3σ at each end (where the smoothing is one-sided) are left out; strokes under 6σ + 4
    units give nan. P: (n, 2) in KanjiVG units."""
    length = float(np.linalg.norm(np.diff(P, axis=0), axis=1).sum())
    end = math.ceil(3 * sigma)  # points left out at each end
    if length < 2 * end + 4:
        return math.nan
    Q = resample(P, int(length) + 1)  # (m, 2) about 1 unit apart
    s = np.arange(len(Q)) * (length / (len(Q) - 1))  # (m,) arc length
    W = np.exp(-0.5 * ((s[:, None] - s[None, :]) / sigma) ** 2)  # (m, m)
    smooth = W @ Q / W.sum(axis=1, keepdims=True)  # (m, 2)
    return float(np.sqrt(((Q - smooth)[end:-end] ** 2).sum(axis=1).mean()))
