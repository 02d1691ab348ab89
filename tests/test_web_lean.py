"""The lean path for POST /api/predict (``web.lean``) answers exactly as FastAPI's route does.

Two apps on the same model, one with the lean path (as ``mojinet serve`` runs) and one without
(every request through FastAPI), each behind a real uvicorn: the same requests, well-formed and
hostile, must get the same status, the same headers (but the timing) and the same body bytes.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from PIL import Image  # noqa: E402

from mojinet.io import Model  # noqa: E402
from mojinet.nn.network import Network  # noqa: E402
from mojinet.web.app import create_app  # noqa: E402
from mojinet.web.lean import json_declared  # noqa: E402
from served import serving  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_serve import drawings  # noqa: E402

LIMIT = 200_000


@pytest.fixture(scope="module")
def clients():
    net = Network([784, 12, 10], ["sigmoid", "softmax"], "cross-entropy", init="xavier", seed=1)
    model = Model(net, tuple("0123456789"), {"image_shape": [28, 28], "user_images": {"box": 20}})
    with serving(create_app(model, max_body=LIMIT)) as lean, \
            serving(create_app(model, max_body=LIMIT, lean=False)) as full, \
            httpx.Client(base_url=lean, timeout=30) as a, \
            httpx.Client(base_url=full, timeout=30) as b:
        yield a, b


def _png(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def bodies() -> list[tuple[bytes, dict]]:
    """(body, headers): the page's drawings and pixels, then every kind of mistake (and the
    forms of Content-Type the lean path leaves to FastAPI)."""
    js = {"content-type": "application/json"}
    good = [json.dumps({"image": u, "top": k}).encode() for k, u in zip((1, 3, 5, 10), drawings(4))]
    pixels = [0.0] * 784
    pixels[300:320] = [1.0] * 20
    out = [(b, js) for b in good]
    out += [(json.dumps({"pixels": pixels}).encode(), js),
            (json.dumps({"pixels": [pixels[i:i + 28] for i in range(0, 784, 28)], "top": 2})
             .encode(), {}),  # no Content-Type
            (json.dumps({"image": _png(Image.new("L", (64, 64), 255))}).encode(), js),  # blank
            (json.dumps({"image": "data:text/plain;base64,aGk="}).encode(), js),
            (json.dumps({"image": "data:image/png;base64,aGk="}).encode(), js),  # not an image
            (json.dumps({"image": "!!!"}).encode(), js),
            (json.dumps({"image": drawings(1)[0], "pixels": pixels}).encode(), js),
            (json.dumps({"image": drawings(1)[0], "extra": 1}).encode(), js),
            (json.dumps({"image": drawings(1)[0], "top": "3"}).encode(), js),
            (json.dumps({"image": drawings(1)[0], "top": 0}).encode(), js),
            (json.dumps({"pixels": pixels[:-1]}).encode(), js),
            (json.dumps({"pixels": [2.0] * 784}).encode(), js),
            (b'{"pixels": [NaN' + b", 0" * 783 + b"]}", js),
            (b'{"top": 99999999999999999999999}', js),
            (b"{}", js), (b"[]", js), (b"null", js), (b"", js), (b"{\"image\": ", js),
            (b"\xef\xbb\xbf" + good[0], js),  # a byte-order mark
            (good[0], {"content-type": "text/plain"}),
            (good[0], {"content-type": "application/vnd.api+json"}),
            (good[0], {"content-type": "Application/JSON; charset=utf-8"})]
    return out


def _seen(r: httpx.Response) -> tuple:
    """What must agree: status, headers but the date and timing (a redirect's own path,
    without the port), body bytes."""
    headers = sorted((k, urlsplit(v).path if k == "location" else v)
                     for k, v in r.headers.items() if k not in ("date", "server-timing"))
    return r.status_code, headers, r.content


def test_lean_and_fastapi_answer_byte_for_byte(clients):
    lean, full = clients
    statuses = set()
    for body, headers in bodies():
        a = lean.post("/api/predict", content=body, headers=headers)
        b = full.post("/api/predict", content=body, headers=headers)
        assert _seen(a) == _seen(b), body[:80]
        statuses.add(a.status_code)
        assert ("server-timing" in a.headers) == (a.status_code == 200)
    assert {200, 400, 415, 422} <= statuses  # answers and errors of each kind were compared


def test_other_methods_and_paths_go_to_fastapi(clients):
    lean, full = clients
    for method, path in (("GET", "/api/predict"), ("PUT", "/api/predict"),
                         ("POST", "/api/predict/"), ("GET", "/api/model")):
        a, b = lean.request(method, path), full.request(method, path)
        assert _seen(a) == _seen(b), (method, path)


def test_json_content_types():
    assert json_declared(b"application/json; charset=utf-8") and json_declared(b" APPLICATION/JSON")
    assert not json_declared(None) and not json_declared(b"application/problem+json")
    assert not json_declared(b"text/json") and not json_declared(b"application/x-www-form")
