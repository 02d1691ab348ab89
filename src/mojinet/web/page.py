"""The draw page's files, the same for ``mojinet serve`` and the static export.

``static/`` holds the page: ``index.html``, ``style.css`` and four scripts — ``net.js`` (the
preprocessing and the network in JavaScript), ``backend.js`` (where answers come from: the
server's API, or ``net.js`` on an exported model), ``app.js`` (the page itself) and
``learn.js`` ("not what I wrote?" and "learn my hand", shown only by a server that learns).
Generated here: ``palette.css`` (the sign colours of ``viz.palette``) and the favicon.
``index_html(backend)`` is the page for one backend (``server`` or ``static``).

No web framework here (the static export works without the ``web`` extra).
"""

from __future__ import annotations

import io
from importlib import resources

from ..viz import palette

#: The page's files in ``static/`` besides index.html (also what the export copies).
STATIC_FILES = ("app.js", "backend.js", "learn.js", "net.js", "style.css")
BACKENDS = ("server", "static")
_MARK = 'data-backend="server"'


def static_text(name: str) -> str:
    return (resources.files("mojinet.web") / "static" / name).read_text(encoding="utf-8")


def index_html(backend: str = "server", head: str = "") -> str:
    """The page, reading its answers from ``backend``; ``head`` is added to its <head>."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    html = static_text("index.html")
    if html.count(_MARK) != 1 or html.count("</head>") != 1:
        raise RuntimeError("static/index.html must have one <body data-backend=\"server\"> and "
                           "one </head>; the page was edited wrongly")
    return html.replace(_MARK, f'data-backend="{backend}"').replace("</head>", head + "</head>")


def palette_css() -> str:
    return palette.css()


def favicon_ico() -> bytes:
    """文 (moji, the 'mo' of mojinet) in white strokes on the page's dark blue, as an ICO."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, 63, 63), radius=12, fill=(27, 35, 48, 255))
    for stroke in [((32, 8), (32, 18)), ((10, 22), (54, 22)), ((19, 26), (50, 56)),
                   ((45, 26), (13, 56))]:
        d.line(stroke, fill="white", width=7)
    buf = io.BytesIO()
    img.save(buf, "ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return buf.getvalue()
