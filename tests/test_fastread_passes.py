"""The clean read's two compiled passes (``inkloops.clean_scan``, ``inkloops.ink_facts``) and
what they count (``images.InkFacts``) against the NumPy and SciPy references, exactly: the
same decisions, the same ink, the same box, pixels, stroke width and pieces, so the fit and
the verdict given the counts give what they give without them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage

from mojinet.data import canvas, fastread, images, inkloops, paper, verdict
from test_inkloops import _reference_windows, masks, reference_median

pytestmark = pytest.mark.skipif(not inkloops.HAVE_NUMBA, reason="numba is not installed")


@pytest.fixture(autouse=True, scope="module")
def compiled():
    inkloops.load()
    canvas.load()


def reference_facts(ink: np.ndarray) -> tuple:
    """(box, pixels, width, pieces) of an ink map by NumPy and SciPy."""
    mask = ink > 0
    _, pieces = ndimage.label(mask, structure=np.ones((3, 3)))
    dark = ink >= 0.5
    width = reference_median(dark) if dark.any() else 0.0
    return images.ink_box(mask), int(np.count_nonzero(mask)), width, pieces


def facts_of(g: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, tuple]:
    """``ink_facts`` of bytes g through ``levels``: (ink written, (box, n, rows, cols, width,
    pieces))."""
    ink = np.zeros(g.shape)
    top, bottom, left, right, n, rows, cols, width, pieces = inkloops.ink_facts(g, levels, ink)
    box = None if top < 0 else (slice(top, bottom), slice(left, right))
    return ink, (box, n, rows, cols, width, pieces)


def levels_tables(rng: np.random.Generator):
    """Tables of ink levels: the read's own (``ink_levels``) and random ones with 0s."""
    out = [fastread.ink_levels(p) for p in (0.1, 0.5, 1.0)]
    for _ in range(3):
        t = rng.uniform(0, 1, 256)
        t[rng.random(256) < 0.3] = 0.0
        out.append(t)
    return out


def test_ink_facts_equal_numpy_and_scipy_on_every_kind_of_mask():
    """n = 80 masks (random of every density, thin and thick strokes, lines, a pixel) × 6
    tables, as arrays and as views that are not contiguous."""
    rng = np.random.default_rng(6)
    many = False
    for m in masks() + [np.zeros((6, 5), bool)]:
        g = np.where(m, rng.integers(0, 255, m.shape), 255).astype(np.uint8)
        for levels in levels_tables(rng):
            levels = levels.copy()
            levels[255] = 0.0  # paper
            for view in (g, np.pad(g, 2, constant_values=255)[2:-2, 2:-2]):
                ink, (box, n, rows, cols, width, pieces) = facts_of(view, levels)
                want = levels[view]
                assert np.array_equal(ink, want)
                assert (box, n, width, pieces) == reference_facts(want), view.shape
                assert np.array_equal(rows, (want > 0).sum(axis=1))
                assert np.array_equal(cols, (want > 0).sum(axis=0))
                many |= pieces > verdict.PIECES
    assert many  # masks with more pieces than the verdict keeps were seen


def test_ink_facts_of_nothing_a_pixel_and_a_full_box():
    levels = fastread.ink_levels(1.0)
    _, facts = facts_of(np.full((4, 5), 255, np.uint8), levels)
    assert facts[0] is None and facts[1] == 0 and facts[5] == 0
    g = np.full((4, 5), 255, np.uint8)
    g[3, 4] = 0
    _, (box, n, _, _, width, pieces) = facts_of(g, levels)
    assert (box, n, width, pieces) == ((slice(3, 4), slice(4, 5)), 1, 1.0, 1)
    _, (box, n, _, _, width, pieces) = facts_of(np.zeros((3, 7), np.uint8), levels)
    assert (box, n, width, pieces) == ((slice(0, 3), slice(0, 7)), 21, 3.0, 1)


def reference_scan(grey: np.ndarray, window: int, lo: int, hi: int) -> tuple:
    """``clean_scan``'s answer computed by NumPy (the tests it replaces)."""
    h, w = grey.shape
    if not ((grey[0] == 255).all() and (grey[-1] == 255).all() and (grey[:, 0] == 255).all()
            and (grey[:, -1] == 255).all()):
        return (1,)
    box = images.ink_box(grey != 255)
    if box is None:
        return (2,)
    white = grey[box] >= fastread.BRIGHT
    if min(white.shape) >= window and not _reference_windows(white, window):
        return (3,)
    counts = np.bincount(grey.ravel(), minlength=256)
    at_least = counts[::-1].cumsum()
    a, b = (255 - int(np.searchsorted(at_least, k, side="right")) for k in (lo, hi))
    return 0, box[0].start, box[0].stop, box[1].start, box[1].stop, a, b


def test_clean_scan_equals_the_numpy_tests():
    """n = 400 pages: white with dark blocks of every size (so some hold a whole paper
    window), specks, bytes just either side of ``BRIGHT``, ink on the border, blank."""
    rng = np.random.default_rng(7)
    codes, black = set(), set()
    for k in range(400):
        h, w = (int(v) for v in rng.integers(3, 60, 2))
        grey = np.full((h, w), 255, np.uint8)
        for _ in range(int(rng.integers(0, 4))):
            y, x = rng.integers(0, h), rng.integers(0, w)
            bh, bw = rng.integers(1, h + 1), rng.integers(1, w + 1)
            grey[y:y + bh, x:x + bw] = rng.choice([0, 90, fastread.BRIGHT - 1, fastread.BRIGHT])
        grey[rng.random((h, w)) < 0.02] = rng.integers(0, 255)
        if k % 2:  # keep the border white in half of them
            grey[[0, -1]], grey[:, [0, -1]] = 255, 255
        window = int(rng.integers(1, max(2, min(h, w))))
        _, lo, hi = fastread._order_index(grey.size, float(rng.choice([0.0, 50.0, 99.9, 100.0])))
        got = inkloops.clean_scan(grey, fastread.BRIGHT, window, lo, hi)
        want = reference_scan(grey, window, lo, hi)
        assert got[:len(want)] == want, (k, got, want)
        codes.add(want[0])
        if want[0] == 0:  # the order statistics by the count of 0s, or from the histogram
            black.add(int((grey == 0).sum()) >= grey.size - lo)
    assert codes == {0, 1, 2, 3} and black == {False, True}


def reference_read(grey: np.ndarray, size: int = 28, box: int | None = 20):
    """``read_clean_grey`` as the NumPy reference computes it (None: not clean)."""
    found = fastread.clean_grey_ink(grey)
    if found is None:
        return None
    ink, contrast = found
    return images.Reading(images.fit_and_center(ink, size, box), ink, "clean", contrast)


def assert_read_equal(grey: np.ndarray, size: int = 28, box: int | None = 20) -> bool:
    """The compiled read of ``grey`` equals the reference (and, when clean, ``read_image``'s
    clean reading); its facts are the references' counts and give the same features, verdict
    and fit. Whether it was clean."""
    got, want = fastread.read_clean_grey(grey, size, box), reference_read(grey, size, box)
    assert (got is None) == (want is None)
    if got is None:
        return False
    assert got.contrast == want.contrast and got.paper == want.paper == "clean"
    assert np.array_equal(got.ink, want.ink) and np.array_equal(got.x, want.x)
    assert got.x.dtype == want.x.dtype == np.float32
    f = got.facts
    assert (f.box, f.n, f.width, f.pieces) == reference_facts(want.ink)
    assert verdict.features(got.ink, got.contrast, f) == verdict.features(want.ink, want.contrast)
    assert (verdict.judge(got.ink, got.contrast, 0.4, 10, f)
            == verdict.judge(want.ink, want.contrast, 0.4, 10))
    ref = images.read_image(Image.fromarray(grey, "L"), size=size, box=box)
    assert np.array_equal(got.x, ref.x) and np.array_equal(got.ink, ref.ink)
    assert got.contrast == ref.contrast and ref.paper == "clean"
    return True


def stroke_lists(rng: np.random.Generator, n: int) -> list[list[np.ndarray]]:
    """n lists of 1–5 strokes of 1–7 points (1: a dot), one list in five dragged off the pad."""
    out = []
    for i in range(n):
        lo, hi = (-20, 300) if i % 5 == 0 else (30, 250)
        out.append([rng.uniform(lo, hi, (int(rng.integers(1, 8)), 2))
                    for _stroke in range(int(rng.integers(1, 6)))])
    return out


def test_page_strokes_read_exactly_as_the_reference():
    """n = 150 pads of 1–5 random strokes (dots among them, some dragged off the pad so the
    ink touches the border and the read declines), pens 1–30 px."""
    rng = np.random.default_rng(8)
    clean = 0
    for strokes in stroke_lists(rng, 150):
        pen = float(rng.uniform(1, 30))
        clean += assert_read_equal(canvas.pad_grey(strokes, 280, 280, pen))
    assert 40 < clean < 150  # both kinds were seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(st.floats(-30, 310), st.floats(-30, 310)), min_size=1,
                         max_size=6), min_size=1, max_size=4),
       st.floats(1.0, 60.0), st.sampled_from([(280, 280), (200, 320), (64, 64)]))
def test_random_strokes_read_exactly_as_the_reference(strokes, pen, pad):
    arrays = [np.array(s, dtype=np.float64) for s in strokes]
    assert_read_equal(canvas.pad_grey(arrays, pad[0], pad[1], pen))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(12, 90), st.integers(12, 90),
       st.floats(0.0, 0.2), st.sampled_from([0, 40, 128, 200, 254]))
def test_random_pictures_read_exactly_as_the_reference(seed, h, w, density, dark):
    """White pages with specks (many pieces: the verdict's labelling then runs), blocks and
    grey levels; the border white or not."""
    rng = np.random.default_rng(seed)
    grey = np.full((h, w), 255, np.uint8)
    spots = rng.random((h, w)) < density
    grey[spots] = rng.integers(dark, 256, int(spots.sum()))
    if seed % 3:
        grey[[0, -1]], grey[:, [0, -1]] = 255, 255
    assert_read_equal(grey, 28, None)


def test_edge_cases_read_as_the_reference():
    blank = np.full((280, 280), 255, np.uint8)
    assert not assert_read_equal(blank)  # no ink: the reference says it is blank
    pixel = blank.copy()
    pixel[140, 140] = 0
    assert not assert_read_equal(pixel)  # one pixel: under the 99.9th percentile, blank
    assert assert_read_equal(canvas.pad_grey([np.array([[140.0, 140.0]])]))  # the pen's dot
    faint = blank.copy()
    faint[100:120, 100:120] = 250
    assert not assert_read_equal(faint)  # too faint to read
    border = blank.copy()
    border[0, 5:40] = 0
    assert not assert_read_equal(border)  # ink touching the border
    assert assert_read_equal(canvas.pad_grey([np.array([[1.0, 1.0]])], 280, 280, 18.0)) is False
    square = blank.copy()
    window = round(paper.WINDOW * 280)
    square[50:50 + window, 60:60 + window] = 0
    assert not assert_read_equal(square)  # a whole paper window of ink: not provably flat
    square[50, 60] = 255  # one bright pixel in it: flat
    assert assert_read_equal(square)
    ruled = blank.copy()
    ruled[60:62, 2:-2] = ruled[120:122, 2:-2] = 0
    ruled[80:100, 100:110] = 0
    assert not assert_read_equal(ruled)  # ruled lines: the reference unrules them
    assert not assert_read_equal(np.full((2, 9), 255, np.uint8))  # too small to decide
    assert not assert_read_equal(np.full((600, 40), 255, np.uint8))  # over WORK_SIDE


def test_thin_strokes_are_evened_by_the_reference_fit():
    """Facts whose width is under ``THIN`` of the box: the fit evens the strokes as it does
    without facts (the facts only skip work when nothing changes)."""
    grey = np.full((280, 280), 255, np.uint8)
    grey[40:240, 139] = 0  # a 1-pixel line, 200 long: thin
    got = fastread.read_clean_grey(grey)
    assert images._thin(got.facts.width, got.facts.box)
    assert assert_read_equal(grey)


def test_without_the_compiled_loops_the_reference_reads(monkeypatch):
    grey = canvas.pad_grey([np.array([[50.0, 60.0], [200.0, 220.0]])], 280, 280, 18.0)
    monkeypatch.setattr(inkloops, "loaded", False)
    got = fastread.read_clean_grey(grey)
    assert got.facts is None
    want = reference_read(grey)
    assert np.array_equal(got.x, want.x) and got.contrast == want.contrast


def _padded_correlation(a, shape=None, sides=(True,) * 4):
    """``verdict.neighbour_correlation`` as it was, framing the box with ``np.pad``."""
    if shape is None:
        shape, sides = a.shape, (True,) * 4
    h, w = shape
    inside = not any(sides)
    a = np.pad(a, 1)
    for side, edge in zip(sides, (a[0], a[-1], a[:, 0], a[:, -1]), strict=True):
        if side:
            edge[:] = np.nan
    total = square = 0.0
    if inside:
        total, square = float(a.sum()), float(np.vdot(a, a))
    best = 0.0
    for (u, v), pairs in (((a[:, :-1], a[:, 1:]), h * (w - 1)), ((a[:-1], a[1:]), (h - 1) * w),
                          ((a[:-1, :-1], a[1:, 1:]), (h - 1) * (w - 1)),
                          ((a[:-1, 1:], a[1:, :-1]), (h - 1) * (w - 1))):
        if pairs == 0:
            continue
        if inside:
            su = sv = total
            uu = vv = square
            uv = float(np.einsum("ij,ij->", u, v))
        else:
            both = ~(np.isnan(u) | np.isnan(v))
            u, v = u[both], v[both]
            su, sv = float(u.sum()), float(v.sum())
            uu, vv, uv = float(np.vdot(u, u)), float(np.vdot(v, v)), float(np.vdot(u, v))
        var_u, var_v = max(uu - su * su / pairs, 0.0), max(vv - sv * sv / pairs, 0.0)
        den = float(np.sqrt(var_u * var_v))
        if den > 1e-12 * pairs:
            best = max(best, (uv - su * sv / pairs) / den)
    return best


def test_the_framed_correlation_equals_the_padded_one():
    """n = 80 masks × float64 and float32, inside the picture and on each side of it."""
    rng = np.random.default_rng(10)
    for m in masks():
        for dtype in (np.float64, np.float32):
            a = (m * rng.uniform(0.15, 1.0, m.shape)).astype(dtype)
            shape = (m.shape[0] + 9, m.shape[1] + 5)
            for sides in ((False,) * 4, (True, False, False, True), (True,) * 4):
                assert (verdict.neighbour_correlation(a, shape, sides)
                        == _padded_correlation(a, shape, sides))
            assert verdict.neighbour_correlation(a) == _padded_correlation(a)


def test_the_fits_float32_samples_equal_numpys():
    """``times_255`` against ``(crop * 255).astype(np.float32)``: n = 300 crops, views and
    whole arrays, values from 0 to far past 1 (float32 overflows to inf as NumPy's does)."""
    rng = np.random.default_rng(11)
    for k in range(300):
        h, w = (int(v) for v in rng.integers(1, 120, 2))
        a = rng.random((h + 3, w + 5)) * float(rng.choice([1.0, 1e-3, 1e5, 1e40]))
        for crop in (a, a[1:-2, 2:-3]):
            got = inkloops.times_255(crop)
            with np.errstate(over="ignore"):
                want = (crop * 255).astype(np.float32)
            assert got.dtype == want.dtype and np.array_equal(got, want), k
