"""Writing files so that a crash, a killed process or a full disk never leaves half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: The longest file or folder name (in bytes) on Linux, macOS and Windows file systems.
NAME_MAX = 255


def name_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot name a file here (a part of it over ``NAME_MAX`` bytes), or None.

    The system's own error for that is a bare "File name too long" at whatever call meets it."""
    for part in Path(path).parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            return (f"the name {part[:40]}… is {size} bytes long, over the {NAME_MAX}-byte "
                    f"limit of file systems; use a shorter name")
    return None


def _new_file_mode() -> int:
    """The mode an ordinary new file gets (0o666 less the umask); mkstemp would give 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only once everything is written and synced.

    The data goes to a temporary file beside ``path``; on success it is fsynced and renamed over
    ``path`` (atomic on POSIX). On any error — a full disk, an interrupt — the temporary file is
    removed and an existing ``path`` is left exactly as it was.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fchmod(f.fileno(), _new_file_mode())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    with atomic_writer(path) as f:
        f.write(payload)
