"""Stroke-direction planes beside the pixels: the directional element features of Japanese OCR.

Classic Japanese character recognisers feed the classifier, besides (or instead of) the pixels,
for every place in the image *which way the strokes run there*: the local stroke direction,
quantised into four orientations — 0° (horizontal, 一), 45° (rising to the right, ／), 90°
(vertical, 丨) and 135° (falling to the right, ＼) — each a plane of the image's size, usually
pooled to a coarser grid. A kanji is mostly a set of strokes in these four directions, and a
writer who moves a stroke by a pixel or two keeps its direction, so these inputs vary less
between writers than the pixels do. Here they are simply more input neurons of the same MLP.

The math, for an image I (rows downwards, columns to the right, 0 = background, 1 = ink), zero
outside the image:

- Sobel gradients, with y pointing **up** (so that angles read as on paper)::

      gx[r, c] = (I[r-1, c+1] + 2 I[r, c+1] + I[r+1, c+1])
               − (I[r-1, c-1] + 2 I[r, c-1] + I[r+1, c-1])
      gy[r, c] = (I[r-1, c-1] + 2 I[r-1, c] + I[r-1, c+1])
               − (I[r+1, c-1] + 2 I[r+1, c] + I[r+1, c+1])

- the edge strength m = min(1, √(gx² + gy²) / 4): a step from 0 to 1 gives |g| = 4, so m = 1;
- the gradient points across the stroke's edge; the stroke runs at right angles to it:
  φ = (atan2(gy, gx) + 90°) mod 180°, in [0°, 180°);
- soft quantisation into the four planes k = 0, 1, 2, 3 (0°, 45°, 90°, 135°): with
  u = φ / 45° = k + t (k whole, 0 ≤ t < 1), plane k gets (1 − t)·m and plane (k + 1) mod 4 gets
  t·m (an edge at 30° is ⅓ horizontal, ⅔ rising). Each pixel's four values sum to m ≤ 1;
- pooling (``pool`` = p > 1): the mean over p × p blocks (the image zero-padded to whole blocks),
  a plane of ⌈h/p⌉ × ⌈w/p⌉ cells — a stroke moved within its cell keeps its features.

So every value is in [0, 1]; a horizontal bar lights plane 0 along its long edges (its short ends
light plane 2), and turning the image by 90° turns the planes and moves each to the orientation
90° on (0 ↔ 2, 1 ↔ 3).

``InputFeatures`` is the transform a model records (``RunConfig.features``): ``"pixels"`` (the
image as it is) or ``"pixels+directions"`` (the pixels, then the four pooled planes, plane by
plane, each row by row). Non-goals: other gradient operators, more than four directions, and
the blurred overlapping zones of some papers (pooling is the blur here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FEATURES", "InputFeatures", "direction_planes", "n_direction_inputs"]

#: The input features a model can read (``RunConfig.features``): the pixels as drawn or read,
#: or moment-normalised (``moments``), each alone or with the direction planes made from them.
FEATURES = ("pixels", "pixels+directions", "moments", "moments+directions")
N_PLANES = 4  # 0°, 45°, 90°, 135°
SOBEL_STEP = 4.0  # |g| of a step from 0 to 1


def _pooled_shape(image_shape: tuple[int, int], pool: int) -> tuple[int, int]:
    h, w = image_shape
    return -(-h // pool), -(-w // pool)


def n_direction_inputs(image_shape: tuple[int, int], pool: int = 1) -> int:
    """How many values ``direction_planes`` gives per image: 4 · ⌈h/pool⌉ · ⌈w/pool⌉."""
    ph, pw = _pooled_shape(image_shape, pool)
    return N_PLANES * ph * pw


def _sobel(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gx, gy) of a batch (n, h, w), y pointing up, zeros outside the image."""
    P = np.pad(images, ((0, 0), (1, 1), (1, 1)))  # (n, h + 2, w + 2)
    up, mid, down = P[:, :-2], P[:, 1:-1], P[:, 2:]  # rows r-1, r, r+1: (n, h, w + 2)
    # smoothing across the derivative's direction, then the difference along it
    columns = up + 2 * mid + down  # (n, h, w + 2)
    gx = columns[:, :, 2:] - columns[:, :, :-2]  # (n, h, w)
    rows = P[:, :, :-2] + 2 * P[:, :, 1:-1] + P[:, :, 2:]  # (n, h + 2, w)
    gy = rows[:, :-2] - rows[:, 2:]  # (n, h, w): the row above minus the row below
    return gx, gy


def _cells(image_shape: tuple[int, int], pool: int) -> np.ndarray:
    """(h, w): the index of the pooled cell each pixel falls in, row by row."""
    h, w = image_shape
    pw = -(-w // pool)
    return (np.arange(h) // pool)[:, None] * pw + (np.arange(w) // pool)[None, :]  # (h, w)


def direction_planes(X: np.ndarray, image_shape: tuple[int, int], pool: int = 1) -> np.ndarray:
    """The four stroke-direction planes of each image (see the module docstring for the math).

    X: (n, h·w) images in [0, 1], rows flattened (or (h·w,) for one). Returns float32
    (n, 4·⌈h/pool⌉·⌈w/pool⌉): plane 0° first, then 45°, 90°, 135°, each row by row.
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 1:
        X = X[None, :]
    h, w = image_shape
    if X.ndim != 2 or X.shape[1] != h * w:
        raise ValueError(f"direction_planes: X must be (n, {h * w}) images of {h}×{w}, got "
                         f"shape {X.shape}")
    if isinstance(pool, bool) or not isinstance(pool, (int, np.integer)) or pool < 1:
        raise ValueError(f"direction_planes: pool must be a whole number >= 1, got {pool!r}")
    n, pool = len(X), int(pool)
    gx, gy = _sobel(X.reshape(n, h, w))  # (n, h, w) each
    m = np.sqrt(gx * gx + gy * gy)  # (n, h, w) |g|
    m *= np.float32(1 / SOBEL_STEP)
    np.minimum(m, np.float32(1), out=m)  # edge strength in [0, 1]
    # u = φ / 45° with φ = atan2 + 90° in (−90°, 270°]: u in (−2, 6], folded into [0, 4)
    u = np.arctan2(gy, gx)  # (n, h, w) radians
    u *= np.float32(4 / np.pi)
    u += np.float32(2)
    u += np.float32(N_PLANES) * (u < 0)  # (np.mod is slow on float32 and gives the same)
    u -= np.float32(N_PLANES) * (u >= N_PLANES)
    k = u.astype(np.intp)  # (n, h, w) the plane below (u >= 0: truncation is the floor)
    t = u - k  # (n, h, w) the share of the plane above
    k %= N_PLANES  # u may round up to 4.0
    # each pixel's two shares go straight to its pooled cell: sums over the cells, then means
    ph, pw = _pooled_shape(image_shape, pool)
    n_cells = ph * pw
    where = np.arange(n)[:, None, None] * (N_PLANES * n_cells) + _cells(image_shape, pool)
    below = (where + k * n_cells).ravel()  # (n·h·w,) plane k's cell
    above = (where + (k + 1) % N_PLANES * n_cells).ravel()  # (n·h·w,) plane k + 1's cell
    size = n * N_PLANES * n_cells
    sums = (np.bincount(below, weights=((1 - t) * m).ravel(), minlength=size)
            + np.bincount(above, weights=(t * m).ravel(), minlength=size))  # (n·4·ph·pw,)
    planes = (sums / (pool * pool)).astype(np.float32).reshape(n, -1)  # (n, 4·ph·pw)
    return np.clip(planes, 0.0, 1.0, out=planes)


@dataclass(frozen=True)
class InputFeatures:
    """What a model's input neurons read, made from its images: ``name`` (one of ``FEATURES``),
    the images' ``image_shape``, and ``pool`` for the direction planes. ``features(X)`` turns
    images (n, h·w) into network inputs (n, ``n_inputs``): the pixels (``moments``: first
    moment-normalised, ``data.moments``), then the planes of those pixels if ``+directions``."""

    name: str = "pixels"
    image_shape: tuple[int, int] = (28, 28)
    pool: int = 1

    def __post_init__(self):
        if self.name not in FEATURES:
            raise ValueError(f"features must be one of {', '.join(FEATURES)}; got {self.name!r}")
        if isinstance(self.pool, bool) or not isinstance(self.pool, int) or self.pool < 1:
            raise ValueError(f"direction_pool must be a whole number >= 1, got {self.pool!r}")
        if not self.planes:  # no planes to pool: every such model reads alike
            object.__setattr__(self, "pool", 1)

    @property
    def planes(self) -> bool:
        """Whether the inputs include the direction planes."""
        return self.name.endswith("+directions")

    @property
    def moments(self) -> bool:
        """Whether the pixels are moment-normalised first (``data.moments``)."""
        return self.name.startswith("moments")

    @property
    def n_pixels(self) -> int:
        h, w = self.image_shape
        return h * w

    @property
    def n_inputs(self) -> int:
        """Input neurons: the pixels, and the planes' cells when there are planes."""
        if not self.planes:
            return self.n_pixels
        return self.n_pixels + n_direction_inputs(self.image_shape, self.pool)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Network inputs (n, n_inputs) of images X (n, h·w); X itself for "pixels"."""
        if self.name == "pixels":
            return X
        X = np.asarray(X, dtype=np.float32)
        if X.ndim == 1:
            X = X[None, :]
        if self.moments:
            from .moments import moment_normalise

            X = moment_normalise(X, self.image_shape)  # (n, h·w)
        if not self.planes:
            return X
        planes = direction_planes(X, self.image_shape, self.pool)  # (n, 4·ph·pw)
        return np.concatenate([X, planes], axis=1)  # (n, n_inputs)

    def record(self) -> dict:
        """What a model file keeps of it (``preprocessing["features"]``)."""
        return {"name": self.name, "pool": self.pool}

    @classmethod
    def from_record(cls, record: dict | None, image_shape: tuple[int, int]) -> InputFeatures:
        """The features a model file records (none recorded: the pixels)."""
        if not record:
            return cls("pixels", tuple(image_shape), 1)
        return cls(record.get("name", "pixels"), tuple(image_shape), record.get("pool", 1))
