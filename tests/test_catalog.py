"""The downloadable datasets, end to end on small files served from 127.0.0.1: the catalog's
loaders find, download, verify, decode and label them as the real files would be."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

from httpserver import FileServer
from mojinet import load_dataset
from mojinet.data import catalog
from mojinet.data.fetch import DataNotFound, RemoteFile
from mojinet.data.idx import write_idx


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("MOJINET_CACHE", str(root))
    monkeypatch.delenv("MOJINET_OFFLINE", raising=False)
    monkeypatch.delenv("MOJINET_DATA_DIR", raising=False)
    return root


@pytest.fixture
def server():
    with FileServer() as s:
        yield s


def served(server, name: str, payload: bytes, alg: str = "sha256") -> RemoteFile:
    """Serve ``payload`` behind a dead first mirror; return its RemoteFile."""
    server.files[f"/m2/{name}"] = payload
    digest = hashlib.new(alg, payload).hexdigest()
    mirrors = (server.url(f"/m1/{name}"), server.url(f"/m2/{name}"))
    return RemoteFile(name, f"{alg}:{digest}", mirrors, len(payload))


def idx_gz(array: np.ndarray, tmp_path) -> bytes:
    path = tmp_path / "tmp.gz"
    write_idx(path, array)
    return path.read_bytes()


def npz_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, arr_0=array)
    return buf.getvalue()


def as_uint8(data) -> np.ndarray:
    """The dataset's images back as the uint8 pixels they were read from."""
    return np.rint(data.images() * 255).astype(np.uint8)


def small_images(rng, n=12, side=28):
    return rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)


def test_kmnist_downloads_idx_and_labels_hiragana(server, monkeypatch, tmp_path, rng, cache):
    images, labels = small_images(rng), np.arange(12, dtype=np.uint8) % 10
    files = [catalog.SplitFiles(
        "idx", served(server, "t10k-images-idx3-ubyte.gz", idx_gz(images, tmp_path)),
        served(server, "t10k-labels-idx1-ubyte.gz", idx_gz(labels, tmp_path)))]
    monkeypatch.setitem(catalog.KMNIST_FILES, "test", files)
    data = load_dataset("kmnist", "test")
    np.testing.assert_array_equal(as_uint8(data), images)
    np.testing.assert_array_equal(data.y, labels)
    assert data.classes == tuple("おきすつなはまやれを") and data.image_shape == (28, 28)
    assert (cache / "kmnist" / "t10k-images-idx3-ubyte.gz").is_file()
    n = len(server.requests)
    load_dataset("kmnist", "test")  # from the cache: no requests
    assert len(server.requests) == n


def test_kmnist_npz_in_cache_is_used_without_network(monkeypatch, rng, cache):
    images, labels = small_images(rng), np.arange(12, dtype=np.uint8) % 10
    def md5(a):
        return "md5:" + hashlib.md5(npz_bytes(a)).hexdigest()

    f_img = RemoteFile("kmnist-test-imgs.npz", md5(images), ("http://127.0.0.1:9/x",))
    f_lab = RemoteFile("kmnist-test-labels.npz", md5(labels), ("http://127.0.0.1:9/y",))
    idx = catalog.KMNIST_FILES["test"][0]
    monkeypatch.setitem(catalog.KMNIST_FILES, "test",
                        [idx, catalog.SplitFiles("npz", f_img, f_lab)])
    (cache / "kmnist").mkdir(parents=True)
    (cache / "kmnist" / f_img.name).write_bytes(npz_bytes(images))
    (cache / "kmnist" / f_lab.name).write_bytes(npz_bytes(labels))
    monkeypatch.setenv("MOJINET_OFFLINE", "1")
    data = load_dataset("kmnist", "test")
    np.testing.assert_array_equal(data.y, labels)


def test_k49_npz_download_and_offline_advice(server, monkeypatch, rng):
    images, labels = small_images(rng), np.array([0, 48] * 6, dtype=np.int32)
    files = [catalog.SplitFiles(
        "npz", served(server, "k49-train-imgs.npz", npz_bytes(images), "md5"),
        served(server, "k49-train-labels.npz", npz_bytes(labels), "md5"))]
    monkeypatch.setitem(catalog.K49_FILES, "train", files)
    data = load_dataset("k49", "train")
    assert len(data.classes) == 49 and data.classes[0] == "あ" and data.classes[48] == "ゝ"
    assert [data.classes[i] for i in data.y[:2]] == ["あ", "ゝ"]
    # The real test split is not cached and downloads are off: the advice names the file.
    monkeypatch.setenv("MOJINET_OFFLINE", "1")
    with pytest.raises(DataNotFound) as e:
        load_dataset("k49", "test")
    assert "k49-test-imgs.npz" in str(e.value)
    assert "https://codh.rois.ac.jp/kmnist/dataset/k49/k49-test-imgs.npz" in str(e.value)
    assert "d352e201d846ce6b94f42c990966f374" in str(e.value)


def test_npz_with_objects_is_refused_never_unpickled(tmp_path, monkeypatch):
    path = tmp_path / "k49-train-imgs.npz"
    np.savez(path, arr_0=np.array([{"evil": 1}], dtype=object))
    from mojinet.data.npz import NPZError, read_npz_array

    with pytest.raises(NPZError, match="never unpickles"):
        read_npz_array(path, 3)


def test_npz_with_wrong_shape_or_dtype_is_refused(tmp_path):
    from mojinet.data.npz import NPZError, read_npz_array

    np.savez(tmp_path / "a.npz", arr_0=np.zeros((3, 4), np.uint8))
    with pytest.raises(NPZError, match="3-D"):
        read_npz_array(tmp_path / "a.npz", 3)
    np.savez(tmp_path / "b.npz", arr_0=np.zeros((3, 4, 4), np.float32))
    with pytest.raises(NPZError, match="uint8"):
        read_npz_array(tmp_path / "b.npz", 3)
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    with pytest.raises(NPZError, match="damaged"):
        read_npz_array(tmp_path / "c.npz", 3)


def test_fashion_mnist_labels_and_mirror_fallback(server, monkeypatch, tmp_path, rng):
    images, labels = small_images(rng), (np.arange(12) % 10).astype(np.uint8)
    files = [catalog.SplitFiles(
        "idx", served(server, "train-images-idx3-ubyte.gz", idx_gz(images, tmp_path)),
        served(server, "train-labels-idx1-ubyte.gz", idx_gz(labels, tmp_path)))]
    monkeypatch.setitem(catalog.FASHION_FILES, "train", files)
    data = load_dataset("fashion-mnist", "train")
    assert data.classes[9] == "Ankle boot" and data.classes[data.y[0]] == "T-shirt/top"
    assert [r.split("/")[1] for r in server.requests] == ["m1", "m2", "m1", "m2"]


def emnist_zip(tmp_path, subset, split, images, labels) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"gzip/emnist-{subset}-{split}-images-idx3-ubyte.gz", idx_gz(images, tmp_path))
        z.writestr(f"gzip/emnist-{subset}-{split}-labels-idx1-ubyte.gz", idx_gz(labels, tmp_path))
    return buf.getvalue()


def test_emnist_letters_from_the_zip_transposed_and_labelled(server, monkeypatch, tmp_path, rng,
                                                             cache):
    stored = small_images(rng, 4)  # as EMNIST stores them: transposed
    labels = np.array([1, 2, 26, 1], dtype=np.uint8)  # letters are 1..26
    payload = emnist_zip(tmp_path, "letters", "test", stored, labels)
    monkeypatch.setattr(catalog, "EMNIST_ZIP", served(server, "gzip.zip", payload))
    data = load_dataset("emnist-letters", "test")
    np.testing.assert_array_equal(as_uint8(data), stored.transpose(0, 2, 1))
    assert [data.classes[i] for i in data.y] == ["A", "B", "Z", "A"]
    # The members were extracted into the cache: the next load needs neither zip nor network.
    (cache / "emnist" / "gzip.zip").unlink()
    server.files.clear()
    assert len(load_dataset("emnist-letters", "test")) == 4


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def kkanji_tar(tmp_path, counts: dict[str, int], rng, light_paper=False) -> tuple[bytes, dict]:
    """A small kkanji.tar: kkanji2/U+XXXX/<n>.png, 64×64, dark background, bright ink."""
    buf = io.BytesIO()
    originals = {}
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for char, n in counts.items():
            for k in range(n):
                a = np.zeros((64, 64), np.uint8)
                a[10 + k: 40 + k, 20:30] = 200 + k  # a stroke; unique per image
                originals[(char, k)] = a
                data = png(255 - a if light_paper else a)
                info = tarfile.TarInfo(f"kkanji2/U+{ord(char):04X}/{k:03d}.png")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue(), originals


def test_kkanji_tar_classes_by_codepoint_split_and_cache(server, monkeypatch, tmp_path, rng, cache):
    counts = {"日": 10, "本": 5, "一": 3, "𠀋": 1}  # last one is outside the BMP (U+2000B)
    payload, originals = kkanji_tar(tmp_path, counts, rng)
    monkeypatch.setattr(catalog, "KKANJI_TAR", served(server, "kkanji.tar", payload))
    train, test, everything = (load_dataset("kkanji", s) for s in ("train", "test", "all"))
    assert everything.classes == tuple(sorted(counts)) == train.classes == test.classes
    assert everything.image_shape == (64, 64) and len(everything) == 19
    assert len(test) == 10 // 5 + 5 // 5 and len(train) + len(test) == 19
    per_class = np.bincount(everything.y, minlength=4)
    assert dict(zip(everything.classes, per_class.tolist(), strict=True)) == counts
    # Images decode exactly, ink bright.
    k = everything.classes.index("本")
    first = as_uint8(everything)[np.flatnonzero(everything.y == k)[0]]
    np.testing.assert_array_equal(first, originals[("本", 0)])
    # Converted once, atomically, into the cache; reused with the network gone.
    assert list((cache / "kkanji").glob("kkanji-64-v*.npz"))
    server.files.clear()
    again = load_dataset("kkanji", "test")
    np.testing.assert_array_equal(again.X, test.X)


def test_kkanji_light_paper_is_inverted_to_bright_ink(tmp_path, rng):
    from mojinet.data import kkanji

    payload, originals = kkanji_tar(tmp_path, {"日": 2}, rng, light_paper=True)
    (tmp_path / "k.tar").write_bytes(payload)
    data = kkanji.load_tar(tmp_path / "k.tar", "all")
    np.testing.assert_array_equal(as_uint8(data)[0], originals[("日", 0)])


def test_kkanji_rejects_other_layouts(tmp_path):
    from mojinet.data import kkanji

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = png(np.zeros((64, 64), np.uint8))
        info = tarfile.TarInfo("kkanji2/nihon/1.png")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "bad.tar").write_bytes(buf.getvalue())
    with pytest.raises(kkanji.KKanjiError, match="U\\+XXXX"):
        kkanji.load_tar(tmp_path / "bad.tar", "all")


def test_kkanji_extracted_folder_in_data_dir(tmp_path, rng):
    payload, _ = kkanji_tar(tmp_path, {"日": 5, "月": 5}, rng)
    with tarfile.open(fileobj=io.BytesIO(payload)) as tar:
        tar.extractall(tmp_path / "mine", filter="data")
    data = load_dataset("kkanji", "test", data_dir=tmp_path / "mine")
    assert data.classes == ("日", "月") and len(data) == 2


def test_checksum_sources_recreate_the_official_classmaps():
    """Our class lists rebuild CODH's classmap CSVs byte for byte (official MD5s)."""
    def classmap(chars):
        text = "index,codepoint,char\n" + "".join(
            f"{i},U+{ord(c):04X},{c}\n" for i, c in enumerate(chars))
        return hashlib.md5(text.encode()).hexdigest()

    assert classmap(catalog.KMNIST_CLASSES) == "899202f6e8dc29a321ac210a03d0f2f1"
    assert classmap(catalog.K49_CLASSES) == "f7d0d0391f68bdf0fe4cf160ceb85753"


def test_kkanji_refuses_wrong_sized_or_broken_images(tmp_path):
    from mojinet.data import kkanji

    for name, data, match in (("big", png(np.zeros((80, 64), np.uint8)), "64×64"),
                              ("huge", png(np.zeros((512, 512), np.uint8)), "pixel limit"),
                              ("broken", b"not a png", "not a usable PNG")):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("kkanji2/U+65E5/1.png")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        (tmp_path / f"{name}.tar").write_bytes(buf.getvalue())
        with pytest.raises(kkanji.KKanjiError, match=match):
            kkanji.load_tar(tmp_path / f"{name}.tar", "all")
