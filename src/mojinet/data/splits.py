"""Deterministic held-out splits for datasets that ship without one."""

from __future__ import annotations

import numpy as np


def holdout_indices(labels: np.ndarray, every: int = 5, seed: int = 0) -> np.ndarray:
    """Sorted indices of a "test" split: within each class, a seeded shuffle holds out
    ⌊n/every⌋ of its n samples (so classes with fewer than ``every`` samples stay in "train").
    The same labels always give the same split."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    order = np.argsort(labels, kind="stable")  # (n,) grouped by class
    if len(order) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(labels[order]) != 0])
    bounds = np.r_[starts, len(order)]
    test = [rng.permutation(order[a:b])[: (b - a) // every]
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return np.sort(np.concatenate(test)).astype(np.int64)


def split_indices(labels: np.ndarray, split: str, every: int = 5, seed: int = 0,
                  dataset: str = "dataset") -> np.ndarray:
    """Indices of "train", "test" (the seeded holdout) or "all"."""
    if split == "all":
        return np.arange(len(labels))
    test = holdout_indices(labels, every, seed)
    if split == "test":
        return test
    if split == "train":
        return np.setdiff1d(np.arange(len(labels)), test)
    raise ValueError(f"{dataset} has splits train, test and all, not {split!r}")
