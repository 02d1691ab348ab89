"""The KMNIST loader on the real test split in ../shared/data/kmnist (official .npz files,
MD5s in its README). Skipped where that folder is absent; CI has it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import mojinet
from conftest import SHARED_DATA
from mojinet import load_dataset
from mojinet.data.fetch import ChecksumError, DataNotFound
from mojinet.data.idx import write_idx

KMNIST = SHARED_DATA / "kmnist"
pytestmark = pytest.mark.skipif(not (KMNIST / "kmnist-test-imgs.npz").is_file(),
                                reason="../shared/data/kmnist is not here")


@pytest.fixture(autouse=True)
def offline_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOJINET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MOJINET_OFFLINE", "1")  # these tests must never download
    monkeypatch.delenv("MOJINET_DATA_DIR", raising=False)
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def kmnist_test():
    return load_dataset("kmnist", "test", data_dir=KMNIST)


def test_real_test_split_loads_verified_with_hiragana_labels(kmnist_test):
    d = kmnist_test
    assert len(d) == 10_000 and d.image_shape == (28, 28) and d.X.dtype == np.float32
    assert d.classes == tuple("おきすつなはまやれを")
    np.testing.assert_array_equal(np.bincount(d.y), [1000] * 10)  # balanced, as documented
    assert 0.0 <= d.X.min() and d.X.max() == 1.0
    # Ink is bright on a dark background, like MNIST: the border is mostly background.
    border = np.concatenate([d.images()[:, 0], d.images()[:, -1]], axis=1)
    assert border.mean() < 0.1 < d.X.mean()


def test_classes_match_the_official_classmap_file(kmnist_test):
    rows = (KMNIST / "kmnist_classmap.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert tuple(r.split(",")[2] for r in rows) == kmnist_test.classes


def test_same_split_from_the_cache_folder(offline_cache, kmnist_test):
    (offline_cache / "kmnist").mkdir(parents=True)
    for name in ("kmnist-test-imgs.npz", "kmnist-test-labels.npz"):
        shutil.copy(KMNIST / name, offline_cache / "kmnist" / name)
    d = load_dataset("kmnist", "test")
    np.testing.assert_array_equal(d.X, kmnist_test.X)
    np.testing.assert_array_equal(d.y, kmnist_test.y)


def test_idx_format_gives_the_same_data(tmp_path, kmnist_test):
    """The loader accepts both formats: IDX (.gz or decompressed) and .npz."""
    images = np.rint(kmnist_test.images() * 255).astype(np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", kmnist_test.y.astype(np.uint8))
    d = load_dataset("kmnist", "test", data_dir=tmp_path)
    np.testing.assert_array_equal(d.X, kmnist_test.X)
    np.testing.assert_array_equal(d.y, kmnist_test.y)


def test_a_damaged_copy_is_refused_with_both_checksums(tmp_path):
    data = (KMNIST / "kmnist-test-imgs.npz").read_bytes()
    (tmp_path / "kmnist-test-imgs.npz").write_bytes(data[:-10] + b"0123456789")
    shutil.copy(KMNIST / "kmnist-test-labels.npz", tmp_path)
    with pytest.raises(ChecksumError) as e:
        load_dataset("kmnist", "test", data_dir=tmp_path)
    assert "dace6de62ca8b90843cc45366337d02e" in str(e.value)


def test_missing_train_split_offline_says_what_to_download(tmp_path):
    with pytest.raises(DataNotFound) as e:
        load_dataset("kmnist", "train", data_dir=KMNIST)
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg
    assert "https://codh.rois.ac.jp/kmnist/dataset/kmnist/train-images-idx3-ubyte.gz" in msg
    assert str(tmp_path / "cache" / "kmnist") in msg
    assert "also needs" in msg and "train-labels-idx1-ubyte.gz" in msg  # the whole split


@pytest.mark.slow
def test_an_mlp_learns_real_kmnist_on_a_held_out_part(kmnist_test):
    """Images and labels line up: a small MLP trained on 8,000 of the real test images reads
    the other 2,000 far above chance (10%). (examples/kmnist_heldout.py: the full run.)"""
    train_set, held_out = kmnist_test.split(2000, seed=0)
    net = mojinet.Network([784, 64, 10], ["relu", "softmax"], "cross-entropy", init="he", seed=0)
    mojinet.train(net, train_set.X, train_set.y, optimizer=mojinet.SGD(0.1, momentum=0.9),
                  epochs=2, batch_size=64, rng=np.random.default_rng(0))
    _, accuracy = mojinet.evaluate(net, held_out.X, held_out.y)
    assert accuracy > 0.75
