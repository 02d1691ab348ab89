"""The uvicorn server for the draw page, with the limits a server on the open network needs.

``make_server(app)`` is what ``mojinet serve`` runs:

- HTTP/1.1 through h11, with request headers capped at ``MAX_HEADER_BYTES`` (larger: 400);
- a header deadline: a connection must deliver a request's complete headers within
  ``header_timeout`` seconds of opening (or of the previous response), else it gets 408 and is
  closed — uvicorn itself only times out idle keep-alive connections, so a client dribbling
  header bytes ("slowloris") would otherwise hold its connection for ever;
- idle keep-alive connections closed after ``keep_alive`` seconds;
- at most ``max_connections`` connections at once (more get uvicorn's plain-text 503), a backstop
  far above what the page needs;
- glibc's allocator tuned to give large blocks back (``pool.tune_malloc``).

The body deadline, size cap and decode pool are in the app (``guard.BodyLimit``, ``pool``).

``serve_workers(make_app, sock, n)`` serves one socket from n processes (``mojinet serve
--workers N``, which needs ``--no-samples``): the app is then stateless (a model read once,
nothing kept between requests), so each worker is a whole server of its own and the kernel
hands each new connection to whichever worker accepts it first. Behind a load balancer the
same holds across machines: run ``mojinet serve`` on each and spread requests over them; no
session affinity is needed.
"""

from __future__ import annotations

import json
import os
import signal

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .pool import one_blas_thread, tune_malloc

HEADER_TIMEOUT = 10.0
KEEP_ALIVE = 5
MAX_HEADER_BYTES = 16 * 1024
MAX_CONNECTIONS = 1000


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps({"detail": f"the request headers did not arrive within {seconds:g} s"})
    return (f"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n{body}").encode()


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol plus a deadline for each request's headers."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._started = False  # has any byte of the current request arrived?
        self._deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def data_received(self, data: bytes) -> None:
        self._started = True
        super().data_received(data)
        self._check_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._cancel_deadline()  # the next request on this connection gets its own
            self._started = False
            self._deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def connection_lost(self, exc) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _check_headers(self) -> None:
        if self.conn.their_state is not h11.IDLE:  # h11 has parsed the request line and headers
            self._cancel_deadline()

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self._started:  # a client that sent nothing (a browser's preconnect) just goes
            self.transport.write(_timeout_response(self.header_timeout))
        self.transport.close()


def make_server(app, header_timeout: float = HEADER_TIMEOUT, keep_alive: float = KEEP_ALIVE,
                max_connections: int = MAX_CONNECTIONS, tune_memory: bool = True) -> uvicorn.Server:
    """A uvicorn server for ``app`` with the limits above; run it with ``.run(sockets=[...])``.

    ``tune_memory`` applies ``tune_malloc`` and ``one_blas_thread`` to the whole process (right
    for a server process; tests that serve from a thread of a bigger process can leave it off)."""
    protocol = type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout": header_timeout})
    if tune_memory:
        tune_malloc()
        one_blas_thread()
    config = uvicorn.Config(app, http=protocol, log_level="warning", access_log=False,
                            timeout_keep_alive=keep_alive, limit_concurrency=max_connections,
                            h11_max_incomplete_event_size=MAX_HEADER_BYTES)
    return uvicorn.Server(config)


def serve_workers(make_app, sock, workers: int, **server_options) -> None:
    """Serve the listening socket ``sock`` from ``workers`` processes, each running its own
    ``make_server(make_app(), **server_options)``; returns when they have all stopped.

    The workers are forked after the socket is bound and before anything starts threads (the app
    — and the compiled kernels it loads — are made in each worker). Ctrl+C or SIGTERM to this
    process stops every worker (each finishes the requests it has in hand, as uvicorn does).
    POSIX only (os.fork)."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        make_server(make_app(), **server_options).run(sockets=[sock])
        return
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: serve until told to stop, then leave without the parent's exit
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent passes on SIGTERM
                make_server(make_app(), **server_options).run(sockets=[sock])
            except BaseException:  # noqa: BLE001 - reported, and the worker must not return
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        children.append(pid)

    def stop(*_):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        for pid in children:
            _wait(pid)
    except KeyboardInterrupt:
        stop()
        for pid in children:
            _wait(pid)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _wait(pid: int) -> None:
    """Wait for child ``pid`` to end (again after a signal handler interrupted the wait)."""
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except ChildProcessError:
            return
        except InterruptedError:
            continue
