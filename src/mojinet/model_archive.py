"""Reading the arrays of a model file (a ZIP of ``.npy`` entries) without trusting a byte of it.

``Archive(zf, file_size)`` reads one entry at a time: it refuses compression methods numpy does
not write and encrypted entries, parses the ``.npy`` header itself (a fixed pattern: no
``ast``, no pickle, no unbounded header), checks the dtype and shape against what the caller
expects, checks that the data the header declares is exactly what the ZIP entry holds, and reads
it straight into one array in chunks (no second copy), reading on to the entry's end so that its
CRC-32 is checked. ``charge`` checks declared sizes against the memory budget *before* anything
is allocated:

- at most ``MOJINET_MODEL_MAX_BYTES`` (default 4 GiB) of arrays;
- at most ``MOJINET_MODEL_MAX_RATIO`` (default 50) times the file's size on disk once a model
  declares over 64 MiB (trained float32 weights hardly compress: a file declaring far more than
  it holds is a decompression bomb);
- at most the memory the system says is available (``MemAvailable``, Linux).

Every refusal is a ``ModelFileError`` saying which limit and how to raise it.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass

import numpy as np

from ._files import env_limit
from .memory import available_bytes, format_bytes
from .model_schema import ModelFileError

__all__ = ["Archive", "Budget", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_RATIO", "RATIO_FREE_BYTES"]

DEFAULT_MAX_BYTES = 4 * 2**30
DEFAULT_MAX_RATIO = 50.0
RATIO_FREE_BYTES = 64 * 2**20  # models this small may compress as well as they like
MAX_HEADER = 4096  # numpy writes 128 bytes or a few multiples of 64
_CHUNK = 4 * 2**20
_MAGIC = b"\x93NUMPY"
_TEXT = re.compile(r"<U\d{1,9}")
_HEADER = re.compile(
    r"\{\s*'descr':\s*'(?P<descr>[<>|=][A-Za-z]\d{0,9})',\s*'fortran_order':\s*(?P<fortran>True"
    r"|False),\s*'shape':\s*\((?P<shape>(?:\s*\d{1,12}\s*,)*\s*(?:\d{1,12})?\s*)\),?\s*\}\s*")


@dataclass
class Budget:
    """How many bytes of arrays a model file of ``file_size`` bytes may make us allocate."""

    file_size: int
    max_bytes: float
    max_ratio: float
    available: int | None
    used: int = 0

    @classmethod
    def for_file(cls, file_size: int) -> Budget:
        max_bytes = env_limit("MOJINET_MODEL_MAX_BYTES", DEFAULT_MAX_BYTES, ModelFileError)
        max_ratio = env_limit("MOJINET_MODEL_MAX_RATIO", DEFAULT_MAX_RATIO, ModelFileError)
        return cls(file_size, max_bytes, max_ratio, available_bytes())

    def charge(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` more; a ModelFileError if the total breaks a limit."""
        self.used += nbytes
        total, shown = self.used, format_bytes(self.used)
        if total > self.max_bytes:
            raise ModelFileError(f"{what}: {shown} of arrays, over the "
                                 f"{format_bytes(self.max_bytes)} limit for model files. If the "
                                 f"file is right, raise it: MOJINET_MODEL_MAX_BYTES=N (bytes)")
        ratio = total / max(self.file_size, 1)
        if total > RATIO_FREE_BYTES and ratio > self.max_ratio:
            raise ModelFileError(f"{what}: {shown} of arrays from a "
                                 f"{format_bytes(self.file_size)} file ({ratio:,.0f}×, over the "
                                 f"{self.max_ratio:g}× limit: a decompression bomb, or damaged). "
                                 f"If you trust it, raise the limit: MOJINET_MODEL_MAX_RATIO=N")
        if self.available is not None and total > self.available:
            raise ModelFileError(f"{what}: {shown} of arrays, more than the "
                                 f"{format_bytes(self.available)} of memory available now; "
                                 f"free memory or load it on a larger machine")


def parse_npy_header(member, name: str) -> tuple[str, bool, tuple[int, ...], int]:
    """(descr, fortran_order, shape, bytes of header) of the ``.npy`` data in ``member``."""
    magic = member.read(8)
    if len(magic) != 8 or magic[:6] != _MAGIC or magic[6] not in (1, 2, 3) or magic[7] != 0:
        raise ModelFileError(f"entry {name} is not a .npy array (bad magic {magic!r:.40})")
    width = 2 if magic[6] == 1 else 4
    raw = member.read(width)
    if len(raw) != width:
        raise ModelFileError(f"entry {name} is truncated in its header")
    length = int.from_bytes(raw, "little")
    if length > MAX_HEADER:
        raise ModelFileError(f"entry {name} declares a {length:,}-byte header (numpy writes "
                             f"under {MAX_HEADER:,}); tampered with")
    text = member.read(length)
    m = _HEADER.fullmatch(text.decode("latin-1"))
    if len(text) != length or m is None:
        raise ModelFileError(f"entry {name} has a bad .npy header {text[:80]!r}")
    shape = tuple(int(n) for n in m["shape"].replace(" ", "").split(",") if n.strip())
    return m["descr"], m["fortran"] == "True", shape, 8 + width + length


class Archive:
    """The entries of an open model ZIP, read with checks (see the module's docstring)."""

    def __init__(self, zf: zipfile.ZipFile, budget: Budget):
        self.zf, self.budget = zf, budget

    def info(self, name: str) -> zipfile.ZipInfo:
        try:
            info = self.zf.getinfo(name + ".npy")
        except KeyError:
            raise ModelFileError(f"missing entry {name}; the file is incomplete") from None
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(f"entry {name} uses ZIP compression method "
                                 f"{info.compress_type}; numpy writes only stored or deflated")
        if info.flag_bits & 0x1:
            raise ModelFileError(f"entry {name} is encrypted; model files never are")
        return info

    def read(self, name: str, descrs, shape: tuple[int, ...] | None,
             max_bytes: int | None = None) -> np.ndarray:
        """Entry ``name`` as an array of one of ``descrs`` (empty: text) and exactly ``shape``
        (None: 0-d) of at most ``max_bytes``, checked before its data is read. The caller has
        charged the budget with the declared sizes."""
        info = self.info(name)
        with self.zf.open(info) as member:
            descr, fortran, hshape, offset = parse_npy_header(member, name)
            if (descr not in descrs if descrs else not _TEXT.fullmatch(descr)) or fortran:
                raise ModelFileError(f"entry {name} has dtype {_dtype_name(descr)} (fortran order "
                                     f"{fortran}); "
                                     f"expected {' or '.join(descrs or ['text'])} — not a "
                                     f"mojinet model, or tampered with")
            wanted = () if shape is None else tuple(shape)
            if hshape != wanted:
                raise ModelFileError(f"entry {name} has shape {hshape} but the metadata needs "
                                     f"{wanted}")
            dtype = np.dtype(descr)
            nbytes = int(np.prod(hshape, dtype=object)) * dtype.itemsize
            if max_bytes is not None and nbytes > max_bytes:
                raise ModelFileError(f"entry {name} declares {nbytes:,} bytes; the limit is "
                                     f"{max_bytes:,}")
            if nbytes != info.file_size - offset:
                raise ModelFileError(f"entry {name}: its header declares {nbytes:,} bytes of data"
                                     f", the archive holds {info.file_size - offset:,}; damaged")
            a = np.empty(hshape, dtype)
            _read_into(member, a, name)
        return a


def _dtype_name(descr: str) -> str:
    """``descr`` and, where NumPy knows it, its name: ``<i8 (int64)``, ``|O (object)``."""
    try:
        return f"{descr} ({np.dtype(descr).name})"
    except (TypeError, ValueError):
        return descr


def _read_into(member, a: np.ndarray, name: str) -> None:
    """Fill the C-contiguous ``a`` from ``member`` in chunks, then read to the end (CRC check)."""
    view = memoryview(a.reshape(-1).view(np.uint8))
    got = 0
    while got < len(view):
        n = member.readinto(view[got:got + _CHUNK])
        if not n:
            raise ModelFileError(f"entry {name} is truncated")
        got += n
    if member.read(1):
        raise ModelFileError(f"entry {name} holds more data than its header declares")
