"""The one dataset type used everywhere: images as rows of input activations, labels, classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples for a network.

    X: (n, height·width) float32 input activations in [0, 1] (1 = ink, 0 = background)
    y: (n,) int64 class indices into ``classes``
    classes: the label of each class as text ("0" … "9", "あ", "日", …)
    image_shape: (height, width) of one image, so rows can be shown as pictures again
    """

    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    image_shape: tuple[int, int]
    name: str = ""

    def __post_init__(self):
        if self.X.ndim != 2:
            raise ValueError(f"Dataset.X must be 2-D (n, features), got shape {self.X.shape}")
        if self.y.shape != (len(self.X),):
            raise ValueError(
                f"Dataset.y must have shape ({len(self.X)},) to match X, got {self.y.shape}"
            )
        h, w = self.image_shape
        if h * w != self.X.shape[1]:
            raise ValueError(
                f"image_shape {self.image_shape} has {h * w} pixels but X rows have "
                f"{self.X.shape[1]}"
            )
        if len(self.y) and (self.y.min() < 0 or self.y.max() >= len(self.classes)):
            raise ValueError(
                f"labels must be in [0, {len(self.classes)}) for {len(self.classes)} classes; "
                f"found {self.y.min()}..{self.y.max()}"
            )

    @classmethod
    def from_images(cls, images: np.ndarray, labels: np.ndarray, classes=None, name: str = ""):
        """Build from uint8 images (n, h, w) with 0 = background and labels (n,)."""
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != 3:
            raise ValueError(f"images must have shape (n, height, width), got {images.shape}")
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if classes is None:
            classes = [str(c) for c in range(int(labels.max()) + 1 if len(labels) else 0)]
        n, h, w = images.shape
        if images.dtype == np.uint8:
            X = images.reshape(n, h * w).astype(np.float32)
            X *= np.float32(1 / 255)
        else:
            X = images.reshape(n, h * w).astype(np.float32)
        return cls(X, labels.astype(np.int64), tuple(classes), (h, w), name)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def images(self) -> np.ndarray:
        """The samples as images: (n, height, width)."""
        return self.X.reshape(len(self), *self.image_shape)

    def subset(self, index) -> Dataset:
        """The samples at ``index`` (an int n means the first n)."""
        if isinstance(index, (int, np.integer)):
            index = slice(0, int(index))
        return Dataset(self.X[index], self.y[index], self.classes, self.image_shape, self.name)

    def split(self, n_holdout: int, seed: int | None = None) -> tuple[Dataset, Dataset]:
        """(rest, holdout): hold out ``n_holdout`` samples, the last ones or, with a seed, random
        ones. ``mnist.split(10_000)`` gives Nielsen's 50,000 / 10,000 training/validation split."""
        if not 0 < n_holdout < len(self):
            raise ValueError(
                f"cannot hold out {n_holdout} of {len(self)} samples; choose 0 < n < {len(self)}"
            )
        if seed is None:
            order = np.arange(len(self))
        else:
            order = np.random.default_rng(seed).permutation(len(self))
        return self.subset(np.sort(order[:-n_holdout])), self.subset(np.sort(order[-n_holdout:]))
