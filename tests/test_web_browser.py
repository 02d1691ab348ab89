"""The draw page in a real browser: Playwright drives Debian's Chromium, draws digits with the
mouse, and checks that the page reads them and lights up the network.

Needs ``chromium`` (apt) and the ``playwright`` package. Locally the test is skipped when either
is missing; in CI (``CI`` set) it fails instead, so it can never be skipped silently there.
The screenshots go to ``artifacts/`` (gitignored).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pages import ARTIFACTS, DIGITS, chromium, draw, served_page

pytestmark = pytest.mark.slow  # training the model and starting Chromium: ~15 s


@pytest.fixture(scope="module")
def trained_model():
    """784-32-16-10 (sigmoid, softmax) trained on 20,000 MNIST images: ~94%, a few seconds."""
    from mojinet import SGD, Model, Network, evaluate, load_dataset, train

    train_set = load_dataset("mnist", "train").subset(20_000)
    test_set = load_dataset("mnist", "test").subset(2_000)
    net = Network([784, 32, 16, 10], ["sigmoid", "sigmoid", "softmax"], "cross-entropy",
                  init="xavier", seed=0)
    train(net, train_set.X, train_set.y, optimizer=SGD(0.1, momentum=0.9), epochs=10,
          batch_size=32, rng=np.random.default_rng(0))
    _, accuracy = evaluate(net, test_set.X, test_set.y)
    assert accuracy > 0.9
    prep = {"image_shape": [28, 28], "user_images": {"box": 20}}
    return Model(net, train_set.classes, prep, {"test_accuracy": accuracy})


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def open_page(browser, model, name):
    """The draw page for ``model``, loaded and ready; ``page.errors`` collects script errors."""
    return served_page(browser, model, name)


@pytest.fixture(scope="module")
def page(browser, trained_model):
    with open_page(browser, trained_model, "test-model.npz") as page:
        yield page


def lit(page, layer):
    return page.locator(f"#diagram .neuron[data-layer='{layer}'][data-lit=true]").count()


@pytest.mark.parametrize("digit", list(DIGITS))
def test_drawn_digit_is_read_and_lights_up_the_network(page, digit):
    page.click("#clear")
    assert page.locator("#prediction").get_attribute("data-label") is None
    draw(page, DIGITS[digit])
    assert page.errors == []
    assert page.locator("#status").inner_text() == ""
    label = page.locator("#prediction").get_attribute("data-label")
    candidates = page.locator("#candidates li").all_inner_texts()
    assert label == digit, f"drew {digit}, the page reads {label}: {candidates}"
    assert page.locator("#best").inner_text() == digit
    assert page.locator("#dictionary").is_hidden()  # digits have no readings
    # Hidden layers: some neurons lit, not all. Output: the drawn digit's neuron is lit.
    for layer, size in ((1, 32), (2, 16)):
        assert 0 < lit(page, layer) < size, (layer, lit(page, layer))
    out = page.locator(f"#diagram .neuron[data-layer='3'][data-neuron='{digit}']")
    assert out.get_attribute("data-lit") == "true"
    # The output bars: one per class, the drawn digit's the longest.
    bars = page.locator("#bars .bar")
    assert bars.count() == 10
    probs = {b.get_attribute("data-label"): float(b.get_attribute("data-probability"))
             for b in bars.all()}
    assert max(probs, key=probs.get) == digit
    # The 28×28 input as the network sees it has ink in it.
    ink = page.evaluate("""() => {
        const c = document.getElementById('seen');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let k = 0; k < d.length; k += 4) if (d[k] > 128) n++;
        return [c.width, c.height, n]; }""")
    assert ink[:2] == [28, 28] and 20 < ink[2] < 400
    page.screenshot(path=str(ARTIFACTS / f"web-draw-{digit}.png"), full_page=True)


def test_prediction_updates_while_drawing_throttled(page):
    """Live but throttled: never two requests at once, sends at least THROTTLE_MS (120 ms)
    apart. Timed by the browser's own clock, so a slow machine only makes fewer requests."""
    page.click("#clear")
    box = page.locator("#pad").bounding_box()
    page.evaluate("""() => {
        window.__log = [];
        const real = window.fetch;
        window.fetch = (url, init) => {
            if (!String(url).match(/api.predict(.strokes)?$/)) return real(url, init);
            const entry = {start: performance.now(), end: null};
            window.__log.push(entry);
            return real(url, init).finally(() => { entry.end = performance.now(); });
        };
    }""")
    moves = 80
    page.mouse.move(box["x"] + 60, box["y"] + 40)
    page.mouse.down()
    for k in range(1, moves + 1):  # a slow "S"-ish zigzag, one small move at a time
        t = k / moves
        page.mouse.move(box["x"] + 60 + 150 * math.sin(6 * t) ** 2, box["y"] + 40 + 200 * t)
        if k == moves // 2:
            # Halfway through the stroke the page already shows a reading of it.
            page.wait_for_function("document.querySelector('#prediction').dataset.label")
    page.mouse.up()
    page.wait_for_function(
        "() => document.querySelector('#prediction').dataset.version == window.mojinet.version"
        " && !window.mojinet.inflight && !window.mojinet.pending")
    log = page.evaluate("window.__log")
    assert len(log) >= 2, log  # live: a reading while drawing, and the final one
    starts = [e["start"] for e in log]
    for before, after in zip(log, log[1:]):
        assert after["start"] >= before["end"] - 1, log  # one request in flight at a time
    gaps = np.diff(starts)
    # Throttled, not one request per move. The page counts the throttle from the moment the
    # backend sends (after encoding the canvas: backend.js calls `sending()`); the margin is
    # for the clocks of the page and of this wrapper.
    assert gaps.min() >= 0.75 * 120, gaps
    assert page.errors == []


@pytest.mark.parametrize("pointer", ["touch", "pen"])
def test_touch_and_pen_pointers_draw(page, pointer):
    """Touch and pen come through the same Pointer Events as the mouse (dispatched here)."""
    page.click("#clear")
    page.evaluate("""([kind, strokes]) => {
        const pad = document.getElementById('pad'), r = pad.getBoundingClientRect();
        const fire = (type, [x, y]) => pad.dispatchEvent(new PointerEvent(type, {
            pointerType: kind, pointerId: 7, isPrimary: true, bubbles: true, button: 0,
            buttons: type === 'pointerup' ? 0 : 1, pressure: 0.5,
            clientX: r.left + 6 + x * (r.width - 12), clientY: r.top + 6 + y * (r.height - 12)}));
        for (const stroke of strokes) {
            fire('pointerdown', stroke[0]);
            for (const p of stroke.slice(1)) fire('pointermove', p);
            fire('pointerup', stroke[stroke.length - 1]);
        }
    }""", [pointer, [[list(p) for p in s] for s in DIGITS["7"]]])
    page.wait_for_function(
        "() => document.querySelector('#prediction').dataset.version == window.mojinet.version"
        " && !window.mojinet.inflight && !window.mojinet.pending", timeout=15_000)
    assert page.evaluate("window.mojinet.strokes.length") == 1
    assert page.locator("#prediction").get_attribute("data-label") == "7"
    assert page.errors == []


def test_undo_clear_and_neuron_weights(page):
    page.click("#clear")
    draw(page, DIGITS["1"])
    assert page.locator("#prediction").get_attribute("data-label") == "1"
    draw(page, [[(0.3, 0.5), (0.7, 0.5)]])  # a cross bar: no longer a clean 1
    version = page.evaluate("window.mojinet.version")
    page.click("#undo")
    page.wait_for_function(f"() => window.mojinet.version > {version} && "
                           "document.querySelector('#prediction').dataset.version == "
                           "window.mojinet.version && !window.mojinet.inflight")
    assert page.locator("#prediction").get_attribute("data-label") == "1"
    # Click a hidden neuron: its incoming weights appear as a 28×28 image.
    page.click("#diagram .neuron[data-layer='1'][data-neuron='3']")
    page.wait_for_selector("#neuron-detail:not([hidden])")
    assert "hidden layer 1, neuron 3" in page.locator("#neuron-title").inner_text()
    size = page.evaluate("[document.getElementById('weights').width, "
                         "document.getElementById('weights').height]")
    assert size == [28, 28]
    page.click("#diagram .neuron[data-layer='2'][data-neuron='5']")
    page.wait_for_function("document.getElementById('neuron-detail').dataset.layer == '2'")
    assert page.evaluate("document.getElementById('weights').width") == 6  # 32 inputs → 6×6
    page.screenshot(path=str(ARTIFACTS / "web-weights.png"), full_page=True)
    page.click("#clear")
    page.wait_for_function("document.querySelector('#prediction').dataset.label === undefined")
    assert lit(page, 1) == 0 and page.locator("#bars .bar").count() == 0
    assert page.errors == []


def test_large_output_layer_gets_a_compact_view(browser):
    """A kanji-sized model (300 classes, 64 hidden neurons): grids instead of circles, the top 10
    bars, and the characters themselves (CJK fonts)."""
    from mojinet import Model, Network

    classes = tuple(chr(0x4E00 + 7 * i) for i in range(300))
    net = Network([784, 64, 300], ["sigmoid", "softmax"], "cross-entropy", init="xavier", seed=1)
    model = Model(net, classes, {"image_shape": [28, 28], "user_images": {"box": 20}})
    with open_page(browser, model, "kanji-test.npz") as page:
        assert page.locator("#diagram rect.neuron[data-layer='1']").count() == 64
        assert page.locator("#diagram rect.neuron[data-layer='2']").count() == 300
        assert page.locator("#diagram circle.neuron").count() == 0
        draw(page, DIGITS["4"])
        label = page.locator("#prediction").get_attribute("data-label")
        assert label in classes and page.locator("#best").inner_text() == label
        bars = page.locator("#bars .bar")
        assert bars.count() == 10
        probs = [float(b.get_attribute("data-probability")) for b in bars.all()]
        assert probs == sorted(probs, reverse=True)
        assert "top 10 of 300" in page.locator("#bars-title").inner_text()
        assert page.locator("#diagram rect.neuron[data-lit=true]").count() > 0
        page.click(f"#diagram rect.neuron[data-layer='2'][data-neuron='{classes.index(label)}']")
        page.wait_for_selector("#neuron-detail:not([hidden])")
        assert label in page.locator("#neuron-title").inner_text()
        assert page.errors == []
        page.screenshot(path=str(ARTIFACTS / "web-large-model.png"), full_page=True)


def test_kanji_and_kana_models_show_readings_meanings_and_credit(browser):
    """The best candidate's readings and meanings (KANJIDIC2, with its credit line and link) for
    a kanji model, romaji for a kana model; models whose output ignores the drawing (zero
    weights, biased outputs) so the answer is known."""
    from mojinet import Model, Network
    from mojinet.data.dictionary import CREDIT, CREDIT_URL

    def biased(classes, favourite):
        net = Network([784, 16, len(classes)], ["sigmoid", "softmax"], "cross-entropy", seed=2)
        net.weights[-1][:] = 0
        net.biases[-1][:] = 0
        net.biases[-1][classes.index(favourite)] = 5.0
        return Model(net, tuple(classes), {"image_shape": [28, 28], "user_images": {"box": 20}})

    with open_page(browser, biased(list("山川日水木"), "山"), "kanji-dict.npz") as page:
        assert page.locator("#dictionary").is_hidden()  # nothing drawn yet
        draw(page, DIGITS["1"])
        assert page.locator("#best").inner_text() == "山"
        box = page.locator("#dictionary")
        assert box.is_visible() and box.get_attribute("data-char") == "山"
        assert "サン" in page.locator("#dict-readings dd.on").inner_text()
        assert page.locator("#dict-readings dd.kun").inner_text() == "やま"
        assert "mountain" in page.locator("#dict-meanings").inner_text()
        meta = page.locator("#dict-meta").inner_text()
        assert "grade 1" in meta and "3 strokes" in meta
        link = page.locator("#dict-credit a")
        assert link.is_visible() and link.inner_text() == CREDIT
        assert link.get_attribute("href") == CREDIT_URL
        page.screenshot(path=str(ARTIFACTS / "web-kanji-dictionary.png"), full_page=True)
        page.click("#clear")
        page.wait_for_function("document.getElementById('dictionary').hidden")
        assert page.errors == []

    with open_page(browser, biased(list("かきく"), "き"), "kana-dict.npz") as page:
        draw(page, DIGITS["7"])
        assert page.locator("#dictionary").get_attribute("data-char") == "き"
        assert page.locator("#dict-readings dd.romaji").inner_text() == "ki"
        assert page.locator("#dict-credit").is_hidden()  # no KANJIDIC2 data on screen
        assert page.errors == []


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_page_and_api_docs_work_under_their_csp_offline(browser):
    """The draw page, Swagger UI (/docs) and ReDoc (/redoc) render with their Content-Security-
    Policy in force, with no CSP violation and nothing loaded from any other host. (ReDoc's footer
    always asks for Redocly's logo from its CDN: the CSP blocks it and ReDoc hides the image.)"""
    from mojinet import Model, Network
    from mojinet.web.app import create_app
    from webserver import BackgroundServer

    net = Network([784, 10, 10], ["sigmoid", "softmax"], "cross-entropy", init="xavier", seed=0)
    model = Model(net, tuple("0123456789"), {"image_shape": [28, 28], "user_images": {"box": 20}})
    with BackgroundServer(create_app(model, "csp.npz")) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        violations, elsewhere = [], []
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text and REDOC_LOGO not in m.text else None)
        page.on("response", lambda r: elsewhere.append(r.url)
                if not r.url.startswith((url, "data:", "blob:")) else None)
        try:
            page.goto(url + "/")
            page.wait_for_selector("body[data-state=idle]", timeout=15_000)
            draw(page, DIGITS["7"])
            assert page.locator("#diagram-input").get_attribute("href").startswith("data:")
            page.goto(url + "/docs")
            page.wait_for_selector("text=Read a drawing", timeout=20_000)
            page.screenshot(path=str(ARTIFACTS / "docs-swagger.png"))
            page.goto(url + "/redoc")
            page.wait_for_selector("text=Read a drawing", timeout=20_000)
            page.screenshot(path=str(ARTIFACTS / "docs-redoc.png"))
            assert not page.locator("img[alt='redocly logo']").is_visible()
        finally:
            page.close()
    assert violations == [] and elsewhere == [], (violations, elsewhere)


def test_strokes_and_canvas_png_read_alike(page):
    """The page sends its strokes (api/predict/strokes); the server draws them on its own
    canvas. Against the browser's own canvas sent as a PNG (api/predict) the rasterisers
    differ only at the strokes' anti-aliased edges: the same digit read for every drawing, the
    network's input within a small mean difference (docs/web.md, "Strokes")."""
    for digit, strokes in DIGITS.items():
        page.click("#clear")
        draw(page, strokes)
        both = page.evaluate("""async () => {
            const pad = document.getElementById('pad');
            const post = (path, body) => fetch(path, {method: 'POST',
                headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})
                .then((r) => r.json());
            const png = await post('api/predict', {image: pad.toDataURL('image/png'), top: 1});
            const lines = await post('api/predict/strokes', {top: 1, pad: [pad.width, pad.height],
                pen: 18, strokes: window.mojinet.strokes.map((s) => s.map((p) => [p[0], p[1]]))});
            return [png, lines];
        }""")
        png, lines = both
        assert lines["top"][0]["label"] == png["top"][0]["label"] == digit
        a, b = np.asarray(png["input"]), np.asarray(lines["input"])
        assert np.abs(a - b).mean() < 0.03, (digit, np.abs(a - b).mean())
        assert lines["verdict"]["character"] == png["verdict"]["character"]
    assert page.errors == []
