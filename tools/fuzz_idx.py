"""Attack ``read_idx`` with thousands of mutated IDX files; count what comes back.

Seeds: MNIST's real test labels (gzip, as shipped), a 1,000-image slice of its test images
(raw and gzip), and small files of every IDX dtype. Each case mutates one seed: bit flips, byte
overwrites, cuts, insertions, header fields (dtype code, dimension count, sizes: 0, 1, huge),
gzip-level damage (flips inside the compressed stream, a cut trailer, trailing junk, a second
member), gzip bombs (a header declaring up to 16 GB over zeros), and odd paths (a FIFO, a folder,
a name over 255 bytes, an empty file).

Every file is read in a worker process with the default limits (4 GiB, 50× for gzip). Outcomes:
``IDXError`` (documented), a valid array (its shape and dtype match the header), or anything
else (undocumented: printed with its reproducer). A case that takes over ``--timeout`` seconds
is a hang (the worker is killed and restarted). The worker's peak RSS (VmHWM) must stay under
1 GB. Exits 1 on any undocumented exception, hang or memory overrun.

    python tools/fuzz_idx.py                  # 3,200 cases
    python tools/fuzz_idx.py --cases 10000 --seed 7
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing as mp
import os
import struct
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from mojinet.data.idx import IDX_DTYPES, IDXError, read_idx, write_idx

MNIST = Path(__file__).resolve().parents[1] / "src" / "mojinet" / "data" / "mnist"


# ----------------------------------------------------------------------------- the worker
def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _outcome(path: str) -> tuple:
    try:
        a = read_idx(path)
    except IDXError as e:
        return ("IDXError", str(e)[:160])
    except FileNotFoundError as e:
        return ("FileNotFoundError", str(e)[:160])
    except Exception as e:  # the point of the run: anything else is reported, not hidden
        return ("undocumented", f"{type(e).__name__}: {e}"[:300])
    return ("array", (a.shape, str(a.dtype)))


def worker(conn) -> None:
    while True:
        path = conn.recv()
        if path is None:
            return
        conn.send((_outcome(path), _peak_mb()))


class Reader:
    """A worker process reading one path at a time, restarted after a hang."""

    def __init__(self):
        self._start()

    def _start(self):
        self.conn, child = mp.Pipe()
        self.proc = mp.get_context("fork").Process(target=worker, args=(child,), daemon=True)
        self.proc.start()

    def read(self, path: str, timeout: float):
        self.conn.send(path)
        if self.conn.poll(timeout):
            return self.conn.recv()
        self.proc.kill()
        self.proc.join()
        self._start()
        return ("hang", path), 0.0

    def close(self):
        self.conn.send(None)
        self.proc.join(5)


# ----------------------------------------------------------------------------- seeds, mutations
def seeds(folder: Path) -> list[tuple[bytes, bool]]:
    """(file bytes, is gzip) for each seed."""
    out = [((MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes(), True)]
    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")[:1000]
    for name in ("img.idx", "img.idx.gz"):
        write_idx(folder / name, images)
        out.append(((folder / name).read_bytes(), name.endswith(".gz")))
    rng = np.random.default_rng(0)
    for dt in IDX_DTYPES.values():
        a = (rng.uniform(-50, 50, (7, 5, 3))).astype(dt.newbyteorder("="))
        for name in ("s.idx", "s.idx.gz"):
            write_idx(folder / name, a)
            out.append(((folder / name).read_bytes(), name.endswith(".gz")))
    return out


def _bomb(rng) -> bytes:
    dims = [int(rng.choice([1000, 10_000, 60_000, 100_000])), 200, 200]
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", *dims)
    n = int(rng.integers(1, 64)) << 20  # zeros actually present: 1–64 MiB
    return gzip.compress(header + bytes(n), compresslevel=9)


def _header_edit(data: bytearray, rng) -> None:
    which = rng.integers(4)
    if which == 0:
        data[2] = int(rng.choice([0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0xFF]))
    elif which == 1:
        data[3] = int(rng.choice([0, 1, 2, 3, 4, 32, 33, 64, 65, 255]))
    else:
        at = 4 + 4 * int(rng.integers(0, max(1, data[3])))
        value = int(rng.choice([0, 1, 2, 2**16, 2**31, 2**32 - 1, rng.integers(0, 2**32)]))
        data[at:at + 4] = struct.pack(">I", value)


def mutate(raw: bytes, gz: bool, rng) -> tuple[bytes, str]:
    """One mutation of a seed: (new bytes, what was done)."""
    kind = str(rng.choice(["flip", "set", "cut", "insert", "header", "gzip", "bomb", "junk"]))
    plain = bytearray(gzip.decompress(raw) if gz else raw)
    if kind == "bomb":
        return _bomb(rng), kind
    if kind == "gzip":  # damage the compressed stream itself
        data = bytearray(raw if gz else gzip.compress(raw))
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(0, len(data)))
            data[i] ^= 1 << int(rng.integers(8))
        return bytes(data[: int(rng.integers(len(data) // 2, len(data) + 1))]), kind
    if kind == "junk":
        data = bytes(raw) + (gzip.compress(b"more") if rng.random() < 0.5 else rng.bytes(9))
        return data, kind
    for _ in range(int(rng.integers(1, 6))):
        i = int(rng.integers(0, max(1, len(plain))))
        if kind == "flip" and plain:
            plain[i] ^= 1 << int(rng.integers(8))
        elif kind == "set" and plain:
            plain[i] = int(rng.integers(256))
        elif kind == "cut":
            del plain[i:i + int(rng.integers(1, 64))]
        elif kind == "insert":
            plain[i:i] = rng.bytes(int(rng.integers(1, 16)))
        elif kind == "header" and len(plain) >= 8:
            _header_edit(plain, rng)
    data = bytes(plain)
    return (gzip.compress(data) if gz else data), kind


def odd_paths(folder: Path) -> list[tuple[str, str]]:
    (folder / "dir.idx").mkdir()
    os.mkfifo(folder / "fifo.idx")
    (folder / "empty.idx").write_bytes(b"")
    os.symlink("loop.idx", folder / "loop.idx")
    return [(str(folder / "dir.idx"), "folder"), (str(folder / "fifo.idx"), "fifo"),
            (str(folder / "empty.idx"), "empty"), (str(folder / "loop.idx"), "symlink loop"),
            (str(folder / ("n" * 300 + ".idx")), "name over 255 bytes"),
            (str(folder / "missing.idx"), "missing")]


# ----------------------------------------------------------------------------- the run
def run(cases: int, seed: int, timeout: float) -> dict:
    rng = np.random.default_rng(seed)
    outcomes: Counter = Counter()
    kinds: Counter = Counter()
    bad: list[str] = []
    peak = 0.0
    reader = Reader()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pool = seeds(folder)
        started = time.perf_counter()
        tasks = [(p, what, None) for p, what in odd_paths(folder)]
        for k in range(cases - len(tasks)):
            raw, gz = pool[int(rng.integers(len(pool)))]
            data, what = mutate(raw, gz, rng)
            tasks.append((str(folder / f"case{k % 2}.idx{'.gz' if gz else ''}"), what, data))
        for path, what, data in tasks:
            if data is not None:
                Path(path).write_bytes(data)
            (status, detail), mb = reader.read(path, timeout)
            peak = max(peak, mb)
            outcomes[status] += 1
            kinds[what] += 1
            if status in ("undocumented", "hang"):
                keep = folder.parent / f"fuzz-idx-{len(bad)}{Path(path).suffix}"
                if data is not None:
                    keep.write_bytes(data)
                bad.append(f"{status} [{what}] {detail} (file kept: {keep})")
        reader.close()
        elapsed = time.perf_counter() - started
    return {"outcomes": outcomes, "kinds": kinds, "bad": bad, "peak": peak, "seconds": elapsed}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=int, default=3200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds before a case is a hang")
    args = p.parse_args(argv)
    r = run(args.cases, args.seed, args.timeout)
    n = sum(r["outcomes"].values())
    print(f"{n} IDX files read in {r['seconds']:.0f} s (seed {args.seed}); mutations: "
          + ", ".join(f"{k} {v}" for k, v in sorted(r["kinds"].items())))
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items())))
    print(f"worker peak RSS: {r['peak']:.0f} MB")
    for line in r["bad"][:20]:
        print("  ", line)
    failed = r["outcomes"]["undocumented"] or r["outcomes"]["hang"] or r["peak"] > 1024
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
