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
# computed on main at 6b192a9 (before the drawing code moved to render.py) with Pillow 13.0.0 and
# kanjivg 20260714. The drawing is PIL's rasteriser: other versions may differ by a pixel.
PINNED_VERSIONS = {"pillow": "13.0.0", "kanjivg": "20260714"}
PINNED = {
    "default-28": "2b87dbed2c3cf680bc0375030cec37fa2431249246218df661b94b7a1fcd36ff",
    "default-32": "7b1216d37c31c852220cf49fc6c5434c923d38497ac79085040ae71cfc18c784",
    "default-48": "703244bfb304af5ebe460e08a525952aafe41dde972d6fe59203b8598fc0e9de",
    "plain-28": "87e1263328eb39577b7e52f0f81e0339e41bd0b6d26982958f25d748efac3c61",
    "plain-32": "3fbb205c49f6e636fd5276db35c32af9267375975fd9632346a7e0729a4d2c3d",
    "plain-48": "3d02d68e1fd82f66529b6f06b7840ee33476866b7319ce1706182f3d9de08a3e",
    "clean-28": "6f97bda1a2c0553fc831c6cdf332aba9d13749f26e900048b9cf3b654665e8ed",
    "clean-32": "26bf416d8b0144adff2b91447a06d5d154d8dc6cdcc0111674a5ba0c40f78cc4",
    "clean-48": "1b54bcb4dfc55e488ab2cbb45cc4225a79b774bfd635f963ac2c3b5c545f8515",
    "thin-28": "22504d72ca568f7e525cd4de4a8ecf21012f929687c20a4dad2a746c5299870a",
    "thin-32": "dc255bd6355594eee309d8f362b217c6e3fc0415822f7efa3b6b8cf05bd3e7e5",
    "thin-48": "98a383854d3fc009703288ae18069db1e410bea839be361a89a05e21c2141258",
    "thick-28": "1a5e9979ca8de55b925e54ad01507155b6aa1c5263330c37f7fd82e2e4be83bf",
    "thick-32": "252aee1877feec23b0c97a0aace6d1f4f24bb3049b1be12a194d151a65c2ac0d",
    "thick-48": "bca500e40a0fc22dad0e7f39c55236b2bc5183d7d232082f27d546ea5372861c",
    "wild-28": "bc68a4b9cc60324f7e1f2b2b0176d8f63d010b9f27d60aed291e98b9b44b00ae",
    "wild-32": "5df52d3635fe7112663e9dbb55030b05ffaca74ad9e20dc728ff48e0d9c310b7",
    "wild-48": "9f7590c8380ca0cd533fdbedee163362531941754fbe08ddb21b5288e2117eb2",
    "varied-28": "435175812ebe2dde4e0e1ac0ce9fcdc55d56bcb5c5de1e726b14c37505ac4472",
    "varied-32": "2dc4dd25852b29afa27ddc53498a583e37f7067b0e430da09f262501e6014588",
    "varied-48": "2b9f0ddf5eceb7648e23a6671eec09dc11cde2274cfe42ca35b90f21dedc9740",
}
MIXTURE = "b0988c51a845ef23c293988e546ab73a9cf0ee090dd130eab3f3cf235d63b541"  # 山川 plain+wild


def _versions_match() -> bool:
    return all(metadata.version(p) == v for p, v in PINNED_VERSIONS.items())


@pytest.mark.skipif(not _versions_match(), reason=f"images pinned with {PINNED_VERSIONS}")
@pytest.mark.parametrize("key", sorted(PINNED))
def test_writer_images_are_byte_identical_to_before_the_move(key):
    style, size = key.rsplit("-", 1)
    images, _ = kanji.render_images("あゆ町見議国一", 3, int(size), 7, style)
    assert hashlib.sha256(images.tobytes()).hexdigest() == PINNED[key]


@pytest.mark.skipif(not _versions_match(), reason=f"images pinned with {PINNED_VERSIONS}")
def test_style_mixture_is_byte_identical_to_before_the_move():
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
        assert np.abs(_centre(a) - (size / 2 - 0.5)).max() <= 0.5 + 1e-9


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
    a[2:6, 2:6] = 1.0
    b = center_by_mass(a)
    assert b.sum() == a.sum()
    assert np.allclose(_centre(b), 13.5, atol=0.5)


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
    """Scans go through images.to_input (centre of mass at size/2) and are centred again like
    draw (size/2 − 1/2), so that every style puts the character in the same place."""
    for i, c in enumerate("見町あ"):
        a = render(load_glyph(c), 28, np.random.default_rng(i), "scan")
        assert np.abs(_centre(a) - 13.5).max() <= 0.5 + 1e-9


def test_scan_refuses_impossible_settings():
    with pytest.raises(ValueError, match="out of range"):
        Scan(pencil=(0.1, 0.5))
    with pytest.raises(ValueError, match="JPEG quality"):
        Scan(jpeg=(0, 100))
