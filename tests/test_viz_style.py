"""The figures' conventions: one sign colour convention shared with the page, kana and kanji
drawn with a real font (not empty boxes), captions in correct English, visible outlines."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from mojinet.viz import fonts, palette
from mojinet.viz.neurons import OUTLINE, image_grid_figure
from mojinet.viz.report import describe_layers
from mojinet.viz.style import HEAT_CMAP, WEIGHT_CMAP, new_figure, style


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)  # (h, w, 3)


# ----------------------------------------------------------------------------- sign colours
def test_weight_map_runs_from_the_palettes_negative_to_its_positive():
    assert np.allclose(WEIGHT_CMAP(0.0)[:3], to_rgb(palette.NEGATIVE))
    assert np.allclose(WEIGHT_CMAP(1.0)[:3], to_rgb(palette.POSITIVE))
    assert np.allclose(WEIGHT_CMAP(0.5)[:3], to_rgb(palette.ZERO), atol=0.01)
    assert palette.NAMES == {"positive": "orange", "negative": "blue"}


def test_weight_figures_draw_positive_orange_and_negative_blue():
    w = np.zeros((1, 8, 8))
    w[0, :, :4], w[0, :, 4:] = 1.0, -1.0  # left half positive, right half negative
    with style():
        fig = image_grid_figure(w, ["w"], diverging=True)
    ax = fig.axes[0]
    rgb = _pixels(fig)
    h = rgb.shape[0]
    (x0, y0), (x1, y1) = ax.transData.transform([(-0.5, -0.5), (7.5, 7.5)])
    row = int(h - (y0 + y1) / 2)
    left = rgb[row, int(x0 + 0.25 * (x1 - x0))]
    right = rgb[row, int(x0 + 0.75 * (x1 - x0))]
    assert np.abs(left - np.array(palette.rgb(palette.POSITIVE))).max() <= 2, left
    assert np.abs(right - np.array(palette.rgb(palette.NEGATIVE))).max() <= 2, right


def test_page_css_holds_the_same_colours():
    css = palette.css()
    for name, value in palette.CSS_VARIABLES.items():
        assert f"{name}: {value};" in css
    # The page's shades are the same hues as the figures' (orange stays orange on dark).
    for light, strong in ((palette.POSITIVE_ON_DARK, palette.POSITIVE),
                          (palette.NEGATIVE_ON_DARK, palette.NEGATIVE)):
        a, b = np.array(palette.rgb(light)), np.array(palette.rgb(strong))
        assert np.argmax(a) == np.argmax(b) and np.argmin(a) == np.argmin(b)


# ----------------------------------------------------------------------------- CJK labels
def _render(text: str, family) -> np.ndarray:
    with style(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph … missing from font(s)" for the tofu rendering
        fig = new_figure(1.0, 1.0, layout=None, dpi=100)
        fig.text(0.5, 0.5, text, fontsize=40, ha="center", va="center", family=family)
        return _pixels(fig).min(axis=2)  # (h, w) darkest channel


needs_cjk = pytest.mark.skipif(fonts.cjk_font() is None,
                               reason="no font with kana and kanji installed (fonts-noto-cjk)")


@needs_cjk
def test_cjk_labels_are_drawn_not_empty_boxes():
    """With the figures' fonts, 木 and 山 are two different glyphs; with DejaVu Sans alone both
    are the same empty box (tofu)."""
    tofu = [_render(c, [fonts.BASE_FAMILY]) for c in "木山"]
    assert np.array_equal(tofu[0], tofu[1])  # the test can tell a tofu box
    drawn = [_render(c, fonts.families()) for c in "木山"]
    assert not np.array_equal(drawn[0], drawn[1])
    assert not np.array_equal(drawn[0], tofu[0]) and (drawn[0] < 128).sum() > 50
    # …and the figures need no per-call font: the style's default family draws them.
    with style(), warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        fig = new_figure(1.0, 1.0, layout=None)
        fig.text(0.5, 0.5, "木あア", fontsize=20)
        fig.canvas.draw()


@needs_cjk
def test_cjk_font_is_found_by_its_file(monkeypatch):
    font = fonts.cjk_font()
    assert font.path.endswith((".ttc", ".otf", ".ttf")) and fonts.families()[1] == font.family
    fonts.cjk_font.cache_clear()
    try:
        monkeypatch.setenv(fonts.ENV, font.path)
        assert fonts.cjk_font().path == font.path
        monkeypatch.setenv(fonts.ENV, "/no/such/font.ttf")  # falls back to an installed one
        assert fonts.cjk_font() is not None
    finally:
        fonts.cjk_font.cache_clear()


def test_missing_cjk_font_warns_clearly(monkeypatch, caplog):
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    fonts._warn_once.cache_clear()
    assert fonts.warn_if_missing(["0", "1"]) is True
    assert fonts.warn_if_missing(["木", "1"]) is False
    assert "fonts-noto-cjk" in caplog.text and fonts.ENV in caplog.text
    assert fonts.families() == [fonts.BASE_FAMILY]


# ----------------------------------------------------------------------------- captions
@pytest.mark.parametrize("sizes, words", [
    ([784, 16, 16, 10], "784 input neurons, two hidden layers of 16 neurons each and 10 output "
                        "neurons"),
    ([784, 30, 10], "784 input neurons, one hidden layer of 30 neurons and 10 output neurons"),
    ([784, 10], "784 input neurons, no hidden layer and 10 output neurons"),
    ([1024, 800, 400, 100, 2136], "1,024 input neurons, three hidden layers of 800, 400 and 100 "
                                  "neurons and 2,136 output neurons"),
    ([4, 1, 1], "4 input neurons, one hidden layer of 1 neuron and 1 output neuron"),
])
def test_layers_are_described_in_correct_english(sizes, words):
    assert describe_layers(sizes) == words


# ----------------------------------------------------------------------------- outlines
def _luminance(rgb) -> float:
    c = np.asarray(rgb[:3], dtype=float)
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def _contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_within_class_outline_stands_out_on_every_colour_of_the_heat_map():
    """WCAG's 3:1 for graphics, against every colour of the map, by one of the outline's two
    strokes (the old vermilion outline had 1.1:1 on viridis' green and 2.6:1 on its yellow)."""
    from matplotlib import colormaps

    heat = colormaps[HEAT_CMAP]
    for t in np.linspace(0, 1, 101):
        best = max(_contrast(to_rgb(colour), heat(t)) for colour, _ in OUTLINE)
        assert best >= 3, (t, best)
    assert min(_contrast(to_rgb("#D55E00"), heat(t)) for t in np.linspace(0, 1, 101)) < 3


@needs_cjk
def test_radical_figure_labels_show_the_character_readably():
    from mojinet import radicals
    from mojinet.data import kanji
    from mojinet.nn.network import Network

    d = kanji.synthetic_dataset("林森村校休体明早", 6, 28, seed=0)
    net = Network([784, 12, len(d.classes)], ["relu", "softmax"], "cross-entropy", seed=0)
    report = radicals.analyse(net, d.classes, d.X, d.y, min_kanji=2, shuffles=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Glyph missing" while drawing
        fig = radicals.figure(report, net, d.X, d.y, d.classes, (28, 28), top=2, examples=2)
        fig.canvas.draw()
    titles = [ax.title for ax in fig.axes[::4]]  # the first panel of each row: the component
    for title, j in zip(titles, np.argsort(-report.best)[:2]):
        comp = report.components[j]
        assert title.get_text() == f"{comp}  in {report.n_kanji[j]} kanji"
        assert title.get_fontsize() >= 9 and "U+" not in title.get_text()
