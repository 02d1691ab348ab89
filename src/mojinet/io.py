"""Model files: ``.npz`` archives of plain arrays plus one JSON metadata entry. Never pickle.

Layout of a model file (a ZIP archive, as written by ``numpy.savez_compressed``, or by
``numpy.savez`` for a run's checkpoint):

- ``meta.npy``: a 0-d unicode array holding JSON — ``{"format": "mojinet-model", "version": 1,
  "sizes": [...], "activations": [...], "cost": ..., "classes": [...], "preprocessing": {...},
  "training": {...}}``
- ``W0.npy``, ``b0.npy``, ``W1.npy``, …: float32 weights (fan_in, fan_out) and biases (fan_out,).
- ``state.NAME.npy`` (only in a model saved during a run): the arrays a resumed run needs —
  optimiser velocities or moments, the best epoch's parameters, a second output head. The
  metadata's ``"state"`` entry declares each one's dtype and shape; ``training["resume"]`` holds
  the rest of that state as JSON (epoch, random-generator state, counters).

- ``parameters_sha256`` in the metadata: the model's identity, the SHA-256 of its layer sizes and
  parameters (``model_schema.parameters_sha256``; ``Model.identity``), checked at load.

Loading reads the archive with ``zipfile`` and parses each ``.npy`` header itself
(``model_archive``): it checks the metadata first, field by field (``model_schema``), then the
declared array sizes against the file's size and the memory budget, then that every array's
header declares exactly the dtype and shape the metadata promises, and only then reads that many
bytes, straight into the network's arrays. A truncated, corrupt or hostile file therefore gets a
``ModelFileError`` naming the file, never an unpickling, a huge allocation or a wrong network; a
model that loads has metadata every command can use. Saving checks the metadata the same way,
builds the whole file in memory, then writes it atomically (``_files.atomic_writer``): a crash or
a full disk leaves any earlier file with that name intact, and a full disk says how much space
the file needs.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import engines  # network.feedforward's numbers, in fewer calls
from ._files import atomic_write_bytes, name_problem
from .data.directions import InputFeatures
from .model_archive import Archive, Budget
from .model_schema import (
    FORMAT,
    STATE_DTYPES,
    STATE_NAME,
    VERSION,
    ModelFileError,
    check_metadata,
    default_image_shape,
    parameters_sha256,
)
from .nn.network import Network

__all__ = ["FORMAT", "MAX_META_BYTES", "Model", "ModelFileError", "VERSION", "load_model",
           "save_model"]

MAX_META_BYTES = 16 * 1024 * 1024


@dataclass
class Model:
    """A network together with what it needs to be used: class labels and preprocessing."""

    network: Network
    classes: tuple[str, ...]
    preprocessing: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    state: dict[str, np.ndarray] = field(default_factory=dict)  # arrays for resuming its run

    @property
    def image_shape(self) -> tuple[int, int]:
        shape = self.preprocessing.get("image_shape")
        if shape:
            return tuple(shape)  # type: ignore[return-value]
        return default_image_shape(self.network.sizes[0])

    @property
    def features(self) -> InputFeatures:
        """What its input neurons read, made from its images (``preprocessing["features"]``;
        none recorded: the pixels)."""
        return InputFeatures.from_record(self.preprocessing.get("features"), self.image_shape)

    def inputs(self, X: np.ndarray) -> np.ndarray:
        """The network's inputs for images X (batch, h·w) — the pixels, or the pixels and their
        direction planes (``data.directions``): the one place images become network inputs.
        Every command that feeds the network images goes through here (or ``feedforward``)."""
        return self.features(X)  # (batch, n_inputs)

    def feedforward(self, X: np.ndarray) -> np.ndarray:
        """Output activations (batch, n_classes) for images X (batch, h·w)."""
        return engines.feedforward(self.network, self.inputs(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The index of the most active output neuron for each image: (batch,)."""
        return np.argmax(self.feedforward(X), axis=1)

    @property
    def identity(self) -> str:
        """The SHA-256 of the network's parameters (``model_schema.parameters_sha256``): the same
        for two models exactly when their layer sizes and every weight and bias are."""
        net = self.network
        return parameters_sha256(net.sizes, net.weights, net.biases)

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        """Output activations scaled to sum to 1 per row: (batch, n_classes).

        For a softmax output these are its probabilities; for sigmoid outputs (the chapter's
        network) each neuron's share of the total activation.
        """
        A = self.feedforward(X).astype(np.float64)  # (batch, n_classes)
        if self.network.activations[-1].name == "softmax":
            return A
        A = np.clip(A, 0.0, None)
        total = A.sum(axis=1, keepdims=True)
        return np.divide(A, total, out=np.full_like(A, 1 / A.shape[1]), where=total > 0)

    def top(self, X: np.ndarray, k: int = 3) -> list[list[tuple[str, float]]]:
        """The k most likely classes of each row, as (label, probability), best first."""
        P = self.probabilities(X)
        best = np.argsort(-P, axis=1, kind="stable")[:, :k]
        return [[(self.classes[j], float(P[i, j])) for j in row] for i, row in enumerate(best)]

    def _repr_html_(self) -> str:
        """Jupyter: the layer table, what it reads, its test accuracy and its training curves."""
        from html import escape

        from .nn.display import history_html, network_html
        from .nn.train import History

        classes = " ".join(self.classes[:20]) + (" …" if len(self.classes) > 20 else "")
        h, w = self.image_shape
        lines = [f"reads {len(self.classes)} classes: {classes}", f"input {h}×{w} images"]
        accuracy = self.training.get("test_accuracy")
        if isinstance(accuracy, (int, float)):
            lines.append(f"test accuracy {accuracy:.2%}")
        html = network_html(self.network) + "".join(f"<p>{escape(t)}</p>" for t in lines)
        records = self.training.get("history")
        if records:
            html += history_html(History.from_dict(records), self.training.get("eval", "check"))
        return f"<div><b>mojinet Model</b>{html}</div>"

    def metadata(self) -> dict:
        net = self.network
        return {
            "format": FORMAT,
            "version": VERSION,
            "sizes": net.sizes,
            "activations": [a.name for a in net.activations],
            "cost": net.cost.name,
            "classes": list(self.classes),
            "preprocessing": self.preprocessing,
            "training": self.training,
            "state": {name: {"dtype": a.dtype.str, "shape": list(a.shape)}
                      for name, a in self.state.items()},
            "parameters_sha256": self.identity,
        }


def save_model(model: Model, path: str | os.PathLike, compress: bool = True) -> Path:
    """Write ``model`` to ``path`` atomically (``.npz`` is appended if missing). ``compress``:
    deflate the arrays (trained float32 weights shrink by ~10 %, for ~0.2 s of CPU per 5 MB);
    the run's checkpoint after each epoch is stored without, read alike."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    net = model.network
    if len(model.classes) != net.sizes[-1]:
        raise ValueError(
            f"{len(model.classes)} class labels for {net.sizes[-1]} output neurons"
        )
    meta = model.metadata()
    try:
        check_metadata(json.loads(json.dumps(meta)))  # what load_model would refuse, refused now
    except ModelFileError as e:
        raise ValueError(f"cannot save {path}: {e}") from e
    arrays = {"meta": np.array(json.dumps(meta, ensure_ascii=False))}
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"W{l}"] = np.ascontiguousarray(W, dtype="<f4")
        arrays[f"b{l}"] = np.ascontiguousarray(b, dtype="<f4")
    for name, a in model.state.items():
        if not STATE_NAME.fullmatch(name) or a.dtype.str not in STATE_DTYPES:
            raise ValueError(f"state array {name!r} ({a.dtype}): names are letters, digits, "
                             f"'.' and '_', dtypes float32 or float64")
        arrays[f"state.{name}"] = np.ascontiguousarray(a)
    buffer = io.BytesIO()  # whole before the disk sees a byte: a full disk can say how much
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)
    atomic_write_bytes(path, buffer.getbuffer())
    return path


def load_model(path: str | os.PathLike) -> Model:
    """Read a model written by ``save_model``. Raises ``ModelFileError`` with the reason (and
    ``FileNotFoundError`` when there is no such file)."""
    path = Path(path)
    problem = name_problem(path)
    if problem:
        raise ModelFileError(f"{str(path)[:60]}…: {problem}")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file (train one with `mojinet train`)")
    try:
        if not path.is_file():
            raise ModelFileError("not a regular file (a folder, device or pipe); give the path "
                                 "of a .npz model file")
        return _load(path)
    except ModelFileError as e:
        raise ModelFileError(f"{path}: {e}") from e
    except MemoryError as e:
        raise ModelFileError(f"{path}: not enough memory to load it") from e
    except _READ_ERRORS as e:
        raise ModelFileError(f"{path}: not a readable model file ({type(e).__name__}: {e}); it "
                             f"may be truncated or not a mojinet .npz") from e


#: What reading a damaged archive may raise (zipfile, zlib, struct, the file system, numpy).
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, EOFError,
                OSError, RuntimeError, NotImplementedError, ValueError, OverflowError,
                UnicodeError, RecursionError)


def _load(path: Path) -> Model:
    budget = Budget.for_file(path.stat().st_size)
    with zipfile.ZipFile(path) as zf:
        archive = Archive(zf, budget)
        meta = _parse_meta(archive.read("meta", (), None, MAX_META_BYTES))
        sizes = meta["sizes"]
        budget.charge(4 * sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])), "the network")
        budget.charge(sum(np.dtype(spec["dtype"]).itemsize * math.prod(spec["shape"])
                          for spec in meta.get("state", {}).values()), "the run's state arrays")
        weights, biases = [], []
        for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            weights.append(archive.read(f"W{l}", ("<f4",), (fan_in, fan_out)))
            biases.append(archive.read(f"b{l}", ("<f4",), (fan_out,)))
        state = {name: archive.read(f"state.{name}", (spec["dtype"],), tuple(spec["shape"]))
                 for name, spec in meta.get("state", {}).items()}
    named = [(f"W{l}", W) for l, W in enumerate(weights)] + [
        (f"b{l}", b) for l, b in enumerate(biases)] + [(f"state.{k}", a) for k, a in state.items()]
    for name, a in named:
        if not np.isfinite(a).all():
            raise ModelFileError(f"{name} holds NaN or infinite values")
    digest = parameters_sha256(sizes, weights, biases)
    if meta.get("parameters_sha256", digest) != digest:
        raise ModelFileError(f"its parameters do not match the SHA-256 it records "
                             f"({meta['parameters_sha256'][:12]}…, the arrays give "
                             f"{digest[:12]}…): damaged or edited")
    net = Network.from_parameters(weights, biases, meta["activations"],
                                  meta.get("cost", "quadratic"), copy=False)
    return Model(net, tuple(meta["classes"]), meta.get("preprocessing", {}),
                 meta.get("training", {}), state)


def _parse_meta(raw: np.ndarray) -> dict:
    """The JSON metadata of a 0-d text array, checked against the schema (model_schema)."""
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, TypeError, RecursionError) as e:
        raise ModelFileError(f"metadata is not valid JSON ({type(e).__name__}: {e})") from e
    return check_metadata(meta)
