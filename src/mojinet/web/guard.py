"""ASGI middlewares that stand between the network and the draw page's app.

- ``SecurityHeaders``: Content-Security-Policy (per path), nosniff, no referrer, no framing;
- ``HeaderCheck``: headers at most 16 KiB in all (else 431); the Host header must name this
  server (DNS-rebinding defence), else 400;
- ``BodyLimit``: request bodies are read here, capped in size (413), in time (408) and in how
  many may be held at once (503 with Retry-After), before the app sees a byte.

Every refusal is a JSON ``{"detail": "..."}`` saying what is wrong and what to do, the same
shape as the app's own errors (the ``Problem`` schema of ``/openapi.json``).

Plain ASGI (no framework), so each piece reads on its own. Non-goals: authentication, TLS,
rate limiting per client.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Callable, Iterable

#: The page and the API: scripts, styles and requests from this origin only; images from here or
#: ``data:`` (the page shows the network's input as a canvas data URL); never inside a frame.
STRICT_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
#: Swagger UI and ReDoc set inline styles and ReDoc runs its search in a blob: worker; scripts
#: still come from this origin only (their init scripts are files, not inline).
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
#: Seconds a client is asked to wait after a 503.
RETRY_AFTER = 1


async def send_problem(send, status: int, detail: str, headers: Iterable = ()) -> None:
    """Send a complete ``{"detail": ...}`` response and ask the client to close the connection."""
    payload = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close"), *headers]})
    await send({"type": "http.response.body", "body": payload})


# ----------------------------------------------------------------------------- security headers
class SecurityHeaders:
    """Add the security headers to every HTTP response; ``csp(path)`` picks the policy."""

    def __init__(self, app, csp: Callable[[str], str]):
        self.app, self.csp = app, csp

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers(self.csp(scope["path"]))

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def headers(csp: str) -> list[tuple[bytes, bytes]]:
        """The headers added to a response under the policy ``csp``."""
        return [(b"content-security-policy", csp.encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"no-referrer"),
                (b"x-frame-options", b"DENY"),
                (b"cross-origin-opener-policy", b"same-origin"),
                (b"cross-origin-resource-policy", b"same-origin")]

    @classmethod
    def lines(cls, csp: str) -> bytes:
        """``headers(csp)`` as the header lines of an HTTP/1.1 response."""
        return b"".join(name + b": " + value + b"\r\n" for name, value in cls.headers(csp))


# ----------------------------------------------------------------------------- Host header
def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def allowed_hosts(bind_host: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The Host names a server listening on ``bind_host`` answers to (``None``: any).

    A loopback address answers to ``localhost``, ``127.0.0.1`` and ``::1``; another address or
    name to itself; the wildcard ``0.0.0.0``/``::`` to any IP address (a browser can only send an
    IP literal as the Host by connecting to that IP itself, so no DNS rebinding), ``localhost``
    and this machine's host name. ``extra`` adds names (``--allow-host``); ``*`` turns the check
    off. Ports are not compared, so SSH or container port forwarding keeps working.
    """
    names = {h.lower().strip("[]").rstrip(".") for h in extra}
    if "*" in names:
        return None
    host = bind_host.lower().strip("[]").rstrip(".")
    if host in ("", "0.0.0.0", "::"):
        names |= {"localhost", "*ip*", socket.gethostname().lower(), socket.getfqdn().lower()}
    elif host == "localhost" or (_is_ip(host) and ipaddress.ip_address(host).is_loopback):
        names |= LOOPBACK_NAMES | {host}
    else:
        names.add(host)
    return frozenset(names)


def host_name(value: str) -> str:
    """A Host header value → its lower-case name without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8000
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":")[0]
    return value.rstrip(".")


class HeaderCheck:
    """Refuse requests whose headers are over ``max_bytes`` in all (431), and those whose Host
    header does not name this server (400), so a web page on another site cannot reach the local
    server through a DNS name it points at 127.0.0.1 (DNS rebinding)."""

    MAX_BYTES = 16 * 1024

    def __init__(self, app, allowed: frozenset[str] | None, max_bytes: int = MAX_BYTES):
        self.app, self.allowed, self.max_bytes = app, allowed, max_bytes

    def accepts(self, header: bytes | None) -> bool:
        if self.allowed is None:
            return True
        if header is None:
            return False
        name = host_name(header.decode("latin-1"))
        return name in self.allowed or ("*ip*" in self.allowed and _is_ip(name))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if size > self.max_bytes:
            await send_problem(send, 431, f"the request headers are {size:,} bytes, over the "
                               f"{self.max_bytes:,}-byte limit")
            return
        header = dict(scope["headers"]).get(b"host")
        if self.accepts(header):
            await self.app(scope, receive, send)
            return
        names = ", ".join(sorted(n for n in self.allowed if n != "*ip*"))
        if "*ip*" in self.allowed:
            names += " or any IP address"
        got = repr(header.decode("latin-1")) if header is not None else "none"
        await send_problem(send, 400, f"this server does not answer to Host {got}; it answers to "
                           f"{names}. Open the address `mojinet serve` printed, or start it "
                           f"with --allow-host NAME")


# ----------------------------------------------------------------------------- request bodies
class BodyLimit:
    """Read request bodies here: at most ``max_bytes`` (413), within ``timeout`` s (408), and
    at most ``max_pending`` bodies held at once (503 with Retry-After).

    The app then gets the whole body in one message, so a chunked, lying or slow client cannot
    push more than ``max_bytes`` into it or hold it open. A body somewhat over the limit is read
    to its end (up to ``drain`` more bytes, discarded) before the 413 goes out, because an
    HTTP/1.1 client sends its whole body before it reads the reply and would otherwise see a
    reset connection instead of the message; a declared length beyond that is refused at once.
    A request counts as pending from its first body byte until its response is sent.
    """

    class Count:
        """How many bodies are held (``n``), shareable with the server's fast path."""

        def __init__(self):
            self.n = 0

    def __init__(self, app, max_bytes: int, timeout: float = 30.0, max_pending: int = 32,
                 drain: int | None = None, count: Count | None = None):
        self.app = app
        self.max_bytes, self.timeout, self.max_pending = max_bytes, timeout, max_pending
        self.drain = 4 * max_bytes if drain is None else drain
        self.count = BodyLimit.Count() if count is None else count

    @property
    def pending(self) -> int:
        return self.count.n

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is None and b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)  # no body (GET and the like)
            return
        if declared is not None and not declared.strip().isdigit():
            await send_problem(send, 400, "Content-Length is not a number")
            return
        length = int(declared) if declared is not None else None
        if length is not None and length > self.max_bytes + self.drain:
            await self._too_large(send)
            return
        if self.pending >= self.max_pending:
            await send_problem(send, 503, f"the server is busy ({self.pending} requests in "
                               f"progress); try again in {RETRY_AFTER} s",
                               [(b"retry-after", str(RETRY_AFTER).encode())])
            return
        self.count.n += 1
        try:
            await self._read_and_forward(scope, receive, send, length)
        finally:
            self.count.n -= 1

    async def _read_and_forward(self, scope, receive, send, length):
        try:
            async with asyncio.timeout(self.timeout):
                body = await self._read(receive, too_large=length is not None
                                        and length > self.max_bytes)
        except TimeoutError:
            await send_problem(send, 408, f"the request body did not arrive within "
                               f"{self.timeout:g} s; send it in one go")
            return
        if body is None:  # the client went away
            return
        if body is False:
            await self._too_large(send)
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive, too_large: bool) -> bytearray | bool | None:
        """The whole body; ``False`` if it is over the limit, ``None`` on a disconnect."""
        body = bytearray()
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            received += len(chunk)
            too_large = too_large or received > self.max_bytes
            if too_large:
                body.clear()  # keep nothing; just read on to the end (or the drain limit)
                if received > self.max_bytes + self.drain:
                    return False
            else:
                body += chunk
            if not message.get("more_body", False):
                return False if too_large else body

    async def _too_large(self, send):
        await send_problem(send, 413, f"request body is over the {self.max_bytes:,}-byte limit; "
                           f"send a smaller drawing (a 280×280 PNG is about 20 kB)")
