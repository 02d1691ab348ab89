"""IDX files (the format MNIST ships in), read and written with strict validation.

Layout: two zero bytes, a dtype code, the number of dimensions d, then d big-endian uint32 sizes,
then the data in C order, big-endian. A ``.gz`` name means gzip-compressed. Reading checks every
part and refuses files whose size does not match their header, before allocating the data, so a
corrupt or hostile file gets an ``IDXError`` naming the file and saying what is wrong — never a
huge allocation, a silent truncation or a wrongly shaped array.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes

# IDX dtype code → NumPy dtype (big-endian, as stored).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}  # native dtype → code

DEFAULT_MAX_BYTES = 4 * 1024**3  # refuse to allocate more than this for one file's data


class IDXError(ValueError):
    """A file is not valid IDX (or does not hold what was expected)."""


def _open(path: Path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _read_exact(f, n: int, path: Path, what: str) -> bytes:
    try:
        data = f.read(n)
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise IDXError(f"{path}: damaged file while reading {what} ({e}); download it again") from e
    if len(data) != n:
        raise IDXError(
            f"{path}: truncated — expected {n} bytes of {what}, found {len(data)}; "
            f"the file is incomplete, download it again"
        )
    return data


def read_idx(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Read an IDX (or IDX.gz) file into a native-endian array of its stored dtype and shape."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such IDX file")
    with _open(path) as f:
        head = _read_exact(f, 4, path, "header")
        if head[:2] != b"\x00\x00":
            raise IDXError(
                f"{path}: not an IDX file (magic number starts {head[:2].hex()}, expected 0000)"
            )
        code, ndim = head[2], head[3]
        if code not in IDX_DTYPES:
            raise IDXError(
                f"{path}: unknown IDX dtype code 0x{code:02x} "
                f"(valid: {', '.join(f'0x{c:02x}' for c in IDX_DTYPES)})"
            )
        if ndim == 0:
            raise IDXError(f"{path}: IDX header declares 0 dimensions")
        dtype = IDX_DTYPES[code]
        shape = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, "dimension sizes"))
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if nbytes > max_bytes:
            raise IDXError(
                f"{path}: header declares shape {shape} ({nbytes:,} bytes), over the "
                f"{max_bytes:,}-byte limit; the file is corrupt or not meant for this"
            )
        data = _read_exact(f, nbytes, path, f"data for shape {shape}")
        try:
            extra = f.read(1)
        except (OSError, EOFError, zlib.error) as e:
            raise IDXError(f"{path}: damaged file after the data ({e})") from e
        if extra:
            raise IDXError(
                f"{path}: oversized — more bytes follow the {nbytes:,} that shape {shape} needs; "
                f"the header does not match the data"
            )
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as IDX (gzip-compressed if the name ends in .gz), atomically."""
    path = Path(path)
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=")
    if key not in _CODES:
        raise IDXError(
            f"IDX cannot store dtype {array.dtype}; "
            "use uint8, int8, int16, int32, float32 or float64"
        )
    if array.ndim == 0 or array.ndim > 255:
        raise IDXError(f"IDX needs 1 to 255 dimensions, got {array.ndim}")
    code = _CODES[key]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    atomic_write_bytes(path, payload)
