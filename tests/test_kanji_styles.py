"""Writing styles beyond KanjiVG's proportions: component groups, per-component variation, and
the fonts benchmark's handling of characters a font lacks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from mojinet.data import kanji
from mojinet.data.handwriting import STYLES, Style, jitter_strokes, render, vary_components
from mojinet.data.kanjivg import load_glyph, parse_svg

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(kanji.CACHE_ENV, str(tmp_path / "cache"))


NESTED = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:kvg="http://kanjivg.tagaini.net">
<g id="kvg:StrokePaths_x"><g id="kvg:x" kvg:element="X">
  <g kvg:element="囗" kvg:part="1"><path d="M10,10L10,90"/><path d="M10,10L90,10"/></g>
  <g kvg:element="玉">
    <g kvg:element="王"><path d="M30,30L60,30"/><path d="M45,30L45,70"/></g>
    <path d="M60,60L65,65"/>
  </g>
  <g kvg:element="囗" kvg:part="2"><path d="M10,90L90,90"/></g>
  <path d="M90,10L90,90"/>
</g></g></svg>"""


def test_groups_by_depth_with_split_parts_merged():
    g = parse_svg(NESTED, "X")
    assert len(g.groups) == 2
    # depth 0: 囗 (both halves) = 0, 玉 = 1, the last stroke is in no group
    assert g.groups[0].tolist() == [0, 0, 1, 1, 1, 0, -1]
    # depth 1: only 王 inside 玉
    assert g.groups[1].tolist() == [-1, -1, 0, 0, -1, -1, -1]


def test_groups_of_real_glyphs():
    town = load_glyph("町")  # 田 (5 strokes) + 丁 (= 一 + 亅)
    assert town.groups[0].tolist() == [0] * 5 + [1] * 2
    assert town.groups[1].tolist() == [-1] * 5 + [0, 1]
    assert load_glyph("一").groups == ()  # one stroke, no parts


COMPONENTS = Style(component_scale_sd=0.15, component_shift_sd=0.08, component_shear_sd=0.08,
                   component_angle_sd=4.0)


def test_vary_components_moves_groups_as_a_whole():
    g = load_glyph("明")  # 日 (strokes 0-3) + 月 (4-7)
    rng = np.random.default_rng(0)
    Q = vary_components(g.points, g.stroke, g.groups, COMPONENTS, rng)  # (N, 2)
    assert Q.shape == g.points.shape
    moved = ~np.isclose(Q, g.points).all(axis=1)  # (N,)
    assert moved[g.stroke < 4].any() and moved[g.stroke >= 4].any()
    # an affine map per group: pairwise differences inside a group transform linearly
    for part in (g.stroke < 4, g.stroke >= 4):
        P0, Q0 = g.points[part], Q[part]
        M, *_ = np.linalg.lstsq(np.c_[P0, np.ones(len(P0))], Q0, rcond=None)
        np.testing.assert_allclose(np.c_[P0, np.ones(len(P0))] @ M, Q0, atol=1e-9)


def test_vary_components_leaves_ungrouped_strokes():
    g = parse_svg(NESTED, "X")
    Q = vary_components(g.points, g.stroke, g.groups, COMPONENTS, np.random.default_rng(1))
    last = g.stroke == 6
    np.testing.assert_array_equal(Q[last], g.points[last])


def test_component_variation_keeps_strokes_and_is_deterministic():
    style = STYLES["default"].with_(component_scale_sd=0.2, component_shift_sd=0.1)
    for c in "町国見あ":
        g = load_glyph(c)
        a = jitter_strokes(g, style, np.random.default_rng([7, ord(c), 0]))
        b = jitter_strokes(g, style, np.random.default_rng([7, ord(c), 0]))
        assert len(a) == len(g.strokes)
        assert [len(p) for p in a] == [len(p) for p in g.strokes]
        for p, q in zip(a, b):
            np.testing.assert_array_equal(p, q)


def test_component_variation_changes_images_and_off_means_unchanged():
    g = load_glyph("町")
    off = STYLES["default"].with_(component_scale_sd=0.0, component_shift_sd=0.0,
                                  component_shear_sd=0.0, component_angle_sd=0.0)
    on = off.with_(component_scale_sd=0.15, component_shift_sd=0.08)
    img = {name: render(g, 32, np.random.default_rng([0, ord("町"), 3]), st)
           for name, st in (("off", off), ("on", on))}
    assert np.abs(img["on"] - img["off"]).sum() > 5
    # turned off, the generator draws no extra random numbers: the same image as the plain
    # per-stroke and whole-character variation (and the rng is left in the same state)
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    plain = jitter_strokes(g, off, r1)
    again = jitter_strokes(g, off.with_(component_decay=0.9), r2)
    for p, q in zip(plain, again):
        np.testing.assert_array_equal(p, q)
    assert r1.random() == r2.random()


@pytest.mark.parametrize("style", ["default", "wild"])
def test_strong_component_variation_keeps_the_glyph_inside_the_canvas(style):
    st = STYLES[style].with_(component_scale_sd=0.3, component_shift_sd=0.2,
                             component_shear_sd=0.2, component_angle_sd=8.0)
    for c in "国町森あ":
        g = load_glyph(c)
        for i in range(5):
            a = render(g, 28, np.random.default_rng([1, ord(c), i]), st)
            assert a.max() > 0.5
            border = np.r_[a[0], a[-1], a[:, 0], a[:, -1]]
            assert border.max() == 0, (c, i)


# ----------------------------------------------------------------------------- fonts benchmark
def _fonts_module():
    spec = importlib.util.spec_from_file_location("kanji_fonts",
                                                  ROOT / "benchmarks" / "kanji_fonts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["kanji_fonts"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module




def test_fonts_benchmark_skips_characters_the_font_lacks():
    kf = _fonts_module()
    # DejaVu Sans ships with matplotlib: it has Latin letters, no kanji, and a blank space
    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    face = kf.Face("other", "DejaVu Sans", str(dejavu))
    assert kf.draw_char(face, "日", 28, 20) is None  # not in the cmap: no tofu box scored
    assert kf.draw_char(face, " ", 28, 20) is None  # mapped but blank
    x = kf.draw_char(face, "A", 28, 20)
    assert x.shape == (784,) and x.max() > 0.5

    class Net:
        def feedforward(self, X):  # (n, 784) → (n, 4): class 0 for every picture
            return np.tile([1.0, 0.0, 0.0, 0.0], (len(X), 1))  # (n, 4)

    r = kf.evaluate_face(Net(), ("A", "日", "B", " "), face, 28, 20, top=2)
    assert (r["scored"], r["missing"], r["missing_chars"]) == (2, 2, "日 ")
    assert r["top1"] == 0.5  # "A" right, "B" wrong; the missing ones are not counted
    s = kf.summarise([r, {**r, "group": "x", "top1": None, "top2": None}], top=2)
    assert [row["group"] for row in s] == ["other", "all"] and s[-1]["fonts"] == 1


def test_fonts_benchmark_finds_known_fonts_by_pattern(tmp_path):
    kf = _fonts_module()
    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "dv.ttf").write_bytes(dejavu.read_bytes())
    known = (("gothic", "DejaVu Sans", None, "**/dv.ttf"),
             ("gothic", "DejaVu Sans", "Bold", "**/dv.ttf"),  # no such style in the file
             ("pen", "Nothing", None, "**/missing.ttf"))
    faces = kf.find_fonts(str(tmp_path), known)
    assert [(f.group, f.name) for f in faces] == [("gothic", "DejaVu Sans Book")]


# ----------------------------------------------------------------------------- pen shape
def test_broad_nib_thins_horizontal_strokes_only():
    # 一 is one horizontal stroke, 丨 one vertical: a nib of 0.3 makes the first lighter
    style = STYLES["clean"].with_(pen_width=(2.4, 2.4))
    ink = {}
    for c in "一丨":
        g = load_glyph(c)
        for nib in (1.0, 0.3):
            ink[c, nib] = render(g, 32, np.random.default_rng(0),
                                 style.with_(nib=(nib, nib))).sum()
    assert ink["一", 0.3] < 0.6 * ink["一", 1.0]
    assert ink["丨", 0.3] > 0.85 * ink["丨", 1.0]


def test_pen_shape_is_deterministic_changes_images_and_stays_inside():
    shaped = STYLES["default"].with_(nib=(0.3, 1.0), taper=(0.2, 0.7), pen_width=(0.7, 3.6))
    for c in "永国あ":
        g = load_glyph(c)
        for i in range(4):
            a = render(g, 28, np.random.default_rng([2, ord(c), i]), shaped)
            b = render(g, 28, np.random.default_rng([2, ord(c), i]), shaped)
            np.testing.assert_array_equal(a, b)
            assert a.max() > 0.5 and np.r_[a[0], a[-1], a[:, 0], a[:, -1]].max() == 0
    round_pen = render(load_glyph("永"), 28, np.random.default_rng(1), STYLES["plain"])
    nibbed = render(load_glyph("永"), 28, np.random.default_rng(1),
                    STYLES["plain"].with_(nib=(0.3, 0.3)))
    assert np.abs(round_pen - nibbed).sum() > 3


def test_round_pen_without_taper_draws_as_before():
    # nib 1 and taper 0 take the round-pen path: identical to draw()'s plain lines and dots
    g = load_glyph("右")
    strokes = jitter_strokes(g, STYLES["default"], np.random.default_rng(3))
    from mojinet.data.render import draw

    np.testing.assert_array_equal(draw(strokes, 32, 2.0), draw(strokes, 32, 2.0, nib=1.0))
    tapered = draw(strokes, 32, 2.0, taper=0.8)
    assert tapered.sum() < draw(strokes, 32, 2.0).sum()


# ----------------------------------------------------------------------------- print-like layout
def _extent(strokes):
    P = np.concatenate(strokes)  # (N, 2)
    return P.max(axis=0) - P.min(axis=0)  # (2,) width, height


def test_square_stretches_a_tall_character_towards_a_square():
    g = load_glyph("目")  # much taller than wide in KanjiVG
    still = STYLES["clean"]
    w0, h0 = _extent(jitter_strokes(g, still, np.random.default_rng(0)))
    assert w0 / h0 < 0.9
    w1, h1 = _extent(jitter_strokes(g, still.with_(square=(1.0, 1.0)),
                                    np.random.default_rng(0)))
    np.testing.assert_allclose(w1 / h1, 1.0, atol=1e-9)
    np.testing.assert_allclose(w1 * h1, w0 * h0, rtol=1e-9)  # area kept
    w5, h5 = _extent(jitter_strokes(g, still.with_(square=(0.5, 0.5)),
                                    np.random.default_rng(0)))
    np.testing.assert_allclose(w5 / h5, np.sqrt(w0 / h0), rtol=1e-9)


def test_crowding_caps_the_pen_of_busy_characters_only():
    thick = STYLES["clean"].with_(pen_width=(1.0, 3.0), crowding=40.0)
    plain = thick.with_(crowding=0.0)
    # 議 has 20 strokes: its pen is drawn from 1 … max(1, 40 / 22) px instead of 1 … 3 px
    busy = load_glyph("議")
    ink = [sum(render(busy, 28, np.random.default_rng(i), st).sum() for i in range(4))
           for st in (thick, plain)]
    assert ink[0] < 0.85 * ink[1]
    one = load_glyph("一")  # one stroke: the cap (40 / 3 px) is above the pen range
    for i in range(3):
        np.testing.assert_array_equal(render(one, 28, np.random.default_rng(i), thick),
                                      render(one, 28, np.random.default_rng(i), plain))


@pytest.mark.parametrize("paper", ["pencil", "scan"])
def test_fitted_on_paper_is_the_fitted_writer_with_that_paper(paper):
    style = STYLES[f"fitted-{paper}"]
    assert style.scan == STYLES[paper].scan is not None
    assert style.with_(scan=None, pen_width=STYLES["fitted"].pen_width) == STYLES["fitted"]
    g = load_glyph("永")
    clean = render(g, 32, np.random.default_rng(3), STYLES["fitted"])
    on_paper = render(g, 32, np.random.default_rng(3), style)
    assert clean.shape == on_paper.shape and not np.array_equal(clean, on_paper)
