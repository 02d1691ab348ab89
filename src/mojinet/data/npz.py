"""Reading the NumPy ``.npz`` files some datasets ship in (KMNIST, Kuzushiji-49), safely.

Never unpickles (``allow_pickle=False``): an ``.npz`` holding Python objects is refused with a
clear error instead of running code. The array's dtype and number of dimensions are checked
against what the caller expects.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np


class NPZError(ValueError):
    """A file is not a usable .npz of the expected content."""


def read_npz_array(path: str | os.PathLike, ndim: int, kind: str = "uint8",
                   key: str = "arr_0") -> np.ndarray:
    """The array ``key`` of an .npz file, checked: ``ndim`` dimensions, a ``kind`` dtype.

    kind: "uint8" (images) or "integer" (labels: any integer dtype, returned as int64).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such .npz file")
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":  # an .npz is a zip archive
            raise NPZError(f"{path}: damaged or not an .npz file (no zip header); download it "
                           f"again")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if key not in npz.files:
                raise NPZError(f"{path}: has no array {key!r} (it holds: "
                               f"{', '.join(npz.files) or 'nothing'})")
            array = npz[key]
    except NPZError:
        raise
    except ValueError as e:  # object arrays need pickle: refused
        raise NPZError(f"{path}: not a plain numeric .npz ({e}); mojinet never unpickles "
                       f"data files") from e
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise NPZError(f"{path}: damaged or not an .npz file ({type(e).__name__}: {e}); "
                       f"download it again") from e
    if array.ndim != ndim:
        raise NPZError(f"{path}: expected a {ndim}-D array, got shape {array.shape}")
    if kind == "uint8":
        if array.dtype != np.uint8:
            raise NPZError(f"{path}: expected uint8 images, got dtype {array.dtype}")
        return array
    if kind == "integer":
        if not np.issubdtype(array.dtype, np.integer):
            raise NPZError(f"{path}: expected integer labels, got dtype {array.dtype}")
        return array.astype(np.int64)
    raise ValueError(f"kind must be 'uint8' or 'integer', not {kind!r}")
