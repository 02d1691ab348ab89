"""What the draw page shows, computed with NumPy only (no web framework here).

- ``decode_drawing``: the page's PNG (a ``data:`` URL or plain base64) → bytes, with clear errors;
- ``read_drawing`` / ``preprocess``: those bytes → the network's input, by exactly the steps
  ``mojinet predict`` uses (``mojinet.data.images.open_image`` then ``read_image``, same size and
  box), with a tighter pixel limit suited to a server (a drawing never needs 4 megapixels). A
  clean canvas (the page's: white paper, no texture) is read by ``data.fastread``, which gives
  the same arrays at a fraction of the work; ``reference=True`` always runs ``read_image``;
- ``read_strokes``: the page's strokes drawn on the server's own canvas (``data.canvas``) and
  read as a PNG of that canvas would be, without the PNG;
- ``verdict``: is it a character at all (``mojinet.data.verdict``);
- ``readout``: one input row → the top candidates and every layer's activations
  (``Network.forward``);
- ``model_info`` and ``incoming_weights``: what the page needs to draw the network.

Non-goals: batching many drawings, gradients or saliency (see ``mojinet.inspect``), training.
"""

from __future__ import annotations

import base64
import binascii
import re

import numpy as np
from PIL import Image, UnidentifiedImageError

from .. import scores
from ..data import canvas
from ..data.fastread import read_clean, read_clean_grey
from ..data.images import ImageError, Reading, open_image, read_image
from ..data.verdict import judge
from ..io import Model

#: Pixels a drawing may have once decoded. A 4 MP canvas is far beyond any drawing; the limit is
#: checked from the image header, before decoding, so a decompression bomb costs nothing.
MAX_DRAWING_PIXELS = 4_000_000

#: Pixel visits the server's canvas may spend drawing one request's strokes
#: (``data.canvas.visits``; the page's digits take ~10⁵, a many-stroke kanji ~10⁶).
MAX_STROKE_VISITS = 20_000_000

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?);base64,",
                       re.IGNORECASE)


class DrawingError(ValueError):
    """A request's drawing or pixels cannot be used; the message says why and what to send."""


def decode_drawing(text: str) -> bytes:
    """A ``data:image/png;base64,…`` URL or bare base64 → the encoded image bytes."""
    text = text.strip()
    m = _DATA_URL.match(text)
    if m:
        mime = (m.group("mime") or "").lower()
        if not mime.startswith("image/"):
            raise DrawingError(f"the data URL has type {mime or 'none'!r}; send an image "
                               f"(data:image/png;base64,…)")
        text = text[m.end():]
    elif text.startswith("data:"):
        raise DrawingError("the data URL must be base64-encoded (data:image/png;base64,…)")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise DrawingError(f"image is not valid base64 ({e}); send the canvas as "
                           f"canvas.toDataURL('image/png')") from e
    if not raw:
        raise DrawingError("image is empty")
    return raw


def read_drawing(model: Model, raw: bytes, max_pixels: int = MAX_DRAWING_PIXELS,
                 reference: bool = False) -> Reading:
    """Encoded image bytes → the ``Reading`` ``mojinet predict`` makes of them (input and ink).

    A clean picture takes ``data.fastread``'s path (the same Reading, tested array for array)
    unless ``reference``; anything else, and every error, comes from ``read_image``."""
    def picture():
        img = open_image(raw, max_pixels=max_pixels)
        return img, (lambda size, box: None if reference else read_clean(img, size, box))

    return _read(model, picture)


def read_strokes(model: Model, strokes: list, pad: tuple[int, int] = canvas.PAD,
                 pen: float = canvas.PEN, reference: bool = False,
                 max_visits: int = MAX_STROKE_VISITS) -> Reading:
    """The page's strokes (each a list of [x, y] or [x, y, t] pad pixels) → the ``Reading``
    ``read_drawing`` makes of a PNG of the same strokes drawn on the server's canvas
    (``data.canvas.pad_grey``): the same grey bytes, the same preprocessing, no PNG."""
    width, height = pad
    try:
        grey = canvas.pad_grey([s if isinstance(s, np.ndarray)  # (n, 2) float64 already
                                else np.array([p[:2] for p in s], dtype=np.float64)  # (n, 2)
                                for s in strokes], width,
                               height, pen, max_visits)  # (height, width) uint8
    except canvas.TooMuchWork as e:
        raise DrawingError(str(e)) from e

    def picture():  # the PIL image only if the fast path declines (it needs none)
        return (lambda: Image.fromarray(grey, "L"),
                lambda size, box: None if reference else read_clean_grey(grey, size, box))

    return _read(model, picture)


def _read(model: Model, picture) -> Reading:
    """The ``Reading`` of ``picture()`` → (PIL image or a function making it, fast(size, box)
    → Reading or None), with every error a ``DrawingError`` that says what to send."""
    h, w = model.image_shape
    if h != w:
        raise DrawingError(f"this model reads {h}×{w} inputs; drawings work with square inputs")
    box = model.preprocessing.get("user_images", {}).get("box")
    try:
        img, fast = picture()
        with np.errstate(all="ignore"):  # odd sample values (inf, NaN) are refused just below
            reading = fast(h, box)
            if reading is None:
                img = img() if callable(img) else img
                reading = read_image(img, size=h, box=box)  # x: (h, w)
        if not np.all(np.isfinite(reading.x)):
            raise ValueError("its samples are not all finite numbers")
    except ImageError as e:
        if isinstance(e.__cause__, UnidentifiedImageError):
            raise DrawingError("the data is not an image file Pillow can read; send a PNG "
                               "(canvas.toDataURL('image/png')), JPEG, BMP, GIF or TIFF") from e
        raise DrawingError(str(e).removeprefix("image: ")) from e
    except (ValueError, TypeError, OSError, ArithmeticError) as e:
        # A file Pillow decodes but the pipeline cannot use (an exotic mode, odd sample values):
        # the client's data, so a 4xx that says so, not a server error.
        raise DrawingError(f"this image cannot be read as a drawing ({type(e).__name__}: {e}); "
                           f"send an 8-bit PNG (canvas.toDataURL('image/png')) or JPEG") from e
    return reading


def preprocess(model: Model, raw: bytes, max_pixels: int = MAX_DRAWING_PIXELS,
               reference: bool = False) -> np.ndarray:
    """Encoded image bytes → (n_inputs,) float32 input activations, as ``mojinet predict`` does."""
    return read_drawing(model, raw, max_pixels, reference).x.reshape(-1)  # (h·w,)


def verdict(model: Model, result: dict, reading: Reading | None, x: np.ndarray) -> dict:
    """Is it a character (``data.verdict.judge``)? On the picture's ink map when there was a
    picture, else on the pixels sent (x: (h·w,), already ink = 1)."""
    ink = reading.ink if reading is not None else x.reshape(model.image_shape)
    contrast = reading.contrast if reading is not None else float(x.max(initial=0.0))
    facts = reading.facts if reading is not None else None  # a fast read's counts
    return judge(ink, contrast, result["top"][0]["share"], len(model.classes), facts).to_dict()


def check_pixels(model: Model, pixels) -> np.ndarray:
    """An already preprocessed input (h·w values in [0, 1], or h rows of w) → (n_inputs,)."""
    h, w = model.image_shape
    n_pixels = model.features.n_pixels  # the image; the model makes its inputs of it
    wanted = (f"pixels must hold {n_pixels} values ({h}×{w}, row by row, or {h} "
              f"rows of {w})")
    try:
        x = np.asarray(pixels, dtype=np.float64)
    except (ValueError, TypeError) as e:  # ragged rows, non-numbers
        raise DrawingError(f"{wanted}: numbers in [0, 1], every row the same length") from e
    if x.ndim == 2 and x.shape == (h, w):
        x = x.reshape(-1)
    if x.ndim != 1 or x.size != n_pixels:
        raise DrawingError(f"{wanted}; got shape {list(x.shape)}")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        raise DrawingError("pixels must be finite numbers in [0, 1] (1 = ink, 0 = background)")
    return x.astype(np.float32)


def readout(model: Model, x: np.ndarray, top: int = 5, decimals: int = 5) -> dict:
    """Everything the page shows for one image x: (h·w,), read by the model (``Model.inputs``:
    the pixels, or the pixels and their direction planes).

    ``top``: the best candidates (``scores.candidates``): each output neuron's activation, its
    share of the output layer's total, and ``probability`` (a softmax's probability; for other
    outputs the share, under its old name). ``output`` says which the output layer gives.
    ``layers``: one entry per layer after the input with its activations Aˡ (the input itself is
    returned separately as ``input``, an h×w image). Values are rounded to ``decimals`` places to
    keep responses small.
    """
    net = model.network
    _, activations = net.forward(model.inputs(x[None, :]))  # activations[l]: (1, sizes[l])
    h, w = model.image_shape
    return {
        "top": scores.candidates(model, activations[-1][0], top),
        "output": scores.output_kind(net),
        "input": np.round(x.reshape(h, w).astype(np.float64), 3).tolist(),
        "layers": [
            {"size": int(A.shape[1]), "activation": sigma.name,
             "values": np.round(A[0].astype(np.float64), decimals).tolist()}
            for A, sigma in zip(activations[1:], net.activations, strict=True)
        ],
    }


def preprocessing_info(model: Model) -> dict:
    """The input size and the box a drawing is scaled into (``to_input``'s ``size`` and ``box``)."""
    h, w = model.image_shape
    box = model.preprocessing.get("user_images", {}).get("box") or max(1, round(h * 20 / 28))
    return {"size": h, "box": int(box), "method": "crop to the ink, scale the longer side into "
            "the box, centre by the centre of mass"}


def model_info(model: Model, name: str = "") -> dict:
    """Sizes, activations, classes and parameter counts: what the page needs to draw the network."""
    net = model.network
    h, w = model.image_shape
    training = model.training or {}
    return {
        "name": name,
        "sizes": list(net.sizes),
        "activations": [a.name for a in net.activations],
        "activation_ranges": [[float(lo), None if np.isinf(hi) else float(hi)]
                              for lo, hi in (a.output_range for a in net.activations)],
        "cost": net.cost.name,
        "output": scores.output_kind(net),
        "preprocessing": preprocessing_info(model),
        "classes": list(model.classes),
        "image_shape": [h, w],
        "layers": [{"fan_in": int(W.shape[0]), "fan_out": int(W.shape[1]), "weights": int(W.size),
                    "biases": int(b.size)} for W, b in zip(net.weights, net.biases, strict=True)],
        "n_weights": int(net.n_weights),
        "n_biases": int(net.n_biases),
        "n_params": int(net.n_params),
        "test_accuracy": training.get("test_accuracy"),
        "dataset": (training.get("config") or {}).get("dataset"),
        "parameters_sha256": model.identity,
    }


def incoming_weights(model: Model, layer: int, neuron: int, decimals: int = 5) -> dict:
    """The weights into one neuron of ``layer`` (1 = first hidden layer) and its bias.

    For layer 1 they are shaped like the input image (h×w): the picture the neuron responds to.
    For deeper layers they are one weight per neuron of the layer before (``shape`` = [fan_in]).
    """
    net = model.network
    if not 1 <= layer <= net.n_layers:
        raise IndexError(f"layer must be between 1 and {net.n_layers} (layer 1 = the first layer "
                         f"after the input); got {layer}")
    fan_in, fan_out = net.weights[layer - 1].shape
    if not 0 <= neuron < fan_out:
        raise IndexError(f"layer {layer} has {fan_out} neurons (0 to {fan_out - 1}); got {neuron}")
    w = net.weights[layer - 1][:, neuron].astype(np.float64)  # (fan_in,)
    if layer == 1:  # the weights from the pixels (not from direction planes beside them)
        w = w[:model.features.n_pixels]  # (h·w,)
    shape = list(model.image_shape) if layer == 1 else [fan_in]
    return {
        "layer": layer,
        "neuron": neuron,
        "label": model.classes[neuron] if layer == net.n_layers else None,
        "shape": shape,
        "weights": np.round(w, decimals).tolist(),
        "bias": round(float(net.biases[layer - 1][neuron]), decimals),
        "min": float(w.min()),
        "max": float(w.max()),
    }
