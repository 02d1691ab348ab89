"""IDX files: round trips for every dtype, and every way a file can be broken."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from mojinet import IDXError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", [(5,), (3, 4, 2), (2, 28, 28)])
def test_round_trip(tmp_path, rng, dtype, suffix, shape):
    a = (rng.uniform(-100, 100, size=shape)).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == shape
    np.testing.assert_array_equal(a, b)


def test_layout_is_big_endian_idx(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int16))
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0B, 2])
    assert struct.unpack(">II", raw[4:12]) == (2, 3)
    assert struct.unpack(">6h", raw[12:]) == (1, 2, 3, 4, 5, 6)


def test_reads_real_mnist_labels_header():
    from mojinet.data.registry import _bundled_dir

    labels = read_idx(_bundled_dir() / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10_000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist()[:2] == [980, 1135]


def _header(code=0x08, dims=(2, 3)):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize(
    "payload,message",
    [
        (b"", "truncated"),
        (b"\x00\x00", "truncated"),
        (b"\x50\x4b\x03\x04" + bytes(20), "not an IDX file"),
        (_header(code=0x0A) + bytes(6), "unknown IDX dtype code 0x0a"),
        (bytes([0, 0, 8, 0]), "0 dimensions"),
        (bytes([0, 0, 8, 3, 0, 0]), "truncated.*dimension sizes"),
        (_header() + bytes(5), "truncated.*expected 6 bytes"),
        (_header() + bytes(7), "oversized"),
        (_header(dims=(60000, 28, 28)) + bytes(100), "truncated"),
        (_header(code=0x0E, dims=(2**31, 2**31, 2**31)), "over the"),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_broken_files_get_clear_errors(tmp_path, payload, message, compress):
    path = tmp_path / ("bad.idx.gz" if compress else "bad.idx")
    path.write_bytes(gzip.compress(payload) if compress else payload)
    with pytest.raises(IDXError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.idx.gz"
    full = gzip.compress(_header(dims=(100, 100)) + bytes(range(256)) * 40)
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(IDXError, match="cut.idx.gz"):
        read_idx(path)


def test_corrupt_gzip_stream(tmp_path):
    path = tmp_path / "junk.idx.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(200)))
    with pytest.raises(IDXError, match="damaged"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such IDX file"):
        read_idx(tmp_path / "nope.idx")


@pytest.mark.parametrize("bad", [np.array([1 + 2j]), np.array(["a"]), np.array(3, dtype=np.uint8),
                                 np.array([1], dtype=np.uint16)])
def test_write_refuses_what_idx_cannot_hold(tmp_path, bad):
    with pytest.raises(IDXError):
        write_idx(tmp_path / "x.idx", bad)
    assert not list(tmp_path.iterdir())
