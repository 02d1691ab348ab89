"""Serve an app through ``mojinet.web.server.make_server`` (the limits ``mojinet serve`` runs
with) from a thread on loopback, for tests that need the real HTTP stack with short deadlines."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from mojinet.web.server import make_server


@contextlib.contextmanager
def serving(app, **limits):
    """Serve ``app`` with ``make_server(app, **limits)`` from a thread; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = make_server(app, tune_memory=False, **limits)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
