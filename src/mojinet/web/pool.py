"""A bounded pool for the memory-hungry part of a request: decoding and preprocessing a drawing.

A 2000×2000 drawing costs about 140 MB while it is decoded and preprocessed (float64 working
arrays of 32 MB each), so N drawings at once cost N times that. ``DecodePool`` runs at most
``slots`` such jobs at a time, on its own ``slots`` threads; a request that finds them busy waits
up to ``wait`` seconds for a slot and otherwise gets ``Busy`` (the app answers 503 with
Retry-After).

When the pool falls idle it gives freed memory back to the operating system (glibc's
``malloc_trim``), so the server's resident size returns to where it was before a burst.
``tune_malloc`` (called by the server at start) makes glibc serve large blocks with mmap, so
they are returned as soon as they are freed; both do nothing where the C library is not glibc.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import platform
from concurrent.futures import ThreadPoolExecutor

#: glibc's mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


class Busy(RuntimeError):
    """No decode slot came free in time; the client should retry later."""


@functools.cache
def _glibc():
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def one_blas_thread() -> bool:
    """Let BLAS (NumPy's OpenBLAS) use one thread in this process; returns whether it could.

    A request's products and dot products are a few thousand numbers: a second BLAS thread
    only adds hand-offs, which on a busy machine cost more than the work (a server process
    spent 17 ms of CPU a request with OpenBLAS's default threads, 6 ms with one, same load).
    The server's workers, not BLAS, use the cores. Needs threadpoolctl (the web extra)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - the web extra installs it
        return False
    threadpool_limits(limits=1, user_api="blas")
    return True


def tune_malloc(mmap_threshold: int = 1 << 20) -> bool:
    """Serve blocks of ``mmap_threshold`` bytes or more with mmap (returned to the system when
    freed) and trim the heap eagerly. glibc only; returns whether it applied."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
                and libc.mallopt(_M_TRIM_THRESHOLD, 4 * mmap_threshold))


def release_memory() -> None:
    """Return freed heap memory to the operating system (glibc's malloc_trim)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


class DecodePool:
    """Run at most ``slots`` jobs at once; callers wait at most ``wait`` seconds for a slot."""

    def __init__(self, slots: int = 2, wait: float = 10.0):
        if slots < 1:
            raise ValueError(f"decode slots must be at least 1, got {slots}")
        self.slots, self.wait = slots, wait
        self.active = 0
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="mojinet-decode")
        self._free: asyncio.Semaphore | None = None  # made in the event loop that uses it

    async def run(self, fn, *args):
        """``fn(*args)`` on a pool thread once a slot is free; ``Busy`` after ``wait`` s."""
        if self._free is None:
            self._free = asyncio.Semaphore(self.slots)
        try:
            async with asyncio.timeout(self.wait):
                await self._free.acquire()
        except TimeoutError:
            raise Busy(f"all {self.slots} decode slots stayed busy for {self.wait:g} s") from None
        self.active += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self.active -= 1
            self._free.release()
            if self.active == 0 and not self._free.locked():
                with contextlib.suppress(RuntimeError):  # the pool closed meanwhile
                    self._executor.submit(release_memory)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
