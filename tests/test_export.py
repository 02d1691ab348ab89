"""`mojinet export`: ONNX graphs that onnxruntime runs to the same numbers as mojinet (all 10,000
MNIST test images; a kanji model), and the static draw page's files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mojinet import SGD, Model, Network, load_dataset, train
from mojinet.cli import main
from mojinet.io import save_model

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from mojinet.export.onnx import export_onnx  # noqa: E402
from mojinet.export.web import export_web  # noqa: E402

TOLERANCE = 1e-5  # |onnxruntime − mojinet| for every probability, share and activation


def _prep(size: int) -> dict:
    return {"image_shape": [size, size], "user_images": {"box": round(size * 20 / 28)}}


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist", "train").subset(6_000), load_dataset("mnist", "test")


def _trained(train_set, hidden, activations, cost, epochs=2, seed=0) -> Model:
    net = Network([train_set.n_features, *hidden, train_set.n_classes], activations, cost,
                  init="xavier", seed=seed)
    train(net, train_set.X, train_set.y, optimizer=SGD(3.0 if cost == "quadratic" else 0.1),
          epochs=epochs, batch_size=20, rng=np.random.default_rng(seed))
    return Model(net, train_set.classes, _prep(train_set.image_shape[0]))


def _run(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"pixels": X}), strict=True))


def _check_same(model, path, X):
    got = _run(path, X)
    P = model.probabilities(X)  # (n, classes): probabilities or shares
    second = "probabilities" if model.network.activations[-1].name == "softmax" else "shares"
    assert set(got) == {"activations", second, "index"}
    assert np.abs(got[second] - P).max() <= TOLERANCE
    assert np.abs(got["activations"] - model.network.feedforward(X)).max() <= TOLERANCE
    agree = got["index"] == np.argmax(P, axis=1)
    # ArgMax ties or a float32 last-bit difference between two nearly equal classes only.
    top2 = np.sort(P, axis=1)[:, -2:]
    assert np.all(agree | (top2[:, 1] - top2[:, 0] < 2 * TOLERANCE))
    return got


@pytest.mark.parametrize("kind", ["sigmoid-shares", "softmax"])
def test_onnx_matches_mojinet_on_all_mnist_test_images(mnist, tmp_path, kind):
    train_set, test_set = mnist
    if kind == "softmax":
        model = _trained(train_set, [32, 16], ["relu", "tanh", "softmax"], "cross-entropy")
    else:
        model = _trained(train_set, [16, 16], ["sigmoid"] * 3, "quadratic")
    path = export_onnx(model, tmp_path / "m.onnx")
    assert len(test_set) == 10_000
    got = _check_same(model, path, test_set.X)
    accuracy = (got["index"] == test_set.y).mean()
    assert accuracy > 0.8, accuracy  # a real model, not a degenerate one


def test_onnx_metadata_says_labels_and_preprocessing(mnist, tmp_path):
    model = _trained(mnist[0], [8], ["sigmoid", "softmax"], "cross-entropy", epochs=1)
    proto = onnx.load(export_onnx(model, tmp_path / "m.onnx"))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["mojinet.classes"]) == list("0123456789")
    prep = json.loads(meta["mojinet.preprocessing"])
    assert prep["size"] == 28 and prep["box"] == 20 and prep["image_shape"] == [28, 28]
    assert json.loads(meta["mojinet.sizes"]) == [784, 8, 10] and meta["mojinet.output"] == \
        "probability"
    ops = [n.op_type for n in proto.graph.node]
    assert ops[:6] == ["MatMul", "Add", "Sigmoid", "MatMul", "Add", "Softmax"]
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    np.testing.assert_array_equal(inits["W0"], model.network.weights[0])
    assert inits["W0"].dtype == np.float32
    onnx.checker.check_model(proto, full_check=True)


def test_onnx_shares_of_a_row_with_no_positive_activation_are_uniform(tmp_path):
    net = Network([3, 4], ["relu"], "quadratic", seed=0)
    net.weights[0][:] = -1.0
    net.biases[0][:] = 0.0
    model = Model(net, tuple("abcd"), {"image_shape": [1, 3]})
    X = np.array([[1, 1, 1], [0, 0, 0]], np.float32)
    got = _run(export_onnx(model, tmp_path / "relu.onnx"), X)
    np.testing.assert_allclose(got["shares"], model.probabilities(X), atol=1e-7)
    np.testing.assert_allclose(got["shares"], 0.25)


def test_onnx_matches_mojinet_on_a_kanji_model(tmp_path):
    from mojinet.data import kanji

    chars = "山川日月木水火土金"
    data = kanji.synthetic_dataset(chars, 24, 32, seed=0)  # 32×32 inputs, 9 kanji
    model = _trained(data, [48], ["relu", "softmax"], "cross-entropy", epochs=8)
    assert model.network.sizes[0] == 1024 and model.classes == tuple(chars)
    path = export_onnx(model, tmp_path / "kanji.onnx")
    _check_same(model, path, data.X)
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert json.loads(meta["mojinet.classes"]) == list(chars)
    assert json.loads(meta["mojinet.preprocessing"])["size"] == 32


def test_export_command(mnist, tmp_path, capsys):
    model = _trained(mnist[0], [8], ["sigmoid", "softmax"], "cross-entropy", epochs=1)
    path = save_model(model, tmp_path / "m.npz")
    assert main(["export", str(path), "--onnx", str(tmp_path / "m.onnx"),
                 "--web", str(tmp_path / "site")]) == 0
    out = capsys.readouterr().out
    assert "Wrote" in out and "http.server" in out
    assert (tmp_path / "m.onnx").stat().st_size > 25_000
    assert (tmp_path / "site" / "index.html").is_file()
    assert main(["export", str(path)]) == 2
    assert "--onnx FILE, --web DIR" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["export", str(path), "--web", str(tmp_path / "file")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_web_export_files(tmp_path):
    from mojinet.web.page import STATIC_FILES

    classes = tuple("山川日")
    net = Network([1024, 6, 3], ["sigmoid", "softmax"], "cross-entropy", seed=4)
    model = Model(net, classes, _prep(32), {"test_accuracy": 0.5})
    files = export_web(model, tmp_path / "site", name="k.npz")
    site = tmp_path / "site"
    assert {p.relative_to(site).as_posix() for p in files} == {
        "index.html", "model.json", "weights.bin", "favicon.ico", "static/palette.css",
        *(f"static/{f}" for f in STATIC_FILES)}
    html = (site / "index.html").read_text()
    assert 'data-backend="static"' in html and "Content-Security-Policy" in html
    assert 'src="/' not in html and 'href="/' not in html  # relative: any folder on any host
    spec = json.loads((site / "model.json").read_text())
    assert spec["format"] == "mojinet-web" and spec["info"]["classes"] == list(classes)
    assert spec["info"]["preprocessing"] == {"size": 32, "box": 23,
                                             "method": spec["info"]["preprocessing"]["method"]}
    assert spec["info"]["output"] == "probability" and spec["dictionary"]["山"]["kind"] == "kanji"
    blob = (site / "weights.bin").read_bytes()
    assert len(blob) == spec["weights_bytes"] == 4 * net.n_params
    for layer, W, b in zip(spec["layers"], net.weights, net.biases, strict=True):
        got_w = np.frombuffer(blob, "<f4", layer["weights"]["count"], layer["weights"]["offset"])
        got_b = np.frombuffer(blob, "<f4", layer["biases"]["count"], layer["biases"]["offset"])
        np.testing.assert_array_equal(got_w.reshape(W.shape), W)
        np.testing.assert_array_equal(got_b, b)
