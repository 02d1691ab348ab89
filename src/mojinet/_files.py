"""Writing files so that a crash, a killed process or a full disk never leaves half a file."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: The longest file or folder name (in bytes) on Linux, macOS and Windows file systems.
NAME_MAX = 255
#: A temporary file of ours this old whose writer is not running is left from a crash.
STALE_SECONDS = 600
#: ... and one this old is stale whoever wrote it (a process id may be reused).
ABANDONED_SECONDS = 24 * 3600
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class DiskFullError(OSError):
    """A file could not be written for lack of space; the message names the file, the space it
    needs and what is free, and says that the earlier file of that name is untouched."""

    def __str__(self) -> str:
        return str(self.strerror)


def env_limit(variable: str, default: float, error: type[Exception]) -> float:
    """A positive limit from the environment variable ``variable`` (``default`` if unset);
    ``error`` (the caller's error type) if it is not a positive number."""
    text = os.environ.get(variable)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise error(f"{variable}={text!r} is not a number") from None
    if not value > 0:
        raise error(f"{variable} must be positive, got {text}")
    return value


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


def _temp_pattern(path: Path) -> re.Pattern:
    """Names of ``atomic_writer``'s temporary files for ``path``: ``.NAME.PID.XXXXXXXX.tmp``
    (and ``.NAME.XXXXXXXX.tmp``, from before the writer's process id was part of the name)."""
    return re.compile(rf"\.{re.escape(path.name)}\.(?:(?P<pid>\d{{1,10}})\.)?[a-z0-9_]{{8}}\.tmp")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # someone else's live process
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    return True


def remove_stale_temporaries(path: str | os.PathLike, now: float | None = None) -> list[Path]:
    """Delete temporary files that an ``atomic_writer`` for ``path`` left when its process was
    killed: ours by name, and stale — over ``STALE_SECONDS`` old with no process of that id
    running, or over ``ABANDONED_SECONDS`` old. Returns what it removed."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    pattern, now = _temp_pattern(path), time.time() if now is None else now
    removed = []
    try:
        candidates = [p for p in parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return removed
    for p in candidates:
        try:
            st = p.lstat()
        except OSError:
            continue
        pid = pattern.fullmatch(p.name)["pid"]
        age = now - st.st_mtime
        alive = pid is not None and _running(int(pid))
        if stat.S_ISREG(st.st_mode) and (age > ABANDONED_SECONDS
                                         or (age > STALE_SECONDS and not alive)):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


def _no_space(path: Path, needed: int | None, error: OSError) -> DiskFullError:
    parent = path.parent if str(path.parent) else Path(".")
    try:
        free = f"{shutil.disk_usage(parent).free / 1e6:,.1f} MB free"
    except OSError:
        free = "free space unknown"
    need = f"needs {needed / 1e6:,.1f} MB" if needed is not None else "needs more space"
    kept = (f"the earlier {path} is untouched" if path.exists()
            else f"{path} was not written")
    why = ("the file is larger than this process may write (a file-size limit: ulimit -f)"
           if error.errno == errno.EFBIG else "no space left on the device")
    return DiskFullError(error.errno, f"cannot write {path}: {why} ({need}, {free} in {parent}; "
                                      f"{error.strerror}); {kept}. Free some space (or write "
                                      f"elsewhere) and try again")


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, size: int | None = None) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only once everything is written and synced.

    The data goes to a temporary file beside ``path``; on success it is fsynced and renamed over
    ``path`` (atomic on POSIX). On any error — a full disk, an interrupt — the temporary file is
    removed and an existing ``path`` is left exactly as it was; a full disk (or a file-size
    limit) raises ``DiskFullError``, saying how much space ``size`` (bytes, if known) needs.
    Temporary files that killed writers left beside ``path`` are removed first.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {parent} does not exist")
    remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.{os.getpid()}.",
                                   suffix=".tmp")
    except OSError as e:
        if e.errno in _NO_SPACE:
            raise _no_space(path, size, e) from e
        raise
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fchmod(f.fileno(), _new_file_mode())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, DiskFullError) and e.errno in _NO_SPACE:
            raise _no_space(path, size, e) from e
        raise


def atomic_write_bytes(path: str | os.PathLike, payload) -> None:
    """Write ``payload`` (bytes or a buffer) to ``path`` with ``atomic_writer``."""
    with atomic_writer(path, size=memoryview(payload).nbytes) as f:
        f.write(payload)
