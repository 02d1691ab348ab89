"""The draw page in Chromium, served and exported: the static export reads drawings exactly as
`mojinet serve` does, and the page items a new user tripped on (phone layout, honest output
numbers, the model's own input size, labelled output grids, one sign colour convention).

Needs Chromium and Playwright like test_web_browser.py (skipped locally without them, a failure
in CI). Screenshots go to artifacts/.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from mojinet import SGD, Model, Network, load_dataset, train
from mojinet.data.images import to_input
from mojinet.viz import palette
from pages import ARTIFACTS, DIGITS, SETTLED, chromium, draw, pad_point, served_page, static_page

pytestmark = pytest.mark.slow

#: Served and static pages agree on every probability, share and activation to this (absolute):
#: the server computes in float32 and rounds activations to 5 decimals; the browser in float64.
TOLERANCE = 1e-5
#: The browser's input against Python's to_input of the same picture: the same to the last bit
#: but for Pillow's float32 rounding between its two resampling passes (Pillow 13 runs some
#: shrinks vertical pass first, by an undocumented rule; net.js always goes horizontal first).
INPUT_TOLERANCE = 1e-6


def _prep(size):
    return {"image_shape": [size, size], "user_images": {"box": round(size * 20 / 28)}}


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def digits_model():
    """784-32-16-10 (relu, tanh, softmax) on 12,000 MNIST images: a few seconds, ~93%."""
    data = load_dataset("mnist", "train").subset(12_000)
    net = Network([784, 32, 16, 10], ["relu", "tanh", "softmax"], "cross-entropy",
                  init="xavier", seed=0)
    train(net, data.X, data.y, optimizer=SGD(0.05, momentum=0.9), epochs=6, batch_size=32,
          rng=np.random.default_rng(0))
    return Model(net, data.classes, _prep(28), {"test_accuracy": 0.93})


def _sigmoid_model(activations, classes=tuple("0123456789"), size=28):
    """Sigmoid outputs fixed by their biases (the drawing does not matter): known activations."""
    net = Network([size * size, 8, len(classes)], ["sigmoid", "sigmoid"], "quadratic", seed=1)
    net.weights[-1][:] = 0
    a = np.asarray(activations, dtype=np.float64)
    net.biases[-1][:] = np.log(a / (1 - a))
    return Model(net, tuple(classes), _prep(size))


def _result(page):
    return page.evaluate("() => { const r = window.mojinet.lastResult; return {top: r.top, "
                         "layers: r.layers.map((l) => l.values), input: window.mojinet.lastInput,"
                         " png: document.getElementById('pad').toDataURL('image/png')}; }")


def _png(data_url):
    return base64.b64decode(data_url.split(",", 1)[1])


# ----------------------------------------------------------------------------- static = served
def test_static_page_reads_drawings_as_the_server_does(browser, digits_model, tmp_path):
    with static_page(browser, digits_model, tmp_path / "site", "digits.npz") as still, \
            served_page(browser, digits_model, "digits.npz") as served:
        assert still.evaluate("window.mojinet.backend") == "static"
        assert served.evaluate("window.mojinet.backend") == "server"
        served.evaluate("window.mojinet.sendStrokes = false")  # the canvas's PNG, as the static
        right = 0
        for digit, strokes in DIGITS.items():
            for page in (still, served):
                page.click("#clear")
                draw(page, strokes)
            a, b = _result(still), _result(served)
            assert a["png"] == b["png"]  # the same strokes give the same pixels on both pages
            label = still.locator("#prediction").get_attribute("data-label")
            assert label == served.locator("#prediction").get_attribute("data-label")
            right += label == digit
            assert [c["label"] for c in a["top"]] == [c["label"] for c in b["top"]]
            for key in ("probability", "activation", "share"):
                diff = max(abs(x[key] - y[key]) for x, y in zip(a["top"], b["top"]))
                assert diff <= TOLERANCE, (digit, key, diff)
            for va, vb in zip(a["layers"], b["layers"], strict=True):
                assert np.abs(np.array(va) - vb).max() <= TOLERANCE, digit
            # The browser's input is Python's to_input of the same picture.
            x = to_input(_png(a["png"]), size=28, box=20).reshape(-1)
            assert np.abs(np.array(a["input"], np.float32) - x).max() <= INPUT_TOLERANCE, digit
            P = digits_model.probabilities(x[None, :])[0]
            assert abs(a["top"][0]["probability"] - P.max()) <= TOLERANCE
        assert right >= 5, right
        still.screenshot(path=str(ARTIFACTS / "web-static-page.png"), full_page=True)
        # The static page needs no server: only files, and never the API.
        assert not [u for u in still.requests if "/api/" in u]
        assert still.locator("#api-link").is_hidden() and served.locator("#api-link").is_visible()
        # A neuron's incoming weights come from weights.bin, the same numbers as the API's.
        for page in (still, served):
            page.click("#diagram .neuron[data-layer='2'][data-neuron='4']")
            page.wait_for_selector("#neuron-detail:not([hidden])")
        assert still.locator("#neuron-caption").inner_text() == \
            served.locator("#neuron-caption").inner_text()
        assert still.errors == [] and served.errors == []


def _random_drawings(page, size, box, n, seed):
    """Random strokes drawn on a fresh canvas in the page (thin, thick, tiny, long, dots): the PNG
    and what net.js makes of it."""
    return page.evaluate("""([size, box, n, seed]) => {
        let s = seed;
        const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
        const out = [];
        for (let k = 0; k < n; k++) {
            const c = document.createElement('canvas');
            c.width = 120 + Math.floor(rand() * 200); c.height = 120 + Math.floor(rand() * 200);
            const g = c.getContext('2d');
            g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
            g.strokeStyle = '#000'; g.lineCap = 'round'; g.lineJoin = 'round';
            const tiny = k % 5 === 0;   // smaller than the box: scaled up (bilinear)
            const reach = tiny ? 0.08 : 0.8;
            for (let t = 0; t < 1 + Math.floor(rand() * 3); t++) {
                g.lineWidth = tiny ? 1 + rand() * 2 : 2 + rand() * 22;
                g.beginPath();
                let x = c.width * (0.1 + 0.8 * rand()), y = c.height * (0.1 + 0.8 * rand());
                g.moveTo(x, y);
                for (let p = 0; p < 1 + Math.floor(rand() * 6); p++) {
                    x = Math.min(c.width - 8, Math.max(8, x + (rand() - 0.5) * reach * c.width));
                    y = Math.min(c.height - 8, Math.max(8, y + (rand() - 0.5) * reach * c.height));
                    g.lineTo(x, y);
                }
                g.stroke();
            }
            const rgba = g.getImageData(0, 0, c.width, c.height).data;
            let x = null, error = null;
            try { x = Array.from(window.mojinetNet.toInput(rgba, c.width, c.height, size, box)); }
            catch (e) { error = e.message; }
            out.push({png: c.toDataURL('image/png'), x, error});
        }
        return out;
    }""", [size, box, n, seed])


@pytest.mark.parametrize("size", [28, 32, 48])
def test_browser_preprocessing_is_exactly_to_input(browser, digits_model, tmp_path, size):
    """net.js's toInput against mojinet.data.images.to_input on random drawings: the same crop,
    size, offset and values (to Pillow's float32 rounding), most of them bit for bit."""
    from mojinet.data.images import ImageError

    box = round(size * 20 / 28)
    with static_page(browser, digits_model, tmp_path / "site") as page:
        drawings = _random_drawings(page, size, box, 40, seed=size)
    exact = thickened = 0
    for k, d in enumerate(drawings):
        thickened += _thickened(_png(d["png"]))
        try:
            want = to_input(_png(d["png"]), size=size, box=box).reshape(-1)
        except ImageError as e:
            assert d["error"] is not None and str(e) in d["error"], (k, d["error"])
            continue
        assert d["error"] is None, (k, d["error"])
        got = np.array(d["x"], np.float32)
        assert got.shape == want.shape and np.abs(got - want).max() <= INPUT_TOLERANCE, \
            (k, float(np.abs(got - want).max()))
        exact += np.array_equal(got, want)
    assert exact >= len(drawings) // 2, exact
    assert thickened >= 3, thickened  # net.js's evenStrokes is exercised, not only its no-op


def _thickened(png: bytes) -> bool:
    """Whether images.even_strokes widens this picture's strokes."""
    from mojinet.data.images import even_strokes, ink_map, open_image, to_grey

    try:
        ink = ink_map(to_grey(open_image(png)))
    except ValueError:
        return False
    return even_strokes(ink) is not ink


# ----------------------------------------------------------------------------- sigmoid outputs
def test_sigmoid_outputs_show_activations_and_shares(browser, tmp_path):
    activations = [0.05, 0.02, 0.01, 0.03, 0.02, 0.01, 0.01, 0.0123, 0.02, 0.01]
    model = _sigmoid_model(activations)
    share = 0.05 / sum(activations)  # 26%: the old page called this the probability
    for opened in (served_page(browser, model, "sig.npz"),
                   static_page(browser, model, tmp_path / "site")):
        with opened as page:
            draw(page, DIGITS["7"])
            assert page.locator("#best").inner_text() == "0"
            best = page.locator("#best-p").inner_text()
            assert best == "a = 0.05" and "%" not in best
            first = page.locator("#candidates li").first.inner_text()
            assert "a = 0.05" in first and f"share {100 * share:.0f}%" in first
            assert "activation" in page.locator("#bars-title").inner_text()
            bar = page.locator("#bars .bar[data-label='0']")
            assert bar.locator(".value").inner_text() == "0.05"
            assert float(bar.get_attribute("data-activation")) == pytest.approx(0.05, abs=1e-5)
            assert float(bar.get_attribute("data-share")) == pytest.approx(share, abs=1e-5)
            assert page.errors == []


# ----------------------------------------------------------------------------- kanji models
def test_kanji_model_hint_input_size_and_labelled_output_grid(browser, tmp_path):
    from mojinet.data.kanji import charset

    classes = tuple(charset("grade1"))  # 80 kanji
    net = Network([1024, 64, len(classes)], ["sigmoid", "softmax"], "cross-entropy", seed=2)
    model = Model(net, classes, _prep(32))
    for opened in (served_page(browser, model, "grade1.npz"),
                   static_page(browser, model, tmp_path / "site")):
        with opened as page:
            hint = page.locator("#seen-hint").inner_text()
            assert "32×32" in hint and "23×23" in hint and "28×28" not in hint
            labels = page.locator("#diagram text.cell-label")
            assert labels.count() == 80 and labels.all_text_contents() == list(classes)
            size = page.evaluate("getComputedStyle(document.querySelector("
                                 "'#diagram text.cell-label')).fontSize")
            assert float(size.removesuffix("px")) >= 9
            draw(page, DIGITS["4"])
            seen = page.evaluate("[document.getElementById('seen').width, "
                                 "document.getElementById('seen').height]")
            assert seen == [32, 32]
            best = page.locator("#prediction").get_attribute("data-label")
            assert page.locator("#diagram text.cell-label.best").text_content() == best
            assert page.errors == []
            page.screenshot(path=str(ARTIFACTS / "web-kanji-grid.png"), full_page=True)


# ----------------------------------------------------------------------------- a phone
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True}


def _touch_stroke(page, points, check_midway=None):
    """One finger stroke through real touch events (Chrome DevTools Protocol)."""
    cdp = page.context.new_cdp_session(page)
    coords = [pad_point(page, x, y) for x, y in points]
    dense = [coords[0]]
    for (x0, y0), (x1, y1) in zip(coords, coords[1:]):
        dense += [(x0 + (x1 - x0) * t / 8, y0 + (y1 - y0) * t / 8) for t in range(1, 9)]
    for k, (x, y) in enumerate(dense):
        kind = "touchStart" if k == 0 else "touchMove"
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        page.wait_for_timeout(15)
        if check_midway and k == len(dense) // 2:
            check_midway()
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def _in_view(page, selector):
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844 and box["x"] >= 0


def test_phone_answer_in_view_while_drawing_tappable_neurons_readable_labels(browser,
                                                                              digits_model):
    with served_page(browser, digits_model, "digits.npz", **PHONE) as page:
        assert page.evaluate("window.innerWidth") == 390
        seen = []

        def midway():
            page.wait_for_function("() => document.querySelector('#prediction').dataset.label",
                                   timeout=5_000)
            seen.append((page.evaluate("window.scrollY"), _in_view(page, "#best"),
                         _in_view(page, "#pad")))

        _touch_stroke(page, [(0.26, 0.2), (0.74, 0.2), (0.42, 0.86)], midway)
        page.wait_for_function(SETTLED, timeout=15_000)
        assert seen == [(0, True, True)], seen  # mid-stroke: no scrolling, answer and pad in view
        assert page.evaluate("window.scrollY") == 0 and _in_view(page, "#best")
        assert page.locator("#prediction").get_attribute("data-label") == "7"
        page.screenshot(path=str(ARTIFACTS / "web-phone.png"))

        # Every circle neuron has a tap target of at least 24×24 CSS pixels.
        page.locator("#diagram").scroll_into_view_if_needed()
        boxes = page.evaluate("""() => [...document.querySelectorAll('#diagram .hit')].map((e) => {
            const r = e.getBoundingClientRect();
            return [r.width, r.height, e.dataset.layer, e.dataset.neuron]; })""")
        assert len(boxes) == 32 + 16 + 10
        assert min(min(w, h) for w, h, *_ in boxes) >= 24, min(boxes)
        # A tap near (not on) a neuron selects it — once the scroll has come to rest, as a
        # person's does (Chromium takes a tap during a scroll for the scroll's end, not a click).
        page.wait_for_timeout(600)
        hit = page.locator("#diagram .hit[data-layer='2'][data-neuron='9']").bounding_box()
        page.touchscreen.tap(hit["x"] + 2, hit["y"] + 2)
        page.wait_for_function("() => document.getElementById('neuron-detail').dataset.neuron"
                               " == '9'")
        assert page.locator("#neuron-detail").get_attribute("data-layer") == "2"
        page.click("#neuron-next")
        page.wait_for_function("() => document.getElementById('neuron-detail').dataset.neuron"
                               " == '10'")

        # Layer titles: drawn at their CSS size (≥ 11 px on screen) and not overlapping.
        titles = page.evaluate("""() => {
            const svg = document.getElementById('diagram');
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return [...svg.querySelectorAll('tspan')].map((t) => {
                const r = t.getBoundingClientRect();
                return [r.left, r.top, r.right, r.bottom,
                        scale * parseFloat(getComputedStyle(t).fontSize)]; }); }""")
        assert len(titles) == 8 and min(t[4] for t in titles) >= 11
        for i, a in enumerate(titles):
            for b in titles[i + 1:]:
                overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                assert not overlap, (a, b)
        page.screenshot(path=str(ARTIFACTS / "web-phone-network.png"), full_page=True)
        assert page.errors == []


def test_phone_grid_layers_are_tappable(browser):
    classes = tuple(chr(0x4E00 + 7 * i) for i in range(300))
    net = Network([784, 64, 300], ["sigmoid", "softmax"], "cross-entropy", seed=1)
    with served_page(browser, Model(net, classes, _prep(28)), "k.npz", **PHONE) as page:
        cell = page.locator("#diagram rect.neuron[data-layer='2'][data-neuron='123']")
        cell.scroll_into_view_if_needed()
        box = cell.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("() => document.getElementById('neuron-detail').dataset.neuron"
                               " == '123'")
        assert classes[123] in page.locator("#neuron-title").inner_text()
        assert page.errors == []


# ----------------------------------------------------------------------------- colours
def test_page_uses_the_figures_sign_colours(browser, digits_model):
    with served_page(browser, digits_model, "digits.npz") as page:
        css = page.evaluate("""() => { const s = getComputedStyle(document.documentElement);
            return [s.getPropertyValue('--positive').trim(),
                    s.getPropertyValue('--negative').trim()]; }""")
        assert [c.upper() for c in css] == [palette.POSITIVE_ON_DARK, palette.NEGATIVE_ON_DARK]
        footer = page.locator("footer").inner_text()
        assert f"{palette.NAMES['positive']} positive" in footer
        assert f"{palette.NAMES['negative']} negative" in footer
        draw(page, DIGITS["3"])
        # Connections: positive contributions orange, negative blue.
        strokes = page.evaluate("""() => Object.fromEntries(['positive', 'negative'].map((s) =>
            [s, [...new Set([...document.querySelectorAll(`#diagram line[data-sign=${s}]`)]
                .map((l) => l.getAttribute('stroke')))]]))""")
        pos, neg = palette.rgb(palette.POSITIVE_ON_DARK), palette.rgb(palette.NEGATIVE_ON_DARK)
        assert strokes == {"positive": [f"rgb({','.join(map(str, pos))})"],
                           "negative": [f"rgb({','.join(map(str, neg))})"]}
        # A first-layer neuron's weights: its largest positive weight is drawn in full orange,
        # its most negative in full blue.
        page.click("#diagram .neuron[data-layer='1'][data-neuron='0']")
        page.wait_for_selector("#neuron-detail:not([hidden])")
        W = digits_model.network.weights[0][:, 0]
        pixels = page.evaluate("""() => { const c = document.getElementById('weights');
            return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""")
        rgba = np.array(pixels).reshape(-1, 4)[:, :3]
        assert tuple(rgba[int(np.argmax(W))]) == pos
        assert tuple(rgba[int(np.argmin(W))]) == neg
        assert "orange = positive" in page.locator("#neuron-caption").inner_text()
        assert page.errors == []
