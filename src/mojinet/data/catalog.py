"""The datasets mojinet knows how to download: where each file lives, its checksum, its credit.

Every checksum below says where it came from. Files are verified after every download and
whenever they are taken from the cache or from a user's ``data_dir`` in the same form as the
download; IDX files a user has already decompressed (no ``.gz``) are read with strict IDX
validation instead, as no checksum was published for them.

Datasets (``mojinet datasets`` lists them):

- ``kmnist`` Kuzushiji-MNIST, 10 classes of cursive hiragana, 28×28 — IDX or NumPy .npz
- ``k49`` Kuzushiji-49, 49 hiragana classes, 28×28 — .npz
- ``kkanji`` Kuzushiji-Kanji, 3,832 kanji, 64×64 PNGs in a tar (see ``kkanji.py``)
- ``fashion-mnist`` Zalando's clothing images, 28×28 — IDX
- ``emnist-digits``, ``emnist-letters`` NIST handwriting, 28×28 — IDX inside NIST's zip
- ``etl8b``, ``etl9b`` the ETL character database (your own copy; see ``etl.py``)
- ``folder`` your own images, one subfolder per class (see ``folder.py``)
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import atomic_writer
from . import etl, folder, kkanji
from .dataset import Dataset
from .fetch import DataNotFound, RemoteFile, dataset_cache, fetch
from .idx import read_idx
from .npz import read_npz_array
from .registry import images_labels_dataset, register_dataset

CODH = "https://codh.rois.ac.jp/kmnist/dataset"
CODH_HTTP = "http://codh.rois.ac.jp/kmnist/dataset"
KUZUSHIJI_CREDIT = (
    '"{name}" (created by CODH), adapted from "Kuzushiji Dataset" (created by NIJL and '
    'others), doi:10.20676/00000341. License CC BY-SA 4.0. Paper: T. Clanuwat et al., '
    '"Deep Learning for Classical Japanese Literature", arXiv:1812.01718 (2018).'
)


def _codh(folder_name: str, name: str, known_hash: str, size: int, **kw) -> RemoteFile:
    """A file on CODH's server: https first, then plain http (same checksum either way)."""
    return RemoteFile(name, known_hash, (f"{CODH}/{folder_name}/{name}",
                                         f"{CODH_HTTP}/{folder_name}/{name}"), size, **kw)


@dataclass(frozen=True)
class SplitFiles:
    """The images and labels files of one split in one format ("idx" or "npz")."""

    format: str
    images: RemoteFile
    labels: RemoteFile


def _local_variant(data_dir: Path, file: RemoteFile) -> Path | None:
    """A decompressed copy of a .gz IDX file in the user's folder (no checksum published)."""
    if file.name.endswith(".gz"):
        plain = data_dir / file.name[:-3]
        if plain.is_file():
            return plain
    return None


def resolve_split(dataset: str, choices: list[SplitFiles], data_dir=None,
                  cache_name: str | None = None) -> tuple[str, Path, Path]:
    """(format, images path, labels path) for one split: the user's folder, the cache, or a
    download of the first format. Any format that is complete locally is used as it is."""
    cache_name = cache_name or dataset
    if data_dir is not None:
        folder_path = Path(data_dir)
        for c in choices:
            paths = []
            for f in (c.images, c.labels):
                if (folder_path / f.name).is_file():
                    paths.append(fetch(cache_name, f, data_dir=folder_path))  # verifies
                else:
                    paths.append(_local_variant(folder_path, f))
            if None not in paths:
                return c.format, paths[0], paths[1]
    cache = dataset_cache(cache_name)
    for c in choices:
        if (cache / c.images.name).is_file() and (cache / c.labels.name).is_file():
            return (c.format, fetch(cache_name, c.images, data_dir),
                    fetch(cache_name, c.labels, data_dir))
    first = choices[0]
    paths = []
    for f in (first.images, first.labels):
        try:
            paths.append(fetch(cache_name, f, data_dir))
        except DataNotFound as e:
            others = [o for o in (first.images, first.labels)
                      if o is not f and not (cache / o.name).is_file()]
            if not others:
                raise
            also = "\n".join(f"  {o.name} ({o.algorithm} {o.digest}) from {o.urls[0]}"
                             for o in others)
            raise DataNotFound(f"{e}\nThe same folder also needs:\n{also}") from e
    return first.format, paths[0], paths[1]


def read_images_labels(fmt: str, images_path: Path, labels_path: Path):
    if fmt == "idx":
        return read_idx(images_path), read_idx(labels_path)
    if fmt == "npz":
        return (read_npz_array(images_path, 3, "uint8"),
                read_npz_array(labels_path, 1, "integer"))
    raise ValueError(f"unknown format {fmt!r}")


def _idx_pair() -> dict[str, tuple[str, str]]:
    """The MNIST-style IDX file names of each split."""
    return {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
            "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


# ----------------------------------------------------------------------------- Kuzushiji-MNIST
# Class order of kmnist_classmap.csv (CODH). Checked: rebuilding the CSV from this string gives
# the official file's MD5 899202f6e8dc29a321ac210a03d0f2f1 (tests/test_catalog.py does it).
KMNIST_CLASSES = tuple("おきすつなはまやれを")
# Checksums.
# IDX .gz: SHA-256 and sizes from TensorFlow Datasets (tensorflow_datasets/url_checksums/
#   kmnist.txt); the same files' MD5s are in torchvision's KMNIST class and in
#   ../shared/data/kmnist/README.md (bdb82020…, e144d726…, 5c965bf0…, 7320c461…).
# .npz: MD5s of the test files from CODH as listed in ../shared/data/kmnist/README.md (they
#   match the real test split there); train files' MD5 and size from the git-annex keys of
#   the Mila datasets mirror of CODH's files (github.com/datasets-mila/datasets--kmnist).
OLD_KMNIST_TEST = ("this is the older KMNIST test file released before CODH's fix of "
                   "5 February 2019, with different images")
KMNIST_FILES = {
    "train": [
        SplitFiles("idx",
                   _codh("kmnist", "train-images-idx3-ubyte.gz", "sha256:51467d22d8cc72929e2a028a"
                         "0428f2086b092bb31cfb79c69cc0a90ce135fde4", 18_165_135),
                   _codh("kmnist", "train-labels-idx1-ubyte.gz", "sha256:e38f9ebcd0f3ebcdec7fc8ea"
                         "bdcdaef93bb0df8ea12bee65224341c8183d8e17", 29_497)),
        SplitFiles("npz",
                   _codh("kmnist", "kmnist-train-imgs.npz",
                         "md5:a183fbc01ed9a345513b145673d3d0bb", 18_384_171),
                   _codh("kmnist", "kmnist-train-labels.npz",
                         "md5:b0e1d240e8afec72b50437fc3bc5908a", 29_700)),
    ],
    "test": [
        SplitFiles("idx",
                   _codh("kmnist", "t10k-images-idx3-ubyte.gz", "sha256:edd7a857845ad6bb1d0ba43f"
                         "e7e794d164fe2dce499a1694695a792adfac43c5", 3_041_136),
                   _codh("kmnist", "t10k-labels-idx1-ubyte.gz", "sha256:20bb9a0ef54c7db3efc55a92"
                         "eef5582c109615df22683c380526788f98e42a1c", 5_120)),
        SplitFiles("npz",
                   _codh("kmnist", "kmnist-test-imgs.npz", "md5:dace6de62ca8b90843cc45366337d02e",
                         3_079_479, known_bad={3_069_285: OLD_KMNIST_TEST}),
                   _codh("kmnist", "kmnist-test-labels.npz",
                         "md5:3ae489a79983d0fe386152684e3b5412", 5_304)),
    ],
}


def _load_kmnist(split: str, data_dir=None) -> Dataset:
    fmt, images_path, labels_path = resolve_split("kmnist", KMNIST_FILES[split], data_dir)
    images, labels = read_images_labels(fmt, images_path, labels_path)
    return images_labels_dataset(images, labels, KMNIST_CLASSES, f"kmnist-{split}",
                                 str(images_path), str(labels_path))


# ----------------------------------------------------------------------------- Kuzushiji-49
# Class order of k49_classmap.csv (CODH): the 46 modern hiragana, ゐ and ゑ in gojūon order, and
# the iteration mark ゝ. Checked like KMNIST's: the rebuilt CSV has the official file's MD5
# f7d0d0391f68bdf0fe4cf160ceb85753 (size 697) recorded in the Mila mirror's annex keys.
K49_CLASSES = tuple("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよ"
                    "らりるれろわゐゑをんゝ")
# MD5s and sizes: git-annex keys of the Mila mirror of CODH's files (downloaded from
# codh.rois.ac.jp/kmnist/dataset/k49/, per its .log.web records).
K49_FILES = {
    "train": [SplitFiles("npz",
                         _codh("k49", "k49-train-imgs.npz", "md5:7ac088b20481cf51dcd01ceaab89d821",
                               66_117_696),
                         _codh("k49", "k49-train-labels.npz",
                               "md5:44a8e1b893f81e63ff38d73cad420f7a", 164_485))],
    "test": [SplitFiles("npz",
                        _codh("k49", "k49-test-imgs.npz", "md5:d352e201d846ce6b94f42c990966f374",
                              10_971_201),
                        _codh("k49", "k49-test-labels.npz", "md5:4da6f7a62e67a832d5eb1bd85c5ee448",
                              27_450))],
}


def _load_k49(split: str, data_dir=None) -> Dataset:
    fmt, images_path, labels_path = resolve_split("k49", K49_FILES[split], data_dir)
    images, labels = read_images_labels(fmt, images_path, labels_path)
    return images_labels_dataset(images, labels, K49_CLASSES, f"k49-{split}",
                                 str(images_path), str(labels_path))


# ----------------------------------------------------------------------------- Kuzushiji-Kanji
# SHA-256 of kkanji.tar: CODH publishes no checksum for it; this one is pinned in third-party
# public code that verifies the archive (found by code search). Weakest of our checksums: if
# CODH ever re-packs the tar, the error message says what to do.
KKANJI_TAR = _codh("kkanji", "kkanji.tar",
                   "sha256:6c65024b7b79de6661a049c89decfddae8bb908f71fcd7fdf1bd9a7f220a1cda", None)


def _load_kkanji(split: str, data_dir=None) -> Dataset:
    if data_dir is not None and (Path(data_dir) / "kkanji2").is_dir():
        return kkanji.load_tree(Path(data_dir) / "kkanji2", split)
    tar_path = fetch("kkanji", KKANJI_TAR, data_dir)
    return kkanji.load_tar(tar_path, split, cache=dataset_cache("kkanji"))


# ----------------------------------------------------------------------------- Fashion-MNIST
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
FASHION_MIRRORS = ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                   "data/fashion", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com")
# SHA-256 and sizes: TensorFlow Datasets (url_checksums/fashion_mnist.txt); the MD5s in
# Zalando's README and torchvision's FashionMNIST (8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd…)
# name the same files.
_FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26_421_880),
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29_515),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4_422_102),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5_148),
}


def _fashion(name: str) -> RemoteFile:
    digest, size = _FASHION_SHA256[name]
    return RemoteFile(name, f"sha256:{digest}", tuple(f"{m}/{name}" for m in FASHION_MIRRORS),
                      size)


FASHION_FILES = {split: [SplitFiles("idx", _fashion(images), _fashion(labels))]
                 for split, (images, labels) in _idx_pair().items()}


def _load_fashion(split: str, data_dir=None) -> Dataset:
    fmt, images_path, labels_path = resolve_split("fashion-mnist", FASHION_FILES[split], data_dir)
    images, labels = read_images_labels(fmt, images_path, labels_path)
    return images_labels_dataset(images, labels, FASHION_CLASSES, f"fashion-mnist-{split}",
                                 str(images_path), str(labels_path))


# ----------------------------------------------------------------------------- EMNIST
# NIST ships all EMNIST subsets in one zip (535 MiB) of IDX .gz files. SHA-256 and size from
# TensorFlow Datasets (url_checksums/emnist.txt); torchvision's EMNIST pins the same file by
# MD5 58c8d27c78d21e728a6bc7b3cc06412e.
EMNIST_ZIP = RemoteFile(
    "gzip.zip", "sha256:fb9bb67e33772a9cc0b895e4ecf36d2cf35be8b709693c3564cea2a019fcda8e",
    ("https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",
     "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/gzip.zip"),
    561_753_746,
)
EMNIST_CLASSES = {
    "digits": tuple("0123456789"),
    # EMNIST Letters merges upper and lower case: class "A" holds both A and a. Its labels
    # run 1..26 (0 is unused), so we subtract 1.
    "letters": tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
}
EMNIST_LABEL_OFFSET = {"digits": 0, "letters": 1}


def _emnist_member(subset: str, split: str, kind: str) -> str:
    """e.g. emnist-letters-train-images-idx3-ubyte.gz"""
    return f"emnist-{subset}-{split}-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz"


def _emnist_path(subset: str, split: str, kind: str, data_dir) -> Path:
    name = _emnist_member(subset, split, kind)
    places = [Path(data_dir)] if data_dir is not None else []
    places.append(dataset_cache("emnist"))
    for place in places:
        for candidate in (place / name, place / name[:-3]):
            if candidate.is_file():
                return candidate
    zip_path = fetch("emnist", EMNIST_ZIP, data_dir)
    return _extract_member(zip_path, f"gzip/{name}", dataset_cache("emnist") / name)


def _extract_member(zip_path: Path, member: str, target: Path) -> Path:
    """Copy one member out of a verified zip into the cache (atomically; CRC-checked)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(zip_path) as z, z.open(member) as src, atomic_writer(target) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    except KeyError as e:
        raise DataNotFound(f"{zip_path} has no {member}; is it NIST's EMNIST gzip.zip?") from e
    except zipfile.BadZipFile as e:
        raise DataNotFound(f"{zip_path}: damaged zip ({e}); delete it and load again") from e
    return target


def _emnist_loader(subset: str):
    def load(split: str, data_dir=None) -> Dataset:
        paths = [_emnist_path(subset, split, kind, data_dir) for kind in ("images", "labels")]
        images, labels = (read_idx(p) for p in paths)
        if images.ndim == 3:
            # EMNIST stores each image transposed (column-major) relative to MNIST.
            images = np.ascontiguousarray(images.transpose(0, 2, 1))  # (n, 28, 28)
        labels = labels.astype(np.int64) - EMNIST_LABEL_OFFSET[subset]
        return images_labels_dataset(images, labels, EMNIST_CLASSES[subset],
                                     f"emnist-{subset}-{split}", str(paths[0]), str(paths[1]))

    load.__name__ = f"_load_emnist_{subset}"
    return load


def _emnist_cached(subset: str):
    def cached() -> bool:
        """The zip, or this subset's four extracted files, are in the cache."""
        cache = dataset_cache("emnist")
        members = [_emnist_member(subset, split, kind)
                   for split in ("train", "test") for kind in ("images", "labels")]
        return (all((cache / m).is_file() for m in members)
                or (cache / EMNIST_ZIP.name).is_file())

    return cached


# ----------------------------------------------------------------------------- registrations
def _files(table) -> tuple[RemoteFile, ...]:
    """The files a download fetches (the first format of each split)."""
    return tuple(f for split in table.values() for f in (split[0].images, split[0].labels))


register_dataset(
    "kmnist", _load_kmnist, credit=KUZUSHIJI_CREDIT.format(name="KMNIST Dataset"),
    description="Kuzushiji-MNIST: cursive hiragana, one per row of the kana table (10 classes)",
    image_shape=(28, 28), n_classes=10, sizes={"train": 60_000, "test": 10_000},
    license="CC BY-SA 4.0", homepage="https://github.com/rois-codh/kmnist",
    files=_files(KMNIST_FILES),
)
register_dataset(
    "k49", _load_k49, credit=KUZUSHIJI_CREDIT.format(name="Kuzushiji-49 Dataset"),
    description="Kuzushiji-49: 48 cursive hiragana and the iteration mark (imbalanced)",
    image_shape=(28, 28), n_classes=49, sizes={"train": 232_365, "test": 38_547},
    license="CC BY-SA 4.0", homepage="https://github.com/rois-codh/kmnist",
    files=_files(K49_FILES),
)
register_dataset(
    "kkanji", _load_kkanji, credit=KUZUSHIJI_CREDIT.format(name="Kuzushiji-Kanji Dataset"),
    description=("Kuzushiji-Kanji: 3,832 cursive kanji, 64×64, 1 to 1,766 images each; no "
                 "official split, mojinet holds out 1 in 5 per class (seeded)"),
    image_shape=(64, 64), n_classes=3832, sizes={"all": 140_424},
    license="CC BY-SA 4.0", homepage="https://github.com/rois-codh/kmnist",
    files=(KKANJI_TAR,), splits=("train", "test", "all"),
)
register_dataset(
    "fashion-mnist", _load_fashion,
    credit=("Fashion-MNIST: H. Xiao, K. Rasul and R. Vollgraf, Zalando Research (2017), "
            "arXiv:1708.07747. MIT License, Copyright (c) 2017 Zalando SE."),
    description="Zalando article images: clothes, shoes and bags (10 classes)",
    image_shape=(28, 28), n_classes=10, sizes={"train": 60_000, "test": 10_000},
    license="MIT", homepage="https://github.com/zalandoresearch/fashion-mnist",
    files=_files(FASHION_FILES),
)
EMNIST_HOME = "https://www.nist.gov/itl/products-and-services/emnist-dataset"
_EMNIST_CREDIT = ("EMNIST: G. Cohen, S. Afshar, J. Tapson and A. van Schaik, \"EMNIST: an "
                  "extension of MNIST to handwritten letters\" (2017), arXiv:1702.05373; derived "
                  "from NIST Special Database 19 (U.S. National Institute of Standards and "
                  "Technology).")
register_dataset(
    "emnist-digits", _emnist_loader("digits"), credit=_EMNIST_CREDIT,
    description="EMNIST Digits: handwritten digits 0-9 from NIST SD 19 (balanced)",
    image_shape=(28, 28), n_classes=10, sizes={"train": 240_000, "test": 40_000},
    license="NIST (public domain in the U.S.)", homepage=EMNIST_HOME,
    files=(EMNIST_ZIP,), is_cached=_emnist_cached("digits"),
)
register_dataset(
    "emnist-letters", _emnist_loader("letters"), credit=_EMNIST_CREDIT,
    description="EMNIST Letters: handwritten letters A-Z, upper and lower case merged",
    image_shape=(28, 28), n_classes=26, sizes={"train": 124_800, "test": 20_800},
    license="NIST (public domain in the U.S.)", homepage=EMNIST_HOME,
    files=(EMNIST_ZIP,), is_cached=_emnist_cached("letters"),
)
etl.register()
folder.register()
