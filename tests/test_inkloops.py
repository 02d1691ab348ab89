"""The compiled stroke width (``data.inkloops``) against their NumPy references, exactly."""

import numpy as np
import pytest
from scipy import ndimage

from mojinet.data import images, inkloops, verdict


def masks():
    """Random masks of every density, strokes thick and thin, and degenerate shapes."""
    rng = np.random.default_rng(0)
    out = [np.ones((1, 1), bool), np.ones((1, 7), bool), np.ones((9, 1), bool),
           np.eye(12, dtype=bool), np.eye(12, dtype=bool)[::-1], np.ones((40, 3), bool)]
    for k in range(60):
        h, w = rng.integers(1, 90, 2)
        out.append(rng.random((h, w)) < (k % 10 + 0.5) / 10)
    for _ in range(20):  # strokes: thick random lines of a few pixels' width
        m = np.zeros((120, 90), bool)
        y, x = np.mgrid[:120, :90]
        for _stroke in range(rng.integers(1, 5)):
            (y0, x0), (y1, x1) = rng.uniform(0, 120, 2), rng.uniform(0, 90, 2)
            d = np.abs((x1 - x0) * (y0 - y) - (x0 - x) * (y1 - y0)) / np.hypot(x1 - x0, y1 - y0)
            m |= d < rng.uniform(0.5, 8)
        out.append(m)
    return [m for m in out if m.any()]


def reference_median(mask):
    across = np.minimum(images._runs(mask), images._runs(mask.T).T)
    return float(np.median(across[mask]))


@pytest.fixture(params=["loops", "compiled"])
def kernels(request, monkeypatch):
    """The pure-Python loops, then the compiled ones (skipped without Numba)."""
    if request.param == "compiled":
        if not inkloops.HAVE_NUMBA:
            pytest.skip("numba is not installed")
        inkloops.load()
        return inkloops
    monkeypatch.setattr(inkloops, "across_median_kernel", inkloops._across_median_loops)
    return inkloops


def test_across_median_equals_the_numpy_median(kernels):
    for m in masks():
        assert kernels.across_median(m) == reference_median(m), m.shape


def test_scattered_equals_the_share_outside_the_heaviest_pieces():
    counts = set()
    for m in masks():
        crop = m * np.random.default_rng(m.size).uniform(0.15, 1.0, m.shape)
        labels, n = ndimage.label(m, structure=np.ones((3, 3)))
        mass = np.sort(ndimage.sum_labels(crop, labels, index=np.arange(1, n + 1)))[::-1]
        counts.add(n > verdict.PIECES)
        assert verdict.scattered(crop, m, crop.sum()) == float(mass[verdict.PIECES:].sum()
                                                                / crop.sum())
    assert counts == {False, True}  # both sides of the shortcut were seen


def test_stroke_width_and_features_the_same_compiled_or_not(monkeypatch):
    if not inkloops.HAVE_NUMBA:
        pytest.skip("numba is not installed")
    inks = [m * np.random.default_rng(i).uniform(0.15, 1.0, m.shape) for i, m in enumerate(masks())]
    inkloops.load()
    monkeypatch.setattr(inkloops, "loaded", False)
    reference = [(images.stroke_width(a), verdict.features(a)) for a in inks]
    monkeypatch.setattr(inkloops, "loaded", True)
    assert [(images.stroke_width(a), verdict.features(a)) for a in inks] == reference


def _reference_box(a):
    rows = np.flatnonzero(a.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(a.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _arrays():
    """Masks as bool, uint8 and float (with NaN and negatives), views and empties."""
    rng = np.random.default_rng(1)
    out = []
    for m in masks() + [np.zeros((5, 7), bool), np.zeros((0, 4), bool), np.zeros((3, 0), bool)]:
        out += [m, m.astype(np.uint8) * 7, m * rng.uniform(-1, 1, m.shape)]
        if m.shape[0] > 2 and m.shape[1] > 2:
            out.append(m[1:-1, ::2])  # not contiguous
    f = np.zeros((9, 9))
    f[4, 6] = np.nan  # NaN is nonzero, as numpy's any() says
    return out + [f]


@pytest.mark.skipif(not inkloops.HAVE_NUMBA, reason="numba is not installed")
def test_compiled_ink_box_equals_numpy():
    inkloops.load()
    arrays = _arrays()
    for a in arrays:
        assert inkloops.ink_box(a) == _reference_box(a) == images.ink_box(a), (a.shape, a.dtype)
    assert sum(_reference_box(a) is None for a in arrays) >= 3  # blank ones were seen


def _reference_windows(white, side):
    h, w = white.shape
    s = np.zeros((h + 1, w + 1), dtype=np.int32)
    s[1:, 1:] = white.cumsum(axis=0, dtype=np.int32).cumsum(axis=1, dtype=np.int32)
    count = s[side:, side:] - s[:-side, side:] - s[side:, :-side] + s[:-side, :-side]
    return bool(count.min() > 0)


@pytest.mark.skipif(not inkloops.HAVE_NUMBA, reason="numba is not installed")
def test_compiled_windows_and_order_bytes_equal_numpy():
    inkloops.load()
    seen = set()
    rng = np.random.default_rng(2)
    for m in masks():
        white = ~m
        for side in {1, 2, 3, 5, min(m.shape)}:
            if side <= min(m.shape):
                got = inkloops.windows_hold(white, side)
                assert got == _reference_windows(white, side), (m.shape, side)
                seen.add(got)
        grey = rng.integers(0, 256, m.shape).astype(np.uint8) | (m * 0).astype(np.uint8)
        n = grey.size + int(rng.integers(0, 500))
        for q in (0.0, 50.0, 99.9, 100.0):
            index = (n - 1) * q / 100
            lo = int(np.floor(index))
            hi = min(lo + 1, n - 1)
            counts = np.bincount(grey.ravel(), minlength=256)
            counts[255] += n - grey.size
            at_least = counts[::-1].cumsum()
            want = tuple(255 - int(np.searchsorted(at_least, k, side="right")) for k in (lo, hi))
            assert inkloops.order_bytes(grey, n - grey.size, lo, hi) == want
    assert seen == {True, False}
