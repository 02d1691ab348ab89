"""The draw page's JSON API over real HTTP (uvicorn on loopback, httpx as the client).

Checks that predictions are exactly those of ``mojinet predict`` (same preprocessing, same
network), that activations and weights are the network's own, and that every kind of bad request
gets a 4xx with a message while the server stays up.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from PIL import Image, ImageDraw  # noqa: E402

from mojinet.data.images import load_images, to_input  # noqa: E402
from mojinet.io import Model, save_model  # noqa: E402
from mojinet.nn.network import Network  # noqa: E402
from mojinet.web.app import create_app  # noqa: E402
from mojinet.web.readout import DrawingError, decode_drawing  # noqa: E402
from webserver import BackgroundServer  # noqa: E402

LIMIT = 200_000  # a small body limit so the tests can cross it cheaply


def _model(classes=tuple("0123456789"), hidden=(12, 8)) -> Model:
    net = Network([784, *hidden, len(classes)], ["sigmoid"] * len(hidden) + ["softmax"],
                  "cross-entropy", init="xavier", seed=3)
    prep = {"image_shape": [28, 28], "user_images": {"box": 20}}
    return Model(net, tuple(classes), prep, {"test_accuracy": 0.5, "config": {"dataset": "x"}})


@pytest.fixture(scope="module")
def model():
    return _model()


@pytest.fixture(scope="module")
def server(model):
    with BackgroundServer(create_app(model, "tiny.npz", max_body=LIMIT)) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client


def png(draw, size=(280, 280), mode="RGB", paper="white", fmt="PNG") -> bytes:
    img = Image.new(mode, size, paper)
    draw(ImageDraw.Draw(img))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def seven(d):
    d.line([(60, 50), (220, 50), (120, 240)], fill="black", width=18, joint="curve")


def data_url(raw: bytes, mime="image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


def assert_alive(client):
    r = client.get("/api/model")
    assert r.status_code == 200 and r.json()["sizes"] == [784, 12, 8, 10]


# ----------------------------------------------------------------------------- good requests
def test_model_info(server, model):
    info = server.get("/api/model").json()
    net = model.network
    assert info["sizes"] == [784, 12, 8, 10]
    assert info["activations"] == ["sigmoid", "sigmoid", "softmax"]
    assert info["classes"] == list("0123456789")
    assert info["n_params"] == net.n_params == 784 * 12 + 12 + 12 * 8 + 8 + 8 * 10 + 10
    assert [lay["weights"] for lay in info["layers"]] == [W.size for W in net.weights]
    assert info["name"] == "tiny.npz" and info["test_accuracy"] == 0.5
    assert info["image_shape"] == [28, 28]


def test_predict_matches_mojinet_predict(server, model, tmp_path):
    raw = png(seven)
    (tmp_path / "seven.png").write_bytes(raw)
    r = server.post("/api/predict", json={"image": data_url(raw), "top": 10})
    assert r.status_code == 200, r.text
    got = r.json()
    # The same preprocessing and probabilities as `mojinet predict` (load_images + Model.top).
    X = load_images([tmp_path / "seven.png"], size=28, box=20)  # (1, 784)
    want = model.top(X, 10)[0]
    assert [c["label"] for c in got["top"]] == [label for label, _ in want]
    np.testing.assert_allclose([c["probability"] for c in got["top"]], [p for _, p in want],
                               atol=1e-6)
    assert [c["index"] for c in got["top"]] == [int(c["label"]) for c in got["top"]]
    np.testing.assert_allclose(np.array(got["input"]), X.reshape(28, 28), atol=5e-4)
    # Every layer's activations, as Network.forward computes them.
    _, activations = model.network.forward(X)
    assert [layer["size"] for layer in got["layers"]] == [12, 8, 10]
    assert [layer["activation"] for layer in got["layers"]] == ["sigmoid", "sigmoid", "softmax"]
    for layer, A in zip(got["layers"], activations[1:], strict=True):
        np.testing.assert_allclose(layer["values"], A[0], atol=1e-5)


def test_predict_accepts_bare_base64_jpeg_and_transparent_png(server, model):
    want = server.post("/api/predict", json={"image": data_url(png(seven))}).json()["top"][0]
    bare = base64.b64encode(png(seven)).decode()
    assert server.post("/api/predict", json={"image": bare}).json()["top"][0] == want
    jpeg = data_url(png(seven, fmt="JPEG"), "image/jpeg")
    r = server.post("/api/predict", json={"image": jpeg})
    assert r.status_code == 200 and len(r.json()["top"]) == 5
    # A canvas left transparent: the strokes on nothing are read like ink on paper.
    clear = png(seven, mode="RGBA", paper=(0, 0, 0, 0))
    r = server.post("/api/predict", json={"image": data_url(clear)})
    assert r.status_code == 200 and r.json()["top"][0]["label"] == want["label"]


def test_predict_from_pixels(server, model):
    x = to_input(png(seven))  # (28, 28)
    flat = server.post("/api/predict", json={"pixels": x.reshape(-1).tolist(), "top": 3}).json()
    rows = server.post("/api/predict", json={"pixels": x.tolist(), "top": 3}).json()
    assert flat == rows and len(flat["top"]) == 3
    P = model.probabilities(x.reshape(1, -1))[0]  # (10,)
    assert flat["top"][0]["index"] == int(np.argmax(P))


def test_top_is_capped_at_the_number_of_classes(server):
    r = server.post("/api/predict", json={"image": data_url(png(seven)), "top": 1000})
    assert r.status_code == 200 and len(r.json()["top"]) == 10
    assert sorted(c["label"] for c in r.json()["top"]) == list("0123456789")
    assert abs(sum(c["probability"] for c in r.json()["top"]) - 1) < 1e-4


def test_incoming_weights(server, model):
    net = model.network
    w = server.get("/api/weights/1/5").json()
    assert w["shape"] == [28, 28] and w["label"] is None
    np.testing.assert_allclose(w["weights"], net.weights[0][:, 5], atol=1e-5)
    assert w["bias"] == pytest.approx(float(net.biases[0][5]), abs=1e-5)
    assert w["min"] == pytest.approx(float(net.weights[0][:, 5].min()))
    w = server.get("/api/weights/3/7").json()
    assert w["shape"] == [8] and w["label"] == "7"
    np.testing.assert_allclose(w["weights"], net.weights[2][:, 7], atol=1e-5)


@pytest.mark.parametrize("path,status,words", [
    ("/api/weights/0/0", 404, "layer must be between 1 and 3"),
    ("/api/weights/4/0", 404, "layer must be between 1 and 3"),
    ("/api/weights/1/12", 404, "layer 1 has 12 neurons"),
    ("/api/weights/2/-1", 404, "layer 2 has 8 neurons"),
    ("/api/weights/one/0", 422, "valid integer"),
])
def test_incoming_weights_bad_requests(server, path, status, words):
    r = server.get(path)
    assert r.status_code == status and words in r.json()["detail"]
    assert_alive(server)


def test_page_and_static_files_are_served_without_cdn(server):
    page = server.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<canvas id="pad"' in page.text
    assets = re.findall(r'(?:src|href)="/?(static/[^"]+)"', page.text)
    assert len(assets) == 6  # palette.css, style.css, net.js, backend.js, app.js, learn.js
    for asset in assets:
        r = server.get("/" + asset)
        assert r.status_code == 200 and r.text
        # Works offline: nothing is loaded from another host.
        assert not re.search(r"""(src|href|url|import|fetch)\W+(https?:)?//""", r.text), asset
    assert not re.search(r"""(src|href)="(https?:)?//""", page.text)


def test_openapi_documents_the_api(server):
    schema = server.get("/openapi.json").json()
    assert {"/api/predict", "/api/model", "/api/weights/{layer}/{neuron}"} <= set(schema["paths"])
    props = schema["components"]["schemas"]["PredictRequest"]["properties"]
    assert {"image", "pixels", "top"} <= set(props)


# ----------------------------------------------------------------------------- bad requests
def _bomb() -> bytes:
    """A 2,100×2,100 PNG: a few kB on the wire, 4.4 megapixels once decoded."""
    return png(lambda d: d.point((5, 5), fill=0), size=(2100, 2100), mode="L", paper=255)


BAD_BODIES = {
    "malformed JSON": (b'{"image": "data:image/png;base64,', 400, "not valid JSON"),
    "JSON array": (b"[1, 2, 3]", 422, "must be a JSON object"),
    "neither image nor pixels": (b"{}", 422, "exactly one of 'image'"),
    "both image and pixels": (json.dumps({"image": "AA==", "pixels": [0] * 784}).encode(), 422,
                              "exactly one of"),
    "image not a string": (b'{"image": 5}', 422, "image"),
    "invalid base64": (b'{"image": "data:image/png;base64,@@@"}', 422, "base64 text"),
    "base64 with a bad length": (b'{"image": "data:image/png;base64,AAAAA"}', 422,
                                 "not valid base64"),
    "not base64-encoded data URL": (b'{"image": "data:image/png,abc"}', 422, "base64-encoded"),
    "data URL of text": (b'{"image": "data:text/plain;base64,aGVsbG8="}', 422, "send an image"),
    "empty image": (b'{"image": ""}', 422, "empty"),
    "not an image": (json.dumps({"image": data_url(b"hello, not a picture")}).encode(), 422,
                     "not an image file"),
    "truncated PNG": (json.dumps({"image": data_url(png(seven)[:300])}).encode(), 422,
                      "not a readable image"),
    "blank drawing": (json.dumps({"image": data_url(png(lambda d: None))}).encode(), 422,
                      "blank"),
    "decompression bomb": (json.dumps({"image": data_url(_bomb())}).encode(), 422,
                           "pixel limit"),
    "pixels of the wrong size": (b'{"pixels": [0.5, 0.5, 0.5]}', 422, "must hold 784 values"),
    "pixels in wrong rows": (json.dumps({"pixels": [[0.0] * 27] * 28}).encode(), 422,
                             "must hold 784 values"),
    "pixels out of range": (json.dumps({"pixels": [2.0] * 784}).encode(), 422, "in [0, 1]"),
    "pixels not numbers": (json.dumps({"pixels": ["a"] * 784}).encode(), 422, "pixels"),
    "top zero": (json.dumps({"pixels": [0.0] * 784, "top": 0}).encode(), 422, "top"),
    "top not a number": (json.dumps({"pixels": [0.0] * 784, "top": "x"}).encode(), 422, "top"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_predict_requests_get_a_clear_4xx(server, name):
    body, status, words = BAD_BODIES[name]
    r = server.post("/api/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and words in detail, detail
    assert_alive(server)


def test_bomb_is_small_on_the_wire():
    assert len(_bomb()) < 50_000  # so it is the pixel limit, not the body limit, that stops it


def test_wrong_content_type_is_refused(server):
    r = server.post("/api/predict", content=b"image=abc",
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and "Content-Type: application/json" in r.json()["detail"]
    assert_alive(server)


def test_body_over_the_limit_is_refused_by_content_length(server):
    body = json.dumps({"image": "A" * (LIMIT + 10)}).encode()
    r = server.post("/api/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413 and f"{LIMIT:,}-byte limit" in r.json()["detail"]
    assert_alive(server)


def test_body_over_the_limit_is_refused_when_streamed(server):
    sent = []

    def chunks():  # no Content-Length: httpx sends it chunked
        for _ in range(50):
            sent.append(1)
            yield b"A" * 10_000

    r = server.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert_alive(server)


def test_streamed_body_under_the_limit_is_accepted(server):
    body = json.dumps({"image": data_url(png(seven))}).encode()

    def chunks():
        for i in range(0, len(body), 1000):
            yield body[i:i + 1000]

    r = server.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 200 and len(r.json()["top"]) == 5


def test_bad_content_length_header(server):
    # A raw request, since HTTP clients will not send a non-numeric Content-Length.
    import socket

    host, port = server.base_url.host, server.base_url.port
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400")
    assert_alive(server)


def test_unknown_route_and_method(server):
    assert server.get("/api/nothing").status_code == 404
    assert server.get("/api/predict").status_code == 405
    assert_alive(server)


# ----------------------------------------------------------------------------- the readout
def test_decode_drawing_accepts_data_url_parameters():
    raw = png(seven)
    url = "data:image/png;name=x.png;base64," + base64.b64encode(raw).decode()
    assert decode_drawing(url) == raw
    with pytest.raises(DrawingError, match="send an image"):
        decode_drawing("data:;base64,AAAA")


def test_large_output_layer_model_info_and_prediction():
    """A kanji-sized output layer: the API returns all its activations and the top N."""
    classes = tuple(chr(0x4E00 + i) for i in range(300))  # 一, 丁, …
    app = create_app(_model(classes, hidden=(64,)), "kanji.npz")
    with BackgroundServer(app) as url, httpx.Client(base_url=url) as client:
        info = client.get("/api/model").json()
        assert info["classes"][0] == "一" and info["sizes"][-1] == 300
        r = client.post("/api/predict", json={"image": data_url(png(seven)), "top": 10})
        got = r.json()
        assert len(got["top"]) == 10 and len(got["layers"][-1]["values"]) == 300
        probs = [c["probability"] for c in got["top"]]
        assert probs == sorted(probs, reverse=True)
        assert all(c["label"] == classes[c["index"]] for c in got["top"])


# ----------------------------------------------------------------------------- the command
def test_serve_command_starts_and_prints_the_url(tmp_path, model):
    path = save_model(model, tmp_path / "m.npz")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mojinet", "serve", str(path), "--port", "0", "--allow-host",
         "box.example"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
        for _ in range(100):
            try:
                r = httpx.get(m.group(1) + "api/model", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert r.status_code == 200 and r.json()["name"] == "m.npz"
        assert httpx.get(m.group(1), timeout=5).status_code == 200
        # The Host check, with the name --allow-host added; the server's security headers.
        r = httpx.get(m.group(1) + "api/model", headers={"host": "box.example"}, timeout=5)
        assert r.status_code == 200 and r.headers["x-frame-options"] == "DENY"
        r = httpx.get(m.group(1) + "api/model", headers={"host": "evil.example"}, timeout=5)
        assert r.status_code == 400 and "box.example" in r.json()["detail"]
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_serve_command_errors(tmp_path, model, capsys):
    from mojinet.cli import main

    assert main(["serve", str(tmp_path / "missing.npz")]) == 2
    assert "no such model file" in capsys.readouterr().err
    path = save_model(model, tmp_path / "m.npz")
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", str(path), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
    assert main(["serve", str(path), "--port", "70000"]) == 2
    assert "between 0 and 65535" in capsys.readouterr().err
    assert main(["serve", str(path), "--max-body", "10"]) == 2
    assert "too small for a drawing" in capsys.readouterr().err
    assert main(["serve", str(path), "--decode-slots", "0"]) == 2
    assert "--decode-slots must be at least 1" in capsys.readouterr().err


def test_serve_without_a_model_trains_the_default_one(tmp_path, monkeypatch, capsys):
    from mojinet.io import load_model
    from mojinet.web import serve

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(serve, "DEFAULT_CONFIG", serve.DEFAULT_CONFIG.replace(limit=300, epochs=1))
    path = serve._default_model()
    assert path == tmp_path / serve.DEFAULT_MODEL or path.resolve() == (
        tmp_path / serve.DEFAULT_MODEL).resolve()
    out = capsys.readouterr().out
    assert "training the default network first" in out and "Saved the model" in out
    assert load_model(path).network.sizes == [784, 16, 16, 10]
    # A second start finds the file and does not train again.
    assert serve._default_model() == path
    assert "training" not in capsys.readouterr().out


def test_listening_socket_is_tcp_so_responses_are_not_delayed():
    """asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; with proto 0 every
    response waited ~40 ms for a delayed ACK (found by benchmarks/bench_serve.py)."""
    import socket

    from mojinet.web.serve import _listen

    sock = _listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_readout_of_a_network_without_hidden_layers():
    """784 → 10 directly: the output layer is layer 1, its weights are 28×28 images."""
    from mojinet.web.readout import incoming_weights, model_info, readout

    model = _model(hidden=())
    x = to_input(png(seven)).reshape(-1)  # (784,)
    got = readout(model, x, top=3)
    assert [layer["size"] for layer in got["layers"]] == [10]
    np.testing.assert_allclose(got["layers"][0]["values"], model.network.feedforward(x)[0],
                               atol=1e-5)
    w = incoming_weights(model, 1, 3)
    assert w["shape"] == [28, 28] and w["label"] == "3" and len(w["weights"]) == 784
    assert model_info(model)["layers"] == [
        {"fan_in": 784, "fan_out": 10, "weights": 7840, "biases": 10}]


def test_predict_says_when_it_is_not_a_character(server):
    """Noise is answered 200 with character = false and the reason (the candidates are still
    there); a drawing of a 7 with character = true. Both bodies match the schema."""
    from mojinet.web.schemas import Prediction

    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (200, 200), dtype=np.uint8))
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    r = server.post("/api/predict", json={"image": data_url(buf.getvalue())})
    assert r.status_code == 200
    body = Prediction.model_validate(r.json())
    assert body.character is False and "noise" in body.verdict.reason and body.top
    r = server.post("/api/predict", json={"image": data_url(png(seven))})
    body = Prediction.model_validate(r.json())
    assert body.character is True and body.verdict.reason == ""


@pytest.mark.parametrize("mode", ["LAB", "F-inf", "CMYK", "I;16"])
def test_odd_image_modes_give_a_result_or_a_problem(server, mode):
    a = np.full((60, 60), 255, np.uint8)
    a[10:50, 25:35] = 0
    L = Image.fromarray(a)
    if mode == "LAB":
        img = Image.merge("LAB", [L, L.point(lambda _: 128), L.point(lambda _: 128)])
    elif mode == "F-inf":
        f = a.astype(np.float32)
        f[0, 0] = np.inf
        img = Image.fromarray(f, "F")
    elif mode == "CMYK":
        img = L.convert("CMYK")
    else:
        img = Image.fromarray(a.astype(np.uint16) * 257)
    buf = io.BytesIO()
    img.save(buf, "TIFF")
    r = server.post("/api/predict", json={"image": data_url(buf.getvalue(), "image/tiff")})
    if mode == "F-inf":
        assert r.status_code == 422 and "finite" in r.json()["detail"]
    else:
        assert r.status_code == 200 and r.json()["character"] is True


def test_fast_and_reference_preprocessing_answer_alike(model):
    """The server as it ships (clean canvases read by data.fastread) and with
    reference_preprocessing=True give the same JSON, byte for byte, to n = 40 drawings: the
    page's canvases (RGBA, the fast path), on ruled paper, under a gradient, off the edge
    and transparent (the reference, both times)."""
    rng = np.random.default_rng(40)
    bodies = []
    for i in range(40):
        kind = ("canvas", "ruled", "gradient", "edge", "transparent")[i % 5]
        mode = "RGBA" if kind in ("canvas", "transparent") else "RGB"
        paper = (255, 255, 255, 0) if kind == "transparent" else "white"

        def strokes(d, kind=kind):
            pts = [tuple(rng.uniform(40, 240, 2)) for _ in range(4)]
            if kind == "edge":
                pts[0] = (0.0, pts[0][1])
            d.line(pts, fill="black", width=18, joint="curve")
            if kind == "ruled":
                for y in range(20, 280, 30):
                    d.line([(0, y), (280, y)], fill=(150, 150, 150), width=2)

        raw = png(strokes, mode=mode, paper=paper)
        if kind == "gradient":
            a = np.asarray(Image.open(io.BytesIO(raw)), dtype=np.float64)
            a *= np.linspace(1.0, 0.8, 280)[None, :, None]
            buf = io.BytesIO()
            Image.fromarray(a.astype(np.uint8)).save(buf, "PNG")
            raw = buf.getvalue()
        bodies.append(json.dumps({"image": data_url(raw), "top": 10}).encode())
    answers = []
    for reference in (False, True):
        app = create_app(model, "tiny.npz", reference_preprocessing=reference)
        with BackgroundServer(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            answers.append([client.post("/api/predict", content=b,
                                        headers={"content-type": "application/json"}).content
                            for b in bodies])
    assert all(json.loads(a)["top"] for a in answers[0])
    assert answers[0] == answers[1]
