"""Make real-looking pictures of MNIST digits: dark ink on a white canvas, scaled, off-centre,
saved as JPEG — the kind of file a person hands to `mojinet predict`."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def drawn_digit(image28: np.ndarray, rng: np.random.Generator, canvas: int = 200,
                fmt: str = "JPEG") -> bytes:
    """image28: (28, 28) float in [0, 1], ink = 1. Returns the encoded file's bytes."""
    ink = Image.fromarray((image28 * 255).astype(np.uint8))
    side = int(rng.integers(canvas // 3, canvas * 2 // 3))
    ink = ink.resize((side, side), Image.Resampling.BILINEAR)
    paper = Image.new("L", (canvas, canvas), 255)
    left, top = (int(v) for v in rng.integers(0, canvas - side, size=2))
    dark = Image.fromarray(255 - np.asarray(ink))
    paper.paste(dark, (left, top))
    rgb = Image.merge("RGB", [paper] * 3)
    buf = io.BytesIO()
    rgb.save(buf, fmt, quality=85) if fmt == "JPEG" else rgb.save(buf, fmt)
    return buf.getvalue()


def bars_sample(label: str, k: int, writer: str, wobble: float = 0.0):
    """A strokes ``Sample`` of k horizontal bars (一, 二, 三) in a 100-unit box, as someone might
    write them (``wobble`` bends them)."""
    from mojinet.data.strokes import make_sample

    ys = np.linspace(20, 80, k) if k > 1 else [50]
    strokes = [[(15 + wobble, y), (50, y - 2 - wobble), (85, y + wobble)] for y in ys]
    return make_sample(label, strokes, (100, 100), f"test:{writer}", writer=writer,
                       source="mojinet")
