"""The static draw page of a model that reads direction planes beside its pixels: net.js's
``directionPlanes`` against NumPy's ``direction_planes`` in real Chromium, and the exported page
reading drawings as ``mojinet serve`` and ``Model`` do.

Needs Chromium and Playwright like test_web_page.py (skipped locally without them, a failure in
CI)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from mojinet.data.directions import InputFeatures, direction_planes
from mojinet.data.images import to_input
from pages import DIGITS, chromium, draw, served_page, static_page
from planes_images import images, planes_model, trained_kanji_planes

pytestmark = pytest.mark.slow

#: |net.js − NumPy| for every plane cell: net.js computes in float64, NumPy in float32.
PLANE_TOLERANCE = 1e-6
#: served and static pages' probabilities and activations (as test_web_page.py)
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def kanji_planes():
    return trained_kanji_planes()  # 32×32, pool 4


def _js_planes(page, X, size, pool):
    """net.js's directionPlanes and networkInputs of each row of X, in the page."""
    return page.evaluate("""([rows, size, pool]) => rows.map((row) => {
        const x = Float32Array.from(row), net = window.mojinetNet;
        const features = {name: 'pixels+directions', pool};
        return [Array.from(net.directionPlanes(x, size, size, pool)),
                Array.from(net.networkInputs(features, x, size, size))]; })""",
                         [X.tolist(), size, pool])


@pytest.mark.parametrize(("size", "pool"), [(16, 1), (16, 2), (16, 4), (18, 4), (15, 2),
                                            (13, 3)])
def test_net_js_planes_are_numpy(browser, tmp_path, size, pool):
    """Random, 0/1, bars every 15° (gx = 0, gy = 0 and |gx| = |gy| among them), a dot, a full
    and an all-zero image; image sizes divisible by the pool and not."""
    X = images(size, seed=size * pool)
    with static_page(browser, planes_model(16, 2), tmp_path / "site") as page:
        got = _js_planes(page, X, size, pool)
        assert page.errors == []
    want = direction_planes(X, (size, size), pool)  # (n, 4·ph·pw)
    planes = np.array([g[0] for g in got], np.float32)
    assert planes.shape == want.shape
    assert np.abs(planes - want).max() <= PLANE_TOLERANCE
    assert np.all(planes[-1] == 0)  # the all-zero image
    inputs = np.array([g[1] for g in got], np.float32)
    np.testing.assert_allclose(inputs, InputFeatures("pixels+directions", (size, size),
                                                     pool)(X), atol=PLANE_TOLERANCE, rtol=0)


def _png(page):
    url = page.evaluate("document.getElementById('pad').toDataURL('image/png')")
    return base64.b64decode(url.split(",", 1)[1])


def _result(page):
    return page.evaluate("() => { const r = window.mojinet.lastResult; return {top: r.top, "
                         "layers: r.layers.map((l) => l.values), "
                         "input: window.mojinet.lastInput}; }")


def test_static_page_reads_a_planes_model_as_the_server_does(browser, kanji_planes, tmp_path):
    """The same strokes on the exported page and on mojinet serve: the same pixels, answers,
    every layer's activations; and the page's probabilities are Model's on to_input."""
    model, _ = kanji_planes
    with static_page(browser, model, tmp_path / "site", "kanji.npz") as still, \
            served_page(browser, model, "kanji.npz") as served:
        served.evaluate("window.mojinet.sendStrokes = false")  # the canvas's PNG, as the static
        for digit, strokes in DIGITS.items():
            for page in (still, served):
                page.click("#clear")
                draw(page, strokes)
            assert _png(still) == _png(served)
            a, b = _result(still), _result(served)
            assert [c["label"] for c in a["top"]] == [c["label"] for c in b["top"]], digit
            for va, vb in zip(a["layers"], b["layers"], strict=True):
                assert np.abs(np.array(va) - vb).max() <= TOLERANCE, digit
            x = to_input(_png(still), size=32, box=23).reshape(-1)
            assert np.abs(np.array(a["input"], np.float32) - x).max() <= 1e-6, digit
            P = model.probabilities(x[None, :])[0]
            got = {c["label"]: c["probability"] for c in a["top"]}
            assert max(abs(got[label] - P[model.classes.index(label)])
                       for label in got) <= TOLERANCE, digit
        # A first-layer neuron's weights: the pixels' (32×32), as the API gives them.
        for page in (still, served):
            page.click("#diagram .neuron[data-layer='1'][data-neuron='3']")
            page.wait_for_selector("#neuron-detail:not([hidden])")
        assert still.locator("#neuron-caption").inner_text() == \
            served.locator("#neuron-caption").inner_text()
        assert not [u for u in still.requests if "/api/" in u]
        assert still.errors == [] and served.errors == []


def test_page_refuses_a_model_json_it_cannot_read(browser, tmp_path):
    """A model.json that says features the page cannot make: a clear message, not answers."""
    import json
    import os

    site = tmp_path / "site"
    with static_page(browser, planes_model(16, 2), site) as page:
        spec = json.loads((site / "model.json").read_text())
        spec["features"] = {"name": "moments", "pool": 1}
        (site / "model.json").write_text(json.dumps(spec))
        later = (site / "model.json").stat().st_mtime + 5  # http.server's dates are whole seconds
        os.utime(site / "model.json", (later, later))
        message = page.evaluate("""() => window.mojinetBackend.staticBackend('').info()
            .then(() => 'loaded', (e) => e.message)""")
    assert "reads moments" in message and "pixels+directions" in message


def test_static_page_of_the_shipped_kanji_grade1(browser, tmp_path):
    """The shipped kanji-grade1 (pixels+directions, pool 4) exported: the page's probabilities
    and hidden activations are Model's on to_input of the drawn picture."""
    from mojinet.io import load_model
    from mojinet.models import model_path

    model = load_model(model_path("kanji-grade1"))
    assert model.features.planes
    with static_page(browser, model, tmp_path / "site", "kanji-grade1") as page:
        for digit in ("1", "4", "7"):
            page.click("#clear")
            draw(page, DIGITS[digit])
            x = to_input(_png(page), size=32, box=23).reshape(-1)
            a = _result(page)
            _, acts = model.network.forward(model.inputs(x[None, :]))  # acts[l]: (1, sizes[l])
            for got, want in zip(a["layers"], acts[1:], strict=True):
                assert np.abs(np.array(got) - want[0]).max() <= TOLERANCE, digit
            P = model.probabilities(x[None, :])[0]
            assert a["top"][0]["label"] == model.classes[int(P.argmax())]
        assert page.errors == []
