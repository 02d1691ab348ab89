"""How much memory the system has free, and sizes in words: for checks made before allocating."""

from __future__ import annotations

__all__ = ["available_bytes", "format_bytes"]


def available_bytes() -> int | None:
    """The memory available to a new allocation without swapping (Linux ``MemAvailable``, capped
    by a cgroup limit when there is one), or None where the system does not say."""
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        available = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError, IndexError):
        return None
    for path, used_path in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                            ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                             "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(path) as f, open(used_path) as g:
                limit, used = f.read().strip(), g.read().strip()
            if limit.isdigit() and used.isdigit() and int(limit) < 2**60:
                available = min(available, max(0, int(limit) - int(used)))
        except OSError:
            continue
    return available


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest unit that keeps a number ≥ 1: 512 B, 3.4 MB, 2.1 GB (10³)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"
