"""Aspect jitter (Style.aspect_sigma): off by default, and the fast writer draws it equally."""
import numpy as np
import pytest

from mojinet.data import fastwriter
from mojinet.data.handwriting import STYLES, jitter_strokes, stretch_aspect
from mojinet.data.kanjivg import load_glyph


def test_stretch_aspect_multiplies_ratio_keeping_area():
    Q = np.array([[0.0, 0.0], [20.0, 10.0]])
    R = stretch_aspect(Q, np.log(2.0))
    w, h = R.max(0) - R.min(0)
    assert np.isclose(w / h, 4.0) and np.isclose(w * h, 200.0)


def test_default_off_keeps_cache_key():
    assert "aspect_sigma" not in STYLES["default"].to_dict()
    assert STYLES["default"].with_(aspect_sigma=0.2).to_dict()["aspect_sigma"] == 0.2


@pytest.mark.parametrize("style", [STYLES["default"].with_(aspect_sigma=0.25),
                                   STYLES["fitted-aspect"]], ids=["default-0.25", "fitted-aspect"])
def test_fast_writer_equals_reference(style):
    gs = [load_glyph(c) for c in "一川日木林議"]
    ref = [jitter_strokes(g, style, np.random.default_rng(i)) for i, g in enumerate(gs)]
    fast = fastwriter.jitter_batch(gs, style, [np.random.default_rng(i)
                                               for i in range(len(gs))]).to_lists()
    for a, b in zip(ref, fast):
        for s, t in zip(a, b):
            np.testing.assert_allclose(s, t, atol=1e-9)
    plain = [jitter_strokes(g, style.with_(aspect_sigma=0.0), np.random.default_rng(i))
             for i, g in enumerate(gs)]
    assert any(not np.allclose(a[0], b[0]) for a, b in zip(ref, plain))
