"""The schema of a model file's metadata: every field checked in one place, errors naming it.

``check_metadata(meta)`` is what ``io.load_model`` runs on the parsed JSON before it reads a byte
of the arrays. It checks each field's type and range and its consistency with the others (one
activation per layer, one label per output neuron, an image shape whose pixels are the input
layer, ``user_images.size`` equal to that shape), so that a model that loads can be used by every
command (``predict``, ``info``, ``inspect``, ``figures``, ``evaluate``, ``serve``) without meeting
a value of the wrong type later. A field this version does not know is kept and never read
(fields are added with new mojinet versions; ``version`` says when a reader must refuse).

The fields (version 1):

- ``format`` "mojinet-model"; ``version`` a whole number from 1 to ``VERSION``;
- ``sizes`` neurons per layer, input first (2 to ``MAX_LAYERS`` layers, each 1 to
  ``MAX_LAYER_SIZE``); ``activations`` one known name per layer after the input (softmax only on
  the output layer); ``cost`` a known cost that suits the output layer;
- ``classes`` one distinct text label per output neuron;
- ``preprocessing`` (optional): ``image_shape`` [h, w] with h·w = sizes[0] (with ``features``
  {``name`` one of ``data.directions.FEATURES``, ``pool`` 1 to 64}: the pixels and the direction
  planes, ``data.directions``, = sizes[0]); ``input`` text;
  ``user_images`` {``method`` text, ``size`` = h, ``box`` 1 to size};
- ``training`` (optional): the run's record (``config`` a table, ``status``, ``history`` one
  record per epoch, counts, times, accuracies; ``resume`` the state of an unfinished run);
- ``state`` (optional): the extra arrays of an unfinished run, ``{name: {dtype, shape}}``;
- ``parameters_sha256`` (optional; written since this check exists): the SHA-256 of the network's
  parameters (``parameters_sha256`` below), the model's identity, compared with the arrays read.

Non-goals: checking that the recorded ``training.config`` is a valid run of this mojinet version
(``config.read_config`` does that, and says when it is from an older one).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence

import numpy as np

from .nn.activations import ACTIVATIONS
from .nn.costs import COSTS

__all__ = ["FORMAT", "MAX_LAYERS", "MAX_LAYER_SIZE", "STATE_DTYPES", "STATE_NAME", "VERSION",
           "ModelFileError", "check_metadata", "default_image_shape", "nesting_depth",
           "parameters_sha256"]

FORMAT = "mojinet-model"
VERSION = 1
MAX_LAYERS = 64
MAX_LAYER_SIZE = 10_000_000
MAX_STATE_ARRAYS = 1024
MAX_NESTING = 32
STATE_NAME = re.compile(r"[A-Za-z0-9_.]{1,64}")
STATE_DTYPES = ("<f4", "<f8")
STATUSES = ("running", "interrupted", "finished", "diverged")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ModelFileError(ValueError):
    """A model file cannot be read: not a mojinet model, damaged, or from a newer version."""


class _Field:
    """Checks of one field, raising ModelFileError with the field's dotted name."""

    def __init__(self, name: str):
        self.name = name

    def fail(self, wanted: str, value) -> None:
        shown = json.dumps(value, ensure_ascii=False, default=str)
        shown = shown if len(shown) <= 80 else shown[:77] + "…"
        raise ModelFileError(f"metadata field {self.name!r} must be {wanted}, got {shown}")

    def whole(self, value, lo: int, hi: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < lo or (
                hi is not None and value > hi):
            self.fail(f"a whole number from {lo}" + (f" to {hi:,}" if hi is not None else " up"),
                      value)
        return value

    def number(self, value, lo: float = -math.inf, hi: float = math.inf) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and lo <= value <= hi):
            self.fail(f"a finite number in [{lo:g}, {hi:g}]", value)
        return value

    def text(self, value, choices: Sequence[str] | None = None, max_len: int = 10_000) -> str:
        if not isinstance(value, str) or len(value) > max_len:
            self.fail(f"text (up to {max_len:,} characters)", value)
        if choices is not None and value not in choices:
            self.fail("one of " + ", ".join(choices), value)
        return value

    def table(self, value) -> dict:
        if not isinstance(value, dict):
            self.fail("an object", value)
        return value

    def items(self, value, max_len: int) -> list:
        if not isinstance(value, list) or len(value) > max_len:
            self.fail(f"a list (of up to {max_len:,} items)", value)
        return value

    def __getitem__(self, key) -> _Field:
        return _Field(f"{self.name}.{key}" if isinstance(key, str) else f"{self.name}[{key}]")


def nesting_depth(value, limit: int = MAX_NESTING) -> int:
    """How deeply lists and objects nest in ``value`` (counted without recursion, up to limit+1)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        v, depth = todo.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, depth)
            if depth > limit:
                return depth
            todo.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def check_metadata(meta) -> dict:
    """``meta`` (parsed JSON) checked field by field; returns it. Raises ModelFileError."""
    if not isinstance(meta, dict):
        raise ModelFileError(f"the metadata is not an object but {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"not a mojinet model file (format {meta.get('format')!r:.60})")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= VERSION:
        raise ModelFileError(f"model format version {version!r:.40}; this mojinet reads 1 to "
                             f"{VERSION}. Upgrade mojinet (pip install -U mojinet)")
    if nesting_depth(meta) > MAX_NESTING:
        raise ModelFileError(f"the metadata nests lists and objects over {MAX_NESTING} deep")
    sizes = _check_network(meta)
    _check_classes(meta.get("classes"), sizes[-1])
    _check_preprocessing(meta.get("preprocessing", {}), sizes[0])
    _check_training(meta.get("training", {}), _Field("training"))
    _check_state(meta.get("state", {}))
    if "parameters_sha256" in meta:
        digest = meta["parameters_sha256"]
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            _Field("parameters_sha256").fail("64 lowercase hexadecimal digits", digest)
    return meta


def _check_network(meta: dict) -> list[int]:
    f = _Field("sizes")
    sizes = f.items(meta.get("sizes"), MAX_LAYERS)
    if len(sizes) < 2:
        f.fail("a list of at least 2 layer sizes (input and output)", sizes)
    for i, s in enumerate(sizes):
        f[i].whole(s, 1, MAX_LAYER_SIZE)
    f = _Field("activations")
    acts = f.items(meta.get("activations"), MAX_LAYERS)
    if len(acts) != len(sizes) - 1:
        f.fail(f"one activation per layer after the input ({len(sizes) - 1})", acts)
    for i, a in enumerate(acts):
        f[i].text(a, list(ACTIVATIONS))
        if i < len(acts) - 1 and ACTIVATIONS[a].derivative is None:
            f[i].fail("an activation a hidden layer can have (softmax is for the output layer)",
                      a)
    cost = _Field("cost").text(meta.get("cost", "quadratic"), list(COSTS))
    try:
        COSTS[cost].check_output(ACTIVATIONS[acts[-1]])
    except ValueError as e:
        raise ModelFileError(f"metadata field 'cost': {e}") from None
    return sizes


def _check_classes(classes, n_outputs: int) -> None:
    f = _Field("classes")
    if not isinstance(classes, list) or len(classes) != n_outputs:
        f.fail(f"a list of {n_outputs:,} class labels (one per output neuron)",
               classes if not isinstance(classes, list) else f"{len(classes):,} labels")
    for i, c in enumerate(classes):
        f[i].text(c, max_len=200)
    if len(set(classes)) != len(classes):
        seen: set[str] = set()
        twice = next(c for c in classes if c in seen or seen.add(c))
        f.fail("distinct labels", f"{twice!r} twice")


def default_image_shape(n_inputs: int) -> tuple[int, int]:
    """The input image of a model that does not record one: a square when n_inputs is one, else
    a single row (which commands that need square images refuse with a message)."""
    side = math.isqrt(n_inputs)
    return (side, side) if side * side == n_inputs else (1, n_inputs)


def _check_preprocessing(pre, n_inputs: int) -> None:
    f = _Field("preprocessing")
    f.table(pre)
    h = default_image_shape(n_inputs)[0]
    if "image_shape" in pre:
        shape = f["image_shape"].items(pre["image_shape"], 2)
        if len(shape) != 2:
            f["image_shape"].fail("[height, width]", shape)
        h, w = (f["image_shape"][i].whole(n, 1, MAX_LAYER_SIZE) for i, n in enumerate(shape))
        n_read = _check_features(f, pre.get("features"), (h, w))
        if n_read != n_inputs:
            what = "h·w" if n_read == h * w else f"h·w and the direction planes ({n_read:,})"
            f["image_shape"].fail(f"[h, w] with {what} = {n_inputs:,} input neurons", shape)
    if "input" in pre:
        f["input"].text(pre["input"])
    if "user_images" in pre:
        g = f["user_images"]
        user = g.table(pre["user_images"])
        if "method" in user:
            g["method"].text(user["method"])
        if user.get("size") is not None and g["size"].whole(user["size"], 1) != h:
            g["size"].fail(f"the image height {h} (preprocessing.image_shape)", user["size"])
        if user.get("box") is not None:
            g["box"].whole(user["box"], 1, h)


def _check_features(f: _Field, record, image_shape: tuple[int, int]) -> int:
    """The input neurons ``preprocessing.features`` asks of images of ``image_shape``."""
    from .data.directions import FEATURES, InputFeatures

    if record is None:
        return image_shape[0] * image_shape[1]
    g = f["features"]
    g.table(record)
    g["name"].text(record.get("name"), list(FEATURES))
    pool = g["pool"].whole(record.get("pool", 1), 1, 64)
    return InputFeatures(record["name"], image_shape, pool).n_inputs


_HISTORY_NUMBERS = ("train_cost", "eval_cost", "eval_accuracy", "seconds", "eta",
                    "augment_seconds")


def _check_training(t, f: _Field) -> None:
    f.table(t)
    if "config" in t:
        config = f["config"].table(t["config"])
        if "dataset" in config:
            f["config"]["dataset"].text(config["dataset"])
        if config.get("dataset_options") is not None:
            f["config"]["dataset_options"].table(config["dataset_options"])
        if config.get("data_dir") is not None:
            f["config"]["data_dir"].text(config["data_dir"])
    if "status" in t:
        f["status"].text(t["status"], STATUSES)
    for key in ("eval", "engine", "mojinet_version", "credit"):
        if key in t:
            f[key].text(t[key])
    for key in ("seconds", "cpu_seconds"):
        if key in t:
            f[key].number(t[key], 0)
    for key in ("n_train", "best_epoch"):
        if key in t:
            f[key].whole(t[key], 0)
    if "test_accuracy" in t:
        f["test_accuracy"].number(t["test_accuracy"], 0, 1)
    if "test_cost" in t:
        f["test_cost"].number(t["test_cost"])
    _check_history(t.get("history", []), f["history"])
    if "component_head" in t:
        head = f["component_head"].table(t["component_head"])
        for key in ("lambda", "per_component", "exact_set"):
            if key in head:
                f["component_head"][key].number(head[key], 0)
        comps = f["component_head"]["components"].items(head.get("components", []), 1_000_000)
        for i, c in enumerate(comps):
            f["component_head"]["components"][i].text(c, max_len=200)
    if "resume" in t:
        _check_resume(t["resume"], f["resume"])


def _check_history(history, f: _Field) -> None:
    for i, record in enumerate(f.items(history, 1_000_000)):
        g = f[i]
        g.table(record)
        g["epoch"].whole(record.get("epoch"), 1)
        g["train_cost"].number(record.get("train_cost"))
        for key in _HISTORY_NUMBERS[1:]:
            if record.get(key) is not None:
                g[key].number(record[key])


def _check_resume(info, f: _Field) -> None:
    f.table(info)
    f["rng"].table(info.get("rng", {}))
    opt = f["optimizer"].table(info.get("optimizer", {}))
    f["optimizer"]["values"].table(opt.get("values", {}))
    for key, count in f["optimizer"]["arrays"].table(opt.get("arrays", {})).items():
        f["optimizer"]["arrays"][key].whole(count, 0, MAX_STATE_ARRAYS)
    if "best" in info:
        best = f["best"].table(info["best"])
        f["best"]["epoch"].whole(best.get("epoch"), 0)
        f["best"]["accuracy"].number(best.get("accuracy"), 0, 1)
    if "early_stopping" in info:
        stop = f["early_stopping"].table(info["early_stopping"])
        f["early_stopping"]["best_accuracy"].number(stop.get("best_accuracy"), 0, 1)
        f["early_stopping"]["waited"].whole(stop.get("waited"), 0)


def _check_state(declared) -> None:
    f = _Field("state")
    f.table(declared)
    if len(declared) > MAX_STATE_ARRAYS:
        f.fail(f"at most {MAX_STATE_ARRAYS} arrays", f"{len(declared)}")
    for name, spec in declared.items():
        g = f[name]
        if not STATE_NAME.fullmatch(name):
            g.fail("a name of letters, digits, '.' and '_'", name)
        g.table(spec)
        g["dtype"].text(spec.get("dtype"), STATE_DTYPES)
        shape = g["shape"].items(spec.get("shape"), 4)
        for i, n in enumerate(shape):
            g["shape"][i].whole(n, 0, MAX_LAYER_SIZE * 10)


def parameters_sha256(sizes: Sequence[int], weights: Sequence[np.ndarray],
                      biases: Sequence[np.ndarray]) -> str:
    """A model's identity: SHA-256 of ``mojinet-parameters`` and the layer sizes (JSON, one
    line), then the bytes of W⁰, b⁰, W¹, b¹, … as float32, little-endian, row by row."""
    h = hashlib.sha256(b"mojinet-parameters\n" + json.dumps(list(sizes)).encode() + b"\n")
    for W, b in zip(weights, biases, strict=True):
        for a in (W, b):
            h.update(np.ascontiguousarray(a, dtype="<f4").data)
    return h.hexdigest()
