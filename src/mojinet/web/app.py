"""The draw-and-watch web app: one static page plus a small JSON API (FastAPI).

Routes (documented in docs/web.md; the OpenAPI schema is at ``/openapi.json``, browsable at
``/docs``):

- ``GET  /``                              the draw page (plain HTML/CSS/JS, no CDN, works offline)
- ``GET  /api/model``                     sizes, activations, classes, parameter counts
- ``POST /api/predict``                   a drawing (PNG data URL / base64) or preprocessed pixels
                                          → top candidates, every layer's activations, the input
- ``GET  /api/weights/{layer}/{neuron}``  one neuron's incoming weights and bias
- ``GET  /api/dictionary/{char}``          a kanji's readings and meanings (KANJIDIC2), a kana's
                                          romaji; the same entry ``/api/predict`` attaches to
                                          each candidate of a kana/kanji model

Every bad request gets a 4xx with ``{"detail": "<what is wrong and what to send>"}``; a body over
the size limit is refused (413) before it reaches the app, whether or not it declares its length.

Non-goals: authentication, TLS, serving several models at once. It is meant for 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, model_validator

from .. import __version__, engines
from ..data.dictionary import CREDIT, CREDIT_URL, SOURCE_URL, lookup, lookup_all
from ..io import Model
from .readout import (
    MAX_DRAWING_PIXELS,
    DrawingError,
    check_pixels,
    decode_drawing,
    incoming_weights,
    model_info,
    preprocess,
    readout,
)

#: Default limit on a request body. A 280×280 canvas as a PNG data URL is 10–40 kB.
MAX_BODY_BYTES = 1_000_000


# ----------------------------------------------------------------------------- schemas
class PredictRequest(BaseModel):
    """Send exactly one of ``image`` or ``pixels``."""

    image: str | None = Field(
        None, description="The drawing: a data URL (`data:image/png;base64,…`, as "
        "`canvas.toDataURL()` gives) or bare base64 of a PNG/JPEG/… file. Dark ink on light "
        "paper or light ink on dark; transparent areas count as paper. The server preprocesses "
        "it exactly like `mojinet predict`.",
    )
    pixels: list[float] | list[list[float]] | None = Field(
        None, description="An input already preprocessed: h·w values in [0, 1] row by row "
        "(or h rows of w), 1 = ink. Skips the image preprocessing.",
    )
    top: int = Field(5, ge=1, le=1000, description="How many candidates to return.")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.image is None) == (self.pixels is None):
            raise ValueError("send exactly one of 'image' (a PNG data URL) or 'pixels'")
        return self


class DictionaryEntry(BaseModel):
    """A kanji's readings and meanings (KANJIDIC2) or a kana's romaji (from its Unicode name)."""

    char: str
    kind: str = Field(description="kanji, hiragana or katakana")
    source: str = Field(description="KANJIDIC2 (kanji) or Unicode (kana: romaji from the "
                        "character's Unicode name)")
    on: list[str] | None = Field(None, description="Kanji: on'yomi, in katakana.")
    kun: list[str] | None = Field(None, description="Kanji: kun'yomi, in hiragana ('.' marks "
                                  "where okurigana start, '-' a prefix or suffix; a few loanword "
                                  "readings are katakana).")
    meanings: list[str] | None = Field(None, description="Kanji: English meanings.")
    grade: int | None = Field(None, description="Kanji: 1-6 kyōiku (school year), 8 other jōyō, "
                              "9-10 jinmeiyō.")
    grade_name: str | None = None
    strokes: int | None = Field(None, description="Kanji: stroke count.")
    jlpt: int | None = Field(None, description="Kanji: the old four-level JLPT (4 easiest).")
    credit: str | None = Field(None, description="Kanji: the acknowledgement to show with the "
                               "data (KANJIDIC2 © EDRDG, CC BY-SA 4.0).")
    credit_url: str | None = None
    romaji: str | None = Field(None, description="Kana: Hepburn romaji (を → wo).")
    small: bool | None = Field(None, description="Kana: a small kana (ゃ, ッ …).")


class Candidate(BaseModel):
    label: str = Field(description="The class label (a digit, kana or kanji).")
    index: int = Field(description="The output neuron's index.")
    probability: float
    dictionary: DictionaryEntry | None = Field(
        None, description="Present when the label is a kanji or kana: its readings and meanings "
        "(absent for digits, Latin letters and other labels).")


class LayerActivations(BaseModel):
    size: int
    activation: str = Field(description="The layer's activation function σ.")
    values: list[float] = Field(description="Each neuron's activation a = σ(z).")


class Prediction(BaseModel):
    top: list[Candidate] = Field(description="Best candidates first.")
    input: list[list[float]] = Field(description="The input as the network sees it (h rows of w "
                                     "values in [0, 1], 1 = ink), after preprocessing.")
    layers: list[LayerActivations] = Field(description="Every layer after the input, in order; "
                                           "the last is the output layer.")


class LayerInfo(BaseModel):
    fan_in: int
    fan_out: int
    weights: int
    biases: int


class DictionarySource(BaseModel):
    entries: int = Field(description="How many of the model's classes have an entry.")
    kanji: int = Field(description="How many of them are kanji (KANJIDIC2 entries).")
    credit: str
    credit_url: str
    source_url: str


class ModelInfo(BaseModel):
    name: str
    sizes: list[int] = Field(description="Neurons per layer, input layer first.")
    activations: list[str] = Field(description="One per layer after the input.")
    activation_ranges: list[list[float | None]] = Field(
        description="[low, high] of each activation's output (null = unbounded).")
    cost: str
    classes: list[str]
    image_shape: list[int]
    layers: list[LayerInfo]
    n_weights: int
    n_biases: int
    n_params: int
    test_accuracy: float | None = None
    dataset: str | None = None
    dictionary: DictionarySource | None = Field(
        None, description="Present when some classes have dictionary entries (kana, kanji).")


class Weights(BaseModel):
    layer: int
    neuron: int
    label: str | None = Field(description="The class label, for output neurons.")
    shape: list[int] = Field(description="[h, w] for layer 1 (an image), [fan_in] deeper.")
    weights: list[float] = Field(description="Incoming weights, row by row.")
    bias: float
    min: float
    max: float


class Problem(BaseModel):
    detail: str


ERRORS = {400: {"model": Problem}, 413: {"model": Problem}, 422: {"model": Problem}}


# ----------------------------------------------------------------------------- body limit
class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413.

    The body is read (up to the limit) before the app sees it, so a chunked or lying client
    cannot push more than ``max_bytes`` into the app. A body somewhat over the limit is read to
    its end (up to ``drain`` more bytes, discarded) before the 413 goes out, because an HTTP/1.1
    client sends its whole body before it reads the reply and would otherwise see a reset
    connection instead of the message; a declared length beyond that is refused at once.
    """

    def __init__(self, app, max_bytes: int, drain: int | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.drain = 4 * max_bytes if drain is None else drain

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = False
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _send_problem(send, 400, "Content-Length is not a number")
                return
            if length > self.max_bytes + self.drain:
                await self._too_large(send)
                return
            too_large = length > self.max_bytes
        body = bytearray()
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            too_large = too_large or received > self.max_bytes
            if too_large:
                body.clear()  # keep nothing; just read on to the end (or the drain limit)
                if received > self.max_bytes + self.drain:
                    break
            else:
                body += chunk
            if not message.get("more_body", False):
                break
        if too_large:
            await self._too_large(send)
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send):
        await _send_problem(send, 413, f"request body is over the {self.max_bytes:,}-byte limit; "
                            f"send a smaller drawing (a 280×280 PNG is about 20 kB)")


async def _send_problem(send, status: int, detail: str):
    payload = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


# ----------------------------------------------------------------------------- errors
def _describe(errors) -> tuple[int, str]:
    """Pydantic/FastAPI validation errors → (status, one readable message)."""
    parts = []
    status = 422
    for e in errors:
        if e.get("type") == "json_invalid":
            status = 400
            ctx = e.get("ctx") or {}
            parts.append(f"the request body is not valid JSON ({ctx.get('error', 'parse error')})"
                         f"; send a JSON object like {{\"image\": \"data:image/png;base64,…\"}}")
            continue
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if e.get("type") == "model_attributes_type":
            msg = "the body must be a JSON object (Content-Type: application/json)"
        parts.append(f"{where}: {msg}" if where else msg)
    return status, "; ".join(dict.fromkeys(parts)) or "invalid request"


# ----------------------------------------------------------------------------- app
def create_app(model: Model, name: str = "", max_body: int = MAX_BODY_BYTES,
               max_pixels: int = MAX_DRAWING_PIXELS) -> FastAPI:
    """The app serving ``model``. ``name`` is shown on the page (e.g. the model file's name)."""
    app = FastAPI(
        title="mojinet draw page",
        version=__version__,
        description="Draw a character; see the network read it. Predict from a drawing, "
        "describe the model, show a neuron's incoming weights.",
    )
    app.add_middleware(BodySizeLimit, max_bytes=max_body)
    engines.load_kernels()  # a server reads many drawings: load the compiled kernels once, now
    info = model_info(model, name)
    # Dictionary entries for the classes, found once (a damaged table fails here, at start-up).
    entries = {label: e.to_dict() for label, e in lookup_all(model.classes).items()}
    n_kanji = sum(e["kind"] == "kanji" for e in entries.values())
    info["dictionary"] = ({"entries": len(entries), "kanji": n_kanji, "credit": CREDIT,
                           "credit_url": CREDIT_URL, "source_url": SOURCE_URL}
                          if entries else None)
    static = resources.files("mojinet.web") / "static"
    index_html = (static / "index.html").read_text(encoding="utf-8")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        status, detail = _describe(exc.errors())
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return JSONResponse({"detail": jsonable_encoder(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return HTMLResponse(index_html, headers={"Cache-Control": "no-cache"})

    @app.get("/api/model", response_model=ModelInfo, summary="Describe the model")
    async def get_model():
        return info

    @app.post("/api/predict", response_model=Prediction, responses=ERRORS,
              summary="Read a drawing")
    def predict(req: PredictRequest):  # a plain def: runs in the thread pool, off the event loop
        """Preprocess the drawing like `mojinet predict`, run the network, and return the top
        candidates, every layer's activations and the input as the network saw it. The
        `Server-Timing` header gives the time spent on that work (ms), without HTTP."""
        started = time.perf_counter()
        try:
            if req.image is not None:
                x = preprocess(model, decode_drawing(req.image), max_pixels=max_pixels)
            else:
                x = check_pixels(model, req.pixels)
        except DrawingError as e:
            raise HTTPException(422, str(e)) from e
        result = readout(model, x, top=req.top)
        for candidate in result["top"]:
            if candidate["label"] in entries:
                candidate["dictionary"] = entries[candidate["label"]]
        response = JSONResponse(result)
        ms = (time.perf_counter() - started) * 1e3
        response.headers["Server-Timing"] = f"predict;dur={ms:.2f}"
        return response

    @app.get("/api/weights/{layer}/{neuron}", response_model=Weights,
             responses={404: {"model": Problem}}, summary="A neuron's incoming weights")
    async def weights(
        layer: Annotated[int, Path(description="1 = the first layer after the input")],
        neuron: Annotated[int, Path(description="0-based index in the layer")],
    ):
        try:
            return JSONResponse(incoming_weights(model, layer, neuron))
        except IndexError as e:
            raise HTTPException(404, str(e)) from e

    @app.get("/api/dictionary/{char}", response_model=DictionaryEntry,
             responses={404: {"model": Problem}}, summary="A character's readings and meanings")
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

    app.mount("/static", StaticFiles(packages=[("mojinet.web", "static")]), name="static")
    return app
