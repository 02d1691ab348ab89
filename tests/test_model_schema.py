"""Hostile model files (issue 17): every field checked at load, every failure a ModelFileError,
declared sizes bounded before allocating, a model that loads usable by every command, and the
parameters' SHA-256 as the model's identity. Each reproducer of the issue is a test here."""

from __future__ import annotations

import contextlib
import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mojinet.nn.network as network_module
from mojinet import Model, ModelFileError, Network, load_model, save_model
from mojinet.cli import main
from mojinet.model_schema import check_metadata, parameters_sha256
from mojinet.runner import preprocessing


def _npy(a, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _entries(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write(path, entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def _meta(path) -> dict:
    return json.loads(str(np.load(io.BytesIO(_entries(path)["meta.npy"]))[()]))


def _with_meta(src, dst, meta: dict | str) -> None:
    entries = _entries(src)
    text = meta if isinstance(meta, str) else json.dumps(meta)
    entries["meta.npy"] = _npy(np.array(text))
    _write(dst, entries)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A digits model as `mojinet train` saves one (preprocessing and a recorded run)."""
    net = Network([784, 12, 10], init="xavier", seed=3)
    model = Model(net, tuple("0123456789"), preprocessing((28, 28)),
                  {"config": {"dataset": "mnist"}, "status": "finished", "test_accuracy": 0.5,
                   "history": [{"epoch": 1, "train_cost": 0.3, "eval_cost": 0.2,
                                "eval_accuracy": 0.5, "seconds": 1.0, "eta": 3.0,
                                "augment_seconds": None}]})
    return save_model(model, tmp_path_factory.mktemp("saved") / "digits.npz")


@pytest.fixture(scope="module")
def drawing(tmp_path_factory):
    from PIL import Image, ImageDraw

    img = Image.new("L", (40, 40), 255)
    ImageDraw.Draw(img).line([(20, 5), (20, 35)], fill=0, width=5)
    path = tmp_path_factory.mktemp("img") / "one.png"
    img.save(path)
    return path


# ----------------------------------------------------------------------------- metadata fields
WRONG = {  # metadata edits the issue found loading and then crashing a command, and kin
    "preprocessing a string": (("preprocessing",), "28x28", "preprocessing"),
    "image_shape text": (("preprocessing", "image_shape"), "28x28", "image_shape"),
    "image_shape one number": (("preprocessing", "image_shape"), [784], "image_shape"),
    "image_shape not the inputs": (("preprocessing", "image_shape"), [20, 20], "image_shape"),
    "image_shape negative": (("preprocessing", "image_shape"), [-28, -28], "image_shape"),
    "user_images a list": (("preprocessing", "user_images"), [20], "user_images"),
    "box text": (("preprocessing", "user_images", "box"), "20", "box"),
    "box larger than the image": (("preprocessing", "user_images", "box"), 99, "box"),
    "training a list": (("training",), [1], "training"),
    "config a string": (("training", "config"), "mnist", "training.config"),
    "dataset a number": (("training", "config", "dataset"), 7, "dataset"),
    "test_accuracy text": (("training", "test_accuracy"), "93%", "test_accuracy"),
    "test_accuracy NaN": (("training", "test_accuracy"), float("nan"), "test_accuracy"),
    "history an object": (("training", "history"), {"epoch": 1}, "history"),
    "history record text": (("training", "history"), ["epoch 1"], "history\\[0\\]"),
    "status unknown": (("training", "status"), "done?", "status"),
    "seconds negative": (("training", "seconds"), -1, "seconds"),
    "cost an object (unhashable)": (("cost",), {}, "cost"),
    "activation an object (unhashable)": (("activations",), [{}, "sigmoid"], "activations"),
    "softmax in a hidden layer": (("activations",), ["softmax", "sigmoid"], "activations\\[0\\]"),
    "a size as text": (("sizes",), ["784", 12, 10], "sizes\\[0\\]"),
    "a size true": (("sizes",), [784, True, 10], "sizes\\[1\\]"),
    "a huge size": (("sizes",), [784, 10**30, 10], "sizes\\[1\\]"),
    "version true": (("version",), True, "version"),
    "classes numbers": (("classes",), list(range(10)), "classes\\[0\\]"),
    "classes twice": (("classes",), list("0123456780"), "distinct"),
    "state a list": (("state",), [], "state"),
    "state huge": (("state",), {"x": {"dtype": "<f8", "shape": [10**9, 10**9]}}, "state"),
    "sha256 not hex": (("parameters_sha256",), "xyz", "parameters_sha256"),
}


@pytest.mark.parametrize("where,value,field", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_field_is_refused_at_load_naming_it(saved, tmp_path, where, value, field):
    meta = _meta(saved)
    parent = meta
    for key in where[:-1]:
        parent = parent[key]
    parent[where[-1]] = value
    _with_meta(saved, tmp_path / "bad.npz", meta)
    with pytest.raises(ModelFileError, match=field):
        load_model(tmp_path / "bad.npz")


def test_a_cost_that_does_not_suit_the_output_layer(saved, tmp_path):
    meta = _meta(saved)
    meta.update(activations=["sigmoid", "relu"], cost="cross-entropy")
    _with_meta(saved, tmp_path / "bad.npz", meta)
    with pytest.raises(ModelFileError, match="field 'cost'.*relu"):
        load_model(tmp_path / "bad.npz")


@pytest.mark.parametrize("text,reason", [
    ('{"format": "mojinet-model", "version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "not valid JSON|nests"),
    ('{"format": "mojinet-model", "version": 1, "x": ' + "[" * 40 + "]" * 40 + "}", "nests"),
    ('{"format": "mojinet-model", "version": 1e999}', "version"),
    ('{"format": "mojinet-model", "version": 1' + "0" * 5000 + "}", "not valid JSON"),
    ('{"format": "mojinet-model", "version": "1', "not valid JSON"),
])
def test_metadata_json_that_breaks_the_parser(saved, tmp_path, text, reason):
    """RecursionError (deep nesting), an int over Python's digit limit, a cut string."""
    _with_meta(saved, tmp_path / "bad.npz", text)
    with pytest.raises(ModelFileError, match=reason):
        load_model(tmp_path / "bad.npz")


@pytest.mark.parametrize("header", [
    b"{'descr': '<f4', 'fortran_order': False, 'shape': (" + b"(" * 3000 + b"),}",  # Recursion
    b"{'descr': '<f4', 'fortran_order': False, 'shape': (784, 12), 'x': '''}",  # TokenError
    b"{'descr': '<f4', 'fortran_order': False, 'shape': (784" + b"0" * 400 + b", 12), }",
    b"{'descr': '<f999999999999', 'fortran_order': False, 'shape': (784, 12), }",
    b"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (784, 12), }",
    b"\xff\xfe" * 40,
])
def test_npy_headers_that_break_numpy_parser(saved, tmp_path, header):
    """numpy's own header reader raises TokenError, RecursionError, OverflowError, SyntaxError;
    ours matches a fixed pattern and refuses everything else."""
    entries = _entries(saved)
    padded = header + b" " * (-(len(header) + 11) % 64) + b"\n"
    entries["W0.npy"] = b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded
    _write(tmp_path / "bad.npz", entries)
    with pytest.raises(ModelFileError, match="W0"):
        load_model(tmp_path / "bad.npz")


def test_every_flip_of_compressed_bytes_is_refused(saved, tmp_path):
    """zlib.error from flipped deflate data (96 of 1,000 flips escaped as tracebacks) and CRC
    errors are ModelFileErrors; no flip that loads changes a weight."""
    raw = saved.read_bytes()
    original = load_model(saved)
    rng = np.random.default_rng(0)
    outcomes = set()
    for i in rng.choice(len(raw), 300, replace=False):
        data = bytearray(raw)
        data[i] ^= 1 << int(rng.integers(8))
        (tmp_path / "f.npz").write_bytes(bytes(data))
        try:
            loaded = load_model(tmp_path / "f.npz")
        except ModelFileError as e:
            outcomes.add(type(e.__cause__).__name__)
            continue
        for p, q in zip(loaded.network.parameters(), original.network.parameters()):
            np.testing.assert_array_equal(p, q)
    assert "error" in outcomes or "BadZipFile" in outcomes  # zlib.error and CRC both met


def test_a_flipped_weight_in_a_stored_archive_fails_the_crc(saved, tmp_path):
    entries = _entries(saved)
    _write(tmp_path / "stored.npz", entries, zipfile.ZIP_STORED)
    data = bytearray((tmp_path / "stored.npz").read_bytes())
    at = data.find(entries["W0.npy"][200:240])
    data[at] ^= 0x40
    (tmp_path / "stored.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="CRC"):
        load_model(tmp_path / "stored.npz")


@pytest.mark.parametrize("trick", ["encrypted", "bzip2", "lying size", "pickle meta",
                                   "pickle W0"])
def test_zip_tricks_and_pickles(saved, tmp_path, trick):
    path = tmp_path / "trick.npz"
    entries = _entries(saved)
    if trick == "encrypted":  # zipfile's RuntimeError: "File is encrypted"
        data = bytearray(saved.read_bytes())
        for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            i = data.find(sig)
            while i >= 0:
                data[i + at] |= 1
                i = data.find(sig, i + 4)
        path.write_bytes(bytes(data))
    elif trick == "bzip2":
        _write(path, entries, zipfile.ZIP_BZIP2)
    elif trick == "lying size":
        data = bytearray(saved.read_bytes())
        i = data.find(b"PK\x01\x02")
        data[i + 24:i + 28] = (2**32 - 1).to_bytes(4, "little")
        path.write_bytes(bytes(data))
    else:
        name = "meta.npy" if trick == "pickle meta" else "W0.npy"
        entries[name] = _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)
        _write(path, entries)
    with pytest.raises(ModelFileError):
        load_model(path)


# ----------------------------------------------------------------------------- sizes and memory
def _zeros_model(path, sizes):
    """A deflated all-zero network: hundreds of MB declared in a few hundred kB."""
    meta = {"format": "mojinet-model", "version": 1, "sizes": sizes,
            "activations": ["sigmoid"] * (len(sizes) - 1), "cost": "quadratic",
            "classes": [str(i) for i in range(sizes[-1])]}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.npy", _npy(np.array(json.dumps(meta))))
        for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            zf.writestr(f"W{l}.npy", _npy(np.zeros((a, b), np.float32)))
            zf.writestr(f"b{l}.npy", _npy(np.zeros(b, np.float32)))


def test_a_decompression_bomb_is_refused_before_allocating(tmp_path):
    """The issue: a 906 kB file declaring a huge hidden layer took 4.5 GB."""
    path = tmp_path / "bomb.npz"
    _zeros_model(path, [784, 40_000, 10])  # 126 MB of float32 in ~0.1 MB
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="MOJINET_MODEL_MAX_RATIO"):
        load_model(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20e6


def test_the_limits_can_be_raised_and_lowered(tmp_path, monkeypatch):
    path = tmp_path / "zeros.npz"
    _zeros_model(path, [784, 40_000, 10])
    monkeypatch.setenv("MOJINET_MODEL_MAX_RATIO", "100000")
    assert load_model(path).network.sizes == [784, 40_000, 10]
    monkeypatch.setenv("MOJINET_MODEL_MAX_BYTES", "1000000")
    with pytest.raises(ModelFileError, match="MOJINET_MODEL_MAX_BYTES"):
        load_model(path)
    monkeypatch.setenv("MOJINET_MODEL_MAX_BYTES", "lots")
    with pytest.raises(ModelFileError, match="not a number"):
        load_model(path)


def test_huge_declared_sizes_are_refused_from_the_metadata(saved, tmp_path):
    meta = _meta(saved)
    meta["sizes"] = [784, 5_000_000, 10]
    _with_meta(saved, tmp_path / "huge.npz", meta)
    with pytest.raises(ModelFileError, match="of arrays"):
        load_model(tmp_path / "huge.npz")


def test_loading_draws_no_initial_weights(saved, monkeypatch):
    """No throwaway initialisation: the network is built from the stored arrays."""
    def no_init(*args, **kwargs):
        raise AssertionError("init_layer called while loading")

    monkeypatch.setattr(network_module, "init_layer", no_init)
    model = load_model(saved)
    assert model.network.weights[0].flags.writeable and model.network.weights[0].shape == (784, 12)


# ----------------------------------------------------------------------------- identity
def test_the_identity_is_recorded_shown_and_checked(saved, tmp_path, capsys):
    model = load_model(saved)
    meta = _meta(saved)
    assert meta["parameters_sha256"] == model.identity == parameters_sha256(
        model.network.sizes, model.network.weights, model.network.biases)
    assert main(["info", str(saved)]) == 0
    assert f"identity: {model.identity}" in capsys.readouterr().out
    other = Model(Network([784, 12, 10], init="xavier", seed=4), model.classes)
    assert other.identity != model.identity
    meta["parameters_sha256"] = other.identity
    _with_meta(saved, tmp_path / "edited.npz", meta)
    with pytest.raises(ModelFileError, match="SHA-256"):
        load_model(tmp_path / "edited.npz")
    del meta["parameters_sha256"]  # files from before the field still load
    _with_meta(saved, tmp_path / "older.npz", meta)
    assert load_model(tmp_path / "older.npz").identity == model.identity


def test_the_api_and_the_page_show_the_identity(saved):
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from mojinet.web.app import create_app
    from served import serving

    model = load_model(saved)
    with serving(create_app(model, "digits.npz")) as url:
        info = httpx.get(url + "/api/model", timeout=30).json()
        script = httpx.get(url + "/static/app.js", timeout=30).text
    assert info["parameters_sha256"] == model.identity
    assert "parameters_sha256" in script  # the page shows it


def test_save_refuses_metadata_load_would_refuse(tmp_path):
    model = Model(Network([4, 2], seed=0), ("a", "b"), {"image_shape": [3, 3]})
    with pytest.raises(ValueError, match="image_shape"):
        save_model(model, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


# ----------------------------------------------------------------------------- usable once loaded
@pytest.mark.parametrize("pre", [{}, {"image_shape": [28, 28]}, {"user_images": {}}],
                         ids=["none", "shape only", "empty user_images"])
def test_sparse_metadata_loads_and_every_command_copes(tmp_path, drawing, pre, capsys):
    path = save_model(Model(Network([784, 8, 10], seed=0), tuple("0123456789"), pre),
                      tmp_path / "m.npz")
    for argv in (["info", str(path)], ["predict", str(path), str(drawing)],
                 ["inspect", str(path), str(drawing)]):
        assert main(argv) == 0, capsys.readouterr().err


def test_a_recorded_history_with_gaps_draws_its_figure(saved, tmp_path, capsys):
    meta = _meta(saved)
    meta["training"]["history"].append({"epoch": 2, "train_cost": 0.25, "eval_cost": None,
                                        "eval_accuracy": None})
    del meta["parameters_sha256"]
    _with_meta(saved, tmp_path / "gaps.npz", meta)
    assert main(["figures", str(tmp_path / "gaps.npz"), "--out", str(tmp_path / "fig"),
                 "--only", "training", "--formats", "png", "--limit", "20"]) == 0
    assert (tmp_path / "fig" / "training.png").exists(), capsys.readouterr().err


def test_a_non_square_input_is_refused_by_commands_that_need_images(tmp_path, drawing, capsys):
    path = save_model(Model(Network([30, 4, 2], seed=0), ("a", "b")), tmp_path / "row.npz")
    assert load_model(path).image_shape == (1, 30)
    assert main(["info", str(path)]) == 0
    assert main(["predict", str(path), str(drawing)]) == 2
    assert "square" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the bounded fuzz
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                    | st.floats(allow_nan=True) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:4]):
            yield from _paths(v, (*prefix, i))


def _usable(model: Model, path, drawing) -> None:
    model.top(np.zeros((1, model.network.sizes[0]), np.float32), 3)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for argv in (["info", str(path)], ["predict", str(path), str(drawing), "--json"]):
            assert main(argv) in (0, 1, 2)


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_model_files_documented_error_or_usable_model(saved, tmp_path, drawing, data):
    """A bounded fuzz of model files: metadata fields replaced by any JSON, bytes flipped, set
    or cut; each file gives a ModelFileError or a model the commands can use."""
    path = tmp_path / "fuzz.npz"
    kind = data.draw(st.sampled_from(["meta", "meta", "flip", "cut"]))
    if kind == "meta":
        meta = _meta(saved)
        paths = [p for p in _paths(meta) if p]
        where = data.draw(st.sampled_from(paths))
        parent = meta
        for key in where[:-1]:
            parent = parent[key]
        parent[where[-1]] = data.draw(JSON)
        _with_meta(saved, path, meta)
    else:
        raw = bytearray(saved.read_bytes())
        at = data.draw(st.integers(0, len(raw) - 1))
        if kind == "flip":
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        else:
            del raw[at:]
        path.write_bytes(bytes(raw))
    try:
        model = load_model(path)
    except ModelFileError:
        return
    _usable(model, path, drawing)


def test_check_metadata_accepts_what_save_writes(saved):
    assert check_metadata(_meta(saved))["sizes"] == [784, 12, 10]
