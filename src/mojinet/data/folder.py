"""Your own images as a dataset: a folder with one subfolder per class.

    scans/                      or      scans/
      あ/ 001.png 002.jpg …               train/ あ/ …  い/ …
      い/ …                               test/  あ/ …  い/ …

``load_dataset("folder:scans", "train")`` (CLI: ``--dataset folder:scans`` or ``--dataset folder
--data-dir scans``). The subfolder names are the class labels, in sorted order. Every image goes
through the same preprocessing as ``mojinet predict`` (``data.images.to_input``: polarity from
the border, crop to the ink, fit a box of 20/28 of the side, centre of mass) to ``size`` × ``size``
pixels (default 28) — so a model trained here reads new scans exactly the same way.

Splits: with ``train/`` and ``test/`` subfolders, those; otherwise a seeded holdout of 1 in 5
images per class is "test", the rest "train", and "all" is everything.

Non-goals: labels from file names or CSV files; data augmentation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import Dataset
from .images import ImageError, to_input
from .splits import split_indices

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm",
                  ".ppm", ".pbm"}
MAX_SIZE = 512


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in IMAGE_SUFFIXES)


def _has_split_folders(root: Path) -> bool:
    return all((root / s).is_dir() and _class_dirs(root / s) for s in ("train", "test"))


def load_folder(split: str, data_dir=None, size: int = 28) -> Dataset:
    """Images under ``data_dir``/<class>/ (or ``data_dir``/<split>/<class>/) as a Dataset."""
    if data_dir is None:
        raise FileNotFoundError("the folder dataset needs a folder: folder:PATH or --data-dir")
    if not isinstance(size, (int, np.integer)) or not 8 <= size <= MAX_SIZE:
        raise ValueError(f"size must be an integer from 8 to {MAX_SIZE}, got {size!r}")
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    if _has_split_folders(root):
        if split == "all":
            raise ValueError(f"{root} has train/ and test/ folders: load them separately")
        classes = sorted({d.name for s in ("train", "test") for d in _class_dirs(root / s)})
        base, holdout = root / split, False
    else:
        classes = [d.name for d in _class_dirs(root)]
        base, holdout = root, True
    if not classes:
        raise FileNotFoundError(f"{root} has no class subfolders; put each class's images in "
                                f"a folder named by its label, e.g. {root / 'あ'}/001.png")
    paths, labels = [], []
    for k, c in enumerate(classes):
        found = _images_in(base / c) if (base / c).is_dir() else []
        paths += found
        labels += [k] * len(found)
    if not paths:
        raise FileNotFoundError(f"{base}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in the "
                                f"class subfolders")
    y = np.array(labels, dtype=np.int64)  # (n,)
    if holdout:
        keep = split_indices(y, split, dataset=f"folder {root}")
    elif split in ("train", "test"):
        keep = np.arange(len(y))
    else:
        raise ValueError(f"folder datasets have splits train, test and all, not {split!r}")
    box = max(1, round(size * 20 / 28))
    X = np.zeros((len(keep), size * size), dtype=np.float32)  # (n, size·size)
    for row, i in enumerate(keep):
        try:
            X[row] = to_input(paths[i], size=size, box=box).reshape(-1)
        except ImageError as e:
            msg = str(e) if str(e).startswith(str(paths[i])) else f"{paths[i]}: {e}"
            raise ImageError(f"{msg}; fix or remove this file") from e
    return Dataset(X, y[keep], tuple(classes), (size, size), name=f"folder-{root.name}-{split}")


def register() -> None:
    from .registry import register_dataset

    register_dataset(
        "folder", load_folder,
        credit="Your own images: you hold the rights to them.",
        description="your images, one subfolder per class (folder:PATH or --data-dir PATH); "
                    "option size (default 28)",
        splits=("train", "test", "all"), needs_data_dir=True,
    )
