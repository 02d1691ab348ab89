"""``POST /api/predict/strokes`` on a real server (uvicorn through ``make_server``, no mocks).

- The same answer, byte for byte, as ``POST /api/predict`` of a PNG of the server's own canvas
  (``data.canvas.pad_grey``) for the page's drawings, for pictures the fast path refuses (the
  reference then reads both), and with ``--reference-preprocessing``; the same errors for a
  blank drawing.
- The lean path and FastAPI's route answer alike.
- Hostile bodies get a clear 4xx: huge, not JSON, NaN and infinite points, too many strokes or
  points, wrong types, a pad or pen out of range, unknown fields, too much drawing work; the
  server keeps answering.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from PIL import Image  # noqa: E402

from mojinet.data import canvas  # noqa: E402
from mojinet.io import Model  # noqa: E402
from mojinet.nn.network import Network  # noqa: E402
from mojinet.web.app import create_app  # noqa: E402
from mojinet.web.schemas import MAX_POINTS, MAX_STROKES  # noqa: E402
from pages import DIGITS  # noqa: E402
from served import serving  # noqa: E402

LIMIT = 200_000
PATH = "/api/predict/strokes"


def _model() -> Model:
    net = Network([784, 12, 10], ["sigmoid", "softmax"], "cross-entropy", init="xavier", seed=1)
    return Model(net, tuple("0123456789"), {"image_shape": [28, 28], "user_images": {"box": 20}})


@pytest.fixture(scope="module")
def urls():
    model = _model()
    with serving(create_app(model, max_body=LIMIT)) as lean, \
            serving(create_app(model, max_body=LIMIT, lean=False)) as full, \
            serving(create_app(model, max_body=LIMIT, reference_preprocessing=True)) as ref:
        yield {"lean": lean, "full": full, "reference": ref}


@pytest.fixture(scope="module")
def client(urls):
    with httpx.Client(base_url=urls["lean"], timeout=30) as c:
        yield c


def page_strokes() -> list[list[list[float]]]:
    """The test digits on the 280×280 pad, and random scribbles, as the page sends them."""
    out = [[[[round(6 + x * 268, 2), round(6 + y * 268, 2)] for x, y in s] for s in strokes]
           for strokes in DIGITS.values()]
    rng = np.random.default_rng(0)
    for _ in range(6):
        out.append([(np.cumsum(rng.normal(0, 5, (int(rng.integers(1, 80)), 2)), 0)
                     + rng.uniform(60, 220, 2)).round(2).tolist()
                    for _ in range(int(rng.integers(1, 4)))])
    return out


def png_of(strokes, pad=(280, 280), pen=18.0, mode="RGBA") -> str:
    """A PNG data URL of the server's canvas for ``strokes`` (the page's canvas form: RGBA)."""
    grey = canvas.pad_grey([np.asarray(s, dtype=np.float64) for s in strokes], *pad, pen)
    img = Image.fromarray(grey, "L")
    if mode == "RGBA":
        img = Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)]), "RGBA")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _same(a: httpx.Response, b: httpx.Response) -> bool:
    return a.status_code == b.status_code and a.content == b.content


@pytest.mark.parametrize("server", ["lean", "full", "reference"])
def test_strokes_answer_as_the_png_of_the_servers_canvas(urls, server):
    with httpx.Client(base_url=urls[server], timeout=30) as c:
        for strokes in page_strokes():
            for mode in ("RGBA", "L"):
                a = c.post(PATH, json={"strokes": strokes, "top": 10})
                b = c.post("/api/predict", json={"image": png_of(strokes, mode=mode), "top": 10})
                assert a.status_code == 200 and _same(a, b), (server, mode, strokes[0][:3])


def test_pictures_the_fast_path_refuses_answer_alike(client):
    """Ruled lines across the pad (the fast path hands them to the reference), another pad
    and pen, points with times, a dot: the same answers as their PNGs."""
    cases = [({"strokes": [[[0, 80], [280, 80]], [[0, 160], [280, 160]], [[0, 240], [280, 240]],
                           [[120, 60], [150, 250]]]}, (280, 280), 18.0),
             ({"strokes": [[[30, 40, 0], [200, 300, 16.7], [90, 310, 33]]], "pad": [240, 360],
               "pen": 7.5}, (240, 360), 7.5),
             ({"strokes": [[[140.2, 139.7]]]}, (280, 280), 18.0)]
    for body, pad, pen in cases:
        a = client.post(PATH, json=body)
        b = client.post("/api/predict", json={"image": png_of(body["strokes"], pad, pen)})
        assert a.status_code == 200 and _same(a, b), body


def test_a_drawing_off_the_pad_is_blank_as_its_png(client):
    strokes = [[[-400, -400], [-100, 600]]]
    a = client.post(PATH, json={"strokes": strokes})
    b = client.post("/api/predict", json={"image": png_of(strokes)})
    assert a.status_code == 422 and _same(a, b) and "blank" in a.json()["detail"]


def _hostile() -> list[tuple[bytes, int, str]]:
    """(body, status, a phrase the message must hold)."""
    one = [[[10, 10], [200, 200]]]
    big_pen = [[[0, 0], [1024, 1024]] * 40 for _ in range(25)]
    return [
        (b'{"strokes": [[[1, NaN]]]}', 422, "finite"),
        (b'{"strokes": [[[1, Infinity]]]}', 422, "finite"),
        (b'{"strokes": [[[1, 1e400]]]}', 422, "finite"),
        (b'{"strokes": [[[1, 2]]', 400, "not valid JSON"),
        (b"strokes", 400, "not valid JSON"),
        (b'{"strokes": [[[1, 2]]], "image": "x"}', 422, "unknown field; send 'strokes'"),
        (b"[]", 422, "JSON object"),
        (b'{"strokes": []}', 422, "at least 1"),
        (b'{"strokes": [[]]}', 422, "at least 1"),
        (b'{"strokes": [[[1]]]}', 422, "at least 2"),
        (b'{"strokes": [[[1, 2, 3, 4]]]}', 422, "at most 3"),
        (b'{"strokes": [[["1", 2]]]}', 422, "valid number"),
        (b'{"strokes": [[[true, 2]]]}', 422, "valid number"),
        (b'{"strokes": [[{"x": 1, "y": 2}]]}', 422, "valid list"),
        (b'{"strokes": "M 1 2 L 3 4"}', 422, "valid list"),
        (b'{"strokes": [[[1e6, 2]]]}', 422, "less than or equal"),
        (json.dumps({"strokes": [[[1, 2]]] * (MAX_STROKES + 1)}).encode(), 422, "at most"),
        (json.dumps({"strokes": [[[1, 2]] * 1000] * (MAX_POINTS // 1000 + 1)}).encode(), 422,
         "points, over the limit"),
        (json.dumps({"strokes": one, "pad": [280]}).encode(), 422, "pad"),
        (json.dumps({"strokes": one, "pad": [100000, 280]}).encode(), 422, "pad"),
        (json.dumps({"strokes": one, "pad": [280.5, 280]}).encode(), 422, "pad"),
        (json.dumps({"strokes": one, "pen": 0}).encode(), 422, "pen"),
        (json.dumps({"strokes": one, "pen": 1000}).encode(), 422, "pen"),
        (json.dumps({"strokes": one, "top": 0}).encode(), 422, "top"),
        (json.dumps({"strokes": big_pen, "pad": [1024, 1024], "pen": 64}).encode(), 422,
         "pixel visits"),
    ]


@pytest.mark.parametrize("server", ["lean", "full"])
def test_hostile_bodies_get_a_clear_4xx(urls, server):
    with httpx.Client(base_url=urls[server], timeout=60) as c:
        for body, status, phrase in _hostile():
            r = c.post(PATH, content=body, headers={"content-type": "application/json"})
            assert r.status_code == status, (body[:60], r.text[:200])
            assert phrase in r.json()["detail"], (body[:60], r.json()["detail"])
        assert c.post(PATH, json={"strokes": [[[10, 10], [200, 200]]]}).status_code == 200
        mixed = {"strokes": [[[10, 10], [200, 200, 16.7]]]}  # [x, y] and [x, y, t] in one
        assert c.post(PATH, json=mixed).status_code == 200  # (schemathesis found it a 500)


def test_lean_and_fastapi_answer_strokes_alike(urls):
    with httpx.Client(base_url=urls["lean"]) as a, httpx.Client(base_url=urls["full"]) as b:
        bodies = [json.dumps({"strokes": s, "top": 3}).encode() for s in page_strokes()[:4]]
        bodies += [body for body, _, _ in _hostile()]
        for body in bodies:
            ra = a.post(PATH, content=body, headers={"content-type": "application/json"})
            rb = b.post(PATH, content=body, headers={"content-type": "application/json"})
            assert _same(ra, rb), body[:60]


def test_huge_and_mistyped_bodies(client):
    huge = b'{"strokes": [' + b"[[1, 2]]," * 40_000 + b"[[1, 2]]]}"  # over the 200 kB limit
    r = client.post(PATH, content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    r = client.post(PATH, content=b'{"strokes": [[[1, 2]]]}',
                    headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert client.get(PATH).status_code == 405
    assert client.post(PATH, json={"strokes": [[[10, 10], [200, 200]]]}).status_code == 200


def test_the_schema_declares_the_route(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"][PATH]["post"]
    assert {"200", "413", "422"} <= set(op["responses"])
    body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    props = spec["components"]["schemas"][body]["properties"]
    assert set(props) == {"strokes", "pad", "pen", "top"}
