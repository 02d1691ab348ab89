"""Fonts as more training writers (``mojinet.data.fontset``, kanjivg's ``fonts`` option), on real
font files: matplotlib's DejaVu Sans (always there) and Noto Sans CJK (fonts-noto-cjk, which CI
installs)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from mojinet.data import fontset, kanji
from mojinet.data.handwriting import STYLES, Style
from mojinet.data.images import ink_box

ROOT = Path(__file__).resolve().parents[1]
DEJAVU = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
NOTO = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
STILL = Style(rotation=(0, 0), shear=(0, 0), aspect=(1, 1))  # no whole-character variation


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(kanji.CACHE_ENV, str(tmp_path / "cache"))


def _box_ratio(ink: np.ndarray) -> float:
    rows, cols = ink_box(ink > 0.5)
    return (cols.stop - cols.start) / (rows.stop - rows.start)


def test_font_images_labels_repeats_and_missing_characters():
    X, y, missing = fontset.font_images(DEJAVU, "AあB", 28, STYLES["fitted"], repeat=3, seed=0)
    assert X.shape == (6, 28, 28) and X.dtype == np.float32
    assert y.tolist() == [0, 0, 0, 2, 2, 2]  # あ is not in DejaVu Sans: skipped, counted
    assert missing == {DEJAVU: "あ"}
    assert 0.0 <= X.min() and X.max() <= 1.0 and (X.reshape(6, -1).max(axis=1) > 0.5).all()
    assert not np.array_equal(X[0], X[1])  # each draw its own variation
    again, _, _ = fontset.font_images(DEJAVU, "AあB", 28, STYLES["fitted"], repeat=3, seed=0)
    np.testing.assert_array_equal(X, again)
    other, _, _ = fontset.font_images(DEJAVU, "AあB", 28, STYLES["fitted"], repeat=3, seed=1)
    assert not np.array_equal(X, other)
    alone, _, _ = fontset.font_images(DEJAVU, "B", 28, STYLES["fitted"], repeat=3, seed=0)
    np.testing.assert_array_equal(alone, X[3:])  # a character draws the same beside others


def test_the_aspect_draw_stretches_the_glyph_keeping_its_area():
    ink = fontset.glyph_ink(DEJAVU, "O")
    rng = np.random.default_rng(0)
    A = fontset.character_map(STILL.with_(aspect=(2.25, 2.25)), rng)  # α = 1.5
    np.testing.assert_allclose(A, np.diag([1.5, 1 / 1.5]))
    wide = fontset.transform(ink, A)
    assert _box_ratio(wide) == pytest.approx(2.25 * _box_ratio(ink), rel=0.08)
    assert wide.sum() == pytest.approx(ink.sum(), rel=0.03)  # det A = 1
    np.testing.assert_allclose(fontset.transform(ink, np.eye(2)), ink, atol=1e-6)


def test_aspect_sigma_spreads_the_aspect_of_the_drawings():
    rng = np.random.default_rng(0)
    logs = [np.log(fontset.character_map(STILL.with_(aspect_sigma=0.3), rng)[0, 0] ** 2)
            for _ in range(400)]  # log(width/height multiplier) = ε ~ N(0, 0.3)
    assert np.std(logs) == pytest.approx(0.3, rel=0.12)
    assert all(fontset.character_map(STILL, rng)[0, 0] == 1.0 for _ in range(5))


def test_pen_weight_thins_and_thickens():
    ink = fontset.glyph_ink(DEJAVU, "H")
    assert fontset.pen_weight(ink, -1).sum() < ink.sum() < fontset.pen_weight(ink, 1).sum()
    assert fontset.pen_weight(ink, 0) is ink


def test_bad_font_paths_are_refused_with_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="not a file"):
        fontset.font_paths(str(tmp_path / "nothing.ttf"))
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font at all")
    with pytest.raises(ValueError, match="does not open as a font"):
        fontset.font_paths(f"{DEJAVU},{junk}")
    with pytest.raises(ValueError, match="at least one font"):
        fontset.font_paths(" , ")
    with pytest.raises(ValueError, match="none of"):
        fontset.font_images(DEJAVU, "あい", 28, STILL, repeat=1)


@pytest.mark.skipif(not Path(NOTO).exists(), reason="needs fonts-noto-cjk (CI installs it)")
def test_kanjivg_training_split_gains_the_fonts_glyphs_test_split_does_not():
    from mojinet.data.registry import load_dataset

    options = dict(chars="一二", per_class=2, test_per_class=2, size=28)
    base = load_dataset("kanjivg", "train", **options)
    more = load_dataset("kanjivg", "train", fonts=NOTO, fonts_repeat="3", **options)
    assert len(more) == len(base) + 2 * 3
    np.testing.assert_array_equal(more.X[: len(base)], base.X)
    assert more.y[len(base):].tolist() == [0, 0, 0, 1, 1, 1]
    X, _, _ = fontset.font_images(NOTO, "一二", 28, STYLES["default"], 3, seed=kanji.TRAIN_SEED)
    np.testing.assert_array_equal(more.X[len(base):], X.reshape(6, -1))
    test = load_dataset("kanjivg", "test", fonts=NOTO, **options)
    assert len(test) == len(load_dataset("kanjivg", "test", **options))
    with pytest.raises(ValueError, match="fonts_repeat"):
        load_dataset("kanjivg", "train", fonts=NOTO, fonts_repeat=0, **options)


def test_fonts_benchmark_marks_trained_and_related_fonts(tmp_path):
    spec = importlib.util.spec_from_file_location("kanji_fonts",
                                                  ROOT / "benchmarks" / "kanji_fonts.py")
    kf = importlib.util.module_from_spec(spec)
    sys.modules["kanji_fonts"] = kf
    spec.loader.exec_module(kf)
    family = tmp_path / "family"
    family.mkdir()
    for name in ("Regular.ttf", "Bold.ttf"):
        (family / name).write_bytes(Path(DEJAVU).read_bytes())
    lone = tmp_path / "Other.ttf"
    lone.write_bytes(Path(DEJAVU).read_bytes())

    class Trained:
        training = {"config": {"dataset": "kanjivg",
                               "dataset_options": {"fonts": f"{family / 'Regular.ttf'}"}}}

    trained = fontset.trained_fonts(Trained())
    assert trained == {"Regular.ttf"}
    face = lambda p: kf.Face("other", p.name, str(p))  # noqa: E731
    assert kf.seen(face(family / "Regular.ttf"), trained) == "trained"
    assert kf.seen(face(family / "Bold.ttf"), trained) == "related"
    assert kf.seen(face(lone), trained) == ""
    assert fontset.trained_fonts(type("M", (), {"training": {}})()) == set()
