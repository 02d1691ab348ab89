"""The uvicorn server for the draw page, with the limits a server on the open network needs.

``make_server(app)`` is what ``mojinet serve`` runs:

- HTTP/1.1 through httptools (uvicorn's ``HttpToolsProtocol``, llhttp's C parser), with a
  request's headers capped at ``MAX_HEADER_BYTES`` while they arrive (larger: 400; complete
  headers over the cap that arrived at once get ``guard.HeaderCheck``'s 431);
- a header deadline: a connection must deliver a request's complete headers within
  ``header_timeout`` seconds of opening (or of the previous response), else it gets 408 and is
  closed — uvicorn itself only times out idle keep-alive connections, so a client dribbling
  header bytes ("slowloris") would otherwise hold its connection for ever;
- idle keep-alive connections closed after ``keep_alive`` seconds;
- at most ``max_connections`` connections at once (more get uvicorn's plain-text 503), a backstop
  far above what the page needs;
- the app's hot routes answered on the spot (``app.state.fast``, a ``lean.FastAnswer``): a
  well-formed prediction is answered from the parser's callback once its body is in, without
  an ASGI task, middlewares or a Response object — the same bytes as the app would send;
  anything else goes to the app, and so does a body not all in within ``HOLD`` seconds (the
  held bodies count among those ``guard.BodyLimit`` lets the server hold at once);
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

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .pool import one_blas_thread, tune_malloc

HEADER_TIMEOUT = 10.0
KEEP_ALIVE = 5
MAX_HEADER_BYTES = 16 * 1024
MAX_CONNECTIONS = 1000
#: Seconds a hot route's request is held for the rest of its body (then the app reads it, with
#: its own body deadline): a browser sends a body over ~1.4 kB after its headers, apart.
HOLD = 0.5


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps({"detail": f"the request headers did not arrive within {seconds:g} s"})
    return (f"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n{body}").encode()


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus a deadline and a size cap for each request's headers,
    and the app's hot routes answered without an ASGI task (``fast``: the app's
    ``lean.FastAnswer``, or None)."""

    header_timeout = HEADER_TIMEOUT
    max_header_bytes = MAX_HEADER_BYTES

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.fast = getattr(getattr(self.config.app, "state", None), "fast", None)
        self._in_headers = True  # waiting for (or reading) a request line and headers
        self._head_bytes = 0  # bytes received while in them
        self._started = False  # has any byte of the current request arrived?
        self._parsing_head = False  # inside on_headers_complete
        self._held = None  # a hot route's request waiting for the rest of its body …
        self._hold_timer = None  # … until this
        self._deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def data_received(self, data: bytes) -> None:
        self._started = True
        if self._in_headers:
            self._head_bytes += len(data)
        super().data_received(data)  # the parser calls on_headers_complete … below
        if self._held is not None and self.transport.is_closing():  # a bad request, refused
            self._unhold()
        if (self._in_headers and self._head_bytes > self.max_header_bytes
                and not self.transport.is_closing()):
            self.logger.warning("Request headers over %d bytes.", self.max_header_bytes)
            self.send_400_response("Invalid HTTP request received.")

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._cancel_deadline()
        self._parsing_head = True
        try:
            super().on_headers_complete()
        finally:
            self._parsing_head = False

    def _start_asgi_task(self, cycle, app) -> None:
        # A request for a hot route whose headers just came in is held until its body has.
        if self._parsing_head and self.fast is not None and app is self.app and \
                self.fast.wants(cycle.scope):
            self._held = cycle
            self.fast.bodies.n += 1  # held like the bodies BodyLimit holds, and counted so
            self._hold_timer = self.loop.call_later(HOLD, self._release)
            return
        super()._start_asgi_task(cycle, app)

    def _unhold(self):
        cycle, self._held = self._held, None
        self.fast.bodies.n -= 1
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        return cycle

    def _release(self) -> None:
        """The held body is slow: the app reads the rest (and times it out)."""
        self._hold_timer = None
        if self._held is not None:
            super()._start_asgi_task(self._unhold(), self.app)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_headers, self._head_bytes = True, 0  # what comes next is the next request
        if self._held is not None:
            cycle = self._unhold()
            if not self._answer(cycle):
                super()._start_asgi_task(cycle, self.app)

    def _answer(self, cycle) -> bool:
        """Answer a held request on the spot; False: the app answers it (anything else than a
        well-formed prediction the fast path can make, or a client not reading its answers)."""
        if self.flow.write_paused or self.transport.is_closing():
            return False
        try:
            answer = self.fast.respond(cycle.scope, bytes(cycle.body))
        except Exception:  # noqa: BLE001 - the app's path says what went wrong, and logs it
            return False
        if answer is None:
            return False
        status, headers, body = answer  # headers: "name: value\r\n" lines, as bytes
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content += [name, b": ", value, b"\r\n"]
        content.append(headers)
        if not cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content += [b"\r\n", body]
        self.transport.write(b"".join(content))
        cycle.response_complete = True
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()
        return True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._in_headers and self._deadline is None:
            self._started = self._head_bytes > 0  # the next request's own deadline
            self._deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def connection_lost(self, exc) -> None:
        self._cancel_deadline()
        if self._held is not None:
            self._unhold()
        super().connection_lost(exc)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or not self._in_headers:
            return
        if self._started:  # a client that sent nothing (a browser's preconnect) just goes
            self.transport.write(_timeout_response(self.header_timeout))
        self.transport.close()


def make_server(app, header_timeout: float = HEADER_TIMEOUT, keep_alive: float = KEEP_ALIVE,
                max_connections: int = MAX_CONNECTIONS, tune_memory: bool = True) -> uvicorn.Server:
    """A uvicorn server for ``app`` with the limits above; run it with ``.run(sockets=[...])``.

    ``tune_memory`` applies ``tune_malloc`` and ``one_blas_thread`` to the whole process (right
    for a server process; tests that serve from a thread of a bigger process can leave it off)."""
    protocol = type("Guarded", (GuardedProtocol,), {"header_timeout": header_timeout})
    if tune_memory:
        tune_malloc()
        one_blas_thread()
    config = uvicorn.Config(app, http=protocol, log_level="warning", access_log=False,
                            timeout_keep_alive=keep_alive, limit_concurrency=max_connections)
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
