"""Datasets by name: where their files are and how to check them.

MNIST ships inside the package (verified against SHA256SUMS on every load), so training works
offline. A local folder holding the same IDX files can stand in for it: pass ``data_dir`` or set
the environment variable ``MOJINET_DATA_DIR``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .idx import read_idx

DATA_DIR_ENV = "MOJINET_DATA_DIR"


@dataclass(frozen=True)
class IDXSpec:
    """An IDX dataset: file names per split, class labels, and credit for its authors."""

    name: str
    files: dict[str, tuple[str, str]]  # split → (images file, labels file), names without .gz
    classes: tuple[str, ...]
    credit: str


MNIST = IDXSpec(
    name="mnist",
    files={
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    },
    classes=tuple("0123456789"),
    credit=(
        "MNIST: Y. LeCun, C. Cortes and C. J. C. Burges, The MNIST database of handwritten "
        "digits (CC BY-SA 3.0)."
    ),
)

DATASETS: dict[str, IDXSpec] = {"mnist": MNIST}


class DataNotFound(FileNotFoundError):
    pass


class ChecksumError(ValueError):
    pass


def _bundled_dir() -> Path:
    return Path(str(resources.files("mojinet.data") / "mnist"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify_bundled(path: Path) -> None:
    sums = dict(
        reversed(line.split()) for line in (path.parent / "SHA256SUMS").read_text().splitlines()
        if line.strip()
    )
    expected, actual = sums.get(path.name), _sha256(path)
    if expected != actual:
        raise ChecksumError(
            f"{path}: bundled file is damaged (sha256 {actual}, expected {expected}); "
            f"reinstall mojinet (pip install --force-reinstall mojinet)"
        )


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_dataset(name: str = "mnist", split: str = "train", data_dir=None) -> Dataset:
    """Load a dataset split ("train" or "test") as a ``Dataset``.

    Looks in ``data_dir`` (or $MOJINET_DATA_DIR) first; for MNIST, falls back to the copy
    that ships with mojinet.
    """
    # --- KanjiVG synthetic handwriting (issue 7, kanji part): a stand-in until the generic
    # register_dataset hook lands; the lead reconciles this branch with it.
    if name.startswith("kanjivg-"):
        from .kanji import load_kanjivg_dataset

        return load_kanjivg_dataset(name, split)
    # --- end KanjiVG
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    spec = DATASETS[name]
    if split not in spec.files:
        raise ValueError(f"{name} has no split {split!r}; choose one of: {', '.join(spec.files)}")
    data_dir = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    stems = spec.files[split]
    if data_dir is not None:
        folder = Path(data_dir)
        paths = [_find(folder, s) for s in stems]
        if None in paths:
            missing = [s for s, p in zip(stems, paths) if p is None]
            raise DataNotFound(
                f"{folder} does not hold {' and '.join(missing)} (or .gz); put the {name} IDX "
                f"files there, or leave out --data-dir / ${DATA_DIR_ENV} to use the bundled copy"
            )
    elif name == "mnist":
        paths = [_bundled_dir() / (s + ".gz") for s in stems]
        for p in paths:
            _verify_bundled(p)
    else:  # pragma: no cover - only MNIST is bundled
        raise DataNotFound(f"{name} is not bundled; pass data_dir")
    images, labels = (read_idx(p) for p in paths)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{paths[0]}: expected uint8 images of shape (n, height, width), got "
            f"{images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{paths[1]}: expected {len(images)} labels to match {paths[0]}, got shape "
            f"{labels.shape}"
        )
    if len(labels) and int(labels.max()) >= len(spec.classes):
        raise ValueError(
            f"{paths[1]}: label {int(labels.max())} is out of range for {len(spec.classes)} classes"
        )
    return Dataset.from_images(images, labels, spec.classes, name=f"{name}-{split}")
