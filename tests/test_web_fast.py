"""The hot routes answered by the server's protocol itself (``lean.FastAnswer`` in
``server.GuardedProtocol``): the bodies it checks without pydantic are exactly those pydantic
accepts, with the same values; its answers are the app's, byte for byte; pipelined, split,
closing and slow requests still get what the app gives them."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
from pathlib import Path

import numpy as np
import orjson
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from pydantic import ValidationError  # noqa: E402

from mojinet.io import Model  # noqa: E402
from mojinet.nn.network import Network  # noqa: E402
from mojinet.web.app import create_app  # noqa: E402
from mojinet.web.lean import image_body, strokes_body  # noqa: E402
from mojinet.web.schemas import predict_request, strokes_request  # noqa: E402
from mojinet.web.server import HOLD  # noqa: E402
from served import serving  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_serve import drawings  # noqa: E402
from bench_serve_load import page_strokes  # noqa: E402

STROKE = [[10, 20], [30.5, 40.25], [100, 120]]


def strokes_bodies() -> list[bytes]:
    """Plain bodies of the page, then every way to bend one."""
    good = page_strokes(4)
    bodies = [*good, json.dumps({"strokes": [STROKE]}).encode(),  # defaults, int coordinates
              json.dumps({"strokes": [[[1, 2, 3], [4, 5, 6]]], "pen": 3, "top": 1}).encode()]
    variants = [
        {"strokes": [STROKE], "pad": [8, 1024], "pen": 1, "top": 1000},
        {"strokes": [STROKE], "pad": [7, 280]}, {"strokes": [STROKE], "pad": [280, 1025]},
        {"strokes": [STROKE], "pad": [280.0, 280]}, {"strokes": [STROKE], "pad": [280]},
        {"strokes": [STROKE], "pad": [True, 280]}, {"strokes": [STROKE], "pen": 0.5},
        {"strokes": [STROKE], "pen": 64.5}, {"strokes": [STROKE], "pen": "18"},
        {"strokes": [STROKE], "pen": True}, {"strokes": [STROKE], "top": 0},
        {"strokes": [STROKE], "top": 1001}, {"strokes": [STROKE], "top": 3.0},
        {"strokes": [STROKE], "top": False}, {"strokes": [STROKE], "extra": 1},
        {"strokes": []}, {"strokes": [[]]}, {"strokes": [[[1]]]}, {"strokes": [[[1, 2, 3, 4]]]},
        {"strokes": [[[1, 2], [3, 4, 5]]]}, {"strokes": [[[1, True]]]},
        {"strokes": [[[1, None]]]}, {"strokes": [[["1", 2]]]}, {"strokes": [[[1, 2], 3]]},
        {"strokes": [[[10000, -10000]]]}, {"strokes": [[[10000.5, 0]]]},
        {"strokes": [[[0, 0, -10001]]]}, {"strokes": [[[1, 2]]] * 100},
        {"strokes": [[[1, 2]]] * 101}, {"strokes": [[[1, 2]] * 5000]},
        {"strokes": [[[1, 2]] * 2500, [[3, 4]] * 2501]}, {"strokes": [[[[1, 2]]]]},
        {"strokes": STROKE}, {"strokes": "x"}, {"strokes": {"a": 1}}, {"pad": [280, 280]},
        [STROKE], None, 3, "strokes",
    ]
    bodies += [json.dumps(v).encode() for v in variants]
    bodies += [b'{"strokes": [[[1, 2]]], "top": 99999999999999999999999}',
               b'{"strokes": [[[1, 99999999999999999999]]]}',
               b'{"strokes": [[[1, 2]]], "strokes": [[[5, 6]]]}',  # the last one counts
               b'{"strokes": [[[1e400, 2]]]}', b'{"strokes": [[[NaN, 2]]]}', b"", b"{",
               b'{"strokes": [[[1, 2]]], "pen": 1e-320}', b'{"strokes": [[[-0.0, 2]]]}',
               b"\xef\xbb\xbf" + good[0]]
    return bodies


def _validated(model, body: bytes):
    try:
        return model.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError):
        return None


def test_strokes_checked_without_pydantic_are_pydantics():
    model = strokes_request()
    taken = refused = 0
    for body in strokes_bodies():
        fast, ref = strokes_body(body), _validated(model, body)
        if fast is None:
            refused += ref is None
            continue
        taken += 1
        assert ref is not None, body[:120]
        assert [s.dtype for s in fast.strokes] == [np.float64] * len(ref.strokes)
        for got, want in zip(fast.strokes, ref.strokes, strict=True):
            np.testing.assert_array_equal(got, np.array([p[:2] for p in want]))
        assert (fast.pad, fast.pen, fast.top) == (ref.pad, ref.pen, ref.top), body[:120]
        assert type(fast.pen) is float and fast.image is None and fast.pixels is None
    assert taken >= 8 and refused >= 30  # both sides were seen


def test_images_checked_without_pydantic_are_pydantics():
    limit = 200_000
    model = predict_request(28, 28, limit)
    url = drawings(1)[0]
    bodies = [json.dumps({"image": u, "top": k}).encode() for k, u in enumerate(drawings(3), 1)]
    bodies += [json.dumps(v).encode() for v in (
        {"image": url}, {"image": url.removeprefix("data:image/png;base64,")},
        {"image": " " + url}, {"image": url + "\n"}, {"image": "a" * (limit + 1)},
        {"image": "a" * limit}, {"image": url, "top": 0}, {"image": url, "top": 1001},
        {"image": url, "top": True}, {"image": url, "top": 2.0}, {"image": url, "extra": 1},
        {"image": url, "pixels": [0] * 784}, {"image": 3}, {"image": None}, {"image": "a?b"},
        {"pixels": [0.5] * 784}, {}, [url], None)]
    taken = 0
    for body in bodies:
        fast, ref = image_body(body, limit), _validated(model, body)
        if fast is not None:
            taken += 1
            assert ref is not None, body[:80]
            assert (fast.image, fast.top, fast.pixels) == (ref.image, ref.top, ref.pixels)
    assert taken >= 5


# ----------------------------------------------------------------------------- the protocol
@pytest.fixture(scope="module")
def servers():
    """The same model behind the fast path (counting what it answers) and behind the app
    alone (``lean=False``: every request through FastAPI)."""
    net = Network([784, 12, 10], ["sigmoid", "softmax"], "cross-entropy", init="xavier", seed=1)
    model = Model(net, tuple("0123456789"), {"image_shape": [28, 28], "user_images": {"box": 20}})
    app = create_app(model, max_body=200_000)
    fast = app.state.fast
    answered = []
    respond = fast.respond

    def counted(scope, body):
        out = respond(scope, body)
        answered.append(out is not None)
        return out

    fast.respond = counted
    with serving(app, header_timeout=1.0) as a, \
            serving(create_app(model, max_body=200_000, lean=False)) as b:
        yield a, b, answered


def _seen(r: httpx.Response) -> tuple:
    headers = sorted((k, v) for k, v in r.headers.items() if k not in ("date", "server-timing"))
    return r.status_code, headers, r.content


def test_fast_answers_equal_the_apps_byte_for_byte(servers):
    fast, full, answered = servers
    answered.clear()
    statuses = set()
    with httpx.Client(base_url=fast, timeout=30) as a, httpx.Client(base_url=full,
                                                                      timeout=30) as b:
        for body in strokes_bodies()[:30]:
            ra = a.post("/api/predict/strokes", content=body,
                        headers={"content-type": "application/json"})
            rb = b.post("/api/predict/strokes", content=body,
                        headers={"content-type": "application/json"})
            assert _seen(ra) == _seen(rb), body[:80]
            statuses.add(ra.status_code)
        for body in [json.dumps({"image": u, "top": 3}).encode() for u in drawings(3)]:
            ra, rb = (c.post("/api/predict", content=body,
                             headers={"content-type": "application/json"}) for c in (a, b))
            assert _seen(ra) == _seen(rb) and ra.status_code == 200
        for headers in ({"content-type": "text/plain"}, {"host": "evil.example"}, {}):
            ra, rb = (c.post("/api/predict/strokes", content=page_strokes(1)[0],
                             headers=headers) for c in (a, b))
            assert _seen(ra) == _seen(rb), headers
            statuses.add(ra.status_code)
    assert {200, 400, 415, 422} <= statuses
    assert sum(answered) >= 8 and not all(answered)  # the fast path answered, and declined


def _raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def _request(body: bytes, extra: bytes = b"") -> bytes:
    return (b"POST /api/predict/strokes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            b"application/json\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra) + body)


def _read(s: socket.socket, responses: int) -> list[bytes]:
    """``responses`` whole HTTP responses (by their Content-Length) from ``s``."""
    got, out = b"", []
    while len(out) < responses:
        head, sep, rest = got.partition(b"\r\n\r\n")
        if sep:
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            if len(rest) >= length:
                out.append(head + sep + rest[:length])
                got = rest[length:]
                continue
        chunk = s.recv(65536)
        assert chunk, "the server closed the connection"
        got += chunk
    return out


def _body(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


def test_pipelined_split_and_closing_requests(servers):
    fast, full, answered = servers
    bodies = page_strokes(3)
    want = [httpx.post(full + "/api/predict/strokes", content=b,
                       headers={"content-type": "application/json"}).content for b in bodies]
    answered.clear()
    with _raw(fast) as s:  # three requests in one packet: three answers, in order
        s.sendall(b"".join(_request(b) for b in bodies))
        assert [_body(r) for r in _read(s, 3)] == want
    assert answered == [True, True, True]
    for wait, fast_path in ((0.1, [True]), (HOLD + 0.3, [])):
        answered.clear()
        with _raw(fast) as s:  # the body's end after the headers: held, or read by the app
            request = _request(bodies[0])
            s.sendall(request[:-10])
            time.sleep(wait)
            s.sendall(request[-10:])
            assert _body(_read(s, 1)[0]) == want[0]
        assert answered == fast_path
    with _raw(fast) as s:  # Connection: close is honoured on the spot
        s.sendall(_request(bodies[1], b"Connection: close\r\n"))
        reply = _read(s, 1)[0]
        assert _body(reply) == want[1] and b"connection: close" in reply.lower()
        assert s.recv(100) == b""


def test_the_header_deadline_holds_after_a_fast_answer(servers):
    fast, _, answered = servers
    answered.clear()
    with _raw(fast) as s:
        s.sendall(_request(page_strokes(1)[0]))
        assert _read(s, 1)[0].startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        s.sendall(b"POST /api/predict/strokes HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and no more
        got = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := s.recv(65536):
                got += chunk
    assert got.startswith(b"HTTP/1.1 408") and 0.8 < time.monotonic() - started < 4
    assert answered == [True]
