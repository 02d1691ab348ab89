"""The server's canvas (``data.canvas``): the compiled rasteriser equals its NumPy reference
(``fastdraw``'s coverage), clipping to the pad changes no pixel, and the work bound holds."""

from __future__ import annotations

import numpy as np
import pytest

from mojinet.data import canvas, fastdraw


def scribbles(seed: int, n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.normal(0, 5, (int(rng.integers(1, 60)), 2)), 0) + rng.uniform(40, 240, 2)
            for _ in range(n)]


@pytest.fixture(scope="module")
def compiled():
    if not fastdraw.HAVE_NUMBA:
        pytest.skip("needs Numba")
    assert canvas.load()
    return canvas._compiled


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("pen", [1.0, 2.5, 18.0, 40.0])
def test_compiled_grey_equals_the_numpy_reference(compiled, seed, pen):
    strokes = scribbles(seed) + [np.array([[17.3, 200.9]])]  # and a dot
    want = (255 - np.rint(255.0 * canvas.coverage(strokes, 280, 240, pen))).astype(np.uint8)
    got = canvas.pad_grey(strokes, 280, 240, pen)
    assert got.shape == (240, 280) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, want)
    assert (got < 255).any()


def test_a_round_pen_makes_a_disk_and_a_black_inside(compiled):
    grey = canvas.pad_grey([np.array([[100.0, 100.0]])], 200, 200, 18.0)
    ys, xs = np.nonzero(grey < 255)
    assert xs.min() >= 90 and xs.max() <= 109 and ys.min() >= 90 and ys.max() <= 109
    assert grey[100, 100] == 0 and grey[100, 107] == 0 and 0 < grey[100, 108] < 255
    assert grey[100, 120] == 255


def test_what_lies_off_the_pad_changes_nothing_and_costs_nothing(compiled):
    inside = [np.array([[20.0, 30.0], [250.0, 260.0]])]
    # the same line, extended far beyond the pad on both sides
    d = np.array([230.0, 230.0]) / np.hypot(230, 230)
    far = [np.array([[20.0, 30.0] - 5000 * d, [250.0, 260.0] + 5000 * d])]
    a, b = canvas.pad_grey(inside), canvas.pad_grey(far)
    # the far line also inks the pad beyond the short one's ends: compare the middle only
    np.testing.assert_array_equal(a[60:230, 60:230], b[60:230, 60:230])
    off = [np.array([[-3000.0, -3000.0], [-2000.0, 5000.0]])]
    assert (canvas.pad_grey(off) == 255).all()
    assert canvas.visits(canvas.capsules(off, 280, 280, 18.0)) == 0
    assert canvas.visits(canvas.capsules(far, 280, 280, 18.0)) < 1_000_000


def test_too_much_work_is_refused():
    many = [np.array([[0.0, 0.0], [1000.0, 1000.0]] * 50) for _ in range(20)]
    with pytest.raises(canvas.TooMuchWork, match="pixel visits"):
        canvas.pad_grey(many, 1000, 1000, 64.0, max_visits=1_000_000)


def test_tiny_and_huge_steps_clip_without_warnings():
    """A step of 1e-310 (schemathesis found the overflow it caused) and one across ±10⁴."""
    strokes = [np.array([[5.0, 5.0], [5.0 + 1e-310, 5.0]]), np.array([[-1e4, 1e4], [1e4, -1e4]])]
    assert (canvas.pad_grey(strokes) < 255).any()


def random_strokes(rng) -> tuple[list[np.ndarray], float, int, int]:
    """Strokes of every kind: dots, repeated points, axis-parallel runs, far off the pad."""
    strokes = []
    for _ in range(int(rng.integers(1, 6))):
        n = int(rng.integers(1, 40))
        pts = rng.normal(140, rng.choice([1, 5, 50, 3000]), (n, 2))
        if rng.random() < 0.2:
            pts = np.round(pts)
        if rng.random() < 0.1 and n > 1:
            pts[1] = pts[0]
        if rng.random() < 0.1:
            pts[:, 0] = pts[0, 0]
        strokes.append(pts)
    pen = float(rng.choice([1.0, 2.5, 18.0, 40.0, 64.0]))
    return strokes, pen, int(rng.integers(8, 400)), int(rng.integers(8, 400))


def test_compiled_capsules_equal_the_numpy_ones(compiled):
    """The compiled layout gives the same points, radii and capsules, number for number (so
    the same drawing, and the same visit count for the work limit)."""
    rng = np.random.default_rng(7)
    empty = 0
    for _ in range(400):
        strokes, pen, w, h = random_strokes(rng)
        want, got = canvas.capsules(strokes, w, h, pen), canvas.compiled_capsules(strokes, w, h,
                                                                                  pen)
        for x, y in ((want.Q, got.Q), (want.r, got.r), (want.a, got.a), (want.b, got.b),
                     (want.image, got.image)):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
        assert canvas.visits(want) == canvas.visits(got)
        empty += len(got.a) == 0
    assert empty > 0  # strokes wholly off the pad were among them


@pytest.mark.parametrize("seed", range(8))
def test_compiled_grey_equals_the_reference_on_random_strokes(compiled, seed):
    strokes, pen, w, h = random_strokes(np.random.default_rng(100 + seed))
    want = (255 - np.rint(255.0 * canvas.coverage(strokes, w, h, pen))).astype(np.uint8)
    np.testing.assert_array_equal(canvas.pad_grey(strokes, w, h, pen), want)


def test_compiled_visits_equal_the_numpy_count(compiled, monkeypatch):
    """The windows' areas summed by NumPy either way: the same count, to the visit (n = 400
    random stroke sets, the empty ones among them)."""
    rng = np.random.default_rng(9)
    layouts = []
    for _ in range(400):
        strokes, pen, w, h = random_strokes(rng)
        layouts.append(canvas.capsules(strokes, w, h, pen))
    got = [canvas.visits(L) for L in layouts]
    monkeypatch.setattr(canvas, "_visits", None)
    assert got == [canvas.visits(L) for L in layouts]
    assert 0 in got and max(got) > 100_000
