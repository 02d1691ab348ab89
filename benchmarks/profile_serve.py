"""One request's CPU through the whole server, in-process: HTTP parsing, guards, app, answer.

The server's protocol (``web.server.make_server``'s, as ``mojinet serve`` runs it) is fed the
bytes of a keep-alive request by a stand-in transport on the server's own event loop (uvloop
when installed), and the response read back from what it writes: everything the server process
does for a request but the socket's system calls. Prints the median CPU time (``process_time``)
a request over ``--rounds`` rounds of ``--requests`` requests, for the page's strokes
(``POST /api/predict/strokes``) and PNG drawings (``POST /api/predict``), and checks each
answer is a 200 with the same body as the first round.

``--peer PATH``: the same measurement for another source tree's server (its ``src``), run in a
subprocess in turn with this one, round by round (the two share whatever else the machine does).
``--profile``: cProfile's top functions for the strokes route. ``--stages``: the CPU of each
stage of one strokes request, called one by one in process (the body's parse, the canvas, the
clean read, the fit, the network's readout, the verdict, the answer's JSON; median of
``--rounds`` rounds of ``--requests`` calls each, the page's bodies in turn).

    python benchmarks/profile_serve.py [--requests 500] [--rounds 5] [--peer /tmp/main/src]
    python benchmarks/profile_serve.py --stages [--requests 500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


class Transport(asyncio.Transport):
    """A stand-in for the connection's transport: keeps what the server writes and says when
    one whole response (headers and ``content-length`` bytes of body) has been written."""

    def __init__(self):
        super().__init__()
        self.out = bytearray()
        self.done: asyncio.Future | None = None
        self.closed = False

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name,
                                                                                        default)

    def write(self, data):
        self.out += data
        head, sep, body = bytes(self.out).partition(b"\r\n\r\n")
        if sep and self.done is not None and not self.done.done():
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            if len(body) >= length:
                self.done.set_result(bytes(self.out))

    def is_closing(self):
        return self.closed

    def close(self):
        self.closed = True

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


def request(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


def bodies() -> dict[str, tuple[str, list[bytes]]]:
    from bench_serve import drawings
    from bench_serve_load import page_strokes

    return {"strokes": ("/api/predict/strokes", page_strokes()),
            "png": ("/api/predict", [json.dumps({"image": u, "top": 10}).encode()
                                     for u in drawings()])}


def protocol():
    """The server's protocol for a fresh connection, with its transport."""
    from mojinet.io import Model
    from mojinet.nn.network import Network
    from mojinet.web.app import create_app
    from mojinet.web.server import make_server

    net = Network([784, 16, 16, 10], "sigmoid", init="xavier", seed=0)
    model = Model(net, tuple("0123456789"), {"image_shape": [28, 28], "user_images": {"box": 20}})
    server = make_server(create_app(model, hosts=None))
    config = server.config
    config.load()
    server.server_state.default_headers = [(b"date", b"Thu, 03 Dec 2026 08:00:00 GMT"),
                                           *config.encoded_headers]
    proto = config.http_protocol_class(config=config, server_state=server.server_state,
                                       app_state={})
    transport = Transport()
    proto.connection_made(transport)
    return proto, transport


async def rounds(kind: str, n: int, rounds: int, profile: bool = False) -> list[float]:
    """CPU ms a request, one number per round of ``n`` requests."""
    proto, transport = protocol()
    path, payloads = bodies()[kind]
    raw = [request(path, b) for b in payloads]
    loop = asyncio.get_running_loop()
    first = {}

    async def one(i: int) -> None:
        transport.out.clear()
        transport.done = loop.create_future()
        proto.data_received(raw[i % len(raw)])
        reply = await transport.done
        status, _, rest = reply.partition(b"\r\n")
        body = rest.partition(b"\r\n\r\n")[2]
        assert status == b"HTTP/1.1 200 OK", reply[:300]
        assert first.setdefault(i % len(raw), body) == body

    for i in range(3 * len(raw)):  # warm up
        await one(i)
    out = []
    profiler = cProfile.Profile() if profile else None
    for _ in range(rounds):
        if profiler:
            profiler.enable()
        started = time.process_time()
        for i in range(n):
            await one(i)
        out.append((time.process_time() - started) * 1e3 / n)
        if profiler:
            profiler.disable()
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime")).print_stats(
            int(os.environ.get("TOP", "25")))  # SORT=cumulative TOP=60 for more
    return out


def stages(n: int, rounds: int) -> dict[str, float]:
    """Median CPU µs of each stage of a strokes request (the route's own calls, in order)."""
    import numpy as np
    import orjson

    from mojinet.data import canvas, fastread, images, inkloops
    from mojinet.io import Model
    from mojinet.nn.network import Network
    from mojinet.web import lean, readout

    inkloops.load()
    canvas.load()
    net = Network([784, 16, 16, 10], "sigmoid", init="xavier", seed=0)
    model = Model(net, tuple("0123456789"), {"image_shape": [28, 28], "user_images": {"box": 20}})
    payloads = bodies()["strokes"][1]
    reqs = [lean.strokes_body(b) for b in payloads]
    greys = [canvas.pad_grey(r.strokes, *r.pad, r.pen) for r in reqs]
    reads = [fastread.clean_grey_read(g) for g in greys]
    readings = [readout.read_strokes(model, r.strokes, tuple(r.pad), r.pen) for r in reqs]
    results = [readout.readout(model, rd.x.reshape(-1), top=r.top)
               for rd, r in zip(readings, reqs, strict=True)]
    for res, rd in zip(results, readings, strict=True):
        res["verdict"] = readout.verdict(model, res, rd, rd.x.reshape(-1))
    k = len(payloads)
    work = {
        "parse (strokes_body)": lambda i: lean.strokes_body(payloads[i]),
        "canvas (pad_grey)": lambda i: canvas.pad_grey(reqs[i].strokes, *reqs[i].pad,
                                                       reqs[i].pen, 20_000_000),
        "clean read (clean_grey_read)": lambda i: fastread.clean_grey_read(greys[i]),
        "fit (fit_and_center)": lambda i: images.fit_and_center(reads[i][0], 28, 20,
                                                                reads[i][2]),
        "readout (forward, rounding)": lambda i: readout.readout(
            model, readings[i].x.reshape(-1), top=reqs[i].top),
        "verdict (features, judge)": lambda i: readout.verdict(
            model, results[i], readings[i], readings[i].x.reshape(-1)),
        "answer JSON (orjson)": lambda i: orjson.dumps(results[i]),
        "whole work (read_strokes, readout, verdict)": lambda i: readout.verdict(
            model, readout.readout(model, readout.read_strokes(
                model, reqs[i].strokes, tuple(reqs[i].pad), reqs[i].pen).x.reshape(-1),
                top=reqs[i].top), readings[i], readings[i].x.reshape(-1)),
    }
    out = {}
    for name, f in work.items():
        for i in range(k):
            f(i)  # warm up
        times = []
        for _ in range(rounds):
            started = time.process_time()
            for j in range(n):
                f(j % k)
            times.append((time.process_time() - started) * 1e6 / n)
        out[name] = float(np.median(times))
    return out


def run(kind: str, n: int, k: int, profile: bool = False) -> list[float]:
    from mojinet.web.pool import one_blas_thread

    one_blas_thread()
    try:
        import uvloop

        return uvloop.run(rounds(kind, n, k, profile))
    except ImportError:  # pragma: no cover
        return asyncio.run(rounds(kind, n, k, profile))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--kinds", default="strokes,png")
    p.add_argument("--peer", metavar="SRC", help="another source tree's src, measured in turn")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--stages", action="store_true", help="CPU of each stage of a strokes request")
    p.add_argument("--one", help=argparse.SUPPRESS)  # a subprocess's single measurement
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(run(args.one, args.requests, 1)))
        return 0
    if args.profile:
        run("strokes", args.requests, 1, profile=True)
        return 0
    if args.stages:
        from mojinet.web.pool import one_blas_thread, tune_malloc

        one_blas_thread()
        tune_malloc()  # as the server runs
        print(f"one strokes request's stages, {args.requests} calls a round, {args.rounds} "
              f"rounds, load average {os.getloadavg()[0]:.1f}")
        for name, us in stages(args.requests, args.rounds).items():
            print(f"  {name:<44} {us:8.1f} µs CPU")
        print(f"  load average {os.getloadavg()[0]:.1f}")
        return 0
    print(f"in-process, {args.requests} keep-alive requests a round, {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.1f}")
    trees = {"this": None, **({"peer": args.peer} if args.peer else {})}
    for kind in args.kinds.split(","):
        cpu = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, src in trees.items():
                env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
                if src:
                    env["PYTHONPATH"] = src
                out = subprocess.run([sys.executable, __file__, "--one", kind, "--requests",
                                      str(args.requests)], env=env, capture_output=True,
                                     text=True)
                if out.returncode:
                    raise SystemExit(out.stderr)
                cpu[name] += json.loads(out.stdout)
        for name, ms in cpu.items():
            print(f"  {kind:<8} {name:<5}: median {statistics.median(ms):.3f} ms CPU a request "
                  f"(rounds: {', '.join(f'{m:.3f}' for m in ms)})")
        if args.peer:
            ratio = statistics.median(cpu["this"]) / statistics.median(cpu["peer"])
            print(f"  {kind:<8} this / peer: {ratio:.2f}×")
    print(f"  load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
