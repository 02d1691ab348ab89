"""``mojinet export MODEL --web DIR``: the draw page as static files, the network in the browser.

DIR gets::

    index.html            the draw page (the same page as `mojinet serve`, data-backend="static")
    static/               app.js, backend.js, net.js, style.css, palette.css
    model.json            what /api/model says, the input features ({name, pool}: "pixels" or
                          "pixels+directions"), the layers' shapes and activations, where each
                          array is in weights.bin, and the classes' dictionary entries
    weights.bin           every Wˡ (fan_in × fan_out, row-major) and bˡ, little-endian float32
    favicon.ico

Any static file host serves it (``python -m http.server -d DIR``, GitHub Pages, a bucket) to any
number of people; nothing is computed on the host. The page preprocesses the drawing exactly as
``mojinet.data.images.to_input`` does, makes the direction planes of a pixels+directions model
as ``mojinet.data.directions`` does, and runs the forward pass in float64 (``static/net.js``).
Browsers do not let a page opened from ``file://`` read model.json, so it needs a host.

Files are written atomically; DIR may exist (its other files are left alone).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .. import __version__
from .._files import atomic_write_bytes
from ..data.dictionary import CREDIT, CREDIT_URL, SOURCE_URL, lookup_all
from ..io import Model
from ..web.page import STATIC_FILES, favicon_ico, index_html, palette_css, static_text
from ..web.readout import model_info
from . import refuse_features

FORMAT, VERSION = "mojinet-web", 1
WEIGHTS_FILE = "weights.bin"
#: The page's Content-Security-Policy, for hosts that set no headers (a <meta> cannot say
#: frame-ancestors; set that header on the host if it matters).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'")


def weights_blob(model: Model) -> tuple[bytes, list[dict]]:
    """All weights and biases as little-endian float32, and each layer's place in the blob."""
    parts, layers, offset = [], [], 0
    for W, b, sigma in zip(model.network.weights, model.network.biases,
                           model.network.activations, strict=True):
        entry = {"fan_in": int(W.shape[0]), "fan_out": int(W.shape[1]), "activation": sigma.name}
        for key, array in (("weights", W), ("biases", b)):
            raw = np.ascontiguousarray(array, dtype="<f4").tobytes()  # W: (fan_in, fan_out)
            entry[key] = {"offset": offset, "count": int(array.size)}
            parts.append(raw)
            offset += len(raw)
        layers.append(entry)
    return b"".join(parts), layers


def model_spec(model: Model, name: str, blob: bytes, layers: list[dict]) -> dict:
    """model.json: the page's ``/api/model`` answer plus the layers and dictionary entries."""
    entries = {label: e.to_dict() for label, e in lookup_all(model.classes).items()}
    info = model_info(model, name)
    info["dictionary"] = ({"entries": len(entries),
                           "kanji": sum(e["kind"] == "kanji" for e in entries.values()),
                           "credit": CREDIT, "credit_url": CREDIT_URL, "source_url": SOURCE_URL}
                          if entries else None)
    return {"format": FORMAT, "version": VERSION, "mojinet_version": __version__, "info": info,
            "features": model.features.record(), "layers": layers, "weights_file": WEIGHTS_FILE,
            "weights_bytes": len(blob), "weights_sha256": hashlib.sha256(blob).hexdigest(),
            "dictionary": entries}


def export_web(model: Model, out_dir: str | Path, name: str = "") -> list[Path]:
    """Write the static draw page for ``model`` into ``out_dir``; returns the files written."""
    refuse_features(model, "the static draw page")
    h, w = model.image_shape
    if h != w:
        raise ValueError(f"the draw page reads square inputs; this model reads {h}×{w}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder; choose a folder for the page")
    blob, layers = weights_blob(model)
    spec = json.dumps(model_spec(model, name, blob, layers), ensure_ascii=False)
    head = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
    files = {WEIGHTS_FILE: blob, "model.json": spec.encode("utf-8"),
             "index.html": index_html("static", head).encode("utf-8"),
             "favicon.ico": favicon_ico(), "static/palette.css": palette_css().encode("utf-8")}
    files |= {f"static/{f}": static_text(f).encode("utf-8") for f in STATIC_FILES}
    written = []
    for rel, data in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        written.append(path)
    return written
