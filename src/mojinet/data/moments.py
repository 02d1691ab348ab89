"""Moment normalisation: every character resized by its own moments, to a standard aspect.

Handwritten-character recognisers have long normalised the *shape* of a character, not only its
box, before reading it (C.-L. Liu, K. Nakashima, H. Sako and H. Fujisawa, "Handwritten digit
recognition: investigation of normalization and feature extraction techniques", Pattern
Recognition 37 (2004) 265–279): a narrow hand and a wide one become alike, so the classifier
need not learn every aspect. ``fit_and_center`` (and the synthetic writer's ``render.draw``)
keep the ink box's aspect; moment normalisation maps it to a standard one.

For an image I (rows y downwards, columns x, ink = 1), with mass M = Σ I:

- the centroid x_c = Σ x I / M, y_c = Σ y I / M (pixel centres at x + ½, y + ½);
- the second central moments μ20 = Σ (x − x_c)² I / M and μ02 = Σ (y − y_c)² I / M, and the
  moment box W₁ = 4 √μ20 wide, H₁ = 4 √μ02 tall (a solid rectangle's is 2/√3 ≈ 1.15 times
  its box, so the normalised ink is a little smaller than ``fit_and_center``'s);
- the aspect R₁ = min(W₁, H₁) / max(W₁, H₁) mapped to R₂ = √sin(π R₁ / 2) (Liu et al.'s
  "square root of sine" mapping: near 1 for all but very narrow shapes, which stay narrower);
- the normalised box: its longer side L = ``box`` pixels (20/28 of the field, as MNIST), its
  shorter R₂ L, on the side the character is shorter: W₂ = L, H₂ = R₂ L if W₁ ≥ H₁, else
  W₂ = R₂ L, H₂ = L;
- the output O(u, v) = I(x_c + (u − c)·W₁/W₂, y_c + (v − c)·H₁/H₂), c = size/2 the field's
  centre (pixel centres again), sampled bilinearly, 0 outside the image.

So the centroid lands on the centre and the moment box on the normalised box; a character
stretched in width or height comes out (nearly) the same. A blank image stays blank. The
module works on whole batches (n, h·w) at once; ``InputFeatures`` applies it after every
distortion at training time and to every image read (``features`` "moments" or
"moments+directions", then the direction planes of the normalised image).
"""

from __future__ import annotations

import numpy as np

__all__ = ["moment_normalise", "moment_boxes"]

MOMENT_SPAN = 4.0  # W₁ = 4 √μ20


def moment_boxes(images: np.ndarray) -> tuple[np.ndarray, ...]:
    """(n, h, w) images → (x_c, y_c, W₁, H₁), each (n,): centroids and moment boxes in pixels
    (a blank image: its centre and a box of 0)."""
    n, h, w = images.shape
    mass = images.sum(axis=(1, 2))  # (n,)
    safe = np.where(mass > 0, mass, 1.0)
    x = np.arange(w) + 0.5  # (w,) pixel centres
    y = np.arange(h) + 0.5  # (h,)
    col = images.sum(axis=1)  # (n, w) ink in each column
    row = images.sum(axis=2)  # (n, h) ink in each row
    xc = np.where(mass > 0, col @ x / safe, w / 2)  # (n,)
    yc = np.where(mass > 0, row @ y / safe, h / 2)  # (n,)
    mu20 = (col * (x[None, :] - xc[:, None]) ** 2).sum(axis=1) / safe  # (n,)
    mu02 = (row * (y[None, :] - yc[:, None]) ** 2).sum(axis=1) / safe  # (n,)
    return xc, yc, MOMENT_SPAN * np.sqrt(mu20), MOMENT_SPAN * np.sqrt(mu02)


def moment_normalise(X: np.ndarray, image_shape: tuple[int, int], box: int | None = None
                     ) -> np.ndarray:
    """Images X (n, h·w) (or (h·w,)) in [0, 1] → the same shape, float32, each moment-
    normalised as the module docstring says, into ``box`` pixels (default round(20/28 · h))."""
    X = np.asarray(X, dtype=np.float32)
    one = X.ndim == 1
    if one:
        X = X[None, :]
    h, w = image_shape
    if X.ndim != 2 or X.shape[1] != h * w:
        raise ValueError(f"moment_normalise: X must be (n, {h * w}) images of {h}×{w}, got "
                         f"shape {X.shape}")
    L = float(box if box is not None else max(1, round(h * 20 / 28)))
    n = len(X)
    images = X.reshape(n, h, w).astype(np.float64)
    xc, yc, W1, H1 = moment_boxes(images)
    longer, shorter = np.maximum(W1, H1), np.minimum(W1, H1)
    R1 = np.where(longer > 0, shorter / np.maximum(longer, 1e-9), 1.0)  # (n,) in [0, 1]
    R2 = np.sqrt(np.sin(np.pi / 2 * R1))  # (n,)
    W2 = np.where(W1 >= H1, L, R2 * L)  # (n,)
    H2 = np.where(W1 >= H1, R2 * L, L)  # (n,)
    sx = np.where(W1 > 0, W1 / np.maximum(W2, 1e-9), 1.0)  # (n,) input pixels per output pixel
    sy = np.where(H1 > 0, H1 / np.maximum(H2, 1e-9), 1.0)
    u = np.arange(w) + 0.5 - w / 2  # (w,) output pixel centres about the field's centre
    v = np.arange(h) + 0.5 - h / 2  # (h,)
    src_x = xc[:, None] + u[None, :] * sx[:, None] - 0.5  # (n, w) input column coordinates
    src_y = yc[:, None] + v[None, :] * sy[:, None] - 0.5  # (n, h)
    out = _bilinear(images, src_y, src_x)  # (n, h, w)
    out = out.reshape(n, h * w).astype(np.float32)
    return out[0] if one else out


def _bilinear(images: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
    """images (n, h, w) sampled at the grid src_y (n, H) × src_x (n, W) (pixel-index
    coordinates), bilinearly, 0 outside: (n, H, W). The grid is separable, so the sampling is
    two products with interpolation matrices: O = Mʸ · I · (Mˣ)ᵀ."""
    My = _interpolation(src_y, images.shape[1])  # (n, H, h)
    Mx = _interpolation(src_x, images.shape[2])  # (n, W, w)
    return My @ images @ Mx.transpose(0, 2, 1)  # (n, H, W)


def _interpolation(src: np.ndarray, size: int) -> np.ndarray:
    """(n, m) coordinates → (n, m, size) linear-interpolation weights: row j puts 1 − t on
    ⌊src⌋ and t on ⌊src⌋ + 1 (t = src − ⌊src⌋), leaving out indices outside [0, size)."""
    n, m = src.shape
    lo = np.floor(src)  # (n, m)
    t = src - lo
    lo = lo.astype(np.intp)
    M = np.zeros((n, m, size + 2))  # columns −1 … size: a border
    rows = np.arange(n)[:, None], np.arange(m)[None, :]
    M[(*rows, np.clip(lo, -1, size) + 1)] += 1 - t
    M[(*rows, np.clip(lo + 1, -1, size) + 1)] += t
    return M[:, :, 1:-1]  # the border columns are the outside, which reads 0
