"""Data augmentation on the fly: every epoch sees slightly different versions of each image.

A writer's hand varies by small rotations, stretches, shifts and wobbles, so the training images
are varied the same way each time they are used (they are never stored). Each output pixel (r, c)
is read, by bilinear interpolation, from a nearby point of the original image:

    source = centre + R(θ)·diag(s_x, s_y)·(p − centre) + t + α·(G_σ ∗ u)(p)

- affine part: rotation θ ~ U(−rotate°, +rotate°), independent scalings s_x, s_y ~ 1 + U(−scale,
  +scale) and a shift t ~ U(−shift, +shift)² pixels;
- elastic part (Simard, Steinkraus & Platt 2003, "Best practices for convolutional neural networks
  applied to visual document analysis"): u is a field of random displacements U(−1, 1) for every
  pixel and both directions, G_σ ∗ u smooths it with a Gaussian of width σ pixels, and α scales it.
  Simard et al. used σ = 4 and α = 34 on MNIST. Small σ gives random noise, large σ almost an
  affine map; in between it looks like the wobble of a real pen.

Points outside the image read as background (0). Everything is vectorised over the batch and all
randomness comes from the Generator passed in, so the same seed gives the same images.

Non-goals: colour/contrast changes, flips (a mirrored 2 is not a 2), augmentation at test time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=8)
def gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    """(n, n) matrix G with G @ v = v smoothed by a Gaussian of width ``sigma`` (reflecting edges).

    A field D of shape (n, n) is smoothed in both directions by G @ D @ Gᵀ (the Gaussian is
    separable). Reflection at the edges is "half-sample symmetric", as in scipy.ndimage (d c b a |
    a b c d | d c b a); the kernel is cut at 4σ.
    """
    radius = max(1, int(4 * sigma + 0.5))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    G = np.zeros((n, n))
    for i in range(n):
        for d, k in zip(offsets, kernel):
            j = i + d
            while not 0 <= j < n:  # reflect until inside (handles radius > n)
                j = -j - 1 if j < 0 else 2 * n - j - 1
            G[i, j] += k
    return G.astype(np.float32)


def sample_bilinear(images: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """images (batch, h, w) read at float coordinates ys, xs (batch, h, w); outside reads 0.

    Bilinear: a point between pixels is the area-weighted mean of its four neighbours. The image
    is padded with background, one pixel before and two after, and coordinates are clipped into
    the padding, so every point far outside reads background and every corner index is valid.
    """
    batch, h, w = images.shape
    padded = np.zeros((batch, h + 3, w + 3), dtype=images.dtype)  # rows/cols −1 … h+1 / w+1
    padded[:, 1 : h + 1, 1 : w + 1] = images
    ys = np.clip(ys, -1, h, dtype=np.float32)  # (batch, h, w)
    xs = np.clip(xs, -1, w, dtype=np.float32)
    y0 = np.floor(ys)
    x0 = np.floor(xs)
    wy = ys - y0  # (batch, h, w) weight of the lower neighbour
    wx = xs - x0  # (batch, h, w) weight of the right neighbour
    stride = w + 3
    first = (np.arange(batch) * (h + 3) * stride)[:, None, None]  # (batch, 1, 1) image offsets
    i00 = first + (y0.astype(np.intp) + 1) * stride + (x0.astype(np.intp) + 1)  # (batch, h, w)
    flat = padded.reshape(-1)
    # (1 − wx)·left + wx·right = left + wx·(right − left), likewise for the rows.
    a00, a01 = np.take(flat, i00), np.take(flat, i00 + 1)  # (batch, h, w) upper neighbours
    i00 += stride
    a10, a11 = np.take(flat, i00), np.take(flat, i00 + 1)  # (batch, h, w) lower neighbours
    top = a00 + wx * (a01 - a00)  # (batch, h, w)
    bottom = a10 + wx * (a11 - a10)
    return top + wy * (bottom - top)  # (batch, h, w)


@lru_cache(maxsize=8)
def _centred_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of every pixel from the image centre: two (h, w) float32 arrays."""
    gy, gx = np.meshgrid(np.arange(h, dtype=np.float32) - np.float32((h - 1) / 2),
                         np.arange(w, dtype=np.float32) - np.float32((w - 1) / 2), indexing="ij")
    gy.flags.writeable = gx.flags.writeable = False
    return gy, gx


@dataclass(frozen=True)
class Augment:
    """Random affine + elastic distortion of flattened images (batch, h·w) with values in [0, 1].

    >>> aug = Augment((28, 28), rotate=10, scale=0.1, shift=2, elastic_alpha=34, elastic_sigma=4)
    >>> X_distorted = aug(X_batch, rng)          # same shape and dtype, a new array
    """

    image_shape: tuple[int, int]
    rotate: float = 0.0  # degrees, θ ~ U(−rotate, rotate)
    scale: float = 0.0  # fraction, s ~ 1 + U(−scale, scale), independently along x and y
    shift: float = 0.0  # pixels, t ~ U(−shift, shift) along x and y
    elastic_alpha: float = 0.0  # α: size of the elastic displacement (0 = none)
    elastic_sigma: float = 4.0  # σ: smoothness of the elastic displacement, in pixels

    def __post_init__(self):
        h, w = self.image_shape
        if h < 2 or w < 2:
            raise ValueError(f"augmentation needs images of at least 2×2 pixels, got {h}×{w}")
        for name, upper in (("rotate", 180), ("scale", 0.9), ("shift", max(h, w)),
                            ("elastic_alpha", 1000)):
            v = getattr(self, name)
            if not (0 <= v <= upper):
                raise ValueError(f"augmentation {name} must be in [0, {upper}], got {v}")
        if not self.elastic_sigma > 0:
            raise ValueError(f"elastic_sigma must be > 0 pixels, got {self.elastic_sigma}")

    def __bool__(self) -> bool:
        return bool(self.rotate or self.scale or self.shift or self.elastic_alpha)

    def config(self) -> dict:
        d = asdict(self)
        d["image_shape"] = list(self.image_shape)
        return d

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = self.image_shape
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != h * w:
            raise ValueError(
                f"augmentation expects rows of {h}×{w} = {h * w} pixels, got {X.shape}"
            )
        batch = len(X)
        dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float32)
        # Output pixel p = (y, x) relative to the image centre: (h, w) grids.
        cy, cx = (h - 1) / 2, (w - 1) / 2
        gy, gx = _centred_grid(h, w)  # (h, w) each

        def uniform(bound: float, shape) -> np.ndarray:  # U(−bound, bound), float32
            return (bound * (2 * rng.random(shape, dtype=np.float32) - 1)).astype(np.float32)

        theta = np.deg2rad(uniform(self.rotate, (batch, 1, 1)))  # (batch, 1, 1)
        sy = 1 + uniform(self.scale, (batch, 1, 1))  # (batch, 1, 1)
        sx = 1 + uniform(self.scale, (batch, 1, 1))
        ty, tx = uniform(self.shift, (2, batch, 1, 1))  # (batch, 1, 1) each
        cos, sin = np.cos(theta), np.sin(theta)
        ys = np.float32(cy) + cos * sy * gy + sin * sx * gx + ty  # (batch, h, w) source rows
        xs = np.float32(cx) - sin * sy * gy + cos * sx * gx + tx  # (batch, h, w) source columns

        if self.elastic_alpha:
            u = uniform(1.0, (2, batch, h, w))  # random displacements
            Gh = gaussian_matrix(h, float(self.elastic_sigma))  # (h, h)
            Gw = gaussian_matrix(w, float(self.elastic_sigma))  # (w, w)
            smooth = Gh @ u @ Gw.T  # (2, batch, h, w): G_σ ∗ u
            ys = ys + np.float32(self.elastic_alpha) * smooth[0]
            xs = xs + np.float32(self.elastic_alpha) * smooth[1]

        images = X.reshape(batch, h, w).astype(dtype, copy=False)
        out = sample_bilinear(images, ys, xs)  # (batch, h, w)
        return out.reshape(batch, h * w).astype(dtype, copy=False)


def describe(aug: Augment) -> str:
    parts = []
    if aug.rotate:
        parts.append(f"rotate ±{aug.rotate:g}°")
    if aug.scale:
        parts.append(f"scale ±{aug.scale:.0%}")
    if aug.shift:
        parts.append(f"shift ±{aug.shift:g} px")
    if aug.elastic_alpha:
        parts.append(f"elastic α {aug.elastic_alpha:g}, σ {aug.elastic_sigma:g}")
    return ", ".join(parts) or "none"


__all__ = ["Augment", "describe", "gaussian_matrix", "sample_bilinear"]
