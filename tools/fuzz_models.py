"""Attack ``load_model`` with thousands of mutated model files; use every one that loads.

Seeds (saved with ``save_model``, compressed, and with ``np.savez`` uncompressed): the chapter's
784-16-16-10 digits, a softmax kana/kanji model with 28×28 inputs and a recorded run, and an
unfinished run with its optimiser state and best-epoch arrays. Each case mutates one seed:

- ``flip``/``set``/``cut``/``insert``/``append``: bit flips, overwritten bytes, truncation, junk
  inside or after the archive;
- ``meta``: the metadata with one field (anywhere in it) deleted or replaced by a value of
  another type or range (text, -1, 0, 10³⁰, NaN, floats, lists, objects, null, deep nesting);
- ``arrays``: a weight or bias of another shape or dtype (float64, float16, big-endian, int,
  object via pickle, Fortran order, 0-d), NaN/inf values, an entry missing or extra;
- ``zip``: duplicate entries, the encryption flag, bzip2/lzma members, a lying uncompressed size,
  a directory entry, a zip inside the zip, a path-traversal name, a comment;
- ``pickle``: metadata or weights as pickled objects (a pickle that would write a file);
- ``huge``: metadata declaring huge layers or state arrays, headers declaring huge shapes, and a
  decompression bomb (a deflated all-zero 784-128000-10 network: 400 MB from 0.4 MB);
- odd paths: a folder, a FIFO, an empty file, a symlink loop, a name over 255 bytes, /dev/null.

Every file is loaded in a worker process. Outcomes: ``ModelFileError`` or ``FileNotFoundError``
(documented), or a model, which then goes through what the commands do with one — ``info``,
``predict`` and ``inspect`` on an image, ``evaluate --limit``-sized, the page's
``GET /api/model`` and ``POST /api/predict`` (FastAPI's test client), ``Model.top``, the
identity — each of which must end in a documented error (exit status 1 or 2, HTTP 4xx) or a
result. Anything else is undocumented (printed with its reproducer, the file kept); a
byte-level mutation that loads must give the seed's network exactly (its ``identity``: no
flipped weight). A case over
``--timeout`` seconds is a hang (the worker is killed and restarted). The worker's peak RSS
(VmHWM) must stay under 1 GB; a pickle must never run. Exits 1 on any of these.

    python tools/fuzz_models.py                  # 3,200 cases
    python tools/fuzz_models.py --cases 10000 --seed 7
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing as mp
import os
import pickle
import struct
import sys
import tempfile
import time
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from mojinet import Model, ModelFileError, Network, load_model, save_model

PWNED = "fuzz-models-pwned"


# ----------------------------------------------------------------------------- the worker
def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cli(argv: list[str]) -> int:
    from mojinet.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


def _use(model: Model, path: str, image: str) -> str:
    """What the commands do with a model that loaded; returns a note, raises if one breaks."""
    model.top(np.random.default_rng(0).uniform(size=(2, model.network.sizes[0]))
              .astype(np.float32), 3)
    assert len(model.identity) == 64
    for argv in (["info", path], ["predict", path, image, "--json"], ["inspect", path, image]):
        status = _cli(argv)
        if status not in (0, 1, 2):
            raise AssertionError(f"mojinet {argv[0]} exited {status}")
    if model.network.sizes[0] == 784 and len(model.classes) == 10:
        status = _cli(["evaluate", path, "--dataset", "mnist"])
        if status not in (0, 2):
            raise AssertionError(f"mojinet evaluate exited {status}")
    _web(model, path, image)
    return "loaded"


def _web(model: Model, path: str, image: str) -> None:
    import base64

    from fastapi.testclient import TestClient

    from mojinet.web.app import create_app

    app = create_app(model, Path(path).name, hosts=None)
    png = base64.b64encode(Path(image).read_bytes()).decode()
    with TestClient(app, raise_server_exceptions=True) as client:
        for method, url, body in (("GET", "/api/model", None),
                                  ("POST", "/api/predict", {"image": png}),
                                  ("GET", "/api/weights/1/0", None)):
            r = client.request(method, url, json=body)
            if r.status_code >= 500:
                raise AssertionError(f"{method} {url}: HTTP {r.status_code} {r.text[:200]}")
            json.loads(r.text)


def _outcome(path: str, image: str) -> tuple:
    try:
        model = load_model(path)
    except ModelFileError as e:
        return ("ModelFileError", str(e)[:160])
    except FileNotFoundError as e:
        return ("FileNotFoundError", str(e)[:160])
    except Exception as e:  # the point of the run: anything else is reported, not hidden
        return ("undocumented", f"load_model: {type(e).__name__}: {e}"[:300])
    try:
        return (_use(model, path, image), model.identity)
    except Exception as e:
        return ("undocumented", f"after loading: {type(e).__name__}: {e}"[:300])


def worker(conn, image: str) -> None:
    os.environ.setdefault("MOJINET_NO_BROWSER", "1")
    while True:
        path = conn.recv()
        if path is None:
            return
        conn.send((_outcome(path, image), _peak_mb()))


class Loader:
    """A worker process loading one path at a time, restarted after a hang."""

    def __init__(self, image: str):
        self.image = image
        self._start()

    def _start(self):
        self.conn, child = mp.Pipe()
        self.proc = mp.get_context("fork").Process(target=worker, args=(child, self.image),
                                                   daemon=True)
        self.proc.start()

    def load(self, path: str, timeout: float):
        self.conn.send(path)
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:  # the worker died (a crash is as bad as a hang)
                self._restart()
                return ("crash", path), 0.0
        self._restart()
        return ("hang", path), 0.0

    def _restart(self):
        self.proc.kill()
        self.proc.join()
        self._start()

    def close(self):
        self.conn.send(None)
        self.proc.join(5)


# ----------------------------------------------------------------------------- seeds
def _trained_like(sizes, rng, **kw) -> Network:
    net = Network(sizes, init="xavier", rng=rng, **kw)
    return net


def seed_models(folder: Path) -> list[bytes]:
    rng = np.random.default_rng(0)
    from mojinet.runner import preprocessing

    digits = Model(_trained_like([784, 16, 16, 10], rng), tuple("0123456789"),
                   preprocessing((28, 28)),
                   {"config": {"dataset": "mnist", "hidden": [16, 16], "eta": 3.0},
                    "status": "finished", "test_accuracy": 0.93, "seconds": 12.5,
                    "history": [{"epoch": 1, "train_cost": 0.2, "eval_cost": 0.1,
                                 "eval_accuracy": 0.9, "seconds": 1.0, "eta": 3.0,
                                 "augment_seconds": None}]})
    kana = Model(_trained_like([784, 32, 5], rng, activations=["relu", "softmax"],
                               cost="cross-entropy"), ("あ", "い", "山", "川", "日"),
                 {"image_shape": [28, 28], "user_images": {"method": "fit", "size": 28,
                                                          "box": 20}},
                 {"config": {"dataset": "kanjivg", "dataset_options": {"chars": "山川日"}},
                  "status": "finished", "component_head": {"lambda": 1.0,
                                                           "components": ["山", "日"]}})
    net = _trained_like([784, 16, 10], rng)
    state = {f"optimizer.velocity.{i}": np.zeros_like(p) + 0.01
             for i, p in enumerate(net.parameters())}
    state.update({f"best.{i}": p.copy() for i, p in enumerate(net.parameters())})
    running = Model(net, tuple("0123456789"), preprocessing((28, 28)),
                    {"status": "running", "history": [],
                     "resume": {"rng": {"bit_generator": "PCG64"},
                                "optimizer": {"arrays": {"velocity": 4}, "values": {}},
                                "best": {"epoch": 1, "accuracy": 0.5}}}, state)
    out = []
    for k, model in enumerate((digits, kana, running)):
        path = save_model(model, folder / f"seed{k}.npz")
        out.append(path.read_bytes())
        out.append(_rezip(path.read_bytes(), compress=zipfile.ZIP_STORED))
    return out


def _entries(raw: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        return [(i, zf.read(i)) for i in zf.infolist()]


def _rezip(raw: bytes, compress=zipfile.ZIP_DEFLATED, entries=None, comment=b"") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        for info, data in entries if entries is not None else _entries(raw):
            zf.writestr(info.filename, data, compress_type=compress)
        zf.comment = comment
    return buf.getvalue()


def _npy(a: np.ndarray, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _npy_header(descr: str, shape, fortran=False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": fortran,
                                               "shape": tuple(shape)})
    return b"\x93NUMPY\x01\x00" + buf.getvalue()[8:]


def _meta_of(raw: bytes) -> tuple[dict, list]:
    entries = _entries(raw)
    meta = json.loads(str(np.load(io.BytesIO(dict((i.filename, d) for i, d in entries)
                                             ["meta.npy"]))[()]))
    return meta, entries


def _with_meta(entries, meta_text: str) -> list:
    return [(i, _npy(np.array(meta_text)) if i.filename == "meta.npy" else d)
            for i, d in entries]


# ----------------------------------------------------------------------------- mutations
class Boom:
    """Unpickling this writes a file: the run fails if that file ever appears."""

    def __reduce__(self):
        return (os.system, (f"touch {tempfile.gettempdir()}/{PWNED}",))


_VALUES = ["text", -1, 0, 1, 2.5, 10**30, float("nan"), [], [1, 2], {}, {"a": 1}, None, True,
           "NaN", 1e308, [[[[[[[[[[]]]]]]]]]], "𝔘" * 5, [784, 16]]


def _paths(value, prefix=()):
    """Every (path of keys) inside nested objects and lists of ``value``."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:5]):
            yield from _paths(v, (*prefix, i))


def mutate_meta(raw: bytes, rng) -> bytes:
    meta, entries = _meta_of(raw)
    paths = [p for p in _paths(meta) if p]
    path = paths[int(rng.integers(len(paths)))]
    parent = meta
    for k in path[:-1]:
        parent = parent[k]
    choice = rng.random()
    if choice < 0.2 and isinstance(parent, dict):
        del parent[path[-1]]
    elif choice < 0.3:
        parent[path[-1]] = "__DEEP__" if rng.random() < 0.5 else {"x": [{"y": [1] * 3}] * 3}
    else:
        parent[path[-1]] = _VALUES[int(rng.integers(len(_VALUES)))]
    depth = int(rng.choice([40, 5000, 100_000]))
    text = json.dumps(meta).replace('"__DEEP__"', "[" * depth + "]" * depth)
    if rng.random() < 0.05:  # broken JSON: cut, or a token error
        text = text[: int(rng.integers(len(text)))] + ("\"" if rng.random() < 0.5 else "")
    return _rezip(raw, entries=_with_meta(entries, text))


def mutate_arrays(raw: bytes, rng) -> bytes:
    entries = _entries(raw)
    names = [i.filename for i, _ in entries if i.filename != "meta.npy"]
    target = names[int(rng.integers(len(names)))]
    a = np.load(io.BytesIO(dict((i.filename, d) for i, d in entries)[target]))
    kind = int(rng.integers(10))
    if kind == 0:
        new = _npy(a.astype(str(rng.choice(["<f8", "<f2", ">f4", "<i8", "|u1", "<c8"]))))
    elif kind == 1:
        new = _npy(np.asfortranarray(a.reshape(a.shape[::-1]) if a.ndim == 2 else a))
    elif kind == 2:
        new = _npy(np.resize(a, tuple(max(1, s + int(rng.integers(-2, 3))) for s in a.shape)))
    elif kind == 3:
        b = a.copy()
        b.flat[int(rng.integers(b.size))] = rng.choice([np.nan, np.inf, -np.inf])
        new = _npy(b)
    elif kind == 4:
        new = _npy(np.array([Boom()] * 2, dtype=object), allow_pickle=True)
    elif kind == 5:
        new = _npy(np.float32(1.0))
    elif kind == 6:  # drop it
        return _rezip(raw, entries=[(i, d) for i, d in entries if i.filename != target])
    elif kind == 7:  # an extra entry
        return _rezip(raw, entries=[*entries, (zipfile.ZipInfo("W99.npy"), _npy(a))])
    elif kind == 8:
        new = _npy(a.reshape(-1))
    else:
        new = _npy(a)[:-int(rng.integers(1, 5))]
    return _rezip(raw, entries=[(i, new if i.filename == target else d) for i, d in entries])


def mutate_zip(raw: bytes, rng) -> bytes:
    entries = _entries(raw)
    kind = int(rng.integers(8))
    if kind == 0:  # a duplicate entry with other contents
        info, _ = entries[int(rng.integers(len(entries)))]
        return _rezip(raw, entries=[*entries, (info, b"\x93NUMPY junk")])
    if kind == 1:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_BZIP2 if rng.random() < 0.5
                             else zipfile.ZIP_LZMA) as zf:
            for info, data in entries:
                zf.writestr(info.filename, data)
        return buf.getvalue()
    if kind == 2:  # set the encryption flag in local and central headers
        data = bytearray(raw)
        for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            i = data.find(sig)
            while i >= 0:
                data[i + at] |= 1
                i = data.find(sig, i + 4)
        return bytes(data)
    if kind == 3:  # lie about an uncompressed size in the central directory
        data = bytearray(raw)
        i = data.find(b"PK\x01\x02")
        if i >= 0:
            data[i + 24:i + 28] = struct.pack("<I", int(rng.choice([0, 1, 2**31, 2**32 - 1])))
        return bytes(data)
    if kind == 4:
        return _rezip(raw, entries=[(zipfile.ZipInfo("dir/"), b""), *entries])
    if kind == 5:
        return _rezip(raw, entries=[(zipfile.ZipInfo("meta.npy"), raw), *entries[1:]])
    if kind == 6:
        return _rezip(raw, entries=[(zipfile.ZipInfo("../" + i.filename), d)
                                    for i, d in entries])
    return _rezip(raw, comment=rng.bytes(int(rng.integers(1, 60000))))


def mutate_huge(raw: bytes, rng, bomb: bytes) -> bytes:
    kind = int(rng.integers(4))
    if kind == 0:
        return bomb
    meta, entries = _meta_of(raw)
    if kind == 1:
        n = int(rng.choice([100_000, 10_000_000, 2**31, 10**12]))
        meta["sizes"] = [meta["sizes"][0], n, meta["sizes"][-1]]
        meta["activations"] = [meta["activations"][0]] * 2
        return _rezip(raw, entries=_with_meta(entries, json.dumps(meta)))
    if kind == 2:
        meta["state"] = {"x": {"dtype": "<f8", "shape": [100_000_000, 100_000_000]}}
        return _rezip(raw, entries=_with_meta(entries, json.dumps(meta)))
    target = "W0.npy"
    shape = (int(rng.choice([784, 2**40])), int(rng.choice([16, 2**40, 10**9])))
    return _rezip(raw, entries=[(i, _npy_header("<f4", shape) if i.filename == target else d)
                                for i, d in entries])


def mutate_pickle(raw: bytes, rng) -> bytes:
    entries = _entries(raw)
    if rng.random() < 0.5:
        target, new = "meta.npy", _npy(np.array([Boom()], dtype=object), allow_pickle=True)
    else:
        target, new = "W0.npy", pickle.dumps(Boom())
    return _rezip(raw, entries=[(i, new if i.filename == target else d) for i, d in entries])


def mutate_bytes(raw: bytes, kind: str, rng) -> bytes:
    data = bytearray(raw)
    for _ in range(int(rng.integers(1, 9)) if kind in ("flip", "set") else 1):
        i = int(rng.integers(0, len(data)))
        if kind == "flip":
            data[i] ^= 1 << int(rng.integers(8))
        elif kind == "set":
            data[i] = int(rng.integers(256))
        elif kind == "cut":
            del data[i:]
        elif kind == "insert":
            data[i:i] = rng.bytes(int(rng.integers(1, 64)))
        else:
            data += rng.bytes(int(rng.integers(1, 4096)))
    return bytes(data)


BYTE_KINDS = ("flip", "set", "cut", "insert", "append")
KINDS = ["flip", "set", "cut", "insert", "append", "meta", "meta", "meta", "arrays", "arrays",
         "zip", "pickle", "huge"]


def mutate(raw: bytes, rng, bomb: bytes) -> tuple[bytes, str]:
    kind = str(rng.choice(KINDS))
    if kind == "meta":
        return mutate_meta(raw, rng), kind
    if kind == "arrays":
        return mutate_arrays(raw, rng), kind
    if kind == "zip":
        return mutate_zip(raw, rng), kind
    if kind == "pickle":
        return mutate_pickle(raw, rng), kind
    if kind == "huge":
        return mutate_huge(raw, rng, bomb), kind
    return mutate_bytes(raw, kind, rng), kind


def make_bomb() -> bytes:
    """784-128000-10 of zeros, deflated: 400 MB of float32 in well under a megabyte."""
    sizes = [784, 128_000, 10]
    meta = {"format": "mojinet-model", "version": 1, "sizes": sizes,
            "activations": ["sigmoid", "sigmoid"], "cost": "quadratic",
            "classes": list("0123456789")}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.npy", _npy(np.array(json.dumps(meta))))
        for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            for name, shape in ((f"W{l}", (a, b)), (f"b{l}", (b,))):
                with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                    f.write(_npy_header("<f4", shape))
                    zero = bytes(2**22)
                    left = 4 * int(np.prod(shape))
                    while left:
                        f.write(zero[:min(left, len(zero))])
                        left -= min(left, len(zero))
    return buf.getvalue()


def odd_paths(folder: Path) -> list[tuple[str, str]]:
    (folder / "dir.npz").mkdir()
    os.mkfifo(folder / "fifo.npz")
    (folder / "empty.npz").write_bytes(b"")
    os.symlink("loop.npz", folder / "loop.npz")
    return [(str(folder / "dir.npz"), "folder"), (str(folder / "fifo.npz"), "fifo"),
            (str(folder / "empty.npz"), "empty"), (str(folder / "loop.npz"), "symlink loop"),
            (str(folder / ("n" * 300 + ".npz")), "name over 255 bytes"),
            (str(folder / "missing.npz"), "missing"), ("/dev/null", "device")]


def drawing(folder: Path) -> str:
    from PIL import Image, ImageDraw

    img = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(img).line([(20, 10), (40, 54)], fill=0, width=6)
    path = folder / "seven.png"
    img.save(path)
    return str(path)


# ----------------------------------------------------------------------------- the run
def run(cases: int, seed: int, timeout: float) -> dict:
    rng = np.random.default_rng(seed)
    outcomes: Counter = Counter()
    kinds: Counter = Counter()
    table: Counter = Counter()
    examples: dict = {}
    bad: list[str] = []
    peak = 0.0
    pwned = Path(tempfile.gettempdir()) / PWNED
    pwned.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pool, bomb, image = seed_models(folder), make_bomb(), drawing(folder)
        loader = Loader(image)
        started = time.perf_counter()
        identities = [load_model(folder / f"seed{k // 2}.npz").identity for k in range(len(pool))]
        tasks = [(p, what, None, None) for p, what in odd_paths(folder)]
        tasks += [(str(folder / f"seed{k}.npz"), "seed", None, None) for k in range(3)]
        for k in range(cases - len(tasks)):
            which = int(rng.integers(len(pool)))
            data, what = mutate(pool[which], rng, bomb)
            tasks.append((str(folder / f"case{k % 2}.npz"), what, data, identities[which]))
        for path, what, data, identity in tasks:
            if data is not None:
                Path(path).write_bytes(data)
            (status, detail), mb = loader.load(path, timeout)
            if status == "loaded" and what in BYTE_KINDS and detail != identity:
                status = "changed weights"  # a byte-level change that loaded must change nothing
            peak = max(peak, mb)
            outcomes[status] += 1
            kinds[what] += 1
            table[what, status] += 1
            examples.setdefault((what, status), detail)
            if status in ("undocumented", "hang", "crash", "changed weights") or (
                    status == "loaded" and what == "pickle"):
                keep = folder.parent / f"fuzz-model-{len(bad)}.npz"
                if data is not None:
                    keep.write_bytes(data)
                bad.append(f"{status} [{what}] {detail} (file kept: {keep})")
        loader.close()
        elapsed = time.perf_counter() - started
    return {"outcomes": outcomes, "kinds": kinds, "bad": bad, "peak": peak, "seconds": elapsed,
            "pwned": pwned.exists(), "table": table, "examples": examples}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=int, default=3200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds before a case is a hang")
    p.add_argument("--examples", action="store_true", help="print one message per outcome")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")  # zipfile's duplicate names, the test client's deprecation
    r = run(args.cases, args.seed, args.timeout)
    n = sum(r["outcomes"].values())
    print(f"{n} model files loaded in {r['seconds']:.0f} s (seed {args.seed}); mutations: "
          + ", ".join(f"{k} {v}" for k, v in sorted(r["kinds"].items())))
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items())))
    print(f"worker peak RSS: {r['peak']:.0f} MB; a pickle ran: {r['pwned']}")
    for kind in sorted(r["kinds"]):
        print(f"  {kind:>20}: " + ", ".join(f"{s} {n}" for (k, s), n in sorted(r["table"].items())
                                            if k == kind))
    if args.examples:
        for (kind, status), detail in sorted(r["examples"].items()):
            print(f"  e.g. {kind} → {status}: {detail}")
    for line in r["bad"][:30]:
        print("  ", line)
    o = r["outcomes"]
    failed = (o["undocumented"] or o["hang"] or o["crash"] or o["changed weights"]
              or r["peak"] > 1024 or r["pwned"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
