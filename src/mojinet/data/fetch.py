"""Getting a dataset's files: a local folder, then the cache, then a verified download.

For each file a dataset needs, ``fetch`` looks, in order:

1. in ``data_dir`` (the user's own copy; checked against the known checksum when it is the
   same file as the download, e.g. ``train-images-idx3-ubyte.gz``);
2. in the cache, ``$MOJINET_CACHE/<dataset>/`` (default: the OS cache folder from
   ``pooch.os_cache("mojinet")``), checked against the checksum — a hit needs no network;
3. on the mirrors, in order, through pooch (temporary file → checksum → rename into the cache,
   so a half download or a wrong file never lands in the cache).

When every mirror fails (no network, a firewall, a moved file, a wrong checksum), the error
says which file is missing, its checksum, the URLs tried and why each failed, and where to put
the file by hand. ``MOJINET_OFFLINE=1`` skips the network entirely.

Non-goals: resuming partial downloads, authentication, anything but plain HTTP(S) mirrors.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

CACHE_ENV = "MOJINET_CACHE"
OFFLINE_ENV = "MOJINET_OFFLINE"
DOWNLOAD_TIMEOUT = 60  # seconds without data before a mirror counts as failed


class DataNotFound(FileNotFoundError):
    """A dataset's files are not on this machine and could not be downloaded."""


class ChecksumError(ValueError):
    """A file is present but is not the file the dataset expects."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name, its checksum, where to download it (mirrors in order).

    known_hash: ``"md5:<hex>"`` or ``"sha256:<hex>"`` (pooch's notation).
    size: bytes, when known (shown in messages; a mismatch is explained, not trusted).
    known_bad: sizes of known wrong versions → what they are (e.g. an outdated release).
    """

    name: str
    known_hash: str
    urls: tuple[str, ...]
    size: int | None = None
    known_bad: dict[int, str] = field(default_factory=dict)

    def __post_init__(self):
        alg, _, digest = self.known_hash.partition(":")
        if alg not in ("md5", "sha256") or not digest:
            raise ValueError(f"{self.name}: known_hash must be 'md5:…' or 'sha256:…', "
                             f"got {self.known_hash!r}")

    @property
    def algorithm(self) -> str:
        return self.known_hash.partition(":")[0]

    @property
    def digest(self) -> str:
        return self.known_hash.partition(":")[2].lower()


def cache_dir() -> Path:
    """The root of mojinet's download cache: ``$MOJINET_CACHE`` or the OS cache folder."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("mojinet"))


def dataset_cache(dataset: str) -> Path:
    """Where the files of ``dataset`` are cached (one folder per dataset: names repeat)."""
    return cache_dir() / dataset


def file_hash(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, file: RemoteFile) -> None:
    """Raise ``ChecksumError`` (saying what to do) unless ``path`` has ``file``'s checksum."""
    actual = file_hash(path, file.algorithm)
    if actual == file.digest:
        return
    size = path.stat().st_size
    why = file.known_bad.get(size, "")
    raise ChecksumError(
        f"{path}: {file.algorithm} {actual} does not match the expected {file.digest} "
        f"({size:,} bytes{'' if file.size is None else f', expected {file.size:,}'}). "
        + (f"{why}. " if why else "The file is damaged, incomplete or a different version. ")
        + "Delete it and load the dataset again to download a fresh copy"
        + (f" from {file.urls[0]}" if file.urls else "")
        + "."
    )


def is_cached(dataset: str, file: RemoteFile) -> bool:
    """True when the cache holds ``file`` (by name and size; ``fetch`` verifies the checksum)."""
    path = dataset_cache(dataset) / file.name
    return path.is_file() and (file.size is None or path.stat().st_size == file.size)


def offline_advice(dataset: str, file: RemoteFile, failures: list[str] | None = None) -> str:
    """What to do when ``file`` cannot be downloaded: the message of ``DataNotFound``."""
    target = dataset_cache(dataset) / file.name
    lines = [f"cannot get {file.name} for dataset {dataset!r}"
             + (f" ({file.size:,} bytes)" if file.size else "") + "."]
    if failures:
        lines.append("Tried:")
        lines += [f"  {f}" for f in failures]
    else:
        lines.append(f"Downloads are off (${OFFLINE_ENV} is set).")
    lines += [
        "To use it offline, download it on a machine with network access from:",
        *[f"  {u}" for u in file.urls],
        f"check its checksum ({file.algorithm}sum should print {file.digest}), then either",
        f"  put it at {target}",
        "  or put it in a folder of your own and pass --data-dir FOLDER "
        "(Python: data_dir=FOLDER).",
    ]
    return "\n".join(lines)


def _download(dataset: str, file: RemoteFile) -> Path:
    """Try each mirror in order; the first verified download wins."""
    import pooch

    folder = dataset_cache(dataset)
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    progress = sys.stderr.isatty()
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # we say what we download ourselves
    try:
        for url in file.urls:
            if progress:
                print(f"Downloading {file.name} for {dataset} from {url}", file=sys.stderr)
            try:
                path = pooch.retrieve(
                    url, known_hash=file.known_hash, fname=file.name, path=folder,
                    downloader=pooch.HTTPDownloader(progressbar=progress,
                                                    timeout=DOWNLOAD_TIMEOUT),
                )
            except ValueError as e:  # pooch: checksum mismatch (the download was deleted)
                failures.append(f"{url}: wrong checksum ({e})")
            except Exception as e:  # noqa: BLE001 - any network error means: next mirror
                failures.append(f"{url}: {type(e).__name__}: {e}")
            else:
                return Path(path)
    finally:
        logger.setLevel(level)
    raise DataNotFound(offline_advice(dataset, file, failures))


def fetch(dataset: str, file: RemoteFile, data_dir=None, download: bool = True) -> Path:
    """The local path of a verified copy of ``file``: from ``data_dir``, the cache or a mirror."""
    if data_dir is not None:
        path = Path(data_dir) / file.name
        if path.is_file():
            verify(path, file)
            return path
    cached = dataset_cache(dataset) / file.name
    offline = not download or os.environ.get(OFFLINE_ENV, "") not in ("", "0")
    if cached.is_file():
        try:
            verify(cached, file)
            return cached
        except ChecksumError:
            if offline:
                raise
            # A damaged or outdated copy in our own cache: download it again (pooch replaces
            # the file only once the new copy has the right checksum).
    if offline:
        raise DataNotFound(offline_advice(dataset, file))
    return _download(dataset, file)
