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

from collections.abc import Awaitable, Callable

import orjson
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

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
