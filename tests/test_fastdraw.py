"""The fast writer (data/fastdraw.py, data/fastwriter.py) against the readable reference
(handwriting.render, render.draw): the same geometry to rounding, and images within the stated
bounds of what an analytic rasteriser may change; its two backends equal; batches, workers and
the geometry plug-in."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mojinet.data import fastdraw, fastwriter, kanji, render
from mojinet.data.handwriting import (
    HOOKS_FITTED,
    STYLES,
    Style,
    hook_corners,
    jitter_strokes,
    pick_pen,
    pick_pressure,
)
from mojinet.data.kanjivg import load_glyph

CHARS = "あゆ町見議国一山川口"  # kana, crowded kanji, one-stroke and straight-line characters
ROUND = ("plain", "clean")  # the round-pen styles; the others have a broad nib and taper


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(kanji.CACHE_ENV, str(tmp_path / "cache"))


def _rngs(glyphs, round_=0):
    return [np.random.default_rng([3, ord(g.char), round_]) for g in glyphs]


@pytest.mark.parametrize("style", sorted(STYLES))
def test_batched_geometry_is_the_reference_geometry(style):
    """jitter_batch gives jitter_strokes' polylines (to rounding) from the same generators, and
    leaves every generator where the reference leaves it (so pen and scan draws match)."""
    glyphs = [load_glyph(c) for c in CHARS] * 2
    ref_rngs, fast_rngs = _rngs(glyphs), _rngs(glyphs)
    ref = [jitter_strokes(g, STYLES[style], r) for g, r in zip(glyphs, ref_rngs)]
    fast = fastwriter.jitter_batch(glyphs, STYLES[style], fast_rngs).to_lists()
    assert [len(s) for s in fast] == [len(s) for s in ref]
    for A, B in zip(ref, fast):
        for a, b in zip(A, B):
            assert a.shape == b.shape
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-9)
    assert [r.random() for r in ref_rngs] == [r.random() for r in fast_rngs]


def test_other_geometry_is_called_image_by_image():
    """A geometry plug-in (or a Style this module does not know) replaces the batched one."""
    glyphs = [load_glyph(c) for c in "山川"]
    seen = []

    def mirror(glyph, style, rng):
        seen.append(glyph.char)
        return [P * [-1.0, 1.0] + [109.0, 0.0] for P in glyph.strokes]

    a = fastwriter.render_batch(glyphs, 28, _rngs(glyphs), "clean", geometry=mirror)
    b = fastwriter.render_batch(glyphs, 28, _rngs(glyphs), "clean")
    assert seen == ["山", "川"]
    _, diffs = _aligned(a, b[:, :, ::-1])  # mirrored (the centring may round the other way)
    assert diffs.max() <= 1e-6

    @dataclasses.dataclass(frozen=True)
    class NewStyle(Style):
        wobble: float = 1.0

    assert fastwriter.batch_geometry_applies(STYLES["default"])
    assert not fastwriter.batch_geometry_applies(NewStyle())


def _layouts(style, size, n_rounds=2):
    """(reference before centring, fast before centring) for CHARS × n_rounds in ``style``."""
    glyphs = [load_glyph(c) for c in CHARS] * n_rounds
    strokes, pens = [], []
    for g, r in zip(glyphs, _rngs(glyphs)):
        strokes.append(jitter_strokes(g, STYLES[style], r))
        pens.append(pick_pen(STYLES[style], len(g.strokes), size, r))
    pen, nib, taper = (np.array(v) for v in zip(*pens))
    return strokes, pen, nib, taper


def _com(a):
    r, c = np.indices(a.shape[-2:])
    total = a.sum(axis=(-2, -1))
    return np.stack([(a * r).sum(axis=(-2, -1)), (a * c).sum(axis=(-2, -1))], -1) / total[..., None]


@pytest.mark.parametrize("style", ["default", "plain", "thin", "thick", "wild"])
@pytest.mark.parametrize("size", [28, 48])
def test_rasteriser_agrees_with_pil_before_centring(style, size, monkeypatch):
    """The stated differences, before the whole-pixel centring: the centre of mass to 0.4 px
    (0.2 px on average), total ink to 10 % per image (3 % on average), the mean absolute pixel
    difference under 0.03 per image (0.02 on average), and single pixels by up to 0.75 of full
    ink for a round pen (a shaped pen's polygon may leave a hole in PIL: up to 1)."""
    strokes, pen, nib, taper = _layouts(style, size)
    monkeypatch.setattr(render, "center_by_mass", lambda a: a)
    ref = np.stack([render.draw(s, size, p, nib=n, taper=t)
                    for s, p, n, t in zip(strokes, pen, nib, taper)])
    fast = fastdraw.rasterise(fastdraw.layout(strokes, size, pen, nib, taper))
    com = np.abs(_com(fast) - _com(ref)).max(axis=1)
    ink = fast.sum(axis=(1, 2)) / ref.sum(axis=(1, 2))
    diff = np.abs(fast - ref).mean(axis=(1, 2))
    assert com.max() <= 0.4 and com.mean() <= 0.2
    assert np.abs(ink - 1).max() <= 0.10 and abs(ink.mean() - 1) <= 0.03
    assert diff.max() <= 0.03 and diff.mean() <= 0.02
    assert np.abs(fast - ref).max() <= (0.75 if style in ROUND else 1.0)


def _aligned(fast, ref):
    """Per image: the whole-pixel shift (within one pixel) that best aligns fast with ref, and
    the mean absolute difference after it."""
    shifts, diffs = [], []
    for f, r in zip(fast, ref):
        best = min(((np.abs(np.roll(f, (dy, dx), (0, 1)) - r).mean(), (dy, dx))
                    for dy in (0, -1, 1) for dx in (0, -1, 1)), key=lambda x: x[0])
        shifts.append(best[1])
        diffs.append(best[0])
    return np.array(shifts), np.array(diffs)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_fast_engine_images_are_the_reference_images_within_the_bounds(style):
    """Whole images (render_images, both engines): the centring agrees or moves the character
    by one pixel (a centre of mass near a half pixel rounds the other way: at most 35 % of
    images), and after that pixel the mean difference is under 0.05 per image, 0.02 on
    average; the same ink box to 2 pixels. Scan styles run the reference's paper and scanner."""
    ref, _ = kanji.render_images(CHARS, 3, 32, 7, style, engine="reference")
    fast, _ = kanji.render_images(CHARS, 3, 32, 7, style, engine="fast")
    ref, fast = ref / 255.0, fast / 255.0
    shifts, diffs = _aligned(fast, ref)
    assert (shifts != 0).any(axis=1).mean() <= 0.35
    assert diffs.max() <= 0.05 and diffs.mean() <= 0.02
    for f, r in zip(fast, ref):
        # ink: over a quarter of the image's darkest (a light pencil's ink is about 0.5)
        box_f = [np.flatnonzero(f.max(ax) > 0.25 * f.max()) for ax in (0, 1)]
        box_r = [np.flatnonzero(r.max(ax) > 0.25 * r.max()) for ax in (0, 1)]
        assert all(abs(len(range(a[0], a[-1])) - len(range(b[0], b[-1]))) <= 2
                   for a, b in zip(box_f, box_r))


@pytest.mark.skipif(not fastdraw.HAVE_NUMBA, reason="needs Numba (pip install 'mojinet[fast]')")
@pytest.mark.parametrize("style", ["default", "plain", "thin"])
def test_numba_and_numpy_backends_draw_the_same_images(style):
    strokes, pen, nib, taper = _layouts(style, 32)
    L = fastdraw.layout(strokes, 32, pen, nib, taper)
    a, b = fastdraw.rasterise(L, "numba"), fastdraw.rasterise(L, "numpy")
    assert np.abs(a - b).max() <= 1e-6
    assert (np.rint(a * 255) == np.rint(b * 255)).mean() >= 0.9999


def test_an_image_does_not_depend_on_its_batch():
    """Drawn alone or among others, in any order: the same image (so workers and batch sizes
    cannot change a set)."""
    glyphs = [load_glyph(c) for c in CHARS]
    together = fastwriter.render_batch(glyphs, 32, _rngs(glyphs), "default")
    alone = np.stack([fastwriter.render_batch([g], 32, _rngs([g]), "default")[0]
                      for g in glyphs])
    backwards = fastwriter.render_batch(glyphs[::-1], 32, _rngs(glyphs[::-1]), "default")
    assert np.array_equal(together, alone)
    assert np.array_equal(together, backwards[::-1])


def test_workers_draw_the_same_set_as_one_process(monkeypatch):
    monkeypatch.setattr(kanji, "TASK", 20)  # several tasks for the two processes
    one, labels = kanji.render_images("山川口一", 12, 28, 2, ["default", "thin"], engine="fast")
    two, labels2 = kanji.render_images("山川口一", 12, 28, 2, ["default", "thin"],
                                       engine="fast", workers=2)
    assert np.array_equal(one, two) and np.array_equal(labels, labels2)
    # Round i is style i mod 2, as in the reference.
    thin = kanji.render_images("山川口一", 1, 28, 2, "thin", engine="fast")[0]
    again = kanji.render_images("山川口一", 2, 28, 2, ["thin", "default"], engine="fast")[0]
    assert np.array_equal(thin, again[:4])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(4, 20), st.floats(0.0, 0.9))
def test_batched_centring_is_the_reference_centring(seed, size, blank):
    rng = np.random.default_rng(seed)
    a = rng.random((5, size, size)).astype(np.float32)
    a[a < blank] = 0
    a[1] = 0  # a blank image stays blank
    a[2, :, : size // 2] = 0  # ink on one side: moved towards the middle
    expected = np.stack([render.center_by_mass(x) for x in a])
    assert np.array_equal(fastdraw.center_by_mass(a), expected)


def test_fast_strokes_round_trip_and_empty_batch():
    glyphs = [load_glyph(c) for c in "あ一"]
    lists = [list(g.strokes) for g in glyphs]
    back = fastdraw.Strokes.from_lists(lists).to_lists()
    assert all(np.array_equal(a, b) for A, B in zip(lists, back) for a, b in zip(A, B))
    assert fastdraw.draw_batch([], 28, []).shape == (0, 28, 28)
    assert fastwriter.render_batch([], 28, [], "default").shape == (0, 28, 28)
    with pytest.raises(ValueError, match="backend"):
        fastdraw.rasterise(fastdraw.layout(lists, 28, [2.0, 2.0]), "gpu")


@pytest.mark.parametrize("jitter", [False, True])
def test_real_strokes_draw_alike_in_both_engines(jitter):
    """strokeset.render_samples: the fast engine (the default) within the same bounds of the
    reference, for strokes drawn as written and with the writer's distortions on top."""
    from mojinet.data.strokes import from_glyph
    from mojinet.data.strokeset import render_samples

    samples = [from_glyph(load_glyph(c)) for c in CHARS]
    ref = render_samples(samples, 32, 1, ["default", "plain"], jitter, 2, engine="reference")
    fast = render_samples(samples, 32, 1, ["default", "plain"], jitter, 2)
    shifts, diffs = _aligned(fast / 255.0, ref / 255.0)
    assert diffs.max() <= 0.05 and diffs.mean() <= 0.02
    assert (shifts != 0).any(axis=1).mean() <= 0.35
    with pytest.raises(ValueError, match="engine"):
        render_samples(samples, 32, engine="pil")


# SHA-256 of render_images("あゆ町見議国一", 3, size, 7, style, engine="fast").images, computed
# with NumPy 2.4.6, Pillow 13.0.0 (scan styles), kanjivg 20260714 — the same with Numba 0.68.1
# and with the NumPy backend. Other versions may differ in the last bit of a sine, so by a grey
# level here and there: then the test is skipped (and kanji's cache key changes with them).
# The pencil style re-pinned at GENERATOR_VERSION 5 (its thin strokes widened by the photo path).
FAST_PINNED_VERSIONS = {"numpy": "2.4.6", "pillow": "13.0.0", "kanjivg": "20260714"}
FAST_PINNED = {
    "default-28": "17f19add8dfb15566e917f56cf28800e23e5014b56d146ae10289ba2a1af7e25",
    "default-32": "5e97dace14d7a4ad1a87859466b2a7cc2577e7e26ad78a16f204dbcf511db51e",
    "plain-28": "a1b84ab95fa401076c909562694850b21db79af711a349ca0e63d9bd8b8bb18e",
    "plain-32": "ed381cdc62833a03a1276e8c6f4ec5261ffa666295f0626a1f9cc75849e0fc87",
    "thin-28": "1ab949e03f02b25bccbec55ca17304f09f7d680e6a81dad86e25009b73905fcc",
    "thin-32": "8483591c9e5fd2eef180408e5a0426e2d11f698f52f5d614808298a2a168c557",
    "pencil-28": "9cbb2a653f07a73658351c360b6762afd007d219ca937a3ad5a3d9fc9e8ee4a9",
    "pencil-32": "d2527ff5e6057fa376f0fb180fd43b71ea757e8e0c1e85231cdb7f23feb641d0",
}


def _fast_versions_match() -> bool:
    from importlib import metadata

    return all(metadata.version(p) == v for p, v in FAST_PINNED_VERSIONS.items())


@pytest.mark.skipif(not _fast_versions_match(), reason=f"pinned with {FAST_PINNED_VERSIONS}")
@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("key", sorted(FAST_PINNED))
def test_fast_engine_images_are_byte_identical_to_the_pinned_ones(key, backend, monkeypatch):
    import hashlib

    if backend == "numba" and not fastdraw.HAVE_NUMBA:
        pytest.skip("needs Numba")
    monkeypatch.setattr(fastdraw, "HAVE_NUMBA", backend == "numba")
    style, size = key.rsplit("-", 1)
    images, _ = kanji.render_images("あゆ町見議国一", 3, int(size), 7, style, engine="fast")
    assert hashlib.sha256(images.tobytes()).hexdigest() == FAST_PINNED[key]


@pytest.mark.parametrize("join, gap", [(1.0, 1000.0), (0.5, 40.0), (0.3, 15.0)])
def test_joined_strokes_are_the_reference_joins(join, gap):
    """The style parameter ``join``: both writers join the same strokes (one pen-down path
    whose points are the joined strokes' points in order) and leave every generator alike."""
    style = STYLES["fitted"].with_(join=join, join_gap=gap)
    glyphs = [load_glyph(c) for c in CHARS] * 3
    ref_rngs, fast_rngs = _rngs(glyphs), _rngs(glyphs)
    ref = [jitter_strokes(g, style, r) for g, r in zip(glyphs, ref_rngs)]
    fast = fastwriter.jitter_batch(glyphs, style, fast_rngs).to_lists()
    assert [len(s) for s in fast] == [len(s) for s in ref]
    for A, B, g in zip(ref, fast, glyphs):
        np.testing.assert_allclose(np.concatenate(B), np.concatenate(A), rtol=0, atol=1e-9)
        assert [len(b) for b in B] == [len(a) for a in A]
        assert sum(len(a) for a in A) == len(g.points)
    joined = sum(len(g.strokes) - len(s) for g, s in zip(glyphs, ref))
    pairs = sum(len(g.strokes) - 1 for g in glyphs)
    if gap >= 1000:  # every stroke joined: one path per image
        assert [len(s) for s in ref] == [1] * len(glyphs)
    else:
        assert 0 < joined < join * pairs
    assert [r.random() for r in ref_rngs] == [r.random() for r in fast_rngs]


def test_a_style_that_never_joins_draws_and_keys_as_before():
    """``join = 0`` draws no number and leaves the style's cache key as it was, so the shipped
    recipes' images do not change; the joining style is otherwise the fitted one."""
    assert "join" not in STYLES["fitted"].to_dict()
    assert STYLES["fitted-joined"].to_dict()["join"] > 0
    assert STYLES["fitted-joined"].with_(join=0.0) == STYLES["fitted"]
    g = load_glyph("町")
    a = jitter_strokes(g, STYLES["fitted"], np.random.default_rng(5))
    b = jitter_strokes(g, STYLES["fitted"].with_(join_gap=1000.0), np.random.default_rng(5))
    assert len(a) == len(b) == len(g.strokes)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_a_joined_path_is_drawn_with_its_connector():
    """Two strokes of 二 joined: the connector (end of the first to the start of the second)
    puts ink between them where the unjoined strokes leave paper."""
    g = load_glyph("二")
    clean = STYLES["clean"]
    apart = jitter_strokes(g, clean, np.random.default_rng(0))
    together = jitter_strokes(g, clean.with_(join=1.0, join_gap=1000.0), np.random.default_rng(0))
    assert len(apart) == 2 and len(together) == 1
    a = render.draw(apart, 28, 2.0)
    b = render.draw(together, 28, 2.0)
    assert b.sum() > a.sum() + 5  # a diagonal connector of some 10 px at 2 px width


HOOKED = "丁水小手子寸式心"  # a hook (hane) in one stroke each


def _arc(P):
    return float(np.linalg.norm(np.diff(P, axis=0), axis=1).sum())


def test_hook_corners_find_the_flicks_and_nothing_else():
    """Each of HOOKED has one hook, a short tail (3–14 units) after a sharp turn; straight and
    boxy characters, dots and kana curves have none."""
    for c in HOOKED:
        g = load_glyph(c)
        corners = hook_corners(g)
        assert (corners >= 0).sum() == 1, c
        j = int(np.flatnonzero(corners >= 0)[0])
        assert 3.0 <= _arc(g.strokes[j][corners[j]:]) <= 14.0, c
    for c in "一二三口山川田目":
        assert (hook_corners(load_glyph(c)) == -1).all(), c


@pytest.mark.parametrize("changes", [HOOKS_FITTED, dict(hook_drop=1.0),
                                     dict(hook_scale=2.0), dict(hook_drop=0.5, hook_scale_sd=1.0)])
def test_hooks_are_the_reference_hooks(changes):
    """Both writers move the same hook points by the same factors and leave every generator
    alike."""
    style = STYLES["fitted"].with_(**changes)
    glyphs = [load_glyph(c) for c in HOOKED + CHARS] * 2
    ref_rngs, fast_rngs = _rngs(glyphs), _rngs(glyphs)
    ref = [jitter_strokes(g, style, r) for g, r in zip(glyphs, ref_rngs)]
    fast = fastwriter.jitter_batch(glyphs, style, fast_rngs).to_lists()
    for A, B in zip(ref, fast):
        assert [len(b) for b in B] == [len(a) for a in A]
        np.testing.assert_allclose(np.concatenate(B), np.concatenate(A), rtol=0, atol=1e-9)
    assert [r.random() for r in ref_rngs] == [r.random() for r in fast_rngs]


@pytest.mark.parametrize("f", [0.0, 0.5, 2.0])
def test_a_hook_is_drawn_f_times_as_long(f):
    """On the clean glyph, factor f makes the hook's tail f times as long, about its corner
    (f = 0: the stroke ends at the corner), and leaves the rest of every stroke in place."""
    g = load_glyph("丁")
    corners = hook_corners(g)
    style = STYLES["clean"].with_(hook_drop=1.0 if f == 0 else 0.0, hook_scale=f or 1.0)
    varied = jitter_strokes(g, style, np.random.default_rng(0))
    for P, Q, c in zip(g.strokes, varied, corners):
        if c < 0:
            np.testing.assert_allclose(Q, P, atol=1e-9)
            continue
        np.testing.assert_allclose(Q[: c + 1], P[: c + 1], atol=1e-9)
        assert _arc(Q[c:]) == pytest.approx(f * _arc(P[c:]), rel=1e-9)
    if f == 0:
        assert render.draw(varied, 28, 2.0).sum() < render.draw(list(g.strokes), 28, 2.0).sum()


def test_a_style_without_hooks_draws_and_keys_as_before():
    """Hooks off (the default) draw no number and keep the cache key, so every other style's
    images stay as they were (the pinned images above hold that for the shipped styles); hooks
    on draw theirs after the rest."""
    assert "hook_drop" not in STYLES["fitted"].to_dict()
    assert STYLES["fitted-hooks"].to_dict()["hook_drop"] == HOOKS_FITTED["hook_drop"]
    assert STYLES["fitted-hooks"].with_(hook_drop=0.0, hook_scale=1.0,
                                        hook_scale_sd=0.0) == STYLES["fitted"]
    g = load_glyph("丁")
    plain, hooked = np.random.default_rng(1), np.random.default_rng(1)
    a = jitter_strokes(g, STYLES["fitted"], plain)
    b = jitter_strokes(g, STYLES["fitted"].with_(hook_scale=1.5), hooked)
    np.testing.assert_array_equal(a[0], b[0])  # the same draws up to the hooks …
    assert not np.allclose(a[1], b[1])  # … then the hook of 亅 drawn longer
    assert plain.random() != hooked.random()  # the hooks' draws came after the rest


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_pressure_widens_its_stroke_only(engine):
    """A pressure factor of 2 on the first stroke of 二 puts more ink there and leaves the other
    stroke's ink as it was; factors of 1 draw the image drawn without any."""
    g = load_glyph("二")
    strokes = list(g.strokes)
    draw = render.draw if engine == "reference" else fastdraw.draw
    plain = draw(strokes, 48, 2.0, nib=0.6)
    pressed = draw(strokes, 48, 2.0, nib=0.6, pressure=np.array([2.0, 1.0]))
    np.testing.assert_array_equal(draw(strokes, 48, 2.0, nib=0.6, pressure=np.ones(2)), plain)
    (top, bottom), (top_pressed, bottom_pressed) = _two_strokes(plain), _two_strokes(pressed)
    assert top_pressed > 1.3 * top
    assert bottom_pressed == pytest.approx(bottom, rel=0.05)


def _two_strokes(image):
    """The ink above and below the widest run of blank rows of ``image`` (二's two strokes)."""
    rows = np.flatnonzero(image.sum(axis=1) > 0)
    gap = rows[np.argmax(np.diff(rows))] + 1
    return image[:gap].sum(), image[gap:].sum()


def test_pressure_is_drawn_per_path_and_only_when_asked():
    """One draw a stroke, the first n_paths used (joined strokes share their path's), nothing
    drawn without pressure (the images of both engines are held together for the style
    "fitted-pressure" by the test over every style above)."""
    rng = np.random.default_rng(0)
    assert pick_pressure(STYLES["fitted"], 5, 5, rng) is None
    assert rng.random() == np.random.default_rng(0).random()
    a = pick_pressure(STYLES["fitted-pressure"], 5, 3, np.random.default_rng(1))
    b = pick_pressure(STYLES["fitted-pressure"], 5, 5, np.random.default_rng(1))
    assert a.shape == (3,) and b.shape == (5,)
    np.testing.assert_array_equal(a, b[:3])
    assert np.std(np.log(pick_pressure(STYLES["fitted-pressure"], 4000, 4000,
                                       np.random.default_rng(2)))) == pytest.approx(0.25, rel=0.05)
