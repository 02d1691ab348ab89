"""The drawing code shared by the synthetic writer and real strokes (data/render.py): pinned
against the writer's images before the move, the MNIST-style normalisation, and the paper and
scanner options."""

from __future__ import annotations

import hashlib
from importlib import metadata

import numpy as np
import pytest

from mojinet.data import kanji
from mojinet.data.handwriting import STYLES, Style, get_style, render
from mojinet.data.kanjivg import load_glyph
from mojinet.data.render import Scan, center_by_mass, draw
from mojinet.data.strokes import from_glyph, make_sample


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(kanji.CACHE_ENV, str(tmp_path / "cache"))


# SHA-256 of render_images("あゆ町見議国一", 3, size, 7, style).images for every style and size,
# computed with Pillow 13.0.0 and kanjivg 20260714 — first on main at 6b192a9 (before the drawing
# code moved to render.py), re-pinned at GENERATOR_VERSION 3 (centre of mass at size/2, where
# predict puts it, instead of size/2 − ½). PIL draws them: other versions may differ by a pixel.
PINNED_VERSIONS = {"pillow": "13.0.0", "kanjivg": "20260714"}
PINNED = {
    "default-28": "9a1896a9350975504569f65bc2226f5ca6ff6e4cf4cf2f366f1769340b9bd447",
    "default-32": "083a325c4c0bc028a79c3f8bfc36a8a81d196fd5ff391fe970519da5638e5f26",
    "default-48": "85de74cea8c525df768ce2fcac730b63eceb335bda02deddb5f79612a6a5442d",
    "plain-28": "35e247333ef6ab4d4cc65eb4abfa09c48effa4c39fda3ed60ce839d465e8837f",
    "plain-32": "fb6de9262bbe67429f9f67072cc1209f7582da5b899c1e632ddc4cf7b6565009",
    "plain-48": "4ab44bc3034b82ea069dde5e1d0c76095e5c533f0934c74acd29552e796aae56",
    "clean-28": "c29c3edf747610fbe52e928be71f63f409586d29c3972cb0be15ce338fc3b44a",
    "clean-32": "78b435ac26d5303da7ba2a3fc15b681f1566cda245e83398fcb4be20d266fdac",
    "clean-48": "6d7a22b8d9c04e9f39c4d886e9a15cfa22886437844478243175f0804735d881",
    "thin-28": "f498125ef90fc25ff06850d72544a6f95001ab9a58dfea9314893f8d7ee1e23e",
    "thin-32": "14034cdd200ec5f590b8601de2375cd74e5778faedd243fcaf4adeba97a27cd6",
    "thin-48": "e2e506aded8a913842012633942ff16fd41f2cba90c7537ab5d6f592cd354158",
    "thick-28": "bfccabc91dbeaeeb28128e3ad0989ed3346941566a83b2ca758de9b9f9e23901",
    "thick-32": "bb792316c8e29a1e17270a509b1169c25d3e3fdd6d0fa2a508336bfeb702fa02",
    "thick-48": "6f226bf2c4657ab731e1fad52c80fabd99256f18fc34ca4b46d1f441bd173aba",
    "wild-28": "f8c498005a0e53b87fd0d769917b493241a39502975eab02e498e49a74cb3eba",
    "wild-32": "0257ec5113f2656a6de334785e3c299e150b73631cb9b6e42d928685eaefe768",
    "wild-48": "3c08345bdfda2607bf11b5fc345a7c23f886cb94320d24dd69780333793fbae2",
    "varied-28": "f64d214738f57f1ebfc6b7f310779ee95d16466893ce67c70612f328f0c1057e",
    "varied-32": "468b209b362239447ea1a85adec0b53166b4721d5530f8aa3f3f6cc73f1b07f7",
    "varied-48": "5c30d463235e8a4f19e185a6d5dbef8e802de19b86bf2186bea49e28c333648a",
}
MIXTURE = "c9b5836da0614c6dacf165b77e95bec3c28f9c1696be35cf27e5377c794c3a50"  # 山川 plain+wild


def _versions_match() -> bool:
    return all(metadata.version(p) == v for p, v in PINNED_VERSIONS.items())


@pytest.mark.skipif(not _versions_match(), reason=f"images pinned with {PINNED_VERSIONS}")
@pytest.mark.parametrize("key", sorted(PINNED))
def test_writer_images_are_byte_identical_to_the_pinned_ones(key):
    style, size = key.rsplit("-", 1)
    images, _ = kanji.render_images("あゆ町見議国一", 3, int(size), 7, style)
    assert hashlib.sha256(images.tobytes()).hexdigest() == PINNED[key]


@pytest.mark.skipif(not _versions_match(), reason=f"images pinned with {PINNED_VERSIONS}")
def test_style_mixture_is_byte_identical_to_the_pinned_one():
    images, _ = kanji.render_images("山川", 4, 32, 5, ["plain", "wild"])
    assert hashlib.sha256(images.tobytes()).hexdigest() == MIXTURE


def test_pinned_styles_have_no_scan_and_keep_their_cache_keys():
    for name in ("default", "plain", "clean", "thin", "thick", "wild", "varied"):
        assert STYLES[name].scan is None
        assert "scan" not in STYLES[name].to_dict()
    assert STYLES["pencil"].to_dict()["scan"]["pencil"] == [0.4, 0.8]


def _ink_box(a: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(a.max(1) > 0.05), np.flatnonzero(a.max(0) > 0.05)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def _centre(a: np.ndarray) -> np.ndarray:
    r, c = np.indices(a.shape)
    return np.array([(r * a).sum(), (c * a).sum()]) / a.sum()


@pytest.mark.parametrize("size", [28, 32, 48])
def test_real_and_synthetic_strokes_get_the_same_normalisation(size):
    """A real sample (any frame, any size of writing) and the synthetic writer's glyph both end
    with their ink box fitted into 20/28 of the field and their centre of mass in the middle."""
    box = round(size * 20 / 28)
    small_and_offset = make_sample("口", [[(600, 600), (600, 700)], [(600, 600), (650, 600)],
                                          [(650, 600), (650, 700)], [(600, 700), (650, 700)]],
                                   (1000, 1000), "test")
    glyph = load_glyph("口")
    for g, jitter in ((small_and_offset.to_glyph(), False), (glyph, True)):
        a = render(g, size, np.random.default_rng(0), "default", jitter=jitter)
        h, w = _ink_box(a)
        assert max(h, w) in (box - 1, box, box + 1)  # anti-aliased edges: ± one pixel
        assert np.abs(_centre(a) - size / 2).max() <= 0.5 + 1e-9


def test_y_points_down_and_x_right():
    """An L written from the top left down and then to the right: the foot is at the bottom
    and points right (a flipped axis would draw Γ or ⅃)."""
    ell = make_sample("L", [[(100, 100), (100, 900), (700, 900)]], (1000, 1000), "test")
    a = render(ell.to_glyph(), 28, np.random.default_rng(0), "clean", jitter=False)
    rows = np.flatnonzero(a.max(1) > 0.5)
    cols = np.flatnonzero(a.max(0) > 0.5)
    bottom, top = a[rows[-1] - 1 : rows[-1] + 1], a[rows[0] : rows[0] + 2]
    assert bottom.sum() > 3 * top.sum()  # the foot
    left, right = a[:, cols[0] : cols[0] + 2], a[:, cols[-1] - 1 : cols[-1] + 1]
    assert left.sum() > 2 * right.sum()  # the upright stands on the left


def test_kanjivg_sample_draws_like_its_glyph():
    """A KanjiVG glyph converted to a Sample and back draws the same image (to the pixel)."""
    g = load_glyph("町")
    back = from_glyph(g).to_glyph()
    for style in ("clean", "default"):
        a = render(g, 32, np.random.default_rng(5), style)
        b = render(back, 32, np.random.default_rng(5), style)
        assert np.abs(a - b).max() <= 1 / 255 + 1e-6
        assert (np.abs(a - b) > 1e-6).mean() < 0.01


def test_center_by_mass_moves_ink_to_the_middle():
    a = np.zeros((28, 28), np.float32)
    a[2:7, 3:8] = 1.0  # centre of mass (4, 5)
    b = center_by_mass(a)
    assert b.sum() == a.sum()
    assert np.allclose(_centre(b), 14.0)  # MNIST's place, as images.fit_and_center puts it


@pytest.mark.parametrize("size", [28, 32])
def test_the_writer_and_predict_put_a_character_in_the_same_place(size):
    """Drawn characters, written out as dark-on-light pictures and read back the way ``predict``
    and the page read a picture, land where the writer put them: a model trained on the writer's
    images sees a user's drawing where it learned to look (a half-pixel offset between the two,
    a whole pixel after rounding for many characters, cost 20 points on real writers). Both
    centre by whole pixels, so one character may differ by up to a pixel; on average they agree."""
    from PIL import Image

    from mojinet.data.images import to_input

    differences = []
    for i, char in enumerate("あゆ町見国一川ねら"):
        a = render(load_glyph(char), size, np.random.default_rng(i), "clean")  # (size, size)
        page = Image.fromarray(((1 - a) * 255).round().astype(np.uint8))
        b = to_input(page, size=size)
        differences.append(_centre(b) - _centre(a))
    differences = np.array(differences)  # (9, 2) rows, columns
    assert np.abs(differences).max() <= 1.0
    assert np.abs(differences.mean(axis=0)).max() < 0.25


def test_draw_empty_canvas_is_returned_as_is():
    a = draw([np.array([[0.0, 0.0]])], 28, pen=0.0001, supersample=1)
    assert a.shape == (28, 28)


# ----------------------------------------------------------------------------- scan options
def _pencil(**kw) -> Style:
    return get_style("default").with_(scan=Scan(**kw))


def test_scan_off_is_the_plain_drawing_and_on_changes_it():
    g = load_glyph("見")
    plain = render(g, 32, np.random.default_rng(1), "default")
    same = render(g, 32, np.random.default_rng(1), get_style("default").with_(scan=None))
    assert np.array_equal(plain, same)
    scanned = render(g, 32, np.random.default_rng(1), "scan")
    assert scanned.shape == (32, 32) and scanned.dtype == np.float32
    assert 0.0 <= scanned.min() and scanned.max() <= 1.0
    assert not np.array_equal(plain, scanned)


def test_light_grainy_pencil_gives_lighter_patchier_ink_than_black_ink():
    g = load_glyph("三")
    ink = render(g, 32, np.random.default_rng(2), _pencil())
    pencil = render(g, 32, np.random.default_rng(2), _pencil(pencil=(0.45, 0.45), grain=0.6))
    # ink_map stretches contrast to the darkest 0.1 %, so a lighter pencil is not just darker
    # or lighter overall: its grain leaves more mid-grey pixels inside the strokes.
    mid = lambda a: ((a > 0.2) & (a < 0.8)).sum() / (a > 0.2).sum()  # noqa: E731
    assert mid(pencil) > mid(ink) + 0.05


def test_blur_spreads_the_ink():
    g = load_glyph("十")
    sharp = render(g, 32, np.random.default_rng(3), _pencil())
    blurred = render(g, 32, np.random.default_rng(3), _pencil(blur=(1.5, 1.5)))
    assert (blurred > 0.05).sum() > (sharp > 0.05).sum()


def test_jpeg_and_grey_paper_keep_the_character_normalised():
    g = load_glyph("田")
    a = render(g, 28, np.random.default_rng(4), _pencil(paper=(0.3, 0.3), texture=0.01,
                                                       jpeg=(30, 30)))
    h, w = _ink_box(a)
    assert max(h, w) in (19, 20, 21)
    assert a[:2].max() < 0.2 and a[-2:].max() < 0.2  # the grey paper is background, not ink


def test_scanned_images_share_the_writers_centre():
    """Scans go through images.to_input, which puts the centre of mass at size/2, as draw does:
    every style puts the character in the same place."""
    for i, c in enumerate("見町あ"):
        a = render(load_glyph(c), 28, np.random.default_rng(i), "scan")
        assert np.abs(_centre(a) - 14.0).max() <= 0.5 + 1e-9


def test_scan_refuses_impossible_settings():
    with pytest.raises(ValueError, match="out of range"):
        Scan(pencil=(0.1, 0.5))
    with pytest.raises(ValueError, match="JPEG quality"):
        Scan(jpeg=(0, 100))
