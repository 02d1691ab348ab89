"""IDX files (the format MNIST ships in), read and written with strict validation.

Layout: two zero bytes, a dtype code, the number of dimensions d, then d big-endian uint32 sizes,
then the data in C order, big-endian. A file starting with the gzip magic is decompressed.
Reading checks every part and refuses a file whose size does not match its header before
allocating the data, so a corrupt or hostile file gets an ``IDXError`` naming the file and saying
what is wrong — never a huge allocation, a silent truncation or a wrongly shaped array.

Where data is inflated, it is capped: the declared data may be at most ``max_bytes`` (4 GiB), and
a gzip file may not declare more than ``max_ratio`` (50) times its own size once it declares over
16 MiB (MNIST's ratio is about 5; a gzip bomb's is up to ~1000). Both limits can be raised, per
call or with the environment variables ``MOJINET_IDX_MAX_BYTES`` and ``MOJINET_IDX_MAX_RATIO``,
and every refusal says how. The data is decompressed straight into the result array (byte order
swapped in place), so reading needs the array's size and no more.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes, env_limit, name_problem

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
DEFAULT_MAX_RATIO = 50  # declared data size / gzip file size
RATIO_FREE_BYTES = 16 * 1024**2  # files declaring at most this much are not ratio-checked
MAX_DIMS = 32  # what every NumPy version can hold
_CHUNK = 1 << 20  # decompress this much at a time
_ERRORS = (OSError, EOFError, zlib.error)  # what a damaged file raises (BadGzipFile: OSError)


class IDXError(ValueError):
    """A file is not valid IDX (or does not hold what was expected)."""


def _limit(value, variable: str, default: float) -> float:
    """``value`` if given, else the environment variable ``variable``, else ``default``."""
    if value is None:
        return env_limit(variable, default, IDXError)
    if not value > 0:
        raise IDXError(f"the IDX limit {variable.removeprefix('MOJINET_IDX_').lower()} must be "
                       f"positive, got {value}")
    return value


def _check_path(path: Path) -> None:
    problem = name_problem(path)
    if problem:
        raise IDXError(f"{path}: {problem}")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such IDX file") from None
    except OSError as e:
        raise IDXError(f"{path}: cannot read it ({e.strerror})") from e
    if not stat.S_ISREG(mode):
        raise IDXError(f"{path}: not a regular file (a folder, device or pipe); give an IDX file")


def _open(path: Path):
    """The file, decompressing if it is gzip, and whether it is."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return (gzip.open(path, "rb") if gz else open(path, "rb")), gz


def _read_exact(f, n: int, path: Path, what: str) -> bytes:
    try:
        data = f.read(n)
    except _ERRORS as e:
        raise IDXError(f"{path}: damaged file while reading {what} ({e}); download it again") from e
    if len(data) != n:
        raise _truncated(path, n, len(data), what)
    return data


def _truncated(path: Path, n: int, found: int, what: str) -> IDXError:
    return IDXError(f"{path}: truncated — expected {n:,} bytes of {what}, found {found:,}; the "
                    f"file is incomplete, download it again")


def _read_header(f, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    head = _read_exact(f, 4, path, "header")
    if head[:2] != b"\x00\x00":
        raise IDXError(f"{path}: not an IDX file (magic number starts {head[:2].hex()}, "
                       f"expected 0000)")
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        raise IDXError(f"{path}: unknown IDX dtype code 0x{code:02x} "
                       f"(valid: {', '.join(f'0x{c:02x}' for c in IDX_DTYPES)})")
    if not 1 <= ndim <= MAX_DIMS:
        raise IDXError(f"{path}: IDX header declares {ndim} dimensions; 1 to {MAX_DIMS} can be "
                       f"read")
    shape = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, "dimension sizes"))
    return IDX_DTYPES[code], shape


def _check_size(path: Path, shape, nbytes: int, gz: bool, max_bytes: float,
                max_ratio: float) -> None:
    """Refuse declared data over the limits, or (uncompressed) not matching the file's size."""
    if nbytes > max_bytes:
        raise IDXError(f"{path}: header declares shape {shape} ({nbytes:,} bytes), over the "
                       f"{max_bytes:,.0f}-byte limit; the file is corrupt or not meant for this. "
                       f"If it is right, raise the limit: read_idx(..., max_bytes=N) or "
                       f"MOJINET_IDX_MAX_BYTES=N")
    spread = int(np.prod([d for d in shape if d], dtype=object)) * 8
    if spread >= 2**63:  # NumPy refuses such a shape even when a 0 makes it empty
        raise IDXError(f"{path}: header declares shape {shape}, whose sizes multiply past what "
                       f"an array can index; the file is corrupt")
    size = path.stat().st_size
    if gz and nbytes > RATIO_FREE_BYTES and nbytes > max_ratio * size:
        raise IDXError(f"{path}: header declares {nbytes:,} bytes of data, {nbytes / size:,.0f}× "
                       f"the {size:,}-byte compressed file, over the {max_ratio:g}× limit for "
                       f"gzip files (a decompression bomb, or data far more repetitive than "
                       f"images). If you trust the file, raise the limit: read_idx(..., "
                       f"max_ratio=N) or MOJINET_IDX_MAX_RATIO=N")
    if not gz:
        expected = 4 + 4 * len(shape) + nbytes
        if size < expected:
            raise _truncated(path, nbytes, size - (expected - nbytes), f"data for shape {shape}")
        if size > expected:
            raise _oversized(path, nbytes, shape)


def _oversized(path: Path, nbytes: int, shape) -> IDXError:
    return IDXError(f"{path}: oversized — more bytes follow the {nbytes:,} that shape {shape} "
                    f"needs; the header does not match the data")


def _read_into(f, out: np.ndarray, path: Path, shape) -> None:
    """Fill ``out`` with the file's next ``out.nbytes`` bytes, a chunk at a time, and check
    that nothing follows them."""
    view = memoryview(out.reshape(-1).view(np.uint8))
    done = 0
    try:
        while done < out.nbytes:
            n = f.readinto(view[done:done + _CHUNK])
            if not n:
                raise _truncated(path, out.nbytes, done, f"data for shape {shape}")
            done += n
        extra = f.read(1)
    except _ERRORS as e:
        raise IDXError(f"{path}: damaged file while reading the data ({e}); download it "
                       f"again") from e
    if extra:
        raise _oversized(path, out.nbytes, shape)


def read_idx(path: str | os.PathLike, max_bytes: float | None = None,
             max_ratio: float | None = None) -> np.ndarray:
    """Read an IDX (or IDX.gz) file into a native-endian array of its stored dtype and shape.

    ``max_bytes``: the largest data accepted (default ``MOJINET_IDX_MAX_BYTES`` or 4 GiB);
    ``max_ratio``: for gzip files declaring over 16 MiB, the largest data size / file size
    accepted (default ``MOJINET_IDX_MAX_RATIO`` or 50).
    """
    path = Path(path)
    max_bytes = _limit(max_bytes, "MOJINET_IDX_MAX_BYTES", DEFAULT_MAX_BYTES)
    max_ratio = _limit(max_ratio, "MOJINET_IDX_MAX_RATIO", DEFAULT_MAX_RATIO)
    _check_path(path)
    f, gz = _open(path)
    with f:
        stored, shape = _read_header(f, path)
        nbytes = int(np.prod(shape, dtype=object)) * stored.itemsize
        _check_size(path, shape, nbytes, gz, max_bytes, max_ratio)
        out = np.empty(shape, dtype=stored.newbyteorder("="))
        _read_into(f, out, path, shape)
    if stored.itemsize > 1 and sys.byteorder == "little":
        out.byteswap(inplace=True)  # the big-endian bytes read into native-order memory
    return out


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
    if name_problem(path):
        raise IDXError(f"cannot write {path}: {name_problem(path)}")
    code = _CODES[key]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    try:
        atomic_write_bytes(path, payload)
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise IDXError(f"cannot write {path}: the name is too long for this file system "
                           f"once the temporary file's suffix is added; use a shorter "
                           f"name") from e
        raise
