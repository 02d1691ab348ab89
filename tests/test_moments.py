"""Moment normalisation (``mojinet.data.moments``): the math on hand-worked shapes, invariance
to a stretched hand, and models that read ``moments`` / ``moments+directions`` through
``Model.inputs`` exactly as the network fed by hand."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

from mojinet.config import RunConfig
from mojinet.data import fontset, kanji
from mojinet.data.directions import InputFeatures, direction_planes
from mojinet.data.images import fit_and_center
from mojinet.data.moments import moment_boxes, moment_normalise
from mojinet.io import load_model
from mojinet.runner import model_split, run

DEJAVU = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


def _rectangle(size: int, top: int, left: int, h: int, w: int) -> np.ndarray:
    a = np.zeros((size, size), dtype=np.float32)
    a[top : top + h, left : left + w] = 1.0
    return a


def test_moment_boxes_of_a_rectangle_by_hand():
    a = _rectangle(28, 3, 5, 12, 6)  # rows 3–14, columns 5–10
    xc, yc, W1, H1 = moment_boxes(a[None].astype(np.float64))
    assert xc[0] == pytest.approx(5 + 3.0) and yc[0] == pytest.approx(3 + 6.0)  # centres of mass
    # n pixels in a row, centred: variance (n² − 1)/12; the box is 4 standard deviations
    assert W1[0] == pytest.approx(4 * np.sqrt((6**2 - 1) / 12))
    assert H1[0] == pytest.approx(4 * np.sqrt((12**2 - 1) / 12))


def test_a_tall_rectangle_is_centred_and_mapped_to_the_sine_aspect():
    a = _rectangle(28, 3, 5, 12, 6)
    out = moment_normalise(a.reshape(-1), (28, 28)).reshape(28, 28)
    xc, yc, W1, H1 = moment_boxes(a[None].astype(np.float64))
    R1 = W1[0] / H1[0]
    want_w, want_h = np.sqrt(np.sin(np.pi / 2 * R1)) * 20, 20.0  # the longer side to the box
    oxc, oyc, oW, oH = moment_boxes(out[None].astype(np.float64))
    assert (oxc[0], oyc[0]) == pytest.approx((14.0, 14.0), abs=0.05)
    assert oH[0] == pytest.approx(want_h, rel=0.04) and oW[0] == pytest.approx(want_w, rel=0.06)
    assert out.dtype == np.float32 and 0.0 <= out.min() and out.max() <= 1.0


def test_a_stretched_hand_normalises_to_nearly_the_same_image():
    ink = fontset.glyph_ink(DEJAVU, "R")
    images = [fit_and_center(np.clip(fontset.transform(ink, np.diag([f, 1 / f])), 0, 1), 28)
              for f in (1.0, 0.75, 1.3)]  # the same letter, narrow and wide
    X = np.stack([a.reshape(-1) for a in images])  # (3, 784)
    N = moment_normalise(X, (28, 28))
    before = np.abs(X[1:] - X[0]).sum(axis=1)  # (2,) L1 distance to the upright letter
    after = np.abs(N[1:] - N[0]).sum(axis=1)
    assert (after < 0.5 * before).all(), (before, after)


def test_blank_images_shapes_and_errors():
    X = np.zeros((2, 64), dtype=np.float32)
    X[1, 9] = 1.0  # one pixel: a box of 0 in both directions
    out = moment_normalise(X, (8, 8))
    assert out.shape == (2, 64) and not out[0].any() and np.isfinite(out).all()
    assert moment_normalise(X[0], (8, 8)).shape == (64,)
    with pytest.raises(ValueError, match="must be \\(n, 64\\)"):
        moment_normalise(np.zeros((2, 63)), (8, 8))


def test_input_features_normalise_then_make_the_planes():
    rng = np.random.default_rng(0)
    X = (rng.random((3, 256)) > 0.8).astype(np.float32)
    moments = InputFeatures("moments", (16, 16))
    both = InputFeatures("moments+directions", (16, 16), 2)
    assert moments.pool == 1 and moments.n_inputs == 256 and not moments.planes
    assert both.planes and both.moments and both.n_inputs == 256 + 4 * 8 * 8
    N = moment_normalise(X, (16, 16))
    np.testing.assert_array_equal(moments(X), N)
    np.testing.assert_array_equal(both(X), np.concatenate([N, direction_planes(N, (16, 16), 2)],
                                                          axis=1))
    assert InputFeatures.from_record(both.record(), (16, 16)) == both


@pytest.mark.parametrize("features", ["moments", "moments+directions"])
def test_a_moments_model_reads_through_its_features(features, tmp_path, monkeypatch):
    monkeypatch.setenv(kanji.CACHE_ENV, str(tmp_path / "cache"))
    out = tmp_path / "m.npz"
    config = RunConfig(dataset="kanjivg", dataset_options={"chars": "一二三", "per_class": 30,
                                                           "test_per_class": 10, "size": 16},
                       hidden=(16,), activation="relu", output_activation="softmax",
                       cost="cross-entropy", eta=0.05, batch_size=16, momentum=0.9, epochs=3,
                       shift=1.0, features=features, direction_pool=2, out=str(out))
    run(config)
    model = load_model(out)
    assert model.preprocessing["features"]["name"] == features
    test = model_split(model)
    by_hand = model.network.feedforward(InputFeatures(features, (16, 16), 2)(test.X))
    np.testing.assert_allclose(model.feedforward(test.X), by_hand, atol=1e-6)
    pixels_only = moment_normalise(test.X, (16, 16))
    if features == "moments":
        np.testing.assert_allclose(model.network.feedforward(pixels_only), by_hand, atol=1e-6)
    assert (model.predict(test.X) == test.y).mean() > 0.6
    from mojinet.export import refuse_features

    with pytest.raises(ValueError, match="moment"):
        refuse_features(model, "an ONNX graph")
