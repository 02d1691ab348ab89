"""Benchmark the draw page's API: prediction latency and sustained requests per second.

Starts ``mojinet serve`` in its own process on loopback (a free port), then

1. latency: one client sends drawings one after another (keep-alive), as the page does; median and
   p99 per request, beside the same work done in-process (decode + preprocess + forward + JSON)
   so the HTTP share shows as a ratio;
2. throughput: several concurrent clients (threads, each with its own connection) send drawings
   for a bounded count and time; requests per second and the error count (must be zero).

The drawings are 280×280 RGBA PNG data URLs of random anti-aliased strokes, like the page's
canvas sends. Not a test: it
prints numbers (and exits 1 if any request failed).

    python benchmarks/bench_serve.py                 # an untrained 784-16-16-10 (same cost)
    python benchmarks/bench_serve.py --model mojinet-mnist.npz --clients 4 --requests 2000
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

from mojinet.io import Model, load_model, save_model
from mojinet.nn.network import Network
from mojinet.web.readout import decode_drawing, preprocess, readout


def drawings(n: int = 8) -> list[str]:
    """n different 280×280 drawings as PNG data URLs, like the page's canvas sends: RGBA, black
    ink with anti-aliased edges (drawn 4× larger and scaled down), pen 18 px, on white."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        img = Image.new("RGBA", (1120, 1120), "white")
        d = ImageDraw.Draw(img)
        pts = [tuple(rng.uniform(200, 920, 2)) for _ in range(rng.integers(3, 7))]
        d.line(pts, fill="black", width=72, joint="curve")
        img = img.resize((280, 280), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, "PNG")
        out.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    return out


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def start_server(model_path: Path, workers: int = 1):
    proc = subprocess.Popen([sys.executable, "-m", "mojinet", "serve", str(model_path), "--port",
                             "0", "--workers", str(workers), "--no-samples"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
    if not m:
        proc.kill()
        raise SystemExit(f"the server did not start: {line}{proc.stderr.read()}")
    url = m.group(1)
    for _ in range(200):
        try:
            httpx.get(url + "/api/model", timeout=2)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not answer")


def latency(url: str, bodies: list[bytes], n: int) -> tuple[list[float], list[float]]:
    """Round-trip times and the server's own handler times (Server-Timing), in seconds."""
    times, handler = [], []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(n + 20):
            t = time.perf_counter()
            r = client.post("/api/predict", content=bodies[i % len(bodies)],
                            headers={"content-type": "application/json"})
            dt = time.perf_counter() - t
            if r.status_code != 200:
                raise SystemExit(f"latency run: HTTP {r.status_code}: {r.text}")
            if i >= 20:  # the first 20 warm up
                times.append(dt)
                handler.append(float(r.headers["server-timing"].split("dur=")[1]) / 1e3)
    return times, handler


def floor(url: str, n: int) -> list[float]:
    """Round trips of GET /api/model (a prepared dict): the cost of HTTP alone."""
    times = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(n + 20):
            t = time.perf_counter()
            r = client.get("/api/model")
            dt = time.perf_counter() - t
            if r.status_code != 200:
                raise SystemExit(f"floor run: HTTP {r.status_code}")
            if i >= 20:
                times.append(dt)
    return times


def in_process(model: Model, urls: list[str], n: int) -> list[float]:
    times = []
    for i in range(n):
        t = time.perf_counter()
        x = preprocess(model, decode_drawing(urls[i % len(urls)]))
        json.dumps(readout(model, x, top=10))
        times.append(time.perf_counter() - t)
    return times


def throughput(url: str, bodies: list[bytes], clients: int, total: int, seconds: float):
    counter = iter(range(total))
    lock = threading.Lock()
    done, errors = [0], []
    deadline = time.perf_counter() + seconds

    def worker():
        with httpx.Client(base_url=url, timeout=30) as client:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                try:
                    r = client.post("/api/predict", content=bodies[i % len(bodies)],
                                    headers={"content-type": "application/json"})
                    ok = r.status_code == 200 and len(r.json()["top"]) == 10
                except Exception as e:  # counted and reported, never hidden
                    errors.append(repr(e))
                    continue
                with lock:
                    if ok:
                        done[0] += 1
                    else:
                        errors.append(f"HTTP {r.status_code}: {r.text[:200]}")

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return done[0], errors, time.perf_counter() - t


WRK_SCRIPT = """
bodies = {}
for i = 1, %d do
  local f = io.open("%s/body" .. i .. ".json", "rb"); bodies[i] = f:read("*a"); f:close()
end
n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n %% #bodies + 1
  return wrk.format(nil, "%s", nil, bodies[n])
end
"""


def load_test(url: str, bodies: list[bytes], connections: int, seconds: float, tmp: str,
              path: str = "/api/predict") -> dict:
    """A bounded loopback load test with wrk (Debian's package): ``connections`` keep-alive
    connections on 2 wrk threads for ``seconds``, each request one of the drawings. Returns
    requests/s, latency percentiles (ms) and the error counts wrk reports."""
    for i, body in enumerate(bodies, 1):
        Path(tmp, f"body{i}.json").write_bytes(body)
    script = Path(tmp, "post.lua")
    script.write_text(WRK_SCRIPT % (len(bodies), tmp, path))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:g}s",
                          "--latency", "--timeout", "5s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def ms(text):
        m = re.match(r"([\d.]+)(us|ms|s)", text)
        return float(m.group(1)) * units[m.group(2)]

    result = {"output": out, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
              "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for q in ("50", "90", "99"):
        result[f"p{q}_ms"] = ms(re.search(rf"\s{q}%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["errors"] = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(g) for g in sock.groups()) if sock else 0)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="model file (default: an untrained 784-16-16-10)")
    p.add_argument("--latency-requests", type=int, default=300)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--requests", type=int, default=2000, help="throughput: at most this many")
    p.add_argument("--seconds", type=float, default=20.0, help="throughput: at most this long")
    p.add_argument("--workers", default="1", help="server processes; a comma-separated list "
                   "runs the load test at each (e.g. 1,2)")
    p.add_argument("--wrk", action="store_true",
                   help="only the wrk load test (apt-get install wrk), at each --workers count")
    p.add_argument("--connections", type=int, default=8, help="wrk: concurrent connections")
    p.add_argument("--wrk-seconds", type=float, default=10.0, help="wrk: duration")
    args = p.parse_args(argv)
    if args.wrk:
        return wrk_main(args)

    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            path = Path(args.model)
            model = load_model(path)
        else:
            net = Network([784, 16, 16, 10], "sigmoid", init="xavier", seed=0)
            model = Model(net, tuple("0123456789"),
                          {"image_shape": [28, 28], "user_images": {"box": 20}})
            path = save_model(model, Path(tmp) / "bench.npz")
        urls = drawings()
        bodies = [json.dumps({"image": u, "top": 10}).encode() for u in urls]
        print(f"model {'-'.join(map(str, model.network.sizes))}; drawings: 280×280 PNG, "
              f"{statistics.mean(len(b) for b in bodies) / 1000:.1f} kB per request body; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (the numbers "
              f"are only comparable at similar load)")
        proc, url = start_server(path)
        try:
            ref = in_process(model, urls, args.latency_requests)
            http, handler = latency(url, bodies, args.latency_requests)
            ref2 = in_process(model, urls, args.latency_requests)  # again: the machine is shared
            bare = floor(url, args.latency_requests)
            ref_med = statistics.median(ref + ref2)
            med, p99 = statistics.median(http), percentile(http, 99)
            print(f"latency, 1 client, {len(http)} requests: median {med * 1e3:.2f} ms, "
                  f"p99 {p99 * 1e3:.2f} ms (of which the handler's own work: median "
                  f"{statistics.median(handler) * 1e3:.2f} ms)")
            print(f"  same work in-process (no HTTP): median {ref_med * 1e3:.2f} ms, "
                  f"p99 {percentile(ref + ref2, 99) * 1e3:.2f} ms; HTTP/in-process = "
                  f"{med / ref_med:.2f}×")
            print(f"  HTTP alone (GET /api/model): median {statistics.median(bare) * 1e3:.2f} ms")
            n, errors, elapsed = throughput(url, bodies, args.clients, args.requests, args.seconds)
            print(f"throughput, {args.clients} concurrent clients: {n} requests in {elapsed:.1f} s"
                  f" = {n / elapsed:.0f} requests/s; errors: {len(errors)}")
            for e in errors[:5]:
                print("  error:", e)
            alive = httpx.get(url + "/api/model", timeout=5).status_code == 200
            print(f"server still up afterwards: {alive}")
        finally:
            proc.terminate()
            proc.wait(10)
            proc.stdout.close()
            proc.stderr.close()
    return 1 if errors or not alive else 0


def wrk_main(args) -> int:
    """The wrk load test against an untrained 784-16-16-10 (or --model) at each worker count."""
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            path = Path(args.model)
        else:
            net = Network([784, 16, 16, 10], "sigmoid", init="xavier", seed=0)
            model = Model(net, tuple("0123456789"),
                          {"image_shape": [28, 28], "user_images": {"box": 20}})
            path = save_model(model, Path(tmp) / "bench.npz")
        bodies = [json.dumps({"image": u, "top": 10}).encode() for u in drawings()]
        print(f"wrk load test: 280×280 PNG drawings ({statistics.mean(map(len, bodies)) / 1e3:.1f}"
              f" kB bodies), {args.connections} connections, {args.wrk_seconds:g} s, loopback; "
              f"{os.cpu_count()} CPUs shared with wrk and others' jobs, load average "
              f"{os.getloadavg()[0]:.1f}")
        for workers in [int(w) for w in args.workers.split(",")]:
            proc, url = start_server(path, workers)
            try:
                for i in range(40):  # warm every worker up (first requests load the kernels)
                    httpx.post(url + "/api/predict", content=bodies[i % len(bodies)],
                               headers={"content-type": "application/json"}, timeout=30)
                r = load_test(url, bodies, args.connections, args.wrk_seconds, tmp)
            finally:
                proc.terminate()
                proc.wait(10)
                proc.stdout.close()
                proc.stderr.close()
            failed |= r["errors"] > 0
            print(f"  {workers} worker(s): {r['rps']:.0f} predictions/s ({r['requests']} in "
                  f"{args.wrk_seconds:g} s), latency p50 {r['p50_ms']:.1f} ms, p90 "
                  f"{r['p90_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, errors {r['errors']}",
                  flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
