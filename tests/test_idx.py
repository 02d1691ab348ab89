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
        (_header(dims=(60000, 28, 28)) + bytes(100), "truncated|compressed file"),
        (bytes([0, 0, 8, 33]) + bytes(4 * 33), "33 dimensions; 1 to 32"),
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


# ----------------------------------------------------------------------------- inflation caps
def _gzip_of_zeros(path, dims, code=0x08):
    """A gzip file whose IDX header declares ``dims`` and whose data is all zeros (a bomb)."""
    n = int(np.prod(dims)) * {0x08: 1, 0x0B: 2, 0x0D: 4}[code]
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(_header(code, dims))
        for start in range(0, n, 1 << 22):
            f.write(bytes(min(1 << 22, n - start)))
    return n


def test_gzip_bomb_is_refused_from_its_header(tmp_path):
    path = tmp_path / "bomb.idx.gz"
    n = _gzip_of_zeros(path, (1000, 200, 200))  # 40 MB of zeros in ~40 kB
    size = path.stat().st_size
    assert n / size > 500
    with pytest.raises(IDXError) as info:
        read_idx(path)
    message = str(info.value)
    assert "over the 50× limit" in message and f"{n:,} bytes" in message
    assert "max_ratio=N" in message and "MOJINET_IDX_MAX_RATIO" in message
    # Trusted, it reads: per call, or through the environment.
    assert read_idx(path, max_ratio=2000).shape == (1000, 200, 200)


def test_ratio_limit_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "bomb.idx.gz"
    _gzip_of_zeros(path, (1000, 200, 200))
    monkeypatch.setenv("MOJINET_IDX_MAX_RATIO", "5000")
    assert read_idx(path).sum() == 0
    monkeypatch.setenv("MOJINET_IDX_MAX_RATIO", "lots")
    with pytest.raises(IDXError, match="MOJINET_IDX_MAX_RATIO='lots' is not a number"):
        read_idx(path)


def test_small_files_are_not_ratio_checked(tmp_path):
    """Sorted labels compress far better than images; under 16 MiB declared, no ratio check."""
    path = tmp_path / "labels.idx.gz"
    write_idx(path, np.repeat(np.arange(10, dtype=np.uint8), 100_000))  # 1 MB → ~1 kB
    assert (1_000_000 / path.stat().st_size) > 500
    assert read_idx(path).shape == (1_000_000,)


def test_absolute_limit_and_how_to_raise_it(tmp_path, monkeypatch):
    path = tmp_path / "a.idx"
    write_idx(path, np.zeros((100, 100), dtype=np.float32))
    with pytest.raises(IDXError, match=r"over the 10,000-byte limit.*max_bytes=N.*"
                       r"MOJINET_IDX_MAX_BYTES=N"):
        read_idx(path, max_bytes=10_000)
    monkeypatch.setenv("MOJINET_IDX_MAX_BYTES", "10000")
    with pytest.raises(IDXError, match="over the 10,000-byte limit"):
        read_idx(path)
    assert read_idx(path, max_bytes=40_000).shape == (100, 100)
    with pytest.raises(IDXError, match="must be positive"):
        read_idx(path, max_bytes=0)


def test_uncompressed_size_is_checked_before_reading(tmp_path):
    path = tmp_path / "lie.idx"
    path.write_bytes(_header(dims=(3_000_000_000,)) + bytes(10))  # declares 3 GB, holds 10 B
    with pytest.raises(IDXError, match="truncated — expected 3,000,000,000 bytes.*found 10"):
        read_idx(path)


def test_reading_needs_the_array_and_no_more(tmp_path):
    """No second copy (the old ``.astype``): the result is written in place, byte-swapped."""
    import tracemalloc

    a = np.arange(2_000_000, dtype=np.int32).reshape(1000, 2000)  # 8 MB
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, a)
        tracemalloc.start()
        b = read_idx(tmp_path / name)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        np.testing.assert_array_equal(a, b)
        assert b.dtype == np.dtype(np.int32) and b.flags.writeable
        assert peak < a.nbytes + 3 * 2**20, (name, peak)  # the array, plus 1 MiB chunks


# ----------------------------------------------------------------------------- paths
def test_name_over_255_bytes_gets_a_clear_error(tmp_path):
    long = tmp_path / ("é" * 130 + ".idx")  # 264 bytes in UTF-8
    with pytest.raises(IDXError, match=r"is 264 bytes long, over the 255-byte limit"):
        read_idx(long)
    with pytest.raises(IDXError, match=r"cannot write .*255-byte limit"):
        write_idx(long, np.zeros(3, np.uint8))
    # A legal name too long for the temporary file beside it.
    with pytest.raises(IDXError, match="too long for this file system"):
        write_idx(tmp_path / ("a" * 250 + ".idx"), np.zeros(3, np.uint8))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_only_regular_files_are_read(tmp_path, kind):
    """A pipe named like an IDX file would block ``open`` for ever."""
    import os

    path = tmp_path / "x.idx"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    with pytest.raises(IDXError, match="not a regular file"):
        read_idx(path)


# ----------------------------------------------------------------------------- fuzzing
def _valid_idx_bytes(draw_st, st):
    """A well-formed IDX file: few small dimensions, or (the odd corners) up to 255 dimensions
    of sizes 0–2 and 2³²−1 — as long as the data stays small."""
    code = draw_st(st.sampled_from(sorted(IDX_CODES)))
    if draw_st(st.booleans()):
        dims = draw_st(st.lists(st.integers(0, 6), min_size=1, max_size=4))
    else:
        dims = draw_st(st.lists(st.sampled_from([0, 1, 2, 2**32 - 1]), min_size=1, max_size=255))
        if np.prod(np.array(dims, dtype=object)) > 4096:
            dims.append(0)  # no data at all: 0 in any dimension
            dims = dims[-255:]
    n = int(np.prod(np.array(dims, dtype=object))) * IDX_CODES[code]
    return _header(code, dims) + draw_st(st.binary(min_size=n, max_size=n))


IDX_CODES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def test_fuzzed_idx_files_give_idx_error_or_a_valid_array(tmp_path_factory):
    """Mutated IDX bytes (flips, cuts, insertions, random headers; raw or gzipped): reading
    gives an IDXError or an array that matches its header, within a second and 64 MB each."""
    import resource
    import time

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    folder = tmp_path_factory.mktemp("fuzz")

    @st.composite
    def mutated(draw):
        data = bytearray(_valid_idx_bytes(draw, st))
        for _ in range(draw(st.integers(0, 4))):
            i = draw(st.integers(0, len(data)))
            op = draw(st.sampled_from(["flip", "cut", "insert", "set"]))
            if op == "flip" and i < len(data):
                data[i] ^= 1 << draw(st.integers(0, 7))
            elif op == "cut":
                del data[i:i + draw(st.integers(1, 16))]
            elif op == "insert":
                data[i:i] = draw(st.binary(min_size=1, max_size=8))
            elif i < len(data):
                data[i] = draw(st.integers(0, 255))
        gz = draw(st.booleans())
        return (gzip.compress(bytes(data)) if gz else bytes(data)), gz

    @given(mutated())
    @settings(max_examples=300, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(sample):
        raw, gz = sample
        path = folder / ("f.idx.gz" if gz else "f.idx")
        path.write_bytes(raw)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        try:
            a = read_idx(path, max_bytes=64 * 2**20)
        except IDXError:
            return
        finally:
            assert time.perf_counter() - started < 1.0
            assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024
        head = gzip.decompress(raw) if gz else raw
        code, ndim = head[2], head[3]
        assert a.dtype.itemsize == IDX_CODES[code] and a.ndim == ndim
        assert a.shape == struct.unpack(f">{ndim}I", head[4:4 + 4 * ndim])
        stored = head[4 + 4 * ndim:]
        assert a.astype(a.dtype.newbyteorder(">")).tobytes() == stored

    check()
