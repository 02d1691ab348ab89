"""Model files: save → load gives identical predictions; broken or hostile files are refused."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

import mojinet.io as mio
from mojinet import Model, ModelFileError, Network, load_model, save_model


@pytest.fixture
def model(rng):
    net = Network([784, 16, 16, 10], init="xavier", rng=rng)
    return Model(net, tuple("0123456789"), {"image_shape": [28, 28]},
                 {"history": [{"epoch": 1, "train_cost": 0.1}]})


def test_round_trip_identical_predictions(tmp_path, model, rng):
    path = save_model(model, tmp_path / "m.npz")
    loaded = load_model(path)
    X = rng.uniform(size=(50, 784)).astype(np.float32)
    np.testing.assert_array_equal(model.network.feedforward(X), loaded.network.feedforward(X))
    assert loaded.classes == model.classes
    assert loaded.network.sizes == [784, 16, 16, 10]
    assert [a.name for a in loaded.network.activations] == ["sigmoid"] * 3
    assert loaded.network.cost.name == "quadratic"
    assert loaded.training == model.training and loaded.image_shape == (28, 28)


def test_round_trip_other_architectures_and_unicode_labels(tmp_path, rng):
    net = Network([16, 8, 3], ["relu", "softmax"], "cross-entropy", rng=rng)
    m = Model(net, ("あ", "日", "本"))
    loaded = load_model(save_model(m, tmp_path / "kana"))
    assert loaded.classes == ("あ", "日", "本")
    assert (tmp_path / "kana.npz").exists()
    assert loaded.network.cost.name == "cross-entropy"


def test_file_contains_no_pickle(tmp_path, model):
    path = save_model(model, tmp_path / "m.npz")
    np.load(path, allow_pickle=False)["meta"]  # loads with pickling disabled
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == sorted(
            ["meta.npy"] + [f"{k}{i}.npy" for i in range(3) for k in "Wb"])


def _write_npz(path, arrays, meta=None):
    if meta is not None:
        arrays = {"meta": np.array(json.dumps(meta)), **arrays}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


def _meta(**over):
    meta = {"format": "mojinet-model", "version": 1, "sizes": [4, 2],
            "activations": ["sigmoid"], "cost": "quadratic", "classes": ["a", "b"]}
    meta.update(over)
    return meta


GOOD = {"W0": np.zeros((4, 2), np.float32), "b0": np.zeros(2, np.float32)}


@pytest.mark.parametrize(
    "meta,arrays,message",
    [
        (_meta(format="other"), GOOD, "not a mojinet model"),
        (_meta(version=99), GOOD, "version 99.*Upgrade"),
        (_meta(sizes=[4]), GOOD, "field 'sizes' must be a list of at least 2"),
        (_meta(sizes=[4, -2]), GOOD, r"field 'sizes\[1\]' must be a whole number from 1"),
        (_meta(sizes=[100_000, 100_000, 100_000], activations=["sigmoid"] * 2,
               classes=[str(i) for i in range(100_000)]), GOOD, "over the .* limit"),
        (_meta(activations=["sigmoid", "relu"]), GOOD, "one activation per layer"),
        (_meta(activations=["swish"]), GOOD, r"field 'activations\[0\]' must be one of"),
        (_meta(classes=["a"]), GOOD, "field 'classes' must be a list of 2 class labels"),
        (_meta(), {"W0": GOOD["W0"]}, "missing entry b0"),
        (_meta(), {"W0": np.zeros((2, 4), np.float32), "b0": GOOD["b0"]}, "shape \\(2, 4\\)"),
        (_meta(), {"W0": np.zeros((4, 2), np.int64), "b0": GOOD["b0"]}, r"dtype <i8 \(int64\)"),
        (_meta(), {"W0": np.full((4, 2), np.nan, np.float32), "b0": GOOD["b0"]}, "NaN"),
        (_meta(), {"W0": np.array([None] * 8, dtype=object).reshape(4, 2), "b0": GOOD["b0"]},
         r"dtype \|O \(object\)"),
    ],
)
def test_bad_model_files(tmp_path, meta, arrays, message):
    path = tmp_path / "bad.npz"
    _write_npz(path, arrays, meta)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_meta_must_be_text_json(tmp_path):
    path = tmp_path / "bad.npz"
    _write_npz(path, {"meta": np.array(b"\x00\x01"), **GOOD})
    with pytest.raises(ModelFileError, match="meta"):
        load_model(path)
    _write_npz(path, {"meta": np.array("{not json"), **GOOD})
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(path)


def test_pickled_object_array_is_never_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.npz"
    buf = io.BytesIO()
    np.savez(buf, meta=np.array([Boom()], dtype=object), **GOOD)
    path.write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError):
        load_model(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.99])
def test_truncated_model_file(tmp_path, model, cut):
    path = save_model(model, tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ModelFileError, match="m.npz"):
        load_model(path)


def test_random_bytes_and_other_files(tmp_path, rng):
    path = tmp_path / "noise.npz"
    path.write_bytes(rng.bytes(5000))
    with pytest.raises(ModelFileError, match="not a readable model file"):
        load_model(path)
    with pytest.raises(FileNotFoundError, match="mojinet train"):
        load_model(tmp_path / "absent.npz")


def test_header_claiming_huge_array_is_refused_before_reading(tmp_path):
    """A .npy header may declare any shape; the loader compares it with the metadata first."""
    path = tmp_path / "huge.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (4, 2_000_000_000)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("meta.npy", _npy(np.array(json.dumps(_meta()))))
        zf.writestr("W0.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:])
        zf.writestr("b0.npy", _npy(GOOD["b0"]))
    with pytest.raises(ModelFileError, match="shape"):
        load_model(path)


def _npy(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_failed_save_keeps_the_old_file(tmp_path, model, monkeypatch):
    """A full disk (or a crash) while saving must not destroy the previous model."""
    path = save_model(model, tmp_path / "m.npz")
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mio.np, "savez_compressed", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_model(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left behind


def test_save_refuses_label_count_mismatch(tmp_path, rng):
    with pytest.raises(ValueError, match="3 class labels for 2 output"):
        save_model(Model(Network([4, 2], rng=rng), ("a", "b", "c")), tmp_path / "x.npz")


def test_saved_files_get_ordinary_permissions(tmp_path, model):
    old = os.umask(0o022)
    try:
        path = save_model(model, tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_stored_model_reads_as_the_deflated_one(tmp_path, model):
    deflated = save_model(model, tmp_path / "deflated.npz")
    stored = save_model(model, tmp_path / "stored.npz", compress=False)
    for path, method in ((deflated, zipfile.ZIP_DEFLATED), (stored, zipfile.ZIP_STORED)):
        with zipfile.ZipFile(path) as zf:
            assert {i.compress_type for i in zf.infolist()} == {method}
    a, b = load_model(deflated), load_model(stored)
    assert a.identity == b.identity
    for Wa, Wb in zip(a.network.weights, b.network.weights):
        np.testing.assert_array_equal(Wa, Wb)


def test_the_runs_checkpoint_is_stored_uncompressed_and_the_model_deflated(tmp_path):
    """Deflating 5 MB of weights after every epoch costs ~0.2 s (fast-98's whole run is ~4 s)."""
    from mojinet import RunConfig, run

    out, seen = tmp_path / "m.npz", []

    def methods(path):
        with zipfile.ZipFile(path) as zf:
            return {i.compress_type for i in zf.infolist()}

    run(RunConfig(epochs=2, limit=200, hidden=(8,), out=str(out)),
        callbacks=[lambda net, record: seen.append(methods(out))])  # after each epoch's save
    assert seen == [{zipfile.ZIP_STORED}] * 2
    assert methods(out) == {zipfile.ZIP_DEFLATED}  # the finished model
