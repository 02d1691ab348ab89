"""The draw page's server under attack: strict types, the published schema, the Host check,
security headers, offline docs, the decode pool, body and header deadlines.

Everything runs through a real uvicorn (``web.server.make_server``, as ``mojinet serve`` runs it)
on loopback, served from a thread with short deadlines so the slow-client tests take seconds.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import re
import socket
import threading
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from PIL import Image, ImageDraw  # noqa: E402

from mojinet.io import Model  # noqa: E402
from mojinet.nn.network import Network  # noqa: E402
from mojinet.web.app import create_app  # noqa: E402
from mojinet.web.guard import DOCS_CSP, STRICT_CSP, allowed_hosts  # noqa: E402
from mojinet.web.pool import Busy, DecodePool  # noqa: E402
from served import serving  # noqa: E402

JSON = {"content-type": "application/json"}


def _model() -> Model:
    net = Network([784, 12, 10], ["sigmoid", "softmax"], "cross-entropy", init="xavier", seed=3)
    return Model(net, tuple("0123456789"), {"image_shape": [28, 28], "user_images": {"box": 20}})


@pytest.fixture(scope="module")
def model():
    return _model()


@pytest.fixture(scope="module")
def url(model):
    app = create_app(model, "tiny.npz", body_timeout=1.0, decode_slots=1, queue_wait=0.0)
    with serving(app, header_timeout=1.0, keep_alive=1) as base:
        yield base


@pytest.fixture
def client(url):
    with httpx.Client(base_url=url, timeout=30) as c:
        yield c


def drawing(size: int = 280) -> str:
    img = Image.new("RGBA", (size, size), "white")
    ImageDraw.Draw(img).line([(size * 0.2, size * 0.2), (size * 0.8, size * 0.2),
                              (size * 0.4, size * 0.85)], fill="black", width=max(2, size // 14))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def raw_exchange(url: str, request: bytes, wait: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes (or ``wait`` s pass)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(request)
        return _read_all(s)


def _read_all(s: socket.socket) -> bytes:
    got = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := s.recv(65536):
            got += chunk
    return got


def assert_alive(client):
    r = client.get("/api/model")
    assert r.status_code == 200 and r.json()["sizes"] == [784, 12, 10]


# ----------------------------------------------------------------------------- strict types
PIXELS = [0.0] * 784
STRICT_BODIES = {
    "pixels as strings": ({"pixels": ["0.5"] * 784}, "pixels must hold 784 values"),
    "a pixel true": ({"pixels": [True] + PIXELS[1:]}, "pixels must hold 784 values"),
    "a pixel null": ({"pixels": [None] + PIXELS[1:]}, "pixels must hold 784 values"),
    "ragged rows": ({"pixels": [[0.0] * 28] * 27 + [[0.0] * 27]}, "pixels must hold 784 values"),
    "rows of rows": ({"pixels": [[[0.0]] * 28] * 28}, "pixels must hold 784 values"),
    "pixels an object": ({"pixels": {"0": 0.5}}, "pixels must hold 784 values"),
    "pixels a string": ({"pixels": "0" * 784}, "pixels must hold 784 values"),
    "top as a string": ({"pixels": PIXELS, "top": "5"}, "top"),
    "top as a float": ({"pixels": PIXELS, "top": 5.0}, "top"),
    "top as true": ({"pixels": PIXELS, "top": True}, "top"),
    "top too large": ({"pixels": PIXELS, "top": 1001}, "top"),
    "image null": ({"image": None}, "image"),
    "image a number": ({"image": 5}, "image"),
    "image a list": ({"image": ["iVBORw0KGgo="]}, "image"),
    "unknown field": ({"pixels": PIXELS, "colour": "red"}, "unknown field"),
    "image and pixels": ({"image": drawing(), "pixels": PIXELS}, "exactly one of"),
}


@pytest.mark.parametrize("name", list(STRICT_BODIES))
def test_wrong_types_are_422_with_a_message(client, name):
    body, words = STRICT_BODIES[name]
    r = client.post("/api/predict", json=body)
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"], r.json()
    assert_alive(client)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_pixels_are_422(client, literal):
    body = '{"pixels": [' + ", ".join([literal] + ["0"] * 783) + "]}"
    r = client.post("/api/predict", content=body, headers=JSON)
    assert r.status_code == 422 and "pixels must hold 784 values" in r.json()["detail"], r.text


def test_numbers_and_rows_are_accepted(client, model):
    x = np.zeros((28, 28))
    x[5:20, 10:14] = 1.0
    flat = client.post("/api/predict", json={"pixels": x.reshape(-1).tolist(), "top": 3})
    ints = client.post("/api/predict", json={"pixels": x.astype(int).tolist(), "top": 3})
    assert flat.status_code == ints.status_code == 200
    assert flat.json()["top"] == ints.json()["top"] and len(flat.json()["top"]) == 3


def _tiff(img) -> str:
    buf = io.BytesIO()
    img.save(buf, "TIFF")
    return "data:image/tiff;base64," + base64.b64encode(buf.getvalue()).decode()


def _float_tiff(value) -> str:
    a = np.zeros((50, 50), np.float32)
    a[10:40, 20:25] = value
    return _tiff(Image.fromarray(a, "F"))


@pytest.mark.parametrize("name,image", [
    ("LAB", lambda: _tiff(Image.new("LAB", (50, 50), (50, 0, 0)))),
    ("inf samples", lambda: _float_tiff(np.inf)),
    ("NaN samples", lambda: _float_tiff(np.nan)),
])
def test_images_the_pipeline_cannot_use_are_422_not_500(client, name, image):
    r = client.post("/api/predict", json={"image": image()})
    assert r.status_code == 422, r.text
    assert "image" in r.json()["detail"] or "blank" in r.json()["detail"]
    assert_alive(client)


# ----------------------------------------------------------------------------- the schema
def test_schema_says_what_every_body_holds(client):
    schema = client.get("/openapi.json").json()
    parts = schema["components"]["schemas"]
    body = parts["PredictRequest"]
    assert body["additionalProperties"] is False
    assert body["oneOf"] == [{"required": ["image"]}, {"required": ["pixels"]}]
    flat, rows = body["properties"]["pixels"]["anyOf"]
    assert flat["minItems"] == flat["maxItems"] == 784
    assert flat["items"] == {"type": "number", "minimum": 0, "maximum": 1}
    assert rows["minItems"] == rows["maxItems"] == 28
    assert rows["items"]["minItems"] == rows["items"]["maxItems"] == 28
    assert body["properties"]["top"]["type"] == "integer"
    assert body["properties"]["image"]["type"] == "string"
    assert parts["Problem"]["required"] == ["detail"]
    assert "HTTPValidationError" not in parts  # FastAPI's list-shaped 422 is not what we send
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, ops in schema["paths"].items():
        for op in ops.values():
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == problem, (
                        path, status)
    predict = schema["paths"]["/api/predict"]["post"]["responses"]
    assert {"400", "408", "413", "415", "422", "503"} <= set(predict)
    assert "Retry-After" in predict["503"]["headers"]


# ----------------------------------------------------------------------------- headers, Host
def test_security_headers_on_pages_api_and_errors(client):
    for path, csp in [("/", STRICT_CSP), ("/api/model", STRICT_CSP), ("/api/nothing", STRICT_CSP),
                      ("/static/app.js", STRICT_CSP), ("/docs", DOCS_CSP), ("/redoc", DOCS_CSP)]:
        r = client.get(path)
        assert r.headers["content-security-policy"] == csp, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in STRICT_CSP and "unsafe" not in STRICT_CSP
    script_src = re.search(r"script-src ([^;]*)", DOCS_CSP).group(1)
    assert script_src == "'self'"  # the docs pages allow inline styles, never inline scripts
    r = client.get("/api/model", headers={"host": "evil.example"})
    assert r.status_code == 400 and r.headers["x-frame-options"] == "DENY"


def test_page_has_no_inline_script_or_style(client):
    page = client.get("/").text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # every script is a file
    assert "style=" not in page and "<style" not in page
    js = client.get("/static/app.js").text
    assert not re.search(r"""["']?style["']?\s*:""", js)  # no style attributes set either


def test_host_header_must_name_this_server(client, url):
    port = url.rsplit(":", 1)[1]
    for host in [f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"]:
        assert client.get("/api/model", headers={"host": host}).status_code == 200, host
    for host in ["evil.example", f"evil.example:{port}", "127.0.0.1.evil.example",
                 "localhost.evil.example:80", "192.168.1.5"]:
        r = client.get("/api/model", headers={"host": host})
        assert r.status_code == 400, host
        detail = r.json()["detail"]
        assert f"does not answer to Host '{host}'" in detail and "--allow-host" in detail
    reply = raw_exchange(url, b"GET /api/model HTTP/1.0\r\n\r\n")  # HTTP/1.0 needs no Host
    assert reply.startswith(b"HTTP/1.1 400") and b"does not answer to Host none" in reply


def test_allowed_hosts():
    loop = allowed_hosts("127.0.0.1")
    assert {"127.0.0.1", "localhost", "::1"} <= loop and "evil.example" not in loop
    assert allowed_hosts("127.0.0.1", ["Box.LAN."]) == loop | {"box.lan"}
    assert allowed_hosts("::1") == loop
    assert allowed_hosts("192.168.1.5") == {"192.168.1.5"}
    assert allowed_hosts("0.0.0.0", ["*"]) is None
    wild = allowed_hosts("0.0.0.0")
    assert {"localhost", socket.gethostname().lower()} <= wild and "*ip*" in wild


def test_any_interface_answers_ip_addresses_but_not_names(model):
    app = create_app(model, hosts=allowed_hosts("0.0.0.0", ["box.example"]))
    with serving(app) as base, httpx.Client(base_url=base) as c:
        for host in ["192.168.1.5:8000", "[fe80::1]:8000", "10.0.0.1", "box.example",
                     "localhost"]:
            assert c.get("/api/model", headers={"host": host}).status_code == 200, host
        r = c.get("/api/model", headers={"host": "evil.example"})
        assert r.status_code == 400 and "or any IP address" in r.json()["detail"]


# ----------------------------------------------------------------------------- docs, favicon
@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_are_served_from_this_machine(client, path):
    page = client.get(path)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assets = re.findall(r"""(?:src|href)="(/[^"]+)\"""", page.text)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200 and len(r.content) > 50, asset


def test_favicon(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    icon = Image.open(io.BytesIO(r.content))
    assert icon.format == "ICO" and (32, 32) in icon.info["sizes"]


# ----------------------------------------------------------------------------- the decode pool
def test_pool_runs_at_most_its_slots_and_refuses_after_the_wait():
    release = threading.Event()
    running, most = [0], [0]
    lock = threading.Lock()

    def job(value):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(5)
        with lock:
            running[0] -= 1
        return value

    async def scenario():
        pool = DecodePool(slots=2, wait=0.2)
        first = [asyncio.ensure_future(pool.run(job, i)) for i in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(Busy, match="2 decode slots stayed busy for 0.2 s"):
            await pool.run(job, 99)
        waiting = asyncio.ensure_future(pool.run(job, 2))  # waits for a slot, then runs
        await asyncio.sleep(0.05)
        release.set()
        results = await asyncio.gather(*first, waiting)
        pool.close()
        return results

    assert asyncio.run(scenario()) == [0, 1, 2] and most[0] == 2
    with pytest.raises(ValueError, match="at least 1"):
        DecodePool(slots=0)


def test_busy_server_answers_503_with_retry_after(client):
    """One slot, no waiting (the fixture's app): of several concurrent 2000×2000 drawings some
    are read and the rest get 503 with Retry-After and a Problem body."""
    body = json.dumps({"image": drawing(2000)}).encode()
    answers = []

    def post():
        with httpx.Client(base_url=str(client.base_url), timeout=60) as c:
            answers.append(c.post("/api/predict", content=body, headers=JSON))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers)
    assert codes[0] == 200 and codes[-1] == 503, codes
    for r in answers:
        if r.status_code == 503:
            assert r.headers["retry-after"] == "1" and "busy" in r.json()["detail"]
    assert_alive(client)


def test_too_many_bodies_at_once_get_503(model):
    app = create_app(model, max_pending=1, body_timeout=5)
    with serving(app) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as slow:
            slow.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            time.sleep(0.2)  # the slow body now holds the one place
            r = httpx.post(base + "/api/predict", json={"pixels": PIXELS})
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert "busy" in r.json()["detail"]
        time.sleep(0.2)
        assert httpx.post(base + "/api/predict", json={"pixels": PIXELS}).status_code == 200


# ----------------------------------------------------------------------------- slow clients
def test_slow_body_is_cut_off_with_408(client, url):
    started = time.monotonic()
    reply = raw_exchange(url, b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"pi")
    assert reply.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in reply
    assert time.monotonic() - started < 4
    assert_alive(client)


def test_slow_headers_are_cut_off_and_normal_requests_still_served(client, url):
    """Slowloris: clients that send their headers a byte at a time, or nothing at all, are
    disconnected at the header deadline (1 s here); meanwhile others are served at once."""
    host, port = url.removeprefix("http://").split(":")
    dribblers = [socket.create_connection((host, int(port)), timeout=5) for _ in range(20)]
    silent = [socket.create_connection((host, int(port)), timeout=5) for _ in range(20)]
    started = time.monotonic()
    header = b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    served = 0
    for i in range(12):  # 1.2 s of dribbling, one byte per connection every 0.1 s
        for s in dribblers:
            with contextlib.suppress(OSError):
                s.sendall(header[i:i + 1])
        served += client.get("/api/model").status_code == 200
        time.sleep(0.1)
    assert served == 12  # normal requests were served all along
    replies = [_read_all(s) for s in dribblers]
    assert all(r.startswith(b"HTTP/1.1 408") for r in replies), replies[:2]
    assert all(_read_all(s) == b"" for s in silent)  # closed without a word
    assert time.monotonic() - started < 6
    for s in dribblers + silent:
        s.close()
    assert_alive(client)


def test_idle_keep_alive_connection_is_closed(url):
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        started = time.monotonic()
        reply = _read_all(s)  # the response, then the close after keep_alive (1 s here)
    assert reply.startswith(b"HTTP/1.1 200") and 0.8 < time.monotonic() - started < 4


def test_oversized_headers_are_refused(url):
    reply = raw_exchange(url, b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                         + b"a" * 20_000 + b"\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 431") and b"over the 16,384-byte limit" in reply
    # Headers that grow slowly past the limit are cut off while they arrive (400).
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        with contextlib.suppress(OSError):
            for _ in range(10):
                s.sendall(b"a" * 4000)
                time.sleep(0.02)
        assert _read_all(s).startswith(b"HTTP/1.1 400")
