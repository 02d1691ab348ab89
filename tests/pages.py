"""Helpers for the draw page's browser tests: Chromium through Playwright, digits' strokes, the
served page and the static export, drawing with mouse or touch."""

from __future__ import annotations

import contextlib
import functools
import http.server
import math
import os
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = bool(os.environ.get("CI"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "artifacts"
SETTLED = ("() => document.querySelector('#prediction').dataset.version == window.mojinet.version"
           " && !window.mojinet.inflight && !window.mojinet.pending")


def need(what: str, ok: bool):
    if not ok:
        message = f"the browser test needs {what}"
        if IN_CI:
            pytest.fail(f"{message} (CI must install it: see .ci/run)")
        pytest.skip(message)


# The strokes of some digits, in pad coordinates from 0 to 1 (x right, y down).
def _ellipse(cx, cy, rx, ry, n=24, start=-math.pi / 2):
    return [(cx + rx * math.cos(start + 2 * math.pi * k / n),
             cy + ry * math.sin(start + 2 * math.pi * k / n)) for k in range(n + 1)]


def _arc(cx, cy, r, a0, a1, n=10):
    return [(cx + r * math.cos(a0 + (a1 - a0) * k / n), cy + r * math.sin(a0 + (a1 - a0) * k / n))
            for k in range(n + 1)]


DIGITS = {
    "0": [_ellipse(0.5, 0.5, 0.2, 0.32)],
    "1": [[(0.52, 0.15), (0.48, 0.85)]],
    "2": [_arc(0.5, 0.34, 0.19, math.pi * 1.1, math.pi * 2.2) + [(0.3, 0.84), (0.74, 0.84)]],
    "3": [_arc(0.48, 0.32, 0.17, -math.pi * 0.9, math.pi * 0.5)
          + _arc(0.48, 0.66, 0.19, -math.pi * 0.5, math.pi * 0.9)],
    "4": [[(0.58, 0.15), (0.26, 0.6), (0.76, 0.6)], [(0.6, 0.35), (0.6, 0.88)]],
    "7": [[(0.26, 0.2), (0.74, 0.2), (0.42, 0.86)]],
}


@contextlib.contextmanager
def chromium():
    need(f"Chromium at {CHROMIUM} (apt-get install chromium)", Path(CHROMIUM).exists())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("the playwright package (pip install playwright)", False)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def ready_page(browser, url, **context):
    """A page at ``url``, loaded and ready; ``page.errors`` collects script errors."""
    ctx = browser.new_context(**({"viewport": {"width": 1400, "height": 900}} | context))
    page = ctx.new_page()
    try:
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("body[data-state=idle]", timeout=15_000)
        yield page
    finally:
        ctx.close()


@contextlib.contextmanager
def served_page(browser, model, name, app_options=None, **context):
    """The draw page of ``mojinet serve`` for ``model`` (``app_options``: more arguments of
    ``create_app``, e.g. a samples folder)."""
    from mojinet.web.app import create_app
    from webserver import BackgroundServer

    app = create_app(model, name, **(app_options or {}))
    with BackgroundServer(app) as url, ready_page(browser, url + "/", **context) as page:
        yield page


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """A static host that lets browsers cache for ten minutes, as GitHub Pages does."""

    def end_headers(self):
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def static_host(folder):
    """A plain static file server (Python's http.server) for ``folder``; yields its URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextlib.contextmanager
def static_page(browser, model, folder, name="model.npz", **context):
    """The static export of ``model`` in ``folder``, served by a plain file server."""
    from mojinet.export.web import export_web

    export_web(model, folder, name=name)
    with static_host(folder) as url, ready_page(browser, url, **context) as page:
        page.requests = []
        page.on("request", lambda r: page.requests.append(r.url))
        yield page


def pad_point(page, x, y, inset=6):
    box = page.locator("#pad").bounding_box()
    return (box["x"] + inset + x * (box["width"] - 2 * inset),
            box["y"] + inset + y * (box["height"] - 2 * inset))


def draw(page, strokes):
    """Draw strokes with the mouse on the pad, then wait for the prediction of the final drawing."""
    for stroke in strokes:
        page.mouse.move(*pad_point(page, *stroke[0]))
        page.mouse.down()
        steps = 1 if len(stroke) > 6 else 4  # curves are dense already; lines get a few moves
        for x, y in stroke[1:]:
            page.mouse.move(*pad_point(page, x, y), steps=steps)
        page.mouse.up()
    page.wait_for_function(SETTLED, timeout=15_000)
