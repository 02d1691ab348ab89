"""Downloads: checksum, mirrors in order, cache hits, offline advice — on a local HTTP server."""

from __future__ import annotations

import hashlib

import pytest

from httpserver import FileServer, dead_url
from mojinet.data import fetch as fetch_mod
from mojinet.data.fetch import ChecksumError, DataNotFound, RemoteFile, fetch

PAYLOAD = b"mojinet test payload " * 100
SHA = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("MOJINET_CACHE", str(root))
    monkeypatch.delenv("MOJINET_OFFLINE", raising=False)
    return root


@pytest.fixture
def server():
    with FileServer() as s:
        yield s


def remote(*urls, known_hash=f"sha256:{SHA}", **kw) -> RemoteFile:
    return RemoteFile("payload.bin", known_hash, tuple(urls), len(PAYLOAD), **kw)


def test_cache_dir_follows_environment(cache):
    assert fetch_mod.cache_dir() == cache
    assert fetch_mod.dataset_cache("kmnist") == cache / "kmnist"


def test_download_is_verified_cached_and_then_served_from_cache(server, cache):
    server.files["/good/payload.bin"] = PAYLOAD
    f = remote(server.url("/good/payload.bin"))
    path = fetch("demo", f)
    assert path == cache / "demo" / "payload.bin"
    assert path.read_bytes() == PAYLOAD
    assert server.requests == ["/good/payload.bin"]
    assert fetch_mod.is_cached("demo", f)
    # Cache hit: no second request, even with the server's file gone.
    server.files.clear()
    assert fetch("demo", f) == path
    assert server.requests == ["/good/payload.bin"]


def test_md5_checksums_work_too(server):
    server.files["/p"] = PAYLOAD
    assert fetch("demo", remote(server.url("/p"), known_hash=f"md5:{MD5}")).read_bytes() == PAYLOAD


def test_mirrors_are_tried_in_order_until_one_verifies(server, cache):
    server.files["/bad/payload.bin"] = b"not the file"
    server.files["/good/payload.bin"] = PAYLOAD
    f = remote(dead_url(), server.url("/missing/payload.bin"), server.url("/bad/payload.bin"),
               server.url("/good/payload.bin"), server.url("/never/payload.bin"))
    path = fetch("demo", f)
    assert path.read_bytes() == PAYLOAD
    assert server.requests == ["/missing/payload.bin", "/bad/payload.bin", "/good/payload.bin"]


def test_checksum_mismatch_everywhere_leaves_no_file_and_says_so(server, cache):
    server.files["/bad/payload.bin"] = b"tampered" * 10
    f = remote(server.url("/bad/payload.bin"))
    with pytest.raises(DataNotFound) as e:
        fetch("demo", f)
    msg = str(e.value)
    assert "wrong checksum" in msg and SHA in msg
    folder = cache / "demo"
    assert not folder.exists() or list(folder.iterdir()) == []  # nothing half-written


def test_offline_error_says_which_file_checksum_urls_and_where_to_put_it(cache):
    urls = (dead_url("/a/payload.bin"), dead_url("/b/payload.bin"))
    f = remote(*urls)
    with pytest.raises(DataNotFound) as e:
        fetch("demo", f)
    msg = str(e.value)
    assert "payload.bin" in msg and SHA in msg and "sha256sum" in msg
    for u in urls:
        assert msg.count(u) == 2  # once as tried (with the reason), once as where to get it
    assert str(cache / "demo" / "payload.bin") in msg
    assert "--data-dir" in msg
    assert "ConnectionError" in msg


def test_offline_switch_skips_the_network(server, monkeypatch):
    server.files["/good/payload.bin"] = PAYLOAD
    monkeypatch.setenv("MOJINET_OFFLINE", "1")
    with pytest.raises(DataNotFound, match="Downloads are off"):
        fetch("demo", remote(server.url("/good/payload.bin")))
    assert server.requests == []


def test_users_own_copy_is_used_and_verified(tmp_path, server):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "payload.bin").write_bytes(PAYLOAD)
    assert fetch("demo", remote(server.url("/x")), data_dir=mine) == mine / "payload.bin"
    assert server.requests == []
    (mine / "payload.bin").write_bytes(PAYLOAD[:-1])
    with pytest.raises(ChecksumError) as e:
        fetch("demo", remote(server.url("/x")), data_dir=mine)
    actual = hashlib.sha256(PAYLOAD[:-1]).hexdigest()
    assert SHA in str(e.value) and actual in str(e.value)


def test_known_bad_version_is_named(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "payload.bin").write_bytes(b"x" * 7)
    f = remote("http://127.0.0.1:9/x", known_bad={7: "this is the old release"})
    with pytest.raises(ChecksumError, match="this is the old release"):
        fetch("demo", f, data_dir=mine)


def test_damaged_cache_copy_is_replaced_by_a_fresh_download(server, cache):
    (cache / "demo").mkdir(parents=True)
    (cache / "demo" / "payload.bin").write_bytes(b"damaged")
    server.files["/good/payload.bin"] = PAYLOAD
    assert fetch("demo", remote(server.url("/good/payload.bin"))).read_bytes() == PAYLOAD


def test_damaged_cache_copy_offline_is_an_error_not_a_silent_use(cache, monkeypatch):
    (cache / "demo").mkdir(parents=True)
    (cache / "demo" / "payload.bin").write_bytes(b"damaged")
    monkeypatch.setenv("MOJINET_OFFLINE", "1")
    with pytest.raises(ChecksumError):
        fetch("demo", remote("http://127.0.0.1:9/x"))


def test_remote_file_rejects_unknown_hash_notation():
    with pytest.raises(ValueError, match="known_hash"):
        RemoteFile("a", "crc32:1234", ())
