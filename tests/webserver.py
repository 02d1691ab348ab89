"""Serve an ASGI app (the draw page) from a thread for the web tests: ``with BackgroundServer(app)
as url:``. A test helper, so it lives here and not in the product."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class BackgroundServer:
    """Listens on ``host`` and a free port; stops (and waits for its thread) leaving the block."""

    def __init__(self, app, host: str = "127.0.0.1", timeout: float = 10.0):
        self.app, self.host, self.timeout = app, host, timeout

    def __enter__(self) -> str:
        # proto IPPROTO_TCP, as mojinet serve's own socket: asyncio sets TCP_NODELAY only then
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind((self.host, 0))
        port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning",
                                                     access_log=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="mojinet-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the web server did not start")
            time.sleep(0.01)
        self.url = f"http://{self.host}:{port}"
        return self.url

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(self.timeout)
        self._sock.close()
