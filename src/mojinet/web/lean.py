"""``POST /api/predict`` (and ``/api/predict/strokes``) answered in one step, before FastAPI's
routing: the server's hot path.

FastAPI spends ~0.3–0.7 ms of CPU on a prediction before and after the work itself: matching
the route, the ``Request``, solving the dependencies, validating the body through its field
wrapper, the exception middleware. ``LeanPredict`` sits inside the guards (``guard``: header
checks, body limits, security headers — all still apply) and answers a well-formed request
itself: the body parsed with orjson and validated by the same pydantic model (strict, as the
route declares it), then the route's own ``answer`` (the same code, the same bytes out).

Anything else goes on to FastAPI untouched, with its body replayed: a body that is not JSON
or not a valid request, a Content-Type other than ``application/json`` (or none), another
method or path. So every
error a client can make gets exactly the reference's 4xx and message, and the route, its
OpenAPI contract and ``/docs`` stay FastAPI's (``tests/test_web_lean.py`` checks the answers
equal, byte for byte, with the lean path on and off).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import numpy as np
import orjson
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from .schemas import MAX_COORD, MAX_PAD, MAX_PEN, MAX_POINTS, MAX_STROKES, MAX_TOP

PATH = "/api/predict"
STROKES_PATH = "/api/predict/strokes"


def json_declared(value: bytes | None) -> bool:
    """Does a Content-Type header (None: absent) say plain ``application/json``? (The other
    forms FastAPI reads, or refuses, are left to it.)"""
    if value is None:
        return False
    return value.decode("latin-1").split(";")[0].strip().lower() == "application/json"


class LeanPredict:
    """ASGI middleware: POST to one of ``routes`` with a valid JSON body → its answer directly.

    ``routes``: path → (body model, ``answer``); ``answer`` is the route's work (it returns the
    Response, or raises ``HTTPException``, which ``problem`` turns into the response FastAPI's
    handler would send)."""

    def __init__(self, app, routes: dict[str, tuple[type[BaseModel],
                                                   Callable[[BaseModel], Awaitable[Response]]]],
                 problem: Callable[[HTTPException], Response]):
        self.app, self.routes, self.problem = app, routes, problem

    async def __call__(self, scope, receive, send):
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if (route is None or scope["method"] != "POST"
                or not json_declared(_header(scope, b"content-type"))):
            await self.app(scope, receive, send)
            return
        body_model, answer = route
        first = await receive()  # BodyLimit hands over the whole body in one message
        req = None
        if first["type"] == "http.request" and not first.get("more_body", False):
            req = _request(body_model, first.get("body", b""))
        if req is None:  # not for us: FastAPI reads the same body and says what is wrong
            await self.app(scope, _replay(first, receive), send)
            return
        try:
            response = await answer(req)
        except HTTPException as e:
            response = self.problem(e)
        await response(scope, receive, send)


def _request(body_model: type[BaseModel], body: bytes) -> BaseModel | None:
    """The validated request, or None when the body is not a valid one."""
    try:
        return body_model.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError):
        return None


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _replay(first: dict, receive):
    """A ``receive`` that gives ``first`` again, then what ``receive`` gives."""
    replayed = False

    async def again():
        nonlocal replayed
        if not replayed:
            replayed = True
            return first
        return await receive()

    return again


# ----------------------------------------------------------------------------- on the spot
class FastAnswer:
    """The hot routes answered by the server's protocol itself (``server.GuardedProtocol``),
    with no ASGI task: ``respond(scope, body)`` gives a well-formed request's whole answer —
    status, header lines, body — exactly as the app would send it through the guards
    (``guard``) and ``LeanPredict``, or None, and the request then goes to the app, which says
    what is wrong (or answers it, e.g. from its decode pool). The guards' checks are repeated
    first, conservatively: a request any guard would refuse is never answered here.

    ``routes``: path → (``parse``: body bytes → request or None, ``reply``: request → the
    answer's JSON value, or None when it needs the app's pool; it raises on a bad drawing).
    ``accepts_host``, ``max_header_bytes``: ``guard.HeaderCheck``'s; ``max_body``, ``bodies``,
    ``max_pending``: ``guard.BodyLimit``'s size limit, count of the bodies held (the server
    counts the requests it holds there too) and its most; ``security``: path →
    ``guard.SecurityHeaders``' header lines for it. Bodies over ``FAST_BODY`` go to the app."""

    def __init__(self, routes: dict[str, tuple[Callable[[bytes], object | None],
                                               Callable[[object], dict | None]]],
                 accepts_host: Callable[[bytes | None], bool], max_header_bytes: int,
                 max_body: int, bodies, max_pending: int, security: Callable[[str], bytes]):
        self.routes = routes
        self.accepts_host, self.max_header_bytes = accepts_host, max_header_bytes
        self.max_body, self.bodies, self.max_pending = max_body, bodies, max_pending
        self.security = {path: security(path) for path in routes}

    def wants(self, scope) -> bool:
        """Might this request be answered here (asked once its headers are in, before the
        body is held)? A hot route, a small declared body, room to hold it."""
        if scope["method"] != "POST" or scope["path"] not in self.routes \
                or self.bodies.n >= self.max_pending:
            return False
        for name, value in scope["headers"]:
            if name == b"content-length":
                return value.isdigit() and int(value) <= min(FAST_BODY, self.max_body)
        return False

    def respond(self, scope, body: bytes) -> tuple[int, bytes, bytes] | None:
        path = scope["path"]
        route = self.routes.get(path)
        if route is None or scope["method"] != "POST" or not self._guards_pass(scope, body):
            return None
        parse, reply = route
        req = parse(body)
        if req is None:
            return None
        started = time.perf_counter()
        try:
            result = reply(req)
        except (HTTPException, ValueError):  # the app's path makes the error's answer
            return None
        if result is None:
            return None
        out = orjson.dumps(result)
        ms = (time.perf_counter() - started) * 1e3
        return 200, b"".join((b"content-length: %d\r\ncontent-type: application/json\r\n"
                              b"server-timing: predict;dur=%.2f\r\n" % (len(out), ms),
                              self.security[path])), out

    def _guards_pass(self, scope, body: bytes) -> bool:
        """Would ``HeaderCheck``, ``BodyLimit`` and ``LeanPredict`` all let this request through
        to the route? (A header they read given twice: not decided here.)"""
        size = 0
        seen = {}
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4
            if name in _READ:
                if name in seen:
                    return False
                seen[name] = value
        length = seen.get(b"content-length")
        return (size <= self.max_header_bytes and self.accepts_host(seen.get(b"host"))
                and b"transfer-encoding" not in seen and length is not None
                and length.isdigit() and int(length) == len(body) <= self.max_body
                and json_declared(seen.get(b"content-type")))


#: The largest body answered on the spot (the page's strokes are ~0.3–3 kB, its PNGs 10–40 kB).
FAST_BODY = 64 * 1024
#: The request headers the guards and the lean path read.
_READ = frozenset({b"host", b"content-length", b"transfer-encoding", b"content-type"})


class _Request:
    """A request checked by ``strokes_body`` or ``image_body``: the fields the routes read."""

    __slots__ = ("strokes", "pad", "pen", "top", "image", "pixels")

    def __init__(self, **fields):
        self.image = self.pixels = None
        for name, value in fields.items():
            setattr(self, name, value)


def _number(v) -> bool:
    return type(v) is float or type(v) is int


def _count(v, lo, hi) -> bool:
    """A strict JSON integer in [lo, hi] (never a bool or a float)."""
    return type(v) is int and lo <= v <= hi


def _json_object(body: bytes, fields: frozenset) -> dict | None:
    """``body`` as a JSON object with no keys but ``fields``, else None."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return obj if type(obj) is dict and obj.keys() <= fields else None


def strokes_body(body: bytes, max_top: int = MAX_TOP) -> _Request | None:
    """The strokes route's body (``schemas.strokes_request``) checked without pydantic, or None
    when it is not plainly valid — then pydantic decides. Accepts only what the model accepts,
    with the same values (tests/test_web_fast.py checks that on generated bodies)."""
    if b"true" in body or b"false" in body:  # np.array would take a bool for a number
        return None
    obj = _json_object(body, _STROKES_FIELDS)
    if obj is None:
        return None
    strokes, pad = obj.get("strokes"), obj.get("pad", [280, 280])
    pen, top = obj.get("pen", 18.0), obj.get("top", 5)
    if (type(strokes) is not list or not 1 <= len(strokes) <= MAX_STROKES
            or type(pad) is not list or len(pad) != 2
            or not all(_count(v, 8, MAX_PAD) for v in pad)
            or not _number(pen) or not 1 <= pen <= MAX_PEN or not _count(top, 1, max_top)):
        return None
    arrays, n = [], 0
    for stroke in strokes:
        if type(stroke) is not list or not stroke:
            return None
        try:
            a = np.array(stroke)  # (n, 2) or (n, 3); ragged, strings, objects: refused below
        except (ValueError, TypeError):
            return None
        if (a.ndim != 2 or a.shape[1] not in (2, 3) or a.dtype.kind not in "if"
                or a.dtype.itemsize != 8 or not np.all(np.abs(a) <= MAX_COORD)):
            return None
        arrays.append(a[:, :2].astype(np.float64))
        n += len(a)
    if n > MAX_POINTS:
        return None
    return _Request(strokes=arrays, pad=[pad[0], pad[1]], pen=float(pen), top=top)


_STROKES_FIELDS = frozenset({"strokes", "pad", "pen", "top"})
_IMAGE_FIELDS = frozenset({"image", "top"})
_IMAGE_CHARS = re.compile(r"[A-Za-z0-9+/=:;,._%-]*")


def image_body(body: bytes, max_chars: int, max_top: int = MAX_TOP) -> _Request | None:
    """The predict route's body (``schemas.predict_request``) when it is a plain drawing —
    ``image`` (no white space) and optionally ``top`` — checked without pydantic; else None."""
    obj = _json_object(body, _IMAGE_FIELDS)
    if obj is None:
        return None
    image, top = obj.get("image"), obj.get("top", 5)
    if (type(image) is not str or len(image) > max_chars or not _count(top, 1, max_top)
            or not _IMAGE_CHARS.fullmatch(image)):
        return None
    return _Request(image=image, top=top)


def parser(fast: Callable[[bytes], _Request | None], body_model: type[BaseModel]):
    """body → request: ``fast``'s check, else the route's pydantic model; None if invalid."""

    def parse(body: bytes):
        req = fast(body)
        return req if req is not None else _request(body_model, body)

    return parse
