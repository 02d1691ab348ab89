"""Model files: ``.npz`` archives of plain arrays plus one JSON metadata entry. Never pickle.

Layout of a model file (a ZIP archive, as written by ``numpy.savez_compressed``):

- ``meta.npy``: a 0-d unicode array holding JSON — ``{"format": "mojinet-model", "version": 1,
  "sizes": [...], "activations": [...], "cost": ..., "classes": [...], "preprocessing": {...},
  "training": {...}}``
- ``W0.npy``, ``b0.npy``, ``W1.npy``, …: float32 weights (fan_in, fan_out) and biases (fan_out,).
- ``state.NAME.npy`` (only in a model saved during a run): the arrays a resumed run needs —
  optimiser velocities or moments, the best epoch's parameters, a second output head. The
  metadata's ``"state"`` entry declares each one's dtype and shape; ``training["resume"]`` holds
  the rest of that state as JSON (epoch, random-generator state, counters).

Loading reads the archive with ``zipfile`` and parses each ``.npy`` header itself: it checks the
metadata first, then that every array's header declares exactly the dtype and shape the metadata
promises, and only then reads that many bytes. A truncated, corrupt or hostile file therefore gets
a ``ModelFileError`` naming the file, never an unpickling, a huge allocation or a wrong network.
Saving is atomic: a crash or full disk leaves any earlier file with that name intact.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import engines  # network.feedforward's numbers, in fewer calls
from ._files import atomic_writer
from .nn.network import Network

FORMAT = "mojinet-model"
VERSION = 1
_MAX_META_BYTES = 16 * 1024 * 1024
_MAX_PARAMS = 500_000_000
_STATE_NAME = re.compile(r"[A-Za-z0-9_.]{1,64}")
_STATE_DTYPES = ("<f4", "<f8")


class ModelFileError(ValueError):
    """A model file cannot be read: not a mojinet model, damaged, or from a newer version."""


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
        side = int(round(self.network.sizes[0] ** 0.5))
        return (side, side)

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        """Output activations scaled to sum to 1 per row: (batch, n_classes).

        For a softmax output these are its probabilities; for sigmoid outputs (the chapter's
        network) each neuron's share of the total activation.
        """
        A = engines.feedforward(self.network, X).astype(np.float64)  # (batch, n_classes)
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
        }


def save_model(model: Model, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` atomically (``.npz`` is appended if missing)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    net = model.network
    if len(model.classes) != net.sizes[-1]:
        raise ValueError(
            f"{len(model.classes)} class labels for {net.sizes[-1]} output neurons"
        )
    arrays = {"meta": np.array(json.dumps(model.metadata(), ensure_ascii=False))}
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"W{l}"] = np.ascontiguousarray(W, dtype=np.float32)
        arrays[f"b{l}"] = np.ascontiguousarray(b, dtype=np.float32)
    for name, a in model.state.items():
        if not _STATE_NAME.fullmatch(name) or a.dtype.str not in _STATE_DTYPES:
            raise ValueError(f"state array {name!r} ({a.dtype}): names are letters, digits, "
                             f"'.' and '_', dtypes float32 or float64")
        arrays[f"state.{name}"] = np.ascontiguousarray(a)
    with atomic_writer(path) as f:
        np.savez_compressed(f, **arrays)
    return path


def _read_npy(zf: zipfile.ZipFile, name: str, path: Path, dtype_kind: str, shape=None):
    """Read one .npy member, checking its header before reading any data."""
    try:
        member = zf.open(name + ".npy")
    except KeyError:
        raise ModelFileError(f"{path}: missing entry {name}; the file is incomplete") from None
    with member:
        try:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                hshape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                hshape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except ValueError as e:
            raise ModelFileError(f"{path}: entry {name} has a bad header ({e})") from e
        if dtype.hasobject or dtype.kind != dtype_kind or fortran:
            raise ModelFileError(
                f"{path}: entry {name} has dtype {dtype} (fortran={fortran}); expected kind "
                f"{dtype_kind!r} — not a mojinet model, or tampered with"
            )
        if shape is not None and tuple(hshape) != tuple(shape):
            raise ModelFileError(
                f"{path}: entry {name} has shape {hshape} but the metadata needs {tuple(shape)}"
            )
        nbytes = int(np.prod(hshape, dtype=np.int64)) * dtype.itemsize
        limit = _MAX_META_BYTES if shape is None else _MAX_PARAMS * 8
        if nbytes > limit:
            raise ModelFileError(f"{path}: entry {name} declares {nbytes:,} bytes; refusing")
        data = member.read(nbytes)
        if len(data) != nbytes:
            raise ModelFileError(f"{path}: entry {name} is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(hshape)


def _parse_meta(raw, path: Path) -> dict:
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, TypeError) as e:
        raise ModelFileError(f"{path}: metadata is not valid JSON ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a mojinet model file (format {meta.get('format')!r})"
                             if isinstance(meta, dict) else f"{path}: metadata is not an object")
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ModelFileError(
            f"{path}: model format version {version!r}; this mojinet reads up to {VERSION}. "
            f"Upgrade mojinet (pip install -U mojinet)"
        )
    sizes, acts = meta.get("sizes"), meta.get("activations")
    if (
        not isinstance(sizes, list) or len(sizes) < 2
        or not all(isinstance(s, int) and 0 < s <= 10_000_000 for s in sizes)
    ):
        raise ModelFileError(f"{path}: metadata has invalid layer sizes {sizes!r}")
    if sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) > _MAX_PARAMS:
        raise ModelFileError(f"{path}: metadata declares an implausibly large network {sizes}")
    if not isinstance(acts, list) or len(acts) != len(sizes) - 1:
        raise ModelFileError(f"{path}: metadata needs one activation per layer, got {acts!r}")
    classes = meta.get("classes")
    if not isinstance(classes, list) or len(classes) != sizes[-1]:
        raise ModelFileError(
            f"{path}: metadata needs {sizes[-1]} class labels, got {classes!r:.80}"
        )
    for key in ("preprocessing", "training", "state"):
        if not isinstance(meta.get(key, {}), dict):
            raise ModelFileError(f"{path}: metadata field {key!r} must be an object")
    return meta


def load_model(path: str | os.PathLike) -> Model:
    """Read a model written by ``save_model``. Raises ``ModelFileError`` with the reason."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file (train one with `mojinet train`)")
    try:
        with zipfile.ZipFile(path) as zf:
            meta = _parse_meta(_read_npy(zf, "meta", path, "U"), path)
            sizes = meta["sizes"]
            weights, biases = [], []
            for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                weights.append(_read_npy(zf, f"W{l}", path, "f", (fan_in, fan_out)))
                biases.append(_read_npy(zf, f"b{l}", path, "f", (fan_out,)))
            state = _read_state(zf, meta.get("state", {}), path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, io.UnsupportedOperation,
            NotImplementedError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ModelFileError(
            f"{path}: not a readable model file ({type(e).__name__}: {e}); it may be truncated "
            f"or not a mojinet .npz"
        ) from e
    except zipfile.error as e:  # pragma: no cover - alias of BadZipFile on most versions
        raise ModelFileError(f"{path}: damaged ZIP archive ({e})") from e
    for arr, name in zip(weights + biases, [f"W{i}" for i in range(len(weights))]
                         + [f"b{i}" for i in range(len(biases))]):
        if not np.all(np.isfinite(arr)):
            raise ModelFileError(f"{path}: {name} holds NaN or infinite values")
    try:
        net = Network.from_parameters(weights, biases, meta["activations"],
                                      meta.get("cost", "quadratic"))
    except ValueError as e:
        raise ModelFileError(f"{path}: metadata describes an invalid network ({e})") from e
    return Model(net, tuple(str(c) for c in meta["classes"]), meta.get("preprocessing", {}),
                 meta.get("training", {}), state)


def _read_state(zf: zipfile.ZipFile, declared: dict, path: Path) -> dict[str, np.ndarray]:
    """The ``state.NAME`` arrays the metadata declares, each checked against its declaration."""
    state, total = {}, 0
    for name, spec in declared.items():
        shape = spec.get("shape") if isinstance(spec, dict) else None
        dtype = spec.get("dtype") if isinstance(spec, dict) else None
        if (not _STATE_NAME.fullmatch(name) or dtype not in _STATE_DTYPES
                or not isinstance(shape, list) or len(shape) > 4
                or not all(isinstance(n, int) and 0 <= n <= 100_000_000 for n in shape)):
            raise ModelFileError(f"{path}: metadata declares a bad state array {name!r}: "
                                 f"{spec!r:.80}")
        total += int(np.prod(shape, dtype=np.int64))
        if total > _MAX_PARAMS:
            raise ModelFileError(f"{path}: metadata declares implausibly large state arrays")
        a = _read_npy(zf, f"state.{name}", path, "f", shape)
        if a.dtype.str != dtype:
            raise ModelFileError(f"{path}: state array {name} is {a.dtype}, the metadata says "
                                 f"{dtype}")
        state[name] = a.copy()  # writeable: a resumed run goes on changing it
    return state
