"""How narrow or wide real writers write, against the synthetic writer: ``Style.aspect_sigma``.

The quantity, for one sample of a character: the log aspect of its ink box (all stroke points;
the pen's width is left out, as no real set records it) relative to KanjiVG's glyph of the same
character,

    d = log(w / h)_sample − log(w / h)_KanjiVG.

Measured from the strokes, not from images: the writer and the real sets are compared before any
pen, pixel grid or centring touches them, and a stroke set's box is its points' box (a Tomoe
sample's key points are its polyline's corners). Its spread over many characters — the robust
1.4826 · MAD (``realfit.robust_sd``) — is what a writer's hand adds to the glyph's own shape.

The synthetic writer (``handwriting.jitter_strokes``) already varies d (the square stretch, the
character's affine map with its aspect range, the elastic field, the strokes' own moves), by
spread s_w. The real writers spread s_r. The aspect jitter ε ~ N(0, σ) adds what is missing:

* in quadrature (``sigma_in_quadrature``): σ² = s_r² − s_w², as if d were normal and ε
  independent of the rest;
* directly (``fit_aspect_sigma``): the σ at which the writer's own spread, drawn with
  ``aspect_sigma = σ`` for the same characters and the same random numbers, equals s_r
  (bisection; the spread grows with σ). This is the fit the style ``fitted-aspect`` uses: it
  needs no assumption about the shapes of the distributions.
"""

from __future__ import annotations

import math

import numpy as np

from .kanjivg import Glyph
from .realfit import robust_sd

__all__ = ["log_aspect", "relative_log_aspects", "writer_log_aspects", "sigma_in_quadrature",
           "fit_aspect_sigma"]


def log_aspect(strokes, floor: float = 1.0) -> float:
    """log(width / height) of the box around all points of ``strokes`` (each (n, 2), any unit
    as long as both sides share it); sides shorter than ``floor`` count as ``floor`` (a 一 is a
    line, not an infinitely wide box)."""
    P = np.concatenate([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes])
    if len(P) == 0:
        raise ValueError("no points to measure")
    w, h = np.maximum(P.max(axis=0) - P.min(axis=0), floor)
    return math.log(w / h)


def relative_log_aspects(samples: list[Glyph], glyphs: dict[str, Glyph]) -> np.ndarray:
    """(n,) d = log aspect of each sample (``Sample.to_glyph()``, KanjiVG's 109-unit box)
    minus that of ``glyphs[sample.char]``."""
    return np.array([log_aspect(s.strokes) - log_aspect(glyphs[s.char].strokes)
                     for s in samples])


def writer_log_aspects(glyphs: list[Glyph], style, seed: int = 0, draws: int = 1) -> np.ndarray:
    """(len(glyphs) · draws,) d for the writer's ``style`` drawing each glyph ``draws`` times
    (fast writer, equal to ``handwriting.jitter_strokes``; draw j of glyph i seeded by
    (seed, j, i), so the same random numbers whatever the style's σ)."""
    from . import fastwriter
    from .handwriting import get_style

    style = get_style(style)
    base = np.array([log_aspect(g.strokes) for g in glyphs])  # (n,)
    out = []
    for j in range(draws):
        rngs = [np.random.default_rng((seed, j, i)) for i in range(len(glyphs))]
        drawn = fastwriter.jitter_batch(glyphs, style, rngs).to_lists()
        out.append(np.array([log_aspect(s) for s in drawn]) - base)
    return np.concatenate(out)


def sigma_in_quadrature(real_sd: float, writer_sd: float) -> float:
    """√(s_r² − s_w²), 0 when the writer already spreads as much as the real writers."""
    return math.sqrt(max(0.0, real_sd**2 - writer_sd**2))


def fit_aspect_sigma(real: np.ndarray, glyphs: list[Glyph], style, seed: int = 0,
                     draws: int = 1, hi: float = 1.0, tol: float = 1e-3) -> dict:
    """σ such that ``style.with_(aspect_sigma=σ)`` spreads d (``writer_log_aspects`` of
    ``glyphs``) as much as the real samples' d (``real``); bisection on [0, hi] to ``tol``.
    Returns σ with the spreads, medians and sizes behind it (``sigma_in_quadrature`` too)."""
    from .handwriting import get_style

    real = np.asarray(real, dtype=np.float64)
    if real.size < 2 or not np.isfinite(real).all():
        raise ValueError("need at least two finite real log aspects")
    style = get_style(style).with_(aspect_sigma=0.0)
    real_sd = robust_sd(real)
    base = writer_log_aspects(glyphs, style, seed, draws)

    def spread(sigma: float) -> float:
        return robust_sd(writer_log_aspects(glyphs, style.with_(aspect_sigma=sigma), seed,
                                            draws))

    lo_s, hi_s = 0.0, hi
    if robust_sd(base) >= real_sd:
        sigma = 0.0
    elif spread(hi) < real_sd:
        raise ValueError(f"the real spread {real_sd:.3f} needs aspect_sigma above {hi}")
    else:
        while hi_s - lo_s > tol:
            mid = (lo_s + hi_s) / 2
            lo_s, hi_s = (mid, hi_s) if spread(mid) < real_sd else (lo_s, mid)
        sigma = (lo_s + hi_s) / 2
    return {
        "aspect_sigma": sigma,
        "aspect_sigma_in_quadrature": sigma_in_quadrature(real_sd, robust_sd(base)),
        "real_sd": real_sd, "writer_sd": robust_sd(base),
        "writer_sd_fitted": spread(sigma) if sigma > 0 else robust_sd(base),
        "real_median": float(np.median(real)), "writer_median": float(np.median(base)),
        "n_real": int(real.size), "n_writer": int(base.size),
    }
