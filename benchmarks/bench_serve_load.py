"""The draw page's server under a burst of large drawings: memory at peak and after.

Starts ``mojinet serve`` in its own process on loopback (a free port), measures its resident
memory when idle (after it has served a few ordinary drawings), then sends a burst: ``--clients``
concurrent clients each post ``--requests`` drawings of ``--size``×``--size`` pixels (RGBA PNG
data URLs with thick anti-aliased strokes, as a high-DPI canvas would send). It reads the server's
RSS from /proc while the burst runs (VmHWM gives the exact peak) and again ``--settle`` seconds
after the last answer. Each answer must be 200 or 503 with ``Retry-After`` (the server sheds what
its decode pool cannot take); anything else counts as an error.

Not a test: it prints numbers, and exits 1 on an error or when ``--max-peak-mb`` or
``--max-after`` (RSS after / idle) is exceeded.

    python benchmarks/bench_serve_load.py                     # 16 clients × 4 drawings, 2000×2000
    python benchmarks/bench_serve_load.py --clients 32 --requests 8 --size 2000

``--rate``: the sustained-load test instead. For each ``--workers`` count it starts the server
with the reference preprocessing (``--reference-preprocessing``) and as it ships (the fast path
for clean canvases), in turn for ``--rounds`` rounds, and loads each for ``--seconds`` with
``--connections`` keep-alive connections posting the page's 280×280 drawings, from a separate
process: wrk when it is installed (``apt-get install wrk``), else ``loadgen.py``. It prints
predictions/s, latency p50/p90/p99, errors, and the server's own CPU time per request (its
processes' user + system time from /proc, which other jobs on the machine disturb far less
than wall-clock throughput), then the ratios fast / reference. Both servers must give the same
answers to the same drawings; it exits 1 if they do not or on any error.

    python benchmarks/bench_serve_load.py --rate --workers 1,2 --seconds 10
    python benchmarks/bench_serve_load.py --rate --peer /tmp/main/src   # and main's server

``--peer PYTHONPATH`` adds a third server in each round: ``mojinet serve`` from another source
tree (its PYTHONPATH; several entries may be given, as PYTHONPATH takes them), as it ships, and
the ratios fast / peer; with ``--strokes`` the peer is also loaded with the strokes ("peer
strokes", whose answers must equal this server's).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

from mojinet.io import Model, save_model
from mojinet.nn.network import Network


def large_drawing(size: int, seed: int) -> bytes:
    """A ``size``×``size`` RGBA PNG of a few thick anti-aliased strokes, as a JSON request body."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGBA", (size, size), "white")
    d = ImageDraw.Draw(img)
    pts = [tuple(rng.uniform(0.15 * size, 0.85 * size, 2)) for _ in range(rng.integers(3, 7))]
    d.line(pts, fill="black", width=max(2, size // 16), joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return json.dumps({"image": url, "top": 3}).encode()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (or VmHWM, its peak since it started) in MB, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def start_server(model_path: Path, *args: str, pythonpath: str | None = None
                 ) -> tuple[subprocess.Popen, str]:
    """``mojinet serve MODEL --port 0 ARGS`` in its own process (with ``pythonpath`` first on
    its PYTHONPATH, e.g. another checkout's src); returns it and its base URL."""
    env = None if pythonpath is None else {**os.environ, "PYTHONPATH": pythonpath}
    proc = subprocess.Popen([sys.executable, "-m", "mojinet", "serve", str(model_path), "--port",
                             "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    line = proc.stdout.readline()
    m = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
    if not m:
        proc.kill()
        raise SystemExit(f"the server did not start: {line}{proc.communicate()[1]}")
    for _ in range(400):
        try:
            httpx.get(m.group(1) + "/api/model", timeout=2)
            return proc, m.group(1)
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not answer")


def burst(url: str, bodies: list[bytes], clients: int, requests: int) -> tuple[Counter, list]:
    """``clients`` threads, each with its own connection, post ``requests`` bodies each."""
    statuses: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(clients)

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as c:
            gate.wait()
            for i in range(requests):
                try:
                    r = c.post("/api/predict", content=bodies[(k + i) % len(bodies)],
                               headers={"content-type": "application/json"})
                except httpx.HTTPError as e:
                    with lock:
                        errors.append(repr(e))
                    continue
                ok = r.status_code == 200 or (r.status_code == 503 and "retry-after" in r.headers
                                              and "detail" in r.json())
                with lock:
                    statuses[r.status_code] += 1
                    if not ok:
                        errors.append(f"HTTP {r.status_code}: {r.text[:200]}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, errors


def measure(url: str, pid: int, bodies: list[bytes], clients: int, requests: int,
            settle: float) -> dict:
    """Idle RSS, the burst (peak RSS, statuses, time) and RSS ``settle`` seconds after it."""
    small = large_drawing(280, 0)
    with httpx.Client(base_url=url, timeout=60) as c:
        for _ in range(5):  # warm up: first requests import and compile what serving needs
            c.post("/api/predict", content=small, headers={"content-type": "application/json"})
    time.sleep(settle)
    idle = rss_mb(pid)
    sampled = [idle]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.01):
            sampled.append(rss_mb(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    try:
        statuses, errors = burst(url, bodies, clients, requests)
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
    time.sleep(settle)
    return {"idle": idle, "peak": max(rss_mb(pid, "VmHWM"), max(sampled)),
            "after": rss_mb(pid), "statuses": statuses, "errors": errors, "seconds": elapsed}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and all its descendants (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        p = pending.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    pending += [int(c) for c in f.read().split()]
        except FileNotFoundError:  # it ended meanwhile
            continue
    return total


def generate(url: str, bodies: list[bytes], connections: int, seconds: float, tmp: str,
             tool: str, path: str = "/api/predict") -> dict:
    """Load ``url`` from a separate process: wrk or loadgen.py. Requests (200s only), errors,
    elapsed seconds and latency percentiles (ms)."""
    if tool == "wrk":
        from bench_serve import load_test

        r = load_test(url, bodies, connections, seconds, tmp, path=path)
        return {"requests": r["requests"] - r["errors"], "errors": r["errors"],
                "seconds": seconds, "p50_ms": r["p50_ms"], "p90_ms": r["p90_ms"],
                "p99_ms": r["p99_ms"], "first_errors": []}
    files = []
    for i, body in enumerate(bodies):
        files.append(Path(tmp, f"load{i}.json"))
        files[-1].write_bytes(body)
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("loadgen.py")),
                          url + path, *map(str, files), "--connections",
                          str(connections), "--seconds", str(seconds)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def page_strokes(n: int = 8) -> list[bytes]:
    """``bench_serve.drawings``' strokes as the page sends them to ``/api/predict/strokes``
    (the same random polylines, in 280×280 pad pixels, pen 18)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        pts = [(rng.uniform(200, 920, 2) / 4).round(2).tolist() for _ in range(rng.integers(3, 7))]
        out.append(json.dumps({"strokes": [pts], "pad": [280, 280], "pen": 18,
                               "top": 10}).encode())
    return out


def answers(url: str, bodies: list[bytes], path: str = "/api/predict") -> list[dict]:
    with httpx.Client(base_url=url, timeout=60) as c:
        return [c.post(path, content=b, headers={"content-type": "application/json"})
                .json() for b in bodies]


def rate_run(path: Path, workers: int, kind: str, bodies: list[bytes], args,
             tmp: str) -> tuple[dict, list[dict]]:
    """Load one server: ``kind`` "reference" (--reference-preprocessing), "fast" (as it ships),
    "strokes" (as it ships, the page's strokes to /api/predict/strokes) or "peer" (as it
    ships, from ``args.peer``'s source)."""
    route = "/api/predict"
    if kind in ("strokes", "peer strokes"):
        bodies, route = page_strokes(), "/api/predict/strokes"
    serve = ["--workers", str(workers), "--no-samples"]
    proc, url = start_server(path, *serve, *(["--reference-preprocessing"]
                                             if kind == "reference" else []),
                             pythonpath=args.peer if kind.startswith("peer") else None)
    try:
        for _ in range(5 * workers):  # every worker warmed up
            seen = answers(url, bodies, route)
        before = cpu_seconds(proc.pid)
        r = generate(url, bodies, args.connections, args.seconds, tmp, args.tool, route)
        r["cpu_ms"] = (cpu_seconds(proc.pid) - before) * 1e3 / max(r["requests"], 1)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    r["rps"] = r["requests"] / r["seconds"]
    return r, seen


def _ratios(ours: list[dict], theirs: list[dict]) -> str:
    import statistics

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    return (f"{med(ours, 'rps') / med(theirs, 'rps'):.2f}× predictions/s, p99 "
            f"{med(ours, 'p99_ms') / med(theirs, 'p99_ms'):.2f}×, server CPU a request "
            f"{med(ours, 'cpu_ms') / med(theirs, 'cpu_ms'):.2f}×")


def rate_main(args) -> int:
    import shutil

    from bench_serve import drawings

    if args.tool == "auto":
        args.tool = "wrk" if shutil.which("wrk") else "loadgen"
    net = Network([784, 16, 16, 10], "sigmoid", init="xavier", seed=0)
    model = Model(net, tuple("0123456789"), {"image_shape": [28, 28], "user_images": {"box": 20}})
    bodies = [json.dumps({"image": u, "top": 10}).encode() for u in drawings()]
    print(f"load test: {args.tool}, {args.connections} keep-alive connections, {args.seconds:g} s "
          f"a run, the page's 280×280 PNG drawings ({np.mean([len(b) for b in bodies]) / 1e3:.1f}"
          f" kB bodies), 784-16-16-10, loopback; {os.cpu_count()} CPUs shared with the load "
          f"generator and other jobs; load average {os.getloadavg()[0]:.1f}", flush=True)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        path = save_model(model, Path(tmp) / "bench.npz")
        kinds = [*(["reference"] if not args.no_reference else []), "fast",
                 *(["strokes"] if args.strokes else []), *(["peer"] if args.peer else []),
                 *(["peer strokes"] if args.peer and args.strokes else [])]
        for workers in [int(w) for w in args.workers.split(",")]:
            runs = {kind: [] for kind in kinds}
            seen = {}
            for _ in range(args.rounds):
                for kind in kinds:
                    r, seen[kind] = rate_run(path, workers, kind, bodies, args, tmp)
                    runs[kind].append(r)
                    failed |= r["errors"] > 0
                    print(f"  {workers} worker(s), {kind:<9}: {r['rps']:6.0f} predictions/s, "
                          f"p50 {r['p50_ms']:5.1f} ms, p90 {r['p90_ms']:5.1f} ms, p99 "
                          f"{r['p99_ms']:5.1f} ms, errors {r['errors']}, server CPU "
                          f"{r['cpu_ms']:.2f} ms a request (load average "
                          f"{os.getloadavg()[0]:.1f})", flush=True)
                    for e in r.get("first_errors", []):
                        print("    error:", e)
            pngs = [k for k in kinds if "strokes" not in k]  # the strokes are other drawings
            same = all(seen[kind] == seen["fast"] for kind in pngs)
            if "peer strokes" in kinds:
                same &= seen["strokes"] == seen["peer strokes"]
            failed |= not same
            for other in [k for k in kinds if k not in ("fast", "strokes")]:
                ours = ["strokes"] if other == "peer strokes" else [
                    "fast", *(["strokes"] if args.strokes and other != "peer" else [])]
                for mine in ours:
                    print(f"  {workers} worker(s), {mine} / {other} (medians of "
                          f"{args.rounds}): {_ratios(runs[mine], runs[other])}", flush=True)
            print(f"  {workers} worker(s): the same answers to the same drawings: {same} "
                  f"({', '.join(pngs)}; strokes and peer strokes)", flush=True)
    return 1 if failed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=4, help="drawings per client")
    p.add_argument("--size", type=int, default=2000, help="drawing width and height, pixels")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to wait before measuring")
    p.add_argument("--max-peak-mb", type=float, default=500.0)
    p.add_argument("--max-after", type=float, default=1.10, help="RSS after / idle")
    p.add_argument("serve_args", nargs="*", help="extra `mojinet serve` options (after --)")
    rate = p.add_argument_group("--rate: sustained load, fast path against the reference")
    rate.add_argument("--rate", action="store_true", help="run the sustained-load test")
    rate.add_argument("--workers", default="1", help="server processes, e.g. 1,2 (each count "
                      "in turn)")
    rate.add_argument("--connections", type=int, default=8)
    rate.add_argument("--seconds", type=float, default=10.0, help="each run's length")
    rate.add_argument("--rounds", type=int, default=2, help="runs of each server, in turn")
    rate.add_argument("--tool", choices=["auto", "wrk", "loadgen"], default="auto")
    rate.add_argument("--peer", metavar="PYTHONPATH", help="also load the server of another "
                      "source tree (e.g. main's src) in turn, as a peer: its answers must be "
                      "the same")
    rate.add_argument("--strokes", action="store_true", help="also load this server with the "
                      "page's strokes (POST /api/predict/strokes)")
    rate.add_argument("--no-reference", action="store_true", help="leave out the server with "
                      "the reference preprocessing")
    args = p.parse_args(argv)
    if args.rate:
        return rate_main(args)

    net = Network([784, 16, 16, 10], "sigmoid", init="xavier", seed=0)
    model = Model(net, tuple("0123456789"), {"image_shape": [28, 28], "user_images": {"box": 20}})
    bodies = [large_drawing(args.size, seed) for seed in range(8)]
    with tempfile.TemporaryDirectory() as tmp:
        path = save_model(model, Path(tmp) / "bench.npz")
        proc, url = start_server(path, *args.serve_args)
        try:
            m = measure(url, proc.pid, bodies, args.clients, args.requests, args.settle)
            alive = httpx.get(url + "/api/model", timeout=5).status_code == 200
        finally:
            proc.terminate()
            proc.wait(10)
            proc.stdout.close()
            proc.stderr.close()
    n = args.clients * args.requests
    print(f"{args.clients} clients × {args.requests} drawings of {args.size}×{args.size} "
          f"({np.mean([len(b) for b in bodies]) / 1000:.0f} kB bodies), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    statuses = ", ".join(f"HTTP {s} × {c}" for s, c in sorted(m["statuses"].items()))
    print(f"  {n} requests in {m['seconds']:.1f} s: {statuses}; errors {len(m['errors'])}")
    for e in m["errors"][:5]:
        print("  error:", e)
    print(f"  server RSS: idle {m['idle']:.0f} MB, peak {m['peak']:.0f} MB, "
          f"{args.settle:g} s after {m['after']:.0f} MB "
          f"(after/idle = {m['after'] / m['idle']:.3f})")
    print(f"  server still up afterwards: {alive}")
    bad = (m["errors"] or not alive or m["peak"] > args.max_peak_mb
           or m["after"] > args.max_after * m["idle"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
