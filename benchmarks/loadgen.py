"""A compact HTTP/1.1 load generator (asyncio, the standard library only), run as its own process.

``connections`` keep-alive connections each post request bodies one after another, back to back,
for ``seconds``; each answer's status and latency are recorded. A request counts only if its
answer is a complete HTTP 200; anything else (another status, a connection dropped, a timeout)
is an error. Prints one JSON object: requests, errors (and the first few), elapsed seconds,
latency percentiles in ms.

    python benchmarks/loadgen.py URL BODY_FILE [BODY_FILE …] --connections 8 --seconds 10

``bench_serve_load.py --rate`` runs it (or wrk, when installed) against ``mojinet serve``. One
Python process sends a few thousand requests a second; wrk (C) sends more, for less CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np


def request_bytes(host: str, port: int, path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response; its status (its body is read and dropped)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next((int(v) for k, _, v in (x.partition(":") for x in lines[1:])
                   if k.strip().lower() == "content-length"), None)
    if length is None:
        raise ValueError("an answer without Content-Length")
    await reader.readexactly(length)
    return status


async def _connection(host, port, requests, deadline, latencies, errors, timeout):
    reader = writer = None
    i = 0
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            status = await asyncio.wait_for(_answer(reader), timeout)
            i += 1
            if status == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors.append(f"HTTP {status}")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError,
                TimeoutError) as e:
            errors.append(repr(e))
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def run(url: str, bodies: list[bytes], connections: int, seconds: float,
              timeout: float = 5.0) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    path = parts.path if parts.path not in ("", "/") else "/api/predict"
    requests = [request_bytes(host, port, path, b) for b in bodies]
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_connection(host, port, requests, deadline, latencies, errors, timeout)
                           for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ms = np.asarray(latencies) * 1e3 if latencies else np.zeros(1)
    return {"requests": len(latencies), "errors": len(errors), "first_errors": errors[:5],
            "seconds": elapsed, "p50_ms": float(np.percentile(ms, 50)),
            "p90_ms": float(np.percentile(ms, 90)), "p99_ms": float(np.percentile(ms, 99))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url", help="e.g. http://127.0.0.1:8000/api/predict")
    p.add_argument("bodies", nargs="+", type=Path, help="request body files (JSON), in turn")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args(argv)
    bodies = [b.read_bytes() for b in args.bodies]
    print(json.dumps(asyncio.run(run(args.url, bodies, args.connections, args.seconds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
