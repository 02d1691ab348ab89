"""Shared fixtures. Tests never use the network; real data comes from ../shared/data or the
bundled MNIST, small data is made on the spot."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _shared_data() -> Path:
    """``../shared/data`` beside the checkout; a worktree in ``wt/NAME`` finds it higher up."""
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return ROOT.parent / "shared" / "data"


SHARED_DATA = _shared_data()
IN_CI = bool(os.environ.get("CI"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def mnist_small():
    """2,000 training and 1,000 test images from the bundled MNIST."""
    from mojinet import load_dataset

    return load_dataset("mnist", "train").subset(2000), load_dataset("mnist", "test").subset(1000)


@pytest.fixture(scope="session", autouse=True)
def _nothing_written_where_the_tests_run():
    """No test may leave a file in the folder the suite runs from (a run whose ``out`` fell back
    to the default ``mojinet-mnist.npz`` once did, and a later test then found it there)."""
    here = Path.cwd()
    before = set(here.iterdir())
    yield
    left = sorted(p.name for p in set(here.iterdir()) - before
                  if p.suffix in (".npz", ".toml", ".json", ".png", ".csv"))
    assert not left, f"tests left files in {here}: {left}"
