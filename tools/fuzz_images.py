"""Fuzz the image paths: hostile and odd pictures through `mojinet predict --json` and through
`POST /api/predict`, asserting "a documented error or a valid result, within time and memory".

CLI: the pictures are written to files (plus a FIFO, a folder, a device, a symlink to a FIFO,
a name too long) and read by `mojinet predict --json` in batches, each in its own process with
a time limit; every image must come back as a result (``character`` and ``top``) or an
``{"error": …}`` object, the process's peak RSS must stay under ``--max-rss-mb``.
Web: the same pictures as data URLs to a served app (a thread of this process): every answer a
200 that validates against the published ``Prediction`` schema or a 4xx whose body is a
``Problem``; never a 5xx; each answer within ``--max-seconds``.

    python tools/fuzz_images.py --n 320 --seed 0
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from nothing import NOTHING  # noqa: E402
from photos import CONDITIONS, photo, place  # noqa: E402

MODES = ("1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "YCbCr", "I", "I;16", "F")
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")


def _save(img: Image.Image, fmt: str, **kw) -> bytes | None:
    buf = io.BytesIO()
    try:
        img.save(buf, fmt, **kw)
    except (OSError, ValueError, KeyError):
        return None
    return buf.getvalue()


def _seven(side: int = 120) -> Image.Image:
    a = np.full((side, side), 255, np.uint8)
    a[side // 8:side // 8 + side // 12, side // 6:side * 5 // 6] = 0
    for k in range(side * 2 // 3):
        r, c = side // 5 + k, side * 5 // 6 - k // 2
        a[r:r + 2, max(c - side // 24, 0):c + side // 24] = 0
    return Image.fromarray(a)


def _header_bomb(w: int, h: int) -> bytes:
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(1000))) + chunk(b"IEND", b""))


def _structured(rng) -> list[tuple[str, bytes]]:
    """Every mode in every format, EXIF orientations, odd values, odd sizes, header bombs."""
    seven = _seven()
    out = []
    for mode in MODES:
        img = seven.convert(mode) if mode not in ("I;16",) else Image.fromarray(
            np.asarray(seven).astype(np.uint16) * 257)
        for fmt in FORMATS:
            data = _save(img, fmt)
            if data:
                out.append((f"{mode}.{fmt.lower()}", data))
    lab = Image.merge("LAB", [seven, seven.point(lambda _: 128), seven.point(lambda _: 128)])
    out.append(("lab.tif", _save(lab, "TIFF")))
    for bad in (np.inf, -np.inf, np.nan):
        a = np.asarray(seven, np.float32).copy()
        a[2, 2] = bad
        out.append((f"float-{bad}.tif", _save(Image.fromarray(a, "F"), "TIFF")))
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        out.append((f"exif{o}.jpg", _save(seven.convert("RGB"), "JPEG", exif=exif)))
    for w, h in ((1, 1), (1, 2000), (2000, 1), (3, 3)):
        out.append((f"tiny{w}x{h}.png", _save(Image.new("L", (w, h), 0), "PNG")))
    for w, h in ((6000, 6000), (100_000, 100_000), (65535, 1), (30_000, 30_000)):
        out.append((f"bomb{w}x{h}.png", _header_bomb(w, h)))
    frames = [seven.rotate(k * 30) for k in range(3)]
    out.append(("animated.gif", _save(frames[0], "GIF", save_all=True, append_images=frames[1:])))
    out.append(("pages.tif", _save(frames[0], "TIFF", save_all=True, append_images=frames[1:])))
    out.append(("empty", b""))
    out.append(("text.png", b"not an image at all"))
    out.append(("big36mp.png", _save(Image.new("RGB", (6000, 6000), "white"), "PNG",
                                     compress_level=1)))
    big = Image.new("L", (6000, 4000), 255)
    big.paste(_seven(1500), (2000, 1000))
    out.append(("big24mp.jpg", _save(big, "JPEG", quality=85)))
    return [(n, d) for n, d in out if d is not None]


def _mutated(seeds: list[bytes], n: int, rng) -> list[tuple[str, bytes]]:
    out = []
    for k in range(n):
        b = bytearray(seeds[k % len(seeds)])
        if rng.uniform() < 0.3:
            b = b[: int(rng.integers(1, len(b)))]
        for _ in range(int(rng.integers(1, 9))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        out.append((f"mutant{k}", bytes(b)))
    return out


def corpus(n: int, seed: int) -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(seed)
    from mojinet import load_dataset

    test = load_dataset("mnist", "test")
    items = _structured(rng)
    lights = list(CONDITIONS.values())
    items += [(f"photo{k}.jpg", photo(place(test.images()[k], rng), rng, lights[k % len(lights)]))
              for k in range(20)]
    items += [(f"{name.replace(' ', '_')}{k}", make(rng)) for name, make in NOTHING.items()
              for k in range(4)]
    seeds = [d for _, d in items[:40] if len(d) < 200_000]
    items += _mutated(seeds, max(0, n - len(items)), rng)
    return items


# ----------------------------------------------------------------------------- CLI
def _special_files(folder: Path) -> list[Path]:
    fifo = folder / "fifo.png"
    os.mkfifo(fifo)
    link = folder / "link.png"
    link.symlink_to(fifo)
    return [fifo, link, folder, Path("/dev/zero"), folder / ("n" * 300 + ".png")]


def fuzz_cli(items, model: Path, batch: int, max_seconds: float, max_rss_mb: float) -> list[str]:
    problems, peak, worst = [], 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = []
        for k, (name, data) in enumerate(items):
            p = folder / f"{k:04d}-{name}"
            p.write_bytes(data)
            paths.append(p)
        (folder / "special").mkdir()
        paths += _special_files(folder / "special")
        for i in range(0, len(paths), batch):
            group = paths[i:i + batch]
            started = time.perf_counter()
            code = ("import resource, sys; from mojinet.cli import main; rc = main(sys.argv[1:]);"
                    "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
                    "file=sys.stderr); sys.exit(rc)")
            try:
                run = subprocess.run([sys.executable, "-c", code, "predict", "--json", str(model),
                                      *map(str, group)], capture_output=True, text=True,
                                     timeout=max_seconds * len(group) + 30)
            except subprocess.TimeoutExpired:
                problems.append(f"batch {i}: timed out ({[p.name for p in group]})")
                continue
            took = (time.perf_counter() - started) / len(group)
            worst = max(worst, took)
            rss = [int(line.split()[1]) / 1024 for line in run.stderr.splitlines()
                   if line.startswith("RSS ")]
            peak = max(peak, *rss, 0)
            if not rss or rss[0] > max_rss_mb:
                problems.append(f"batch {i}: peak RSS {rss} MB (limit {max_rss_mb}); "
                                f"{run.stderr[-500:]}")
            try:
                out = json.loads(run.stdout)
            except json.JSONDecodeError:
                problems.append(f"batch {i}: not JSON: {run.stdout[-300:]} {run.stderr[-800:]}")
                continue
            for path, r in zip(group, out):
                ok = ("error" in r and isinstance(r["error"], str)) or (
                    isinstance(r.get("character"), bool) and r.get("top"))
                if not ok or r.get("image") != str(path):
                    problems.append(f"{path.name}: {str(r)[:200]}")
            if len(out) != len(group):
                problems.append(f"batch {i}: {len(out)} results for {len(group)} images")
    print(f"CLI: {len(paths)} inputs in batches of {batch}; peak RSS {peak:.0f} MB, "
          f"slowest batch {worst:.2f} s per image; {len(problems)} problems")
    return problems


# ----------------------------------------------------------------------------- web
def fuzz_web(items, model_path: Path, max_seconds: float) -> list[str]:
    import httpx
    from pydantic import ValidationError

    from mojinet import load_model
    from mojinet.web.app import create_app
    from mojinet.web.schemas import Prediction, Problem
    from webserver import BackgroundServer

    problems, worst, statuses = [], 0.0, {}
    app = create_app(load_model(model_path), "fuzz.npz", max_body=60_000_000)
    with BackgroundServer(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        for name, data in items:
            body = {"image": "data:image/png;base64," + base64.b64encode(data).decode()}
            started = time.perf_counter()
            r = client.post("/api/predict", json=body)
            took = time.perf_counter() - started
            worst = max(worst, took)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            try:
                (Prediction if r.status_code == 200 else Problem).model_validate(r.json())
            except (ValidationError, ValueError) as e:
                problems.append(f"{name}: {r.status_code} body off the schema: {e}"[:300])
            if r.status_code >= 500 or took > max_seconds:
                problems.append(f"{name}: {r.status_code} in {took:.2f} s: {r.text[:200]}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"web: {len(items)} requests, statuses {dict(sorted(statuses.items()))}, slowest "
          f"{worst:.2f} s, peak RSS of this process (server and client) {rss:.0f} MB; "
          f"{len(problems)} problems")
    return problems


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=320, help="images (structured ones, then mutants)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", type=Path, help="a model file (default: train a small one)")
    p.add_argument("--batch", type=int, default=40)
    p.add_argument("--max-seconds", type=float, default=5.0, help="per image")
    p.add_argument("--max-rss-mb", type=float, default=400.0, help="per CLI process")
    args = p.parse_args()
    items = corpus(args.n, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            from mojinet.cli import main as cli

            model = Path(tmp) / "m.npz"
            cli(["train", "--limit", "3000", "--epochs", "2", "--out", str(model),
                 "--no-progress"])
        problems = fuzz_cli(items, model, args.batch, args.max_seconds, args.max_rss_mb)
        problems += fuzz_web(items, model, args.max_seconds)
    for line in problems[:50]:
        print("  ", line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
