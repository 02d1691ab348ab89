"""Kuzushiji-Kanji: a tree of 64×64 PNGs, one folder per kanji named by its codepoint.

The archive ``kkanji.tar`` (CODH) holds ``kkanji2/U+4E00/<hash>.png`` … — 3,832 kanji with 1 to
1,766 images each. We read the PNGs straight from the tar (nothing is extracted), turn them
into ``uint8 (n, 64, 64)`` images with ink = bright as in KMNIST, and cache the result once as
an ``.npz`` (written atomically, read back without pickle), so later loads take a second.

There is no official train/test split. Ours: within each class, a seeded shuffle holds out
⌊n/5⌋ images for "test" (classes with fewer than 5 images are all "train"); "all" is everything.
Every split has all 3,832 classes, so a model's outputs line up with any split.

Non-goals: the other Kuzushiji datasets' page-level annotations.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import numpy as np

from .._files import atomic_writer
from .dataset import Dataset
from .images import ImageError, open_image
from .npz import read_npz_array
from .splits import split_indices

SIDE = 64
HOLDOUT_EVERY = 5  # 1 in 5 images of each class goes to "test"
SPLIT_SEED = 0
CACHE_VERSION = 1
_CLASS_DIR = re.compile(r"^U\+([0-9A-Fa-f]{4,6})$")


class KKanjiError(ValueError):
    """The archive or folder does not have Kuzushiji-Kanji's layout."""


def _class_of(parts: tuple[str, ...], where: str) -> str | None:
    """The kanji a member belongs to, from its folder name U+XXXX (None: not an image)."""
    if len(parts) < 2 or not parts[-1].lower().endswith(".png"):
        return None
    m = _CLASS_DIR.match(parts[-2])
    if not m:
        raise KKanjiError(f"{where}: image {'/'.join(parts)} is not in a folder named by "
                          f"codepoint (U+XXXX); is this Kuzushiji-Kanji?")
    return chr(int(m.group(1), 16))


def _decode(data: bytes, where: str) -> np.ndarray:
    """PNG bytes → uint8 (64, 64) with ink bright (inverted if the border is light)."""
    try:
        # open_image checks the pixel count before decoding: no decompression bombs.
        a = np.asarray(open_image(data, max_pixels=4 * SIDE * SIDE).convert("L"),
                       dtype=np.uint8)  # (h, w)
    except ImageError as e:
        raise KKanjiError(f"{where}: not a usable PNG ({e})") from e
    if a.shape != (SIDE, SIDE):
        raise KKanjiError(f"{where}: expected a {SIDE}×{SIDE} image, got {a.shape[1]}×{a.shape[0]}")
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    if border.mean() > 127:  # dark ink on light paper → ink = 255 like KMNIST
        a = 255 - a
    return a


def _assemble(samples: list[tuple[str, np.ndarray]], where: str):
    """(images (n, 64, 64) uint8, labels (n,) int64, classes sorted by codepoint)."""
    if not samples:
        raise KKanjiError(f"{where}: no images found (expected kkanji2/U+XXXX/*.png)")
    classes = tuple(sorted({c for c, _ in samples}))
    index = {c: i for i, c in enumerate(classes)}
    images = np.stack([a for _, a in samples])  # (n, 64, 64)
    labels = np.array([index[c] for c, _ in samples], dtype=np.int64)  # (n,)
    return images, labels, classes


def read_tar(tar_path: Path):
    """Decode every PNG of the archive, in member-name order (deterministic)."""
    samples = []
    with tarfile.open(tar_path) as tar:
        members = sorted((m for m in tar if m.isfile()), key=lambda m: m.name)
        for m in members:
            parts = tuple(p for p in m.name.split("/") if p not in ("", "."))
            c = _class_of(parts, str(tar_path))
            if c is None:
                continue
            f = tar.extractfile(m)
            samples.append((c, _decode(f.read(), f"{tar_path}:{m.name}")))
    return _assemble(samples, str(tar_path))


def read_tree(root: Path):
    """The same from an extracted folder (root = the folder holding U+XXXX folders)."""
    samples = []
    for path in sorted(root.glob("*/*")):
        if not path.is_file():
            continue
        c = _class_of(path.relative_to(root).parts, str(root))
        if c is not None:
            samples.append((c, _decode(path.read_bytes(), str(path))))
    return _assemble(samples, str(root))


def _dataset(images, labels, classes, split: str) -> Dataset:
    idx = split_indices(labels, split, HOLDOUT_EVERY, SPLIT_SEED, dataset="kkanji")
    return Dataset.from_images(images[idx], labels[idx], classes, name=f"kkanji-{split}")


def _save_cache(path: Path, images, labels, classes) -> None:
    codepoints = np.array([ord(c) for c in classes], dtype=np.int32)  # (n_classes,)
    with atomic_writer(path) as f:
        np.savez(f, images=images, labels=labels, codepoints=codepoints,
                 version=np.array([CACHE_VERSION], dtype=np.int32))


def _load_cache(path: Path):
    images = read_npz_array(path, 3, "uint8", key="images")
    labels = read_npz_array(path, 1, "integer", key="labels")
    codepoints = read_npz_array(path, 1, "integer", key="codepoints")
    version = read_npz_array(path, 1, "integer", key="version")
    if int(version[0]) != CACHE_VERSION or images.shape[1:] != (SIDE, SIDE) or \
            len(labels) != len(images):
        raise KKanjiError(f"{path}: stale or damaged conversion cache")
    return images, labels, tuple(chr(int(c)) for c in codepoints)


def load_tar(tar_path: Path, split: str, cache: Path | None = None) -> Dataset:
    """A split of Kuzushiji-Kanji from the (verified) tar, converting it once into ``cache``."""
    converted = None
    if cache is not None:
        converted = Path(cache) / f"kkanji-{SIDE}-v{CACHE_VERSION}.npz"
        if converted.is_file() and converted.stat().st_mtime >= Path(tar_path).stat().st_mtime:
            try:
                return _dataset(*_load_cache(converted), split)
            except (KKanjiError, ValueError):
                pass  # rebuild it below
    images, labels, classes = read_tar(Path(tar_path))
    if converted is not None:
        converted.parent.mkdir(parents=True, exist_ok=True)
        _save_cache(converted, images, labels, classes)
    return _dataset(images, labels, classes, split)


def load_tree(root: Path, split: str) -> Dataset:
    """A split of Kuzushiji-Kanji from an extracted ``kkanji2`` folder."""
    return _dataset(*read_tree(Path(root)), split)
