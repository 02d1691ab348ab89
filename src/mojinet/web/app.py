"""The draw-and-watch web app: one static page plus a small JSON API (FastAPI).

Routes (documented in docs/web.md; the OpenAPI schema is at ``/openapi.json``, browsable at
``/docs`` and ``/redoc``, both served from this machine):

- ``GET  /``                              the draw page (plain HTML/CSS/JS, no CDN, works offline)
- ``GET  /api/model``                     sizes, activations, classes, parameter counts
- ``POST /api/predict``                   a drawing (PNG data URL / base64) or preprocessed pixels
                                          → top candidates, every layer's activations, the input
- ``POST /api/predict/strokes``           the same answer for the page's strokes (drawn on the
                                          server's canvas, ``data.canvas``; no PNG)
- ``GET  /api/weights/{layer}/{neuron}``  one neuron's incoming weights and bias
- ``GET  /api/dictionary/{char}``          a kanji's readings and meanings (KANJIDIC2), a kana's
                                          romaji; the same entry ``/api/predict`` attaches to
                                          each candidate of a kana/kanji model
- ``POST /api/samples``, ``GET /api/samples``   learn my hand: save a corrected drawing, count them
- ``POST /api/adapt``, ``GET /api/adapt``       adapt the model to them in the background
                                          (``learn.py``; the adapted model is swapped in)

Every error is a 4xx (or 503) with ``{"detail": "<what is wrong and what to send>"}``, the
``Problem`` schema, declared for each route. In front of the app (``guard``): the header
checks (size, Host), the security headers, and the body limits (size, time, how many at once).
Drawings are decoded in a bounded pool (``pool``). Non-goals: authentication, TLS, several models
at once. It is meant for 127.0.0.1.
"""

import contextlib
import io
import logging
import time
import warnings
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from starlette.exceptions import HTTPException

from .. import __version__, engines
from ..data import canvas, images, inkloops
from ..data.decode import DECODE_ERRORS
from ..data.dictionary import CREDIT, CREDIT_URL, SOURCE_URL, lookup, lookup_all
from ..io import Model
from .apidocs import ASSETS, add_docs
from .guard import (
    DOCS_CSP,
    RETRY_AFTER,
    STRICT_CSP,
    BodyLimit,
    HeaderCheck,
    SecurityHeaders,
    allowed_hosts,
)
from .lean import PATH, STROKES_PATH, FastAnswer, LeanPredict, image_body, parser, strokes_body
from .learn import LiveModel, SampleStore, add_learn_routes, samples_folder
from .page import favicon_ico, index_html, palette_css
from .pool import Busy, DecodePool
from .readout import (
    MAX_DRAWING_PIXELS,
    DrawingError,
    check_pixels,
    decode_drawing,
    incoming_weights,
    model_info,
    read_drawing,
    read_strokes,
    readout,
    verdict,
)
from .schemas import (
    DictionaryEntry,
    ModelInfo,
    Prediction,
    Problem,
    Weights,
    predict_request,
    strokes_request,
)

#: Default limit on a request body. A 280×280 canvas as a PNG data URL is 10–40 kB.
MAX_BODY_BYTES = 1_000_000
#: Drawings decoded at once (each 2000×2000 drawing needs ~140 MB while it is decoded).
DECODE_SLOTS = 2
#: Drawings of at most this many pixels (by their header; the page's canvas has 78,400) are
#: read on the event loop itself: a few ms and a few MB, less than a hop to a pool thread and
#: the hand-offs of the interpreter lock cost under load. Larger ones go to the decode pool.
INLINE_PIXELS = 512 * 512
#: Seconds a request waits for a decode slot before it gets 503.
QUEUE_WAIT = 10.0
#: Seconds a client has to send its whole request body.
BODY_TIMEOUT = 30.0
#: Request bodies held in memory at once (being read, waiting or decoded); more get 503.
MAX_PENDING = 32

log = logging.getLogger("mojinet.web")

try:  # orjson writes a prediction's JSON ~5× faster than the standard library; optional
    import orjson
except ImportError:  # pragma: no cover - the web extra installs it
    orjson = None


def _json(result: dict) -> Response:
    """A prediction as a JSON response (orjson when installed; the same JSON values)."""
    if orjson is None:
        return JSONResponse(result)
    return Response(orjson.dumps(result), media_type="application/json")


# ----------------------------------------------------------------------------- declared errors
def _problem(description: str, retry: bool = False) -> dict:
    spec = {"model": Problem, "description": description}
    if retry:
        spec["headers"] = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                           "schema": {"type": "integer"}}}
    return spec


#: Any route: a Host header that does not name this server, a bad Content-Length.
COMMON_ERRORS = {400: _problem("Bad request: the Host header does not name this server, the "
                               "body is not valid JSON, or Content-Length is not a number."),
                 431: _problem("The request headers are over 16 KiB in all.")}
PREDICT_ERRORS = {
    408: _problem("The request body did not arrive in time."),
    413: _problem("The request body is over the size limit."),
    415: _problem("The body is not JSON (send Content-Type: application/json)."),
    422: _problem("The body is JSON but not a usable request: wrong field types or values, not "
                  "an image, a blank drawing, too many pixels."),
    503: _problem("The server is busy; retry after Retry-After seconds.", retry=True),
}
#: The learn-my-hand routes (``learn.py``).
LEARN_OFF = {404: _problem("Learning is off on this server (started without a samples folder).")}
LEARN_ERRORS = {
    "samples": {**PREDICT_ERRORS, **LEARN_OFF,
                409: _problem("The samples folder is full, or holds a file that cannot be "
                              "read."),
                422: _problem("Not a usable sample: wrong field types or values, a label the "
                              "model does not know, a bitmap that is not a PNG."),
                429: _problem("Too many samples at once; retry after Retry-After seconds.",
                              retry=True)},
    "adapt": {**LEARN_OFF, 409: _problem("An adaptation is running already, there are no "
                                         "samples yet, or the folder holds a file that cannot "
                                         "be read."),
              429: _problem("Adaptations started too often; retry after Retry-After seconds.",
                            retry=True)},
    "get": {**LEARN_OFF, 409: _problem("The samples folder holds a file that cannot be read.")},
}
PATH_ERRORS = {404: _problem("No such layer, neuron or dictionary entry."),
               422: _problem("A path parameter of the wrong type or length.")}


# ----------------------------------------------------------------------------- errors
def _where(loc) -> str:
    """A validation error's location (``('body', 'pixels', 'list[...]', 3)`` → ``pixels[3]``)."""
    names = [p for p in loc if p != "body" and not (isinstance(p, str) and "[" in p)]
    out = ""
    for p in names:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _describe(errors, pixels_help: str, strokes: bool = False) -> tuple[int, str]:
    """Pydantic/FastAPI validation errors → (status, one readable message); ``strokes``: for
    the strokes route (its own example and fields)."""
    parts = []
    status = 422
    for e in errors:
        kind, loc = e.get("type"), e.get("loc", ())
        where = _where(loc)
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if kind == "json_invalid":
            status = 400
            ctx = e.get("ctx") or {}
            example = ('{"strokes": [[[x, y], …], …]}' if strokes
                       else '{"image": "data:image/png;base64,…"}')
            msg = (f"the request body is not valid JSON ({ctx.get('error', 'parse error')}); "
                   f"send a JSON object like {example}")
            where = ""
        elif kind in ("model_attributes_type", "model_type", "dict_type") and not where:
            msg = "the body must be a JSON object (Content-Type: application/json)"
        elif kind == "extra_forbidden":
            msg = ("unknown field; send 'strokes', and optionally 'pad', 'pen' and 'top'"
                   if strokes else "unknown field; send 'image' or 'pixels', and optionally "
                   "'top'")
        elif where == "image" and kind == "string_pattern_mismatch":
            msg = ("must be a data URL (data:image/png;base64,…) or base64 text; it holds "
                   "characters neither can")
        elif where.startswith("pixels"):
            if any(part.startswith(pixels_help) for part in parts):
                continue  # one message for the whole field, with its first problem
            msg, where = f"{pixels_help} ({where}: {msg})", ""
        parts.append(f"{where}: {msg}" if where else msg)
    return status, "; ".join(dict.fromkeys(parts)) or "invalid request"


async def _json_content(request: Request) -> None:
    """415 unless the body is declared JSON (no Content-Type at all is read as JSON)."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/")
                                            and media.endswith("+json")):
        raise HTTPException(415, f"the body must be JSON sent with Content-Type: "
                            f"application/json (got {declared!r})")


def _problem_response(exc: HTTPException) -> JSONResponse:
    """An HTTPException as its ``Problem`` response."""
    return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code,
                        headers=exc.headers)


def _csp(path: str) -> str:
    return DOCS_CSP if path.startswith(("/docs", "/redoc", ASSETS)) else STRICT_CSP


def _add_handlers(app: FastAPI, pixels_help: str) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        status, detail = _describe(exc.errors(), pixels_help,
                                   strokes=request.url.path == STROKES_PATH)
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return _problem_response(exc)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.exception("error answering %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); this is a bug in "
                             f"mojinet, please report it with the request that caused it"},
                            status_code=500)


# ----------------------------------------------------------------------------- app
def create_app(model: Model, name: str = "", max_body: int = MAX_BODY_BYTES,
               max_pixels: int = MAX_DRAWING_PIXELS,
               hosts: frozenset[str] | None = allowed_hosts("127.0.0.1"),
               decode_slots: int = DECODE_SLOTS, queue_wait: float = QUEUE_WAIT,
               body_timeout: float = BODY_TIMEOUT, max_pending: int = MAX_PENDING,
               model_path=None, samples=None, adapt_changes: dict | None = None,
               reference_preprocessing: bool = False, lean: bool = True) -> FastAPI:
    """The app serving ``model``. ``name`` is shown on the page (e.g. the model file's name).

    ``hosts``: the Host names it answers to (``guard.allowed_hosts``; None = any).
    ``decode_slots`` drawings are decoded at once; a request waits up to ``queue_wait`` s for a
    slot, then gets 503. Bodies: at most ``max_body`` bytes, sent within ``body_timeout`` s,
    ``max_pending`` held at once. Learn my hand (``learn.py``): ``samples`` is the root of the
    user's samples folders (None: off), ``model_path`` the model's file (the fine-tune starts
    from it; the server swaps in each adapted model), ``adapt_changes`` RunConfig fields for
    the adaptation. ``reference_preprocessing``: read every drawing with the reference
    preprocessing, never ``data.fastread``'s path for clean canvases (same answers, more work).
    ``lean``: answer well-formed predictions before FastAPI's routing (``lean.LeanPredict``;
    the same bytes, less work); False sends every request through FastAPI (for comparisons).
    """
    pool = DecodePool(decode_slots, queue_wait)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        pool.close()

    app = FastAPI(title="mojinet draw page", version=__version__, docs_url=None, redoc_url=None,
                  lifespan=lifespan, responses=COMMON_ERRORS,
                  description="Draw a character; see the network read it. Predict from a "
                  "drawing, describe the model, show a neuron's incoming weights. Every error "
                  "body is a `Problem`: `{\"detail\": \"...\"}`.")
    engines.load_kernels()  # a server reads many drawings: load the compiled kernels once, now
    inkloops.load()  # and the preprocessing's compiled counts (stroke width, pieces of ink)
    canvas.load()  # and the canvas the strokes route draws on
    # SciPy's ndimage (the photo path's closing, labelling) imported now, not lazily by the first
    # large drawing: the decode pool reads them on threads, and a lazy module's first use from
    # two threads at once can see it half-imported (an AttributeError). The fast paths never
    # touch it, so nothing else imports it before then.
    images.ndimage.label  # noqa: B018 - the attribute access is the import
    h, w = model.image_shape
    _add_handlers(app, f"pixels must hold {h * w} values: numbers in [0, 1], {h}×{w} row by "
                  f"row or {h} rows of {w} (1 = ink, 0 = background)")
    # Dictionary entries for the classes, found once (a damaged table fails here, at start-up).
    entries = {label: e.to_dict() for label, e in lookup_all(model.classes).items()}
    live = LiveModel(model, model_path)  # learn.py swaps in each adapted model
    store = None if samples is None else SampleStore(samples_folder(samples, model.classes),
                                                     model.classes)
    _add_model_routes(app, live, name, entries, store)
    # An `image` just over maxLength still fits in the body limit, so it gets 422, not 413.
    body_model = predict_request(h, w, max_body - 64)
    answer, reply = _add_predict(app, live, entries, body_model, pool, max_pixels,
                                 reference_preprocessing)
    strokes_model = strokes_request()
    answer_strokes, reply_strokes = _add_predict_strokes(app, live, entries, strokes_model,
                                                         pool, reference_preprocessing)
    add_learn_routes(app, live, store, LEARN_ERRORS, _json_content, adapt_changes)
    add_docs(app)
    ico = favicon_ico()

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        return Response(ico, media_type="image/x-icon",
                        headers={"Cache-Control": "max-age=86400"})

    app.mount("/static", StaticFiles(packages=[("mojinet.web", "static")]), name="static")
    # The middlewares, innermost first (each one added wraps those before it).
    if lean:  # innermost: inside the guards, before FastAPI's routing
        app.add_middleware(LeanPredict, routes={PATH: (body_model, answer),
                                                STROKES_PATH: (strokes_model, answer_strokes)},
                           problem=_problem_response)
    bodies = BodyLimit.Count()  # the bodies BodyLimit holds, which the fast path checks too
    app.add_middleware(BodyLimit, max_bytes=max_body, timeout=body_timeout,
                       max_pending=max_pending, count=bodies)
    app.add_middleware(HeaderCheck, allowed=hosts)
    app.add_middleware(SecurityHeaders, csp=_csp)  # outermost: on every response, errors too
    if lean and orjson is not None:  # the same answers, made by the server's protocol itself
        max_chars = max_body - 64
        app.state.fast = FastAnswer(
            {PATH: (parser(lambda b: image_body(b, max_chars), body_model), reply),
             STROKES_PATH: (parser(strokes_body, strokes_model), reply_strokes)},
            accepts_host=HeaderCheck(None, hosts).accepts, max_header_bytes=HeaderCheck.MAX_BYTES,
            max_body=max_body, bodies=bodies, max_pending=max_pending,
            security=lambda path: SecurityHeaders.lines(_csp(path)))
    return app


def _small(raw: bytes) -> bool:
    """Does the image's header say it has at most ``INLINE_PIXELS`` pixels? (Not an image, or
    a header Pillow refuses: False, and the pool's reading says why.)"""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as img:
                w, h = img.size
    except DECODE_ERRORS:
        return False
    return w * h <= INLINE_PIXELS


def _result(model: Model, entries: dict, reading, x, top: int) -> dict:
    """The prediction of input x: (h·w,), read from ``reading`` (None: pixels sent)."""
    result = readout(model, x, top=top)
    result["verdict"] = verdict(model, result, reading, x)
    result["character"] = result["verdict"]["character"]
    for candidate in result["top"]:
        if candidate["label"] in entries:
            candidate["dictionary"] = entries[candidate["label"]]
    return result


def _timed(result: dict, started: float) -> Response:
    """The prediction as JSON, with the work's time since ``started`` in Server-Timing."""
    response = _json(result)
    ms = (time.perf_counter() - started) * 1e3
    response.headers["Server-Timing"] = f"predict;dur={ms:.2f}"
    return response


def _add_predict(app: FastAPI, live: LiveModel, entries: dict, body_model, pool: DecodePool,
                 max_pixels: int, reference: bool = False):
    """The predict route; returns its ``answer`` (request → Response) for ``lean``."""

    def work(req, raw: bytes | None) -> dict:
        """Read one request: ``raw``, the drawing's encoded bytes, or ``req.pixels``."""
        model = live.model  # read once: an adaptation may swap in another meanwhile
        reading = None
        if raw is not None:
            reading = read_drawing(model, raw, max_pixels=max_pixels, reference=reference)
            x = reading.x.reshape(-1)  # (h·w,)
        else:
            x = check_pixels(model, req.pixels)
        return _result(model, entries, reading, x, req.top)

    def reply(req) -> dict | None:
        """The answer to a small drawing or pixels, at once (``lean.FastAnswer``); None for a
        drawing the pool must read. Raises ``DrawingError``."""
        raw = None if req.image is None else decode_drawing(req.image)
        return work(req, raw) if raw is None or _small(raw) else None

    async def answer(req) -> Response:
        """The work of the route (and of ``lean.LeanPredict``): the response, or HTTPException."""
        started = time.perf_counter()
        try:
            raw = None if req.image is None else decode_drawing(req.image)
            if raw is None or _small(raw):
                result = work(req, raw)  # a canvas: here, at once (INLINE_PIXELS)
            else:
                result = await pool.run(work, req, raw)
        except DrawingError as e:
            raise HTTPException(422, str(e)) from e
        except Busy as e:
            raise HTTPException(503, f"the server is busy ({e}); try again in {RETRY_AFTER} s",
                                headers={"Retry-After": str(RETRY_AFTER)}) from e
        return _timed(result, started)

    @app.post("/api/predict", response_model=Prediction, responses=PREDICT_ERRORS,
              summary="Read a drawing", dependencies=[Depends(_json_content)])
    async def predict(req: body_model):
        """Preprocess the drawing like `mojinet predict`, run the network, and return the top
        candidates, every layer's activations and the input as the network saw it. The
        `Server-Timing` header gives the time spent on that work (ms), without HTTP.
        Large drawings are decoded a few at a time; when all slots stay busy the answer is 503
        with `Retry-After`."""
        return await answer(req)

    return answer, reply


def _add_predict_strokes(app: FastAPI, live: LiveModel, entries: dict, body_model,
                         pool: DecodePool, reference: bool = False):
    """The strokes route; returns its ``answer`` (request → Response) for ``lean``."""

    def work(req) -> dict:
        model = live.model  # read once: an adaptation may swap in another meanwhile
        reading = read_strokes(model, req.strokes, tuple(req.pad), req.pen, reference)
        return _result(model, entries, reading, reading.x.reshape(-1), req.top)

    def reply(req) -> dict | None:
        """The answer to the page's pad, at once (``lean.FastAnswer``); None for a pad the
        pool must draw. Raises ``DrawingError``."""
        return work(req) if req.pad[0] * req.pad[1] <= INLINE_PIXELS else None

    async def answer(req) -> Response:
        started = time.perf_counter()
        try:
            if req.pad[0] * req.pad[1] <= INLINE_PIXELS:
                result = work(req)  # the page's pad: here, at once
            else:
                result = await pool.run(work, req)
        except DrawingError as e:
            raise HTTPException(422, str(e)) from e
        except Busy as e:
            raise HTTPException(503, f"the server is busy ({e}); try again in {RETRY_AFTER} s",
                                headers={"Retry-After": str(RETRY_AFTER)}) from e
        return _timed(result, started)

    @app.post(STROKES_PATH, response_model=Prediction, responses=PREDICT_ERRORS,
              summary="Read a drawing sent as strokes", dependencies=[Depends(_json_content)])
    async def predict_strokes(req: body_model):
        """The page's strokes instead of its PNG: the server draws them on its own canvas (a
        white pad, a round black pen, anti-aliased as a canvas is) and reads it exactly as
        `POST /api/predict` reads a PNG of that canvas, the same answer byte for byte, without
        the PNG's encoding and decoding. Photos and other pictures: `POST /api/predict`."""
        return await answer(req)

    return answer, reply


def _add_model_routes(app: FastAPI, live: LiveModel, name: str, entries: dict,
                      store: SampleStore | None) -> None:
    model = live.model
    info = model_info(model, name)
    info["learn"] = {"enabled": store is not None,
                     "folder": None if store is None else str(store.folder)}
    n_kanji = sum(e["kind"] == "kanji" for e in entries.values())
    info["dictionary"] = ({"entries": len(entries), "kanji": n_kanji, "credit": CREDIT,
                           "credit_url": CREDIT_URL, "source_url": SOURCE_URL}
                          if entries else None)
    html, css = index_html("server"), palette_css()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    @app.get("/static/palette.css", include_in_schema=False)
    async def palette():
        return Response(css, media_type="text/css", headers={"Cache-Control": "no-cache"})

    @app.get("/api/model", response_model=ModelInfo, summary="Describe the model")
    async def get_model():
        return info

    @app.get("/api/weights/{layer}/{neuron}", response_model=Weights, responses=PATH_ERRORS,
             summary="A neuron's incoming weights")
    async def weights(
        layer: Annotated[int, Path(description="1 = the first layer after the input")],
        neuron: Annotated[int, Path(description="0-based index in the layer")],
    ):
        try:
            return JSONResponse(incoming_weights(live.model, layer, neuron))
        except IndexError as e:
            raise HTTPException(404, str(e)) from e

    @app.get("/api/dictionary/{char}", response_model=DictionaryEntry, responses=PATH_ERRORS,
             summary="A character's readings and meanings")
    async def dictionary(
        char: Annotated[str, Path(description="One character (URL-encoded), e.g. %E5%B1%B1 for 山",
                                  max_length=8)],
    ):
        """A kanji's on/kun readings, English meanings, grade, strokes and JLPT level (KANJIDIC2
        © EDRDG, CC BY-SA 4.0: show the `credit` with them), or a kana's romaji. Any character,
        not only the model's classes."""
        entry = lookup(char)
        if entry is None:
            raise HTTPException(404, f"no dictionary entry for {char!r}: entries exist for single "
                                f"kanji (KANJIDIC2) and kana")
        return JSONResponse(entry.to_dict())
