"""Data augmentation: exact identity, known shifts, Gaussian smoothing, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest

from mojinet.data.augment import Augment, describe, gaussian_matrix, sample_bilinear


@pytest.fixture(scope="module")
def digits():
    from mojinet import load_dataset

    return load_dataset("mnist", "test").X[:64]  # (64, 784)


def test_no_distortion_is_the_identity(digits, rng):
    out = Augment((28, 28))(digits, rng)
    assert out is not digits and np.array_equal(out, digits)


def test_bilinear_whole_pixel_shift_moves_the_image():
    img = np.arange(1, 13, dtype=np.float32).reshape(1, 3, 4)  # (1, 3, 4)
    ys, xs = np.meshgrid(np.arange(3.0), np.arange(4.0), indexing="ij")
    shifted = sample_bilinear(img, ys[None] + 1, xs[None] - 1)  # read one row down, one col left
    expected = np.array([[0, 5, 6, 7], [0, 9, 10, 11], [0, 0, 0, 0]], dtype=np.float32)
    np.testing.assert_array_equal(shifted[0], expected)


def test_bilinear_halfway_is_the_mean_and_far_outside_is_background():
    img = np.array([[[0.0, 1.0], [1.0, 1.0]]], dtype=np.float32)  # (1, 2, 2)
    out = sample_bilinear(img, np.array([[[0.5, -50.0], [0.5, 1.5]]]),
                          np.array([[[0.5, 0.0], [80.0, 0.5]]]))
    # centre of the 4 pixels: mean 0.75; far away: 0; (1.5, 0.5): half background, half ink
    np.testing.assert_allclose(out[0], [[0.75, 0.0], [0.0, 0.5]])


def test_gaussian_matrix_matches_a_direct_reflected_convolution(rng):
    n, sigma = 28, 4.0
    G = gaussian_matrix(n, sigma)
    np.testing.assert_allclose(G.sum(axis=1), 1, rtol=1e-6)  # smoothing keeps constants
    v = rng.standard_normal(n)
    radius = int(4 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    # half-sample symmetric padding (d c b a | a b c d | d c b a), valid while radius <= n
    padded = np.concatenate([v[:radius][::-1], v, v[-radius:][::-1]])
    direct = np.convolve(padded, k, mode="valid")
    np.testing.assert_allclose(G @ v, direct, rtol=1e-5, atol=1e-6)


def test_same_seed_same_images_other_seed_other_images(digits):
    aug = Augment((28, 28), rotate=10, scale=0.1, shift=2, elastic_alpha=34, elastic_sigma=4)
    a = aug(digits, np.random.default_rng(5))
    b = aug(digits, np.random.default_rng(5))
    c = aug(digits, np.random.default_rng(6))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == digits.shape and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1  # bilinear interpolation of values in [0, 1]


def test_distortions_are_small(digits, rng):
    """Mild distortions keep most of the ink and move it only a little."""
    aug = Augment((28, 28), rotate=10, scale=0.1, shift=2, elastic_alpha=34, elastic_sigma=4)
    out = aug(digits, rng)
    ink_ratio = out.sum(axis=1) / digits.sum(axis=1)
    assert np.all((ink_ratio > 0.6) & (ink_ratio < 1.5))
    correlation = [np.corrcoef(a, b)[0, 1] for a, b in zip(out, digits)]
    assert np.median(correlation) > 0.3  # still the same character, not noise
    assert np.mean(np.abs(out - digits)) > 0.01  # …but really distorted


def test_elastic_alone_distorts(digits, rng):
    out = Augment((28, 28), elastic_alpha=34, elastic_sigma=4)(digits, rng)
    assert np.mean(np.abs(out - digits)) > 0.01


def test_bad_settings_and_inputs(digits, rng):
    with pytest.raises(ValueError, match="rotate"):
        Augment((28, 28), rotate=-1)
    with pytest.raises(ValueError, match="elastic_sigma"):
        Augment((28, 28), elastic_sigma=0)
    with pytest.raises(ValueError, match="2×2"):
        Augment((1, 5))
    with pytest.raises(ValueError, match=r"rows of 28×28 = 784 pixels"):
        Augment((28, 28), shift=1)(digits[:, :100], rng)


def test_describe():
    assert describe(Augment((28, 28))) == "none"
    text = describe(Augment((28, 28), rotate=10, scale=0.1, shift=2, elastic_alpha=34))
    assert text == "rotate ±10°, scale ±10%, shift ±2 px, elastic α 34, σ 4"
