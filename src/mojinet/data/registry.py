"""Datasets by name: a registry of dataset specs (name → loader + metadata + credit).

``load_dataset(name, split, data_dir)`` is the one way to get data, in Python and on the command
line (``mojinet train --dataset NAME``). Each dataset is a ``DatasetSpec`` registered with
``register_dataset``; other modules add theirs the same way (the KanjiVG synthetic sets do), so
this file needs no edit for a new dataset. ``"folder:PATH"`` names a folder of the user's own
images, one subfolder per class; any dataset that reads the user's files (``needs_data_dir``)
takes its path the same way, e.g. ``"strokes:PATH"`` for pen strokes (``kanji.py``).

MNIST ships inside the package (verified against SHA256SUMS on every load), so training works
offline. A local folder holding the same IDX files can stand in for it: pass ``data_dir`` or set
the environment variable ``MOJINET_DATA_DIR``. The other datasets (see ``catalog.py``) come from
``data_dir``, the download cache or their official hosts (see ``fetch.py``).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .fetch import ChecksumError, DataNotFound, RemoteFile
from .idx import read_idx

__all__ = [
    "DATASETS", "DATA_DIR_ENV", "ChecksumError", "DataNotFound", "DatasetSpec", "IDXSpec",
    "available_datasets", "dataset_name", "get_spec", "load_dataset", "register_dataset",
]

DATA_DIR_ENV = "MOJINET_DATA_DIR"
FOLDER_PREFIX = "folder:"

# Modules that register datasets when imported; tried (if installed) the first time the
# registry is listed. Third-party packages can use the entry-point group "mojinet.datasets".
DATASET_MODULES = ("mojinet.data.catalog", "mojinet.data.kanji", "mojinet.data.strokeset")


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset.

    loader: ``loader(split, data_dir=None, **options) -> Dataset``; ``data_dir`` is the user's
        folder (or None: cache / download / bundled copy, as the dataset allows).
    credit: who made the data and under which terms — shown by ``mojinet datasets``.
    options: keyword options the loader takes beyond split and data_dir (e.g. ``size``).
    files: the downloadable files (for "cached or not" and offline instructions).
    is_cached: for datasets whose cache is not simply ``files`` (e.g. generated or extracted).
    """

    name: str
    loader: Callable[..., Dataset]
    credit: str
    description: str = ""
    splits: tuple[str, ...] = ("train", "test")
    image_shape: tuple[int, int] | None = None
    n_classes: int | None = None
    sizes: dict[str, int] = field(default_factory=dict)
    license: str = ""
    homepage: str = ""
    files: tuple[RemoteFile, ...] = ()
    options: tuple[str, ...] = ()
    needs_data_dir: bool = False
    is_cached: Callable[[], bool] | None = None  # overrides the check of ``files`` in the cache


DATASETS: dict[str, DatasetSpec] = {}
PLUGIN_ERRORS: dict[str, str] = {}  # module → why its datasets are missing
_plugins_loaded = False


def register_dataset(name: str, loader: Callable[..., Dataset], *, credit: str,
                     replace: bool = False, **metadata) -> DatasetSpec:
    """Add a dataset to the registry, so ``load_dataset(name, …)`` and ``--dataset name`` work.

    ``loader(split, data_dir=None, **options)`` returns a ``Dataset``; ``metadata`` fills the
    other ``DatasetSpec`` fields (description, splits, image_shape, n_classes, sizes, license,
    homepage, files, options, needs_data_dir). Registering a name twice is an error unless
    ``replace=True``.
    """
    if not name or name != name.strip() or ":" in name or name.lower() != name:
        raise ValueError(f"dataset name {name!r} must be non-empty lower case without ':' "
                         f"or surrounding spaces")
    if not callable(loader):
        raise TypeError(f"loader for {name!r} must be callable, got {type(loader).__name__}")
    if not credit or not credit.strip():
        raise ValueError(f"dataset {name!r} needs a credit line (who made it, which license)")
    if name in DATASETS and not replace:
        raise ValueError(f"dataset {name!r} is already registered; pass replace=True to "
                         f"replace it")
    unknown = set(metadata) - {f for f in DatasetSpec.__dataclass_fields__} - {"name"}
    if unknown:
        raise TypeError(f"register_dataset got unknown metadata: {', '.join(sorted(unknown))}")
    metadata.setdefault("options", loader_options(loader))
    spec = DatasetSpec(name=name, loader=loader, credit=credit, **metadata)
    DATASETS[name] = spec
    return spec


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for module in DATASET_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:  # the module is there but needs a package that is not:
                PLUGIN_ERRORS[module] = f"{module} needs the package {e.name!r} ({e})"
            # (a module that does not exist at all is simply not part of this install)
    from importlib.metadata import entry_points

    for ep in entry_points(group="mojinet.datasets"):
        ep.load()


def available_datasets() -> dict[str, DatasetSpec]:
    """All registered datasets, by name (sorted)."""
    _load_plugins()
    return dict(sorted(DATASETS.items()))


def split_path(name: str) -> tuple[str, str | None]:
    """``"folder:scans"`` → ``("folder", "scans")``; ``"mnist"`` → ``("mnist", None)``."""
    key, sep, path = name.partition(":")
    return (key, path) if sep else (name, None)


def get_spec(name: str) -> DatasetSpec:
    """The spec of a registered dataset; ``"folder:PATH"`` gives the ``folder`` spec (and so
    for every dataset that reads the user's files, e.g. ``"strokes:PATH"``)."""
    datasets = available_datasets()
    key, path = split_path(name)
    if key not in datasets:
        missing = "".join(f"; {why}" for why in PLUGIN_ERRORS.values())
        raise ValueError(
            f"unknown dataset {name!r}; available: {', '.join(datasets)} "
            f"(or folder:PATH for your own images, one subfolder per class){missing}"
        )
    if path is not None and not datasets[key].needs_data_dir:
        raise ValueError(f"{key} is not read from your files: drop ':{path}' (or pass a data "
                         f"folder with --data-dir)")
    return datasets[key]


def dataset_name(text: str) -> str:
    """argparse ``type=`` for --dataset: a registered name or folder:PATH."""
    import argparse

    try:
        get_spec(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e
    return text


def load_dataset(name: str = "mnist", split: str = "train", data_dir=None, *, limit: int = 0,
                 **options) -> Dataset:
    """Load a dataset split (usually "train" or "test") as a ``Dataset``.

    ``data_dir`` (or $MOJINET_DATA_DIR) is a folder holding the dataset's files; without it,
    MNIST comes from the copy inside mojinet and the other datasets from the download cache or
    their official hosts (verified by checksum). ``name="folder:PATH"`` loads your own images
    from PATH/<class>/<image> (``data_dir`` is then PATH). ``options`` go to the dataset's loader
    (e.g. ``size=64`` for image folders); see ``mojinet datasets``. ``limit`` > 0: only the first
    ``limit`` images; a loader that takes ``limit`` (the drawn KanjiVG sets) makes only those.
    """
    spec = get_spec(name)
    key, path = split_path(name)
    if path is not None:
        if data_dir is not None:
            raise ValueError(f"give the folder once: {name!r} already names it, drop data_dir")
        if not path:
            example = ("folder:scans/ (one subfolder per class)" if key == "folder"
                       else f"{key}:PATH")
            raise ValueError(f"{key}: needs a path, e.g. {example}")
        data_dir = path
    if split not in spec.splits:
        raise ValueError(f"{spec.name} has no split {split!r}; choose one of: "
                         f"{', '.join(spec.splits)}")
    bad = set(options) - set(spec.options)
    if bad:
        raise TypeError(f"{spec.name} takes no option(s) {', '.join(sorted(bad))}"
                        + (f"; it takes: {', '.join(spec.options)}" if spec.options else ""))
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or None
    if data_dir is None and spec.needs_data_dir:
        raise DataNotFound(
            f"{spec.name} cannot be downloaded: pass the folder holding its files with "
            f"--data-dir FOLDER (Python: data_dir=FOLDER) or ${DATA_DIR_ENV}. {spec.description}"
        )
    if limit < 0:
        raise ValueError(f"limit must be >= 0 (0: all images), got {limit}")
    if limit and "limit" in inspect.signature(spec.loader).parameters:
        options["limit"] = limit  # the loader makes only the images asked for
    data = spec.loader(split, data_dir=data_dir, **options)
    if not isinstance(data, Dataset):
        raise TypeError(f"loader of {spec.name} returned {type(data).__name__}, not a Dataset")
    return data.subset(limit) if 0 < limit < len(data) else data


def loader_options(loader: Callable) -> tuple[str, ...]:
    """Keyword options a loader takes beyond (split, data_dir) and ``limit`` (which
    ``load_dataset`` passes itself) — for register_dataset callers."""
    params = inspect.signature(loader).parameters.values()
    return tuple(p.name for p in params if p.name not in ("split", "data_dir", "limit")
                 and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


# ----------------------------------------------------------------------------- MNIST (bundled)
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


def _load_mnist(split: str, data_dir=None) -> Dataset:
    """MNIST from ``data_dir`` (IDX or IDX.gz files) or, without it, the bundled copy."""
    spec = MNIST
    stems = spec.files[split]
    if data_dir is not None:
        folder = Path(data_dir)
        paths = [_find(folder, s) for s in stems]
        if None in paths:
            missing = [s for s, p in zip(stems, paths, strict=True) if p is None]
            raise DataNotFound(
                f"{folder} does not hold {' and '.join(missing)} (or .gz); put the mnist IDX "
                f"files there, or leave out --data-dir / ${DATA_DIR_ENV} to use the bundled copy"
            )
    else:
        paths = [_bundled_dir() / (s + ".gz") for s in stems]
        for p in paths:
            _verify_bundled(p)
    images, labels = (read_idx(p) for p in paths)
    return images_labels_dataset(images, labels, spec.classes, f"mnist-{split}",
                                 str(paths[0]), str(paths[1]))


def images_labels_dataset(images: np.ndarray, labels: np.ndarray, classes, name: str,
                          images_source: str = "images", labels_source: str = "labels",
                          ) -> Dataset:
    """Validate uint8 images (n, h, w) and integer labels (n,), then make a ``Dataset``."""
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{images_source}: expected uint8 images of shape (n, height, width), got "
            f"{images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{labels_source}: expected {len(images)} labels to match {images_source}, got "
            f"shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{labels_source}: labels must be integers, got {labels.dtype}")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= len(classes)):
        raise ValueError(
            f"{labels_source}: labels {int(labels.min())}..{int(labels.max())} are out of range "
            f"for {len(classes)} classes"
        )
    return Dataset.from_images(images, labels, tuple(classes), name=name)


register_dataset(
    "mnist", _load_mnist, credit=MNIST.credit,
    description="handwritten digits 0-9 (ships with mojinet: no download)",
    image_shape=(28, 28), n_classes=10, sizes={"train": 60_000, "test": 10_000},
    license="CC BY-SA 3.0", homepage="https://yann.lecun.com/exdb/mnist/",
)
