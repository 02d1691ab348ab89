"""Pictures of nothing: what a user may hand `mojinet predict` that holds no character — pure
noise, paper texture, ruled paper, a photo of a blank page — each a function of a NumPy
generator returning the file's bytes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from photos import Light, photo


def _encode(a: np.ndarray, fmt: str = "PNG") -> bytes:
    img = Image.fromarray(np.rint(np.clip(a, 0, 1) * 255).astype(np.uint8)).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buf.getvalue()


def uniform_noise(rng: np.random.Generator, n: int = 200) -> bytes:
    return _encode(rng.uniform(0, 1, (n, n)))


def gaussian_noise(rng: np.random.Generator, n: int = 200) -> bytes:
    return _encode(rng.normal(rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.3), (n, n)), "JPEG")


def salt_and_pepper(rng: np.random.Generator, n: int = 200) -> bytes:
    a = np.ones((n, n))
    a[rng.uniform(size=(n, n)) < rng.uniform(0.02, 0.2)] = 0.0
    return _encode(a)


def paper_texture(rng: np.random.Generator, n: int = 240) -> bytes:
    """Grainy, blotchy paper, photographed close (JPEG)."""
    coarse = rng.normal(0, rng.uniform(0.02, 0.06), (8, 8)).astype(np.float32)
    blotch = np.asarray(Image.fromarray(coarse).resize((n, n), Image.Resampling.BICUBIC))
    grain = rng.normal(0, rng.uniform(0.01, 0.04), (n, n))
    img = Image.fromarray(np.clip((0.85 + blotch + grain) * 255, 0, 255).astype(np.uint8))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5)))
    return _encode(np.asarray(img) / 255.0, "JPEG")


def photo_of_nothing(rng: np.random.Generator, n: int = 240) -> bytes:
    """A blank page under a lamp: gradient, shadow, grey paper, grain, blur, JPEG."""
    light = Light(gradient=rng.uniform(0, 0.4), shadow=rng.uniform(0, 0.4),
                  grey=rng.uniform(0, 0.3), texture=rng.uniform(0.005, 0.02),
                  blur=rng.uniform(0, 1.5), jpeg=int(rng.integers(60, 95)))
    return photo(np.zeros((n, n)), rng, light)


def ruled_paper(rng: np.random.Generator, n: int = 240) -> bytes:
    """Lined paper with nothing written on it."""
    light = Light(gradient=rng.uniform(0, 0.2), rules=int(rng.integers(3, 9)),
                  texture=0.01, jpeg=85)
    return photo(np.zeros((n, n)), rng, light)


NOTHING = {"uniform noise": uniform_noise, "gaussian noise": gaussian_noise,
           "salt and pepper": salt_and_pepper, "paper texture": paper_texture,
           "photo of nothing": photo_of_nothing, "ruled paper": ruled_paper}
