"""KanjiVG parsing, synthetic handwriting, character sets and the synthetic datasets."""

from __future__ import annotations

import numpy as np
import pytest

from mojinet.data import kanji
from mojinet.data.handwriting import STYLES, Style, jitter_strokes, render
from mojinet.data.kanjivg import (
    KanjiVGError,
    flatten,
    load_glyph,
    parse_path,
    parse_svg,
    svg_path,
)
from mojinet.data.render import draw


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(kanji.CACHE_ENV, str(tmp_path / "cache"))


# ----------------------------------------------------------------------------- path data
def test_parse_path_relative_cubic_is_made_absolute():
    (seg,) = parse_path("M10,20c0,10,10,10,10,0")
    np.testing.assert_allclose(seg, [[10, 20], [10, 30], [20, 30], [20, 20]])


def test_parse_path_smooth_cubic_reflects_previous_control_point():
    a, b = parse_path("M0,0C0,10,10,10,10,0S20,-10,20,0")
    np.testing.assert_allclose(a[3], [10, 0])
    np.testing.assert_allclose(b, [[10, 0], [10, -10], [20, -10], [20, 0]])
    # relative s: the same curve written relative to (10, 0)
    a2, b2 = parse_path("M0,0C0,10,10,10,10,0s10-10,10,0")
    np.testing.assert_allclose(b2, b)


def test_parse_path_lines_and_implicit_lineto():
    segs = parse_path("M1,1 2,1 l0,2 H5 v-1 L1 1z")
    ends = [s[3].tolist() for s in segs]
    assert ends == [[2, 1], [2, 3], [5, 3], [5, 2], [1, 1]]
    # lines are straight cubics: control points on the chord at 1/3 and 2/3
    np.testing.assert_allclose(segs[1][1:3], [[2, 1 + 2 / 3], [2, 1 + 4 / 3]])


def test_parse_path_numbers_without_separators():
    (seg,) = parse_path("M1.5.5c.5-1-1.5.25e1,2,2")
    np.testing.assert_allclose(seg[0], [1.5, 0.5])
    np.testing.assert_allclose(seg[1:], [[2.0, -0.5], [0.0, 3.0], [3.5, 2.5]])


@pytest.mark.parametrize("d", ["", "10,10", "M1", "M1,1 X2,2", "M0,0A1,1,0,0,1,2,2", "M0,0C1,1"])
def test_parse_path_rejects_bad_data(d):
    with pytest.raises(KanjiVGError):
        parse_path(d)


def test_flatten_hits_the_endpoints_and_spacing():
    segs = parse_path("M0,0L30,0")
    P = flatten(segs, step=2.5)
    np.testing.assert_allclose(P[[0, -1]], [[0, 0], [30, 0]])
    assert np.allclose(P[:, 1], 0)
    gaps = np.diff(P[:, 0])
    assert gaps.max() <= 2.5 + 1e-9 and gaps.min() > 0


SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:kvg="http://kanjivg.tagaini.net"
     viewBox="0 0 109 109">
<g id="kvg:StrokePaths_x" style="fill:none">
<g id="kvg:x" kvg:element="X">
  <g kvg:element="A" kvg:radical="general" kvg:position="left">
    <path d="M10,10L10,90"/>
    <g kvg:element="B"><path d="M20,10L30,10"/></g>
  </g>
  <g kvg:element="B" kvg:part="2"><path d="M50,50c10,0,10,10,0,10"/></g>
</g></g></svg>"""


def test_parse_svg_strokes_components_radical():
    g = parse_svg(SVG, "X")
    assert len(g.strokes) == 3
    assert g.components == ("A", "B")  # each once, document order, not the character itself
    assert g.radicals == ("A",)
    np.testing.assert_allclose(g.strokes[0][[0, -1]], [[10, 10], [10, 90]])


def test_parse_svg_errors():
    with pytest.raises(KanjiVGError, match="not a readable SVG"):
        parse_svg("<svg", "X")
    with pytest.raises(KanjiVGError, match="no stroke paths"):
        parse_svg('<svg xmlns="http://www.w3.org/2000/svg"></svg>', "X")


def test_real_kanjivg_glyphs():
    g = load_glyph("明")
    assert len(g.strokes) == 8
    assert g.components == ("日", "月") and g.radicals == ("日",)
    assert load_glyph("あ").components == ()
    assert "木" in load_glyph("森").components
    for P in g.strokes:
        assert P.shape[1] == 2 and np.all((P > 0) & (P < 109))


def test_missing_character_is_a_clear_error():
    with pytest.raises(KanjiVGError, match="no strokes"):
        svg_path("\U0001F600")
    with pytest.raises(KanjiVGError, match="one character"):
        svg_path("明日")


def test_kanjivg_dir_override(tmp_path, monkeypatch):
    (tmp_path / f"{ord('X'):05x}.svg").write_text(SVG)
    monkeypatch.setenv("MOJINET_KANJIVG_DIR", str(tmp_path))
    assert load_glyph("X").components == ("A", "B")
    monkeypatch.setenv("MOJINET_KANJIVG_DIR", str(tmp_path / "nope"))
    with pytest.raises(KanjiVGError, match="not a folder"):
        load_glyph("X")


# ----------------------------------------------------------------------------- character sets
def test_charsets_sizes_and_relations():
    sizes = {name: len(kanji.charset(name)) for name in kanji.CHARSETS}
    assert sizes == {"hiragana": 46, "katakana": 46, "kana": 92, "grade1": 80, "grade2": 160,
                     "grade3": 200, "grade4": 202, "grade5": 193, "grade6": 191,
                     "kyoiku": 1026, "joyo": 2136}
    grades = [set(kanji.charset(g)) for g in kanji.GRADES]
    assert len(set().union(*grades)) == 1026  # the grades do not overlap
    assert set(kanji.charset("kyoiku")) <= set(kanji.charset("joyo"))
    assert kanji.charset("hiragana")[:5] == "あいうえお" and kanji.charset("katakana")[-1] == "ン"
    assert {"一", "日", "森", "音"} <= grades[0]


def test_every_named_character_has_kanjivg_strokes():
    for c in kanji.charset("joyo") + kanji.charset("kana"):
        svg_path(c)  # raises if missing


def test_resolve_chars():
    assert kanji.resolve_chars("日月日") == "日月"
    with pytest.raises(ValueError, match="character set name"):
        kanji.resolve_chars("")
    with pytest.raises(ValueError, match="without spaces"):
        kanji.resolve_chars("日 月")
    with pytest.raises(ValueError, match="unknown character set"):
        kanji.charset("grade7")


# ----------------------------------------------------------------------------- rendering
@pytest.mark.parametrize("size", [28, 32, 48, 64])
def test_render_shape_range_and_box(size):
    img = render(load_glyph("森"), size, np.random.default_rng(0))
    assert img.shape == (size, size) and img.dtype == np.float32
    assert 0 <= img.min() and img.max() <= 1 and img.max() > 0.9
    rows = np.flatnonzero(img.max(1) > 0)
    cols = np.flatnonzero(img.max(0) > 0)
    box = round(size * 20 / 28)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= box + 2  # fits the MNIST-like box
    cy = (img.sum(1) @ np.arange(size)) / img.sum()
    assert abs(cy - size / 2) <= 1.5  # centred by centre of mass


def test_render_is_deterministic_under_a_seed_and_varies_across_seeds():
    g = load_glyph("休")
    a = render(g, 32, np.random.default_rng(5))
    b = render(g, 32, np.random.default_rng(5))
    c = render(g, 32, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.01


def test_clean_style_draws_the_glyph_unchanged():
    g = load_glyph("一")
    strokes = jitter_strokes(g, STYLES["clean"], np.random.default_rng(0))
    np.testing.assert_allclose(strokes[0], g.strokes[0])
    img = render(g, 28, np.random.default_rng(0), "clean")
    inked_rows = np.flatnonzero(img.max(1) > 0.5)
    assert len(inked_rows) <= 3 and (img.max(0) > 0.5).sum() >= 18  # one long horizontal bar


def test_pen_width_changes_the_ink():
    g = load_glyph("川")
    thin = [render(g, 32, np.random.default_rng(i), "thin").sum() for i in range(5)]
    thick = [render(g, 32, np.random.default_rng(i), "thick").sum() for i in range(5)]
    assert max(thin) < min(thick)


def test_draw_handles_degenerate_strokes():
    img = draw([np.array([[50.0, 50.0]]), np.array([[10.0, 10.0], [10.0, 10.0]])], 28, 2.0)
    assert img.shape == (28, 28) and img.sum() > 0


def test_style_lookup():
    assert STYLES["default"] == Style()
    with pytest.raises(ValueError, match="unknown style"):
        render(load_glyph("一"), 28, np.random.default_rng(0), "messy")


# ----------------------------------------------------------------------------- datasets
def test_synthetic_dataset_layout_and_independence():
    d = kanji.synthetic_dataset("日月", 3, 28, seed=4)
    assert d.X.shape == (6, 784) and d.X.dtype == np.float32
    assert d.classes == ("日", "月") and d.y.tolist() == [0, 1, 0, 1, 0, 1]  # sample-major
    assert 0 <= d.X.min() and d.X.max() <= 1
    # sample i of 月 under seed 4 does not depend on what else was asked for
    e = kanji.synthetic_dataset("月火", 3, 28, seed=4)
    np.testing.assert_array_equal(d.X[d.y == 1], e.X[e.y == 0])
    f = kanji.synthetic_dataset("日月", 3, 28, seed=5)
    assert not np.array_equal(d.X, f.X)


def test_synthetic_dataset_cache_roundtrip_and_damage(tmp_path):
    d = kanji.synthetic_dataset("日月", 2, 28, seed=0)
    files = list((tmp_path / "cache" / "kanjivg").glob("*.npz"))
    assert len(files) == 1
    again = kanji.synthetic_dataset("日月", 2, 28, seed=0)
    np.testing.assert_array_equal(d.X, again.X)
    files[0].write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="damaged"):
        redrawn = kanji.synthetic_dataset("日月", 2, 28, seed=0)
    np.testing.assert_array_equal(d.X, redrawn.X)
    with np.load(files[0], allow_pickle=False) as f:  # rewritten whole, without pickle
        assert f["images"].shape == (4, 28, 28)


def test_synthetic_dataset_bad_arguments():
    with pytest.raises(ValueError, match="size"):
        kanji.synthetic_dataset("日", 1, 4)
    with pytest.raises(ValueError, match="n_per_class"):
        kanji.synthetic_dataset("日", 0, 28)


def test_registered_datasets(monkeypatch):
    from mojinet.data.registry import available_datasets, load_dataset

    specs = available_datasets()
    for name in kanji.CHARSETS:
        spec = specs[f"kanjivg-{name}"]
        assert "KanjiVG" in spec.credit and "CC BY-SA 3.0" in spec.credit
        assert spec.n_classes == len(kanji.charset(name)) and spec.options == ("size",)
    monkeypatch.setattr(kanji, "default_counts", lambda n: (2, 1))
    assert not specs["kanjivg-grade1"].is_cached()
    train = load_dataset("kanjivg-grade1", "train", size=28)
    test = load_dataset("kanjivg-grade1", "test", size=28)
    assert train.X.shape == (160, 784) and test.X.shape == (80, 784)
    assert train.classes == tuple(kanji.charset("grade1"))
    assert train.name == "kanjivg-grade1-train"
    assert not np.array_equal(train.X[:80], test.X)  # other seed = other writers
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("kanjivg-grade9")
    with pytest.raises(ValueError, match="no split"):
        load_dataset("kanjivg-hiragana", "validation")


def test_train_command_on_a_kanjivg_dataset(monkeypatch, tmp_path, capsys):
    from mojinet.cli import main
    from mojinet.io import load_model

    monkeypatch.setattr(kanji, "default_counts", lambda n: (3, 1))
    out = tmp_path / "k.npz"
    assert main(["train", "--dataset", "kanjivg-katakana", "--image-size", "28", "--hidden", "8",
                 "--epochs", "1", "--out", str(out)]) == 0
    model = load_model(out)
    assert model.classes == tuple(kanji.charset("katakana")) and model.image_shape == (28, 28)
    assert main(["evaluate", str(out), "--dataset", "kanjivg-katakana"]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_default_counts():
    assert kanji.default_counts(46) == (1_000, 100)
    assert kanji.default_counts(80) == (1_000, 100)
    assert kanji.default_counts(160) == (500, 62)
    assert kanji.default_counts(1026) == (200, 20)


def test_components_of_a_charset():
    comps = kanji.components("明休")
    assert comps["明"] == ("日", "月") and "木" in comps["休"]


def test_style_mixture_round_robin_and_cache_key():
    mixed = kanji.synthetic_dataset("川", 4, 28, seed=0, style=["thin", "thick"])
    ink = mixed.X.sum(axis=1)  # rounds 0, 2 thin; 1, 3 thick
    assert max(ink[0], ink[2]) < min(ink[1], ink[3])
    one = kanji.synthetic_dataset("川", 4, 28, seed=0, style="thin")
    np.testing.assert_array_equal(one.X[0], mixed.X[0])
    assert kanji._cache_path("川", 4, 28, 0, kanji.get_styles(["default"])) == kanji._cache_path(
        "川", 4, 28, 0, kanji.get_styles(None))
    with pytest.raises(ValueError, match="at least one style"):
        kanji.synthetic_dataset("川", 1, 28, style=[])


def test_missing_kanjivg_package_says_what_to_install(monkeypatch):
    from importlib import metadata

    from mojinet.data import kanjivg

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.delenv("MOJINET_KANJIVG_DIR", raising=False)
    monkeypatch.setattr(kanjivg.metadata, "distribution", missing)
    kanjivg._package_dir.cache_clear()
    try:
        with pytest.raises(KanjiVGError, match="pip install kanjivg"):
            kanjivg.kanjivg_dir()
    finally:
        kanjivg._package_dir.cache_clear()


def test_a_second_run_draws_nothing(monkeypatch):
    first = kanji.synthetic_dataset("日月", 3, 28, seed=4, style=["default", "thin"])

    def no_drawing(*args, **kwargs):
        raise AssertionError("drew a cached set again")

    monkeypatch.setattr(kanji, "render_images", no_drawing)
    second = kanji.synthetic_dataset("日月", 3, 28, seed=4, style=["default", "thin"])
    np.testing.assert_array_equal(first.X, second.X)


def test_the_cache_key_covers_what_changes_the_pixels(monkeypatch):
    styles = kanji.get_styles("default")
    base = kanji._cache_path("日月", 3, 28, 0, styles)
    assert base.name.endswith(".npz") and "-fast-" in base.name
    changed = [
        kanji._cache_path("日月", 3, 28, 0, styles, engine="reference"),
        kanji._cache_path("日月", 3, 28, 0, [styles[0].with_(pen_width=(0.8, 2.9))]),
        kanji._cache_path("日月", 3, 28, 0, [styles[0].with_(nib=(0.4, 1.0))]),
        kanji._cache_path("日月", 3, 28, 0, kanji.get_styles("pencil")),
        kanji._cache_path("日月", 3, 32, 0, styles),
        kanji._cache_path("月日", 3, 28, 0, styles),
    ]
    monkeypatch.setattr(kanji, "FAST_VERSION", kanji.FAST_VERSION + 1)
    changed.append(kanji._cache_path("日月", 3, 28, 0, styles))
    monkeypatch.setattr(kanji, "FAST_VERSION", kanji.FAST_VERSION - 1)
    monkeypatch.setattr(kanji, "_library_versions", lambda: {"numpy": "0.0", "pillow": "0.0",
                                                              "kanjivg": "0"})
    changed.append(kanji._cache_path("日月", 3, 28, 0, styles))
    assert len({base, *changed}) == len(changed) + 1


@pytest.mark.parametrize("damage", ["truncated", "other set"])
def test_damaged_or_foreign_cache_files_are_redrawn_with_a_warning(damage):
    d = kanji.synthetic_dataset("日月", 2, 28, seed=0)
    path = kanji._cache_path("日月", 2, 28, 0, kanji.get_styles(None))
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        np.savez(path, images=np.zeros((1, 28, 28), np.uint8), labels=np.zeros(1),
                 classes=np.array(["日"]))
    with pytest.warns(RuntimeWarning, match="damaged|does not hold"):
        again = kanji.synthetic_dataset("日月", 2, 28, seed=0)
    np.testing.assert_array_equal(d.X, again.X)
    with np.load(path, allow_pickle=False) as f:  # replaced by the redrawn set
        assert f["images"].shape == (4, 28, 28)


def test_engines_and_workers_are_checked(monkeypatch):
    with pytest.raises(ValueError, match="engine"):
        kanji.render_images("日", 1, 28, 0, engine="gpu")
    monkeypatch.setenv(kanji.WORKERS_ENV, "two")
    with pytest.raises(ValueError, match="whole number"):
        kanji.draw_workers()
    monkeypatch.setenv(kanji.WORKERS_ENV, "3")
    assert kanji.draw_workers() == 3 and kanji.draw_workers(1) == 1
    with pytest.raises(ValueError, match="at least one"):
        kanji.draw_workers(0)


def test_a_limit_reaches_the_loader_and_draws_only_what_it_needs(tmp_path, monkeypatch):
    """--limit 100 on kanjivg-hiragana drew all 46,000 training images before cutting 100."""
    from mojinet import load_dataset
    from mojinet.data.kanji import synthetic_dataset

    monkeypatch.setenv("MOJINET_CACHE", str(tmp_path))
    data = load_dataset("kanjivg-hiragana", "train", limit=100, size=16)
    assert len(data) == 100 and data.n_classes == 46
    drawn = sorted(p.name for p in (tmp_path / "kanjivg").iterdir())
    assert len(drawn) == 1 and drawn[0].startswith("46c-3x-16px-s0-")  # ⌈100 / 46⌉ rounds
    same = synthetic_dataset("hiragana", 3, 16, 0, cache=False).subset(100)
    np.testing.assert_array_equal(data.X, same.X)  # the first 100 of any longer draw
    np.testing.assert_array_equal(data.y, same.y)
