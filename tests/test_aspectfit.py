"""Fitting the writer's aspect jitter (data/aspectfit.py, tools/fit_aspect.py) and the style
"fitted-aspect" that uses it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mojinet.data.aspectfit import (
    fit_aspect_sigma,
    log_aspect,
    relative_log_aspects,
    sigma_in_quadrature,
    writer_log_aspects,
)
from mojinet.data.handwriting import ASPECT_SIGMA, STYLES, jitter_strokes
from mojinet.data.kanji import charset
from mojinet.data.kanjivg import Glyph, load_glyph

GLYPHS = [load_glyph(c) for c in charset("grade1")]


def test_log_aspect_of_a_box_and_its_floor():
    assert math.isclose(log_aspect([np.array([[0.0, 0.0], [20.0, 10.0]])]), math.log(2.0))
    # a horizontal line: its height counts as 1 unit, not 0
    assert math.isclose(log_aspect([np.array([[0.0, 5.0], [30.0, 5.0]])]), math.log(30.0))
    with pytest.raises(ValueError):
        log_aspect([np.zeros((0, 2))])


def test_relative_log_aspect_is_zero_for_the_glyph_and_log2_for_it_doubled():
    g = load_glyph("月")
    wide = Glyph(g.char, tuple(P * [2.0, 1.0] for P in g.strokes), (), ())
    d = relative_log_aspects([g, wide], {g.char: g})
    np.testing.assert_allclose(d, [0.0, math.log(2.0)], atol=1e-12)


def test_writer_log_aspects_match_the_reference_writer():
    style = STYLES["fitted"].with_(aspect_sigma=0.3)
    gs = GLYPHS[:10]
    d = writer_log_aspects(gs, style, seed=4)
    ref = [log_aspect(jitter_strokes(g, style, np.random.default_rng((4, 0, i))))
           - log_aspect(g.strokes) for i, g in enumerate(gs)]
    np.testing.assert_allclose(d, ref, atol=1e-9)


def test_quadrature():
    assert math.isclose(sigma_in_quadrature(0.5, 0.3), 0.4)
    assert sigma_in_quadrature(0.2, 0.3) == 0.0


def test_fit_recovers_a_known_sigma():
    """'Real' samples drawn by the fitted writer with a known σ (other random numbers than the
    fit's): the fit finds each σ back, within the spread of 640 draws (robust spreads of 640
    values vary by some 5 %: 0.3 comes back as 0.33–0.37 at this n, 0.32–0.33 at 1,600)."""
    fits = {}
    for sigma in (0.1, 0.3):
        real = writer_log_aspects(GLYPHS, STYLES["fitted"].with_(aspect_sigma=sigma), seed=99,
                                  draws=8)
        fits[sigma] = fit = fit_aspect_sigma(real, GLYPHS, "fitted", seed=0, draws=8,
                                             tol=3e-3)
        assert abs(fit["aspect_sigma"] - sigma) < 0.08, fit
        assert abs(fit["aspect_sigma_in_quadrature"] - sigma) < 0.08, fit
        assert fit["n_real"] == fit["n_writer"] == 8 * len(GLYPHS)
    assert fits[0.3]["aspect_sigma"] > fits[0.1]["aspect_sigma"] + 0.1


def test_fit_is_zero_when_the_writer_already_spreads_enough():
    real = writer_log_aspects(GLYPHS, "fitted", seed=99, draws=2) * 0.5
    assert fit_aspect_sigma(real, GLYPHS, "fitted", draws=2)["aspect_sigma"] == 0.0


def test_fit_refuses_bad_input():
    with pytest.raises(ValueError):
        fit_aspect_sigma(np.array([0.1]), GLYPHS, "fitted")
    with pytest.raises(ValueError):
        fit_aspect_sigma(np.array([0.0, np.nan]), GLYPHS, "fitted")
    with pytest.raises(ValueError, match="above"):
        fit_aspect_sigma(np.array([-5.0, 5.0, -5.0, 5.0]), GLYPHS[:5], "fitted", hi=0.5)


def test_fitted_aspect_is_fitted_with_the_jitter():
    style = STYLES["fitted-aspect"]
    assert style.aspect_sigma == ASPECT_SIGMA > 0
    assert style.with_(aspect_sigma=0.0) == STYLES["fitted"]
    assert "aspect_sigma" not in STYLES["fitted"].to_dict()
