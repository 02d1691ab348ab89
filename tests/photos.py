"""Photo-like pictures of real ink: MNIST digits or real pen strokes put on synthetic paper with
a lighting gradient, a shadow, grey paper, ruled lines, pencil, blur and JPEG — what a phone
photo of a character on a desk gives `mojinet predict`.

``Light`` says what the photo has; ``photo`` makes the file's bytes. The ink is real (an MNIST
digit, or strokes a person wrote, drawn by ``mojinet.data.render.draw``); only paper and light
are synthetic."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from mojinet.data.render import draw


@dataclass(frozen=True)
class Light:
    gradient: float = 0.0  # brightness lost from one side of the page to the other (0.15 = 15 %)
    shadow: float = 0.0  # brightness lost inside a soft-edged shadow over part of the page
    grey: float = 0.0  # how grey the paper is (0 = white)
    rules: int = 0  # ruled lines on the page (evenly spaced, thin, light)
    pencil: float = 1.0  # ink darkness (a soft pencil ≈ 0.5)
    texture: float = 0.0  # paper grain (standard deviation of its brightness)
    blur: float = 0.0  # Gaussian blur σ in page pixels
    jpeg: int | None = None  # JPEG quality, or None for PNG


def place(ink: np.ndarray, rng: np.random.Generator, canvas: int = 240) -> np.ndarray:
    """(h, w) ink (1 = ink) scaled to 1/3-2/3 of a (canvas, canvas) page at a random place."""
    side = int(rng.integers(canvas // 3, canvas * 2 // 3))
    img = Image.fromarray((np.clip(ink, 0, 1) * 255).astype(np.uint8))
    big = np.asarray(img.resize((side, side), Image.Resampling.BILINEAR), dtype=np.float64) / 255
    page = np.zeros((canvas, canvas))
    top, left = (int(v) for v in rng.integers(canvas // 12, canvas - side - canvas // 12, size=2))
    page[top:top + side, left:left + side] = big
    return page


def strokes_ink(strokes: list[np.ndarray], size: int = 112) -> np.ndarray:
    """Real pen strokes → (size, size) ink, pen width ~2.5 % of the box (as a ballpoint)."""
    return draw(strokes, size, pen=max(2.0, size * 0.035), box=round(size * 0.8))


def _light_field(n: int, light: Light, rng: np.random.Generator) -> np.ndarray:
    """(n, n) paper brightness: grey paper, a linear gradient, a soft shadow, grain."""
    yy, xx = np.mgrid[0:n, 0:n] / (n - 1)
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)) / np.sqrt(0.5) + 0.5
    P = (1.0 - light.grey) * (1.0 - light.gradient * np.clip(t, 0, 1))
    if light.shadow:
        a2 = rng.uniform(0, 2 * np.pi)
        d = np.cos(a2) * (xx - 0.5) + np.sin(a2) * (yy - 0.5) - rng.uniform(-0.3, 0.1)
        P = P * (1.0 - light.shadow / (1.0 + np.exp(-d * n / 6)))  # penumbra ~6 px
    if light.texture:
        P = P + rng.normal(0, light.texture, P.shape)
    return P


def photo(ink_page: np.ndarray, rng: np.random.Generator, light: Light) -> bytes:
    """(n, n) page ink (1 = ink) → the bytes of an RGB photo of it under ``light``."""
    n = ink_page.shape[0]
    P = _light_field(n, light, rng)
    lines = np.zeros_like(P)
    if light.rules:
        spacing = n / (light.rules + 1)
        for k in range(1, light.rules + 1):
            y = int(round(k * spacing + rng.uniform(-2, 2)))
            lines[y:y + 2, :] = 0.35  # a light printed rule, 2 px thick
    page = P * (1.0 - light.pencil * ink_page) * (1.0 - lines)
    img = Image.fromarray(np.rint(np.clip(page, 0, 1) * 255).astype(np.uint8))
    if light.blur:
        img = img.filter(ImageFilter.GaussianBlur(light.blur))
    rgb = Image.merge("RGB", [img] * 3)
    buf = io.BytesIO()
    if light.jpeg:
        rgb.save(buf, "JPEG", quality=light.jpeg)
    else:
        rgb.save(buf, "PNG")
    return buf.getvalue()


#: The photo conditions the tests and the benchmark use (each alone, then all at once).
CONDITIONS = {
    "gradient 15%": Light(gradient=0.15),
    "gradient 40%": Light(gradient=0.40, jpeg=85),
    "shadow": Light(shadow=0.35, jpeg=85),
    "grey paper": Light(grey=0.35, texture=0.01, jpeg=85),
    "ruled lines": Light(rules=6, jpeg=90),
    "pencil": Light(pencil=0.45, texture=0.01, blur=1.0, jpeg=80),
    "everything": Light(gradient=0.25, shadow=0.3, grey=0.15, rules=5, pencil=0.6, texture=0.01,
                        blur=1.0, jpeg=75),
}
