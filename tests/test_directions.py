"""Stroke-direction planes (data/directions.py): a hand-worked example, what a bar lights, the
planes turning with the image, their range and dtype, and the InputFeatures transform."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mojinet.data.directions import InputFeatures, direction_planes, n_direction_inputs

H0, H45, H90, H135 = range(4)


def _planes(image: np.ndarray, pool: int = 1) -> np.ndarray:
    h, w = image.shape
    ph, pw = -(-h // pool), -(-w // pool)
    return direction_planes(image.reshape(1, -1), (h, w), pool).reshape(4, ph, pw)


def test_a_hand_worked_three_by_three():
    """I = the bottom row inked. By hand, with zeros outside:
    (1, 1): gx = 1 − 1 = 0, gy = 0 − (1 + 2 + 1) = −4 → m = 1, φ = −90° + 90° = 0°: plane 0° = 1.
    (1, 0): gx = 1 − 0 = 1, gy = 0 − (2 + 1) = −3 → m = √10/4, φ = atan2(−3, 1) + 90° = 18.43°:
            t = 18.43/45, plane 0° (1 − t)·m, plane 45° t·m; (1, 2) the mirror: 0° and 135°.
    (2, 0): gx = 2·1 + 0 − 0 = 2, gy = 0 → m = ½, φ = 90°: plane 90° = ½; (2, 2) the same.
    Everything else: gx = gy = 0."""
    image = np.zeros((3, 3), np.float32)
    image[2] = 1
    m = math.sqrt(10) / 4
    t = math.degrees(math.atan(1 / 3)) / 45
    want = np.zeros((4, 3, 3))
    want[H0, 1, 1] = 1
    want[H0, 1, 0] = want[H0, 1, 2] = (1 - t) * m
    want[H45, 1, 0] = want[H135, 1, 2] = t * m
    want[H90, 2, 0] = want[H90, 2, 2] = 0.5
    np.testing.assert_allclose(_planes(image), want, atol=1e-6)
    # pooled over 3 × 3: each plane's mean over the one cell
    np.testing.assert_allclose(_planes(image, pool=3)[:, 0, 0], want.sum(axis=(1, 2)) / 9,
                               atol=1e-6)


def _bar(horizontal: bool, size: int = 16) -> np.ndarray:
    image = np.zeros((size, size), np.float32)
    if horizontal:
        image[7:9, 2:14] = 1
    else:
        image[2:14, 7:9] = 1
    return image


def test_a_horizontal_bar_lights_the_horizontal_plane_not_the_vertical():
    totals = _planes(_bar(True)).sum(axis=(1, 2))  # (4,)
    assert totals[H0] > 3 * totals[H90]  # long edges, short ends
    assert totals[H0] > 3 * max(totals[H45], totals[H135])
    vertical = _planes(_bar(False)).sum(axis=(1, 2))
    assert vertical[H90] > 3 * vertical[H0]


def test_a_rising_diagonal_lights_45_not_135():
    image = np.zeros((16, 16), np.float32)
    for i in range(2, 14):  # rows downwards: the line rises to the right
        image[15 - i, i - 1 : i + 1] = 1
    totals = _planes(image).sum(axis=(1, 2))
    assert totals[H45] > 2 * totals[H135]
    mirrored = _planes(image[:, ::-1].copy()).sum(axis=(1, 2))
    np.testing.assert_allclose(mirrored[[H0, H45, H90, H135]], totals[[H0, H135, H90, H45]],
                               rtol=1e-5)


@pytest.mark.parametrize("pool", [1, 2, 4])
def test_turning_the_image_by_90_degrees_turns_the_planes(rng, pool):
    image = (rng.random((16, 16)) > 0.6).astype(np.float32) * rng.random((16, 16), np.float32)
    planes = _planes(image, pool)
    turned = _planes(np.rot90(image).copy(), pool)  # counter-clockwise: 0° → 90°, 45° → 135°
    want = np.rot90(planes[[H90, H135, H0, H45]], axes=(1, 2))
    np.testing.assert_allclose(turned, want, atol=1e-6)


@pytest.mark.parametrize("pool, shape", [(1, (12, 12)), (4, (32, 32)), (3, (10, 7))])
def test_values_in_0_1_float32_and_shape(rng, pool, shape):
    h, w = shape
    X = rng.random((5, h * w)).astype(np.float32)
    X[0] = 0
    X[1] = 1
    X[2] = (rng.random(h * w) > 0.5)  # hard edges: |g| above 4 at corners is clipped
    P = direction_planes(X, shape, pool)
    assert P.dtype == np.float32
    assert P.shape == (5, n_direction_inputs(shape, pool)) == (5, 4 * -(-h // pool) * -(-w // pool))
    assert P.min() >= 0 and P.max() <= 1
    assert not P[0].any()  # a blank page has no strokes
    assert P[2].max() == pytest.approx(1.0) if pool == 1 else P[2].max() > 0
    assert direction_planes(X[3], shape, pool).shape == (1, P.shape[1])  # one image


def test_bad_input_says_what_to_do():
    with pytest.raises(ValueError, match=r"X must be \(n, 64\) images of 8×8"):
        direction_planes(np.zeros((2, 63)), (8, 8))
    with pytest.raises(ValueError, match="pool must be a whole number >= 1"):
        direction_planes(np.zeros((2, 64)), (8, 8), pool=0)
    with pytest.raises(ValueError, match="features must be one of pixels, pixels\\+directions"):
        InputFeatures("edges", (8, 8))


def test_input_features_put_the_planes_after_the_pixels(rng):
    X = rng.random((3, 64)).astype(np.float32)
    pixels = InputFeatures("pixels", (8, 8))
    assert pixels(X) is X and pixels.n_inputs == 64
    both = InputFeatures("pixels+directions", (8, 8), pool=2)
    assert both.n_inputs == 64 + 4 * 16
    out = both(X)
    assert out.shape == (3, both.n_inputs) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :64], X)
    np.testing.assert_array_equal(out[:, 64:], direction_planes(X, (8, 8), 2))
    assert InputFeatures.from_record(both.record(), (8, 8)) == both
    assert InputFeatures.from_record(None, (8, 8)) == pixels == InputFeatures("pixels", (8, 8), 4)
