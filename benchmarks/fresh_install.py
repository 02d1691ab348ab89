"""A fresh pip install reads a kanji with a shipped model, offline: how long does it take?

    python benchmarks/fresh_install.py                  # build the wheel from this checkout
    python benchmarks/fresh_install.py --wheel dist/mojinet-0.1.0-py3-none-any.whl

Four steps, each timed on its own (wall clock; say the load, ``uptime``, beside the figures):

1. **wheel**: ``pip wheel --no-deps`` of this checkout (skipped with ``--wheel``);
2. **install**: a new venv in a temporary folder and ``pip install WHEEL[web]`` into it, with
   its dependencies from the configured package index (the one step that needs a network);
3. **predict**: with the network cut (``unshare -n``: a new network namespace holding only a
   loopback interface; pypi.org is checked to be unreachable), ``mojinet predict --model kanji
   IMG --json`` in an empty folder with an empty ``HOME`` and no ``MOJINET_CACHE``;
4. **serve**: in that namespace, ``mojinet serve --model kanji`` started, then ``POST
   /api/predict`` with the same drawing every 0.1 s until the answer is right: the time from
   starting the server to its first correct reading.

IMG is drawn here from real strokes: 金 of tegaki-lab's ``japanese-native1``, ``eval`` sitting
(a writer held out from every model; ``../shared`` beside the checkout; LGPL, not shipped),
in black on a white 280 × 280 canvas, as the draw page sends it. ``kanji`` is ``kanji-grade1``.
Needs root (or user namespaces) for ``unshare -n``; without it the script says so and stops
(``--no-offline`` runs steps 3 and 4 with the network, and says that it did).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HW = ROOT.parent / "shared" / "data" / "handwriting"
TEGAKI_LAB = HW / "tegaki" / "tegaki-lab-japanese.tar.gz"
CHAR, WRITER, SESSION = "金", "japanese-native1", "eval/s1"


def draw_kanji(out: Path) -> str:
    """The held-out writer's CHAR as a PNG (black ink, white 280 × 280); returns the label."""
    from PIL import Image, ImageDraw

    from mojinet.data.strokes import read_strokes

    if not TEGAKI_LAB.is_file():
        raise SystemExit(f"{TEGAKI_LAB}: not here; put ../shared/data/handwriting beside the "
                         f"checkout (the real strokes the drawing is made from)")
    sample = next(s for s in read_strokes(TEGAKI_LAB)
                  if s.label == CHAR and s.writer == WRITER and s.session == SESSION)
    img = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(img)
    for stroke in sample.strokes:  # (n, 2) in the unit frame
        points = [(20 + 240 * x, 20 + 240 * y) for x, y in stroke]
        pen.line(points, fill=0, width=12, joint="curve")
        for x, y in points[:1] + points[-1:]:
            pen.ellipse([x - 6, y - 6, x + 6, y + 6], fill=0)  # round ends
    img.save(out)
    return sample.label


def timed(command: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, **kw)
    return time.perf_counter() - t0, done


def fresh_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in {"MOJINET_CACHE", "PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"),
               XDG_CACHE_HOME=str(home / "cache"))
    return env


def offline_phase(venv: Path, image: Path, label: str, offline: bool) -> dict:
    """Steps 3 and 4 (run inside the new network namespace): seconds to each first right read."""
    if offline:
        try:
            socket.create_connection(("pypi.org", 443), timeout=3).close()
            raise SystemExit("the network is still reachable: not offline")
        except OSError:
            pass
    work = Path(tempfile.mkdtemp(prefix="mojinet-offline-"))
    env = fresh_env(work / "home")
    mojinet = str(venv / "bin" / "mojinet")
    t_predict, done = timed([mojinet, "predict", "--model", "kanji", str(image), "--json"],
                            cwd=work, env=env)
    read = json.loads(done.stdout)[0]["top"][0]["label"]
    port = _free_port()
    body = json.dumps({"image": "data:image/png;base64,"
                       + base64.b64encode(image.read_bytes()).decode()}).encode()
    t0 = time.perf_counter()
    server = subprocess.Popen([mojinet, "serve", "--model", "kanji", "--port", str(port),
                               "--no-samples"], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        served = _first_read(port, body, label, server, t0)
    finally:
        server.terminate()
        server.wait(10)
    shutil.rmtree(work, ignore_errors=True)
    return {"offline": offline, "predict_s": t_predict, "predict_read": read,
            "serve_s": served}


def _first_read(port: int, body: bytes, label: str, server, t0: float, limit=120.0) -> float:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/predict", data=body,
                                     headers={"Content-Type": "application/json"})
    while time.perf_counter() - t0 < limit:
        if server.poll() is not None:
            raise SystemExit(f"mojinet serve stopped: {server.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                top = json.load(r)["top"][0]["label"]
            if top != label:
                raise SystemExit(f"the server read {top!r}, not {label!r}")
            return time.perf_counter() - t0
        except OSError:  # not listening yet
            time.sleep(0.1)
    raise SystemExit(f"no answer from mojinet serve within {limit:.0f} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install(wheel: Path, venv: Path) -> float:
    """Step 2: a new venv and pip install WHEEL[web] (dependencies from the index); seconds."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"{wheel}[web]"], check=True,
                   env=fresh_env(venv.parent / "home"))
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", type=Path, help="a built wheel (default: build this checkout's)")
    ap.add_argument("--no-offline", action="store_true",
                    help="run predict and serve with the network (when unshare -n is denied)")
    ap.add_argument("--phase", nargs=3, metavar=("VENV", "IMG", "LABEL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:  # inside the namespace
        venv, image, label = args.phase
        print(json.dumps(offline_phase(Path(venv), Path(image), label, not args.no_offline)))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="mojinet-fresh-"))
    times = {}
    if args.wheel is None:
        times["wheel_s"], _ = timed([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                                     str(ROOT), "-w", str(tmp / "dist")])
        args.wheel = next((tmp / "dist").glob("mojinet-*.whl"))
    print(f"wheel: {args.wheel.name}, {args.wheel.stat().st_size / 1e6:.1f} MB")
    image = tmp / "kanji.png"
    label = draw_kanji(image)
    times["install_s"] = install(args.wheel.resolve(), tmp / "venv")
    phase = [sys.executable, __file__, "--phase", str(tmp / "venv"), str(image), label]
    if args.no_offline:
        command = phase + ["--no-offline"]
    elif shutil.which("unshare") is None:
        raise SystemExit("unshare (util-linux) is not here: give --no-offline to time online")
    else:  # a new network namespace: only loopback, brought up
        command = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"] + phase
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the offline run failed (unshare -n needs root or user namespaces; "
                         f"--no-offline times it online):\n{done.stderr[-3000:]}")
    times.update(json.loads(done.stdout.strip().splitlines()[-1]))
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'offline' if times['offline'] else 'ONLINE'}; load {os.getloadavg()[0]:.1f}")
    for key in ("wheel_s", "install_s", "predict_s", "serve_s"):
        if key in times:
            print(f"{key[:-2]:>8}: {times[key]:7.2f} s")
    print(f"predict read {times['predict_read']!r} (drawn from {WRITER}'s {CHAR!r}); "
          f"serve's first right answer after {times['serve_s']:.2f} s")
    return 0 if times["predict_read"] == label else 1


if __name__ == "__main__":
    sys.exit(main())
