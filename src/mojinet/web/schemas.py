"""The JSON shapes of the draw page's API: what each request and response body holds.

They are the published OpenAPI schema (``/openapi.json``), so they say everything a body must
hold: ``predict_request(h, w)`` builds the request body for a model reading h×w inputs, with
``pixels`` exactly h·w numbers in [0, 1] (or h rows of w) and strict types (no strings for
numbers, no NaN); every error body is a ``Problem``.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: What a client can ask for in ``top``.
MAX_TOP = 1000
#: ``image`` is a data URL or bare base64: ASCII letters, digits and ``+/=:;,._%-`` only (so
#: each character is one byte of the body, and the body limit and ``maxLength`` agree).
IMAGE_PATTERN = r"^\s*[A-Za-z0-9+/=:;,._%-]*\s*$"


def _exactly_one_source(schema: dict) -> None:
    """JSON Schema for "exactly one of image and pixels" (pydantic cannot say it by itself)."""
    schema["oneOf"] = [{"required": ["image"]}, {"required": ["pixels"]}]
    for name in ("image", "pixels"):
        schema["properties"][name].pop("default", None)


def predict_request(h: int, w: int, max_chars: int) -> type[BaseModel]:
    """The body of ``POST /api/predict`` for a model reading h×w inputs (``max_chars``: the
    longest ``image`` string the body limit lets through)."""
    n = h * w
    pixel = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    flat = Annotated[list[pixel], Field(min_length=n, max_length=n,
                                        title=f"{n} values, row by row")]
    row = Annotated[list[pixel], Field(min_length=w, max_length=w)]
    rows = Annotated[list[row], Field(min_length=h, max_length=h, title=f"{h} rows of {w}")]

    class PredictRequest(BaseModel):
        """Send exactly one of `image` or `pixels`, and optionally `top`. Types are strict:
        numbers as JSON numbers, never strings."""

        model_config = ConfigDict(strict=True, extra="forbid",
                                  json_schema_extra=_exactly_one_source)

        image: str = Field(
            None, max_length=max_chars, pattern=IMAGE_PATTERN,
            description="The drawing: a data URL (`data:image/png;base64,…`, as "
            "`canvas.toDataURL()` gives) or bare base64 of a PNG/JPEG/… file. Dark ink on light "
            "paper or light ink on dark; transparent areas count as paper. The server "
            "preprocesses it exactly like `mojinet predict`.")
        pixels: flat | rows = Field(
            None, description=f"An input already preprocessed: {n} numbers in [0, 1] row by "
            f"row, or {h} rows of {w}; 1 = ink, 0 = background. Skips the image preprocessing.")
        top: int = Field(5, ge=1, le=MAX_TOP, description="How many candidates to return "
                         "(at most the number of classes are).")

        @model_validator(mode="after")
        def _one_source(self):
            if (self.image is None) == (self.pixels is None):
                raise ValueError("send exactly one of 'image' (a PNG data URL) or 'pixels'")
            return self

    return PredictRequest


class Problem(BaseModel):
    """Every error response: what is wrong and what to send instead."""

    detail: str = Field(description="One readable sentence or more: what is wrong with the "
                        "request and what to do.")


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


#: What the output layer's numbers are (``mojinet.scores``).
OutputKind = Literal["probability", "activation"]
OUTPUT_DESCRIPTION = ("What the output layer gives: `probability` for a softmax output layer (its "
                      "activations sum to 1), `activation` for any other (the chapter's sigmoid "
                      "outputs: one independent activation in [0, 1] per class).")


class Candidate(BaseModel):
    label: str = Field(description="The class label (a digit, kana or kanji).")
    index: int = Field(description="The output neuron's index.")
    activation: float = Field(description="The output neuron's activation aᴸⱼ = σ(zᴸⱼ). For a "
                              "softmax output layer this is the class's probability.")
    share: float = Field(description="aⱼ / Σₖ aₖ: this class's share of the output layer's total "
                         "activation (negative activations count as 0). The same as the "
                         "probability for a softmax; for sigmoid outputs a share, not a "
                         "probability.")
    probability: float = Field(description="Kept for older clients. For a softmax output layer "
                               "(`output` = `probability`): the probability. For other outputs: "
                               "the same number as `share`, which is not a probability; read "
                               "`activation` and `share` instead.")
    dictionary: DictionaryEntry | None = Field(
        None, description="Present when the label is a kanji or kana: its readings and meanings "
        "(absent for digits, Latin letters and other labels).")


class LayerActivations(BaseModel):
    size: int
    activation: str = Field(description="The layer's activation function σ.")
    values: list[float] = Field(description="Each neuron's activation a = σ(z).")


class Verdict(BaseModel):
    """Is the input a character at all (``mojinet.data.verdict``)? Noise, paper texture and
    photos of nothing are not; the network's candidates are still given."""

    character: bool = Field(description="False when the input does not look like writing.")
    reason: str = Field(description="Why not (empty when it is a character).")
    coverage: float = Field(description="Share of the picture in ink.")
    scattered: float = Field(description="Share of the ink in specks outside the largest "
                             "pieces.")
    solid: float = Field(description="Share of the ink in pixels at least half as dark as the "
                         "darkest.")
    contrast: float = Field(description="The ink's peak minus the paper's level (1 = black on "
                            "white).")
    smooth: float = Field(description="The ink's correlation with itself one pixel over.")
    confidence: float | None = Field(description="The network's top share.")


class Prediction(BaseModel):
    character: bool = Field(description="False when the input is not a character (noise, "
                            "texture, a photo of nothing): then do not show `top` as a reading; "
                            "`verdict.reason` says why.")
    verdict: Verdict
    top: list[Candidate] = Field(description="Best candidates first.")
    output: OutputKind = Field(description=OUTPUT_DESCRIPTION)
    input: list[list[float]] = Field(description="The input as the network sees it (h rows of w "
                                     "values in [0, 1], 1 = ink), after preprocessing.")
    layers: list[LayerActivations] = Field(description="Every layer after the input, in order; "
                                           "the last is the output layer.")


class LayerInfo(BaseModel):
    fan_in: int
    fan_out: int
    weights: int
    biases: int


class Preprocessing(BaseModel):
    size: int = Field(description="The side of the (square) input image, in pixels.")
    box: int = Field(description="A drawing's longer side is scaled to this many pixels.")
    method: str


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
    output: OutputKind = Field(description=OUTPUT_DESCRIPTION)
    preprocessing: Preprocessing
    classes: list[str]
    image_shape: list[int]
    layers: list[LayerInfo]
    n_weights: int
    n_biases: int
    n_params: int
    test_accuracy: float | None = None
    dataset: str | None = None
    parameters_sha256: str = Field(
        description="The model's identity: SHA-256 of its layer sizes and parameters (as "
                    "`mojinet info` shows it and the model file records it).",
        pattern="^[0-9a-f]{64}$")
    dictionary: DictionarySource | None = Field(
        None, description="Present when some classes have dictionary entries (kana, kanji).")
    learn: "LearnInfo | None" = Field(None, description="Learn my hand: whether the server "
                                      "saves corrected drawings and adapts to them.")


class Weights(BaseModel):
    layer: int
    neuron: int
    label: str | None = Field(description="The class label, for output neurons.")
    shape: list[int] = Field(description="[h, w] for layer 1 (an image), [fan_in] deeper.")
    weights: list[float] = Field(description="Incoming weights, row by row.")
    bias: float
    min: float
    max: float




# ----------------------------------------------------------------------------- strokes
#: Caps on a drawing sent as strokes (the page's digits are 50–300 points, a kanji ~1,000).
MAX_STROKES, MAX_POINTS, MAX_COORD = 100, 5_000, 10_000.0
#: The largest pad (each side) and pen (pad pixels) the server draws strokes on.
MAX_PAD, MAX_PEN = 1024, 64.0
_pad_coord = Annotated[float, Field(ge=-MAX_COORD, le=MAX_COORD, allow_inf_nan=False)]
_pad_point = Annotated[list[_pad_coord], Field(min_length=2, max_length=3, description=(
    "[x, y] or [x, y, t]: pad pixels from the top left corner (t, in ms, is ignored)"))]
_pad_stroke = Annotated[list[_pad_point], Field(min_length=1, max_length=MAX_POINTS)]
_pad_side = Annotated[int, Field(ge=8, le=MAX_PAD)]


def strokes_request(max_top: int = MAX_TOP) -> type[BaseModel]:
    """The body of ``POST /api/predict/strokes``: the page's strokes instead of its PNG."""

    class StrokesRequest(BaseModel):
        """The drawing as the page's strokes: the server draws them on a white pad with a
        round black pen, as the page's canvas does, and reads that exactly as it would read a
        PNG of it. Types are strict."""

        model_config = ConfigDict(strict=True, extra="forbid")

        strokes: list[_pad_stroke] = Field(min_length=1, max_length=MAX_STROKES, description=(
            f"The strokes, each a list of points (a one-point stroke is a dot). At most "
            f"{MAX_POINTS:,} points in all; coordinates within ±{MAX_COORD:g} (the pad clips "
            f"what lies outside it)."))
        pad: list[_pad_side] = Field([280, 280], min_length=2, max_length=2, description=(
            "[width, height] of the pad in pixels (the draw page's: [280, 280])."))
        pen: float = Field(18.0, ge=1, le=MAX_PEN, allow_inf_nan=False, description=(
            "The pen's width in pad pixels (the draw page's: 18)."))
        top: int = Field(5, ge=1, le=max_top, description="How many candidates to return "
                         "(at most the number of classes are).")

        @model_validator(mode="after")
        def _not_too_many(self):
            n = sum(len(s) for s in self.strokes)
            if n > MAX_POINTS:
                raise ValueError(f"strokes: {n:,} points, over the limit of {MAX_POINTS:,}")
            return self

    return StrokesRequest


# ----------------------------------------------------------------------------- learn my hand
#: Caps on a saved drawing (the page's 280×280 pad sends a few hundred points a character).
MAX_SAMPLE_STROKES, MAX_SAMPLE_POINTS, MAX_SAMPLE_COORD = 200, 20_000, 100_000.0
#: The longest bitmap data URL (a 280×280 PNG is 10–40 kB).
MAX_SAMPLE_IMAGE = 600_000
_coord = Annotated[float, Field(ge=-MAX_SAMPLE_COORD, le=MAX_SAMPLE_COORD, allow_inf_nan=False)]
_point = Annotated[list[_coord], Field(min_length=2, max_length=3,
                                       description="[x, y] or [x, y, t]: pad units, t in ms")]
_stroke = Annotated[list[_point], Field(min_length=1, max_length=MAX_SAMPLE_POINTS)]
_side = Annotated[float, Field(gt=0, le=MAX_SAMPLE_COORD, allow_inf_nan=False)]


class SampleRequest(BaseModel):
    """A drawing and what it should have been read as. Types are strict."""

    model_config = ConfigDict(strict=True, extra="forbid")

    label: str = Field(min_length=1, max_length=16, description="The right character: one of "
                       "the model's classes (`/api/model`), e.g. a candidate or typed.")
    strokes: list[_stroke] = Field(min_length=1, max_length=MAX_SAMPLE_STROKES, description=(
        f"The strokes in writing order, each a list of points; every point [x, y] or every "
        f"point [x, y, t] (t: ms since the first point). At most {MAX_SAMPLE_POINTS:,} points "
        f"in all; coordinates within ±{MAX_SAMPLE_COORD:g}."))
    box: list[_side] = Field(min_length=2, max_length=2, description="[width, height] of the "
                             "writing area in the strokes' units (the pad: [280, 280]).")
    image: str = Field(max_length=MAX_SAMPLE_IMAGE, pattern=IMAGE_PATTERN, description="The "
                       "drawing as a PNG data URL (`canvas.toDataURL('image/png')`).")

    @model_validator(mode="after")
    def _points_alike(self):
        widths = {len(p) for s in self.strokes for p in s}
        if len(widths) > 1:
            raise ValueError("strokes: either every point has a time t ([x, y, t]) or none has")
        n = sum(len(s) for s in self.strokes)
        if n > MAX_SAMPLE_POINTS:
            raise ValueError(f"strokes: {n:,} points, over the limit of {MAX_SAMPLE_POINTS:,}")
        return self


class SampleSaved(BaseModel):
    name: str = Field(description="The sample's file name (without .jsonl/.png), made by the "
                      "server.")
    label: str
    count: int = Field(description="Samples of this label in the folder now.")
    total: int = Field(description="Samples in the folder now.")
    folder: str = Field(description="The user's samples folder for this model's classes.")


class SamplesInfo(BaseModel):
    folder: str
    total: int
    counts: dict[str, int] = Field(description="Samples per label.")


class AdaptScores(BaseModel):
    your_samples: float = Field(description="Top-1 accuracy on your saved samples, as written.")
    n_yours: int
    held_out: float = Field(description="Top-1 accuracy on held-out samples of the model's "
                            "original data (other writers): what must not be forgotten.")
    n_held_out: int


class AdaptStatus(BaseModel):
    state: Literal["idle", "running", "done", "failed"]
    epoch: int = Field(description="Epochs done so far.")
    epochs: int
    message: str = Field(description="One sentence for the page.")
    samples: int = Field(description="Your samples the adaptation learns from.")
    before: AdaptScores | None = None
    after: AdaptScores | None = None
    model: str | None = Field(None, description="The adapted model's file name (in the samples "
                              "folder's models/); the model it started from stays on disk.")


class LearnInfo(BaseModel):
    enabled: bool = Field(description="Whether this server saves samples and adapts.")
    folder: str | None = None


ModelInfo.model_rebuild()
