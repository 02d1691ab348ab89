"""Output layers named honestly: softmax outputs are probabilities; sigmoid outputs are
activations, and their scaled values are shares (the API, `mojinet predict` and the page)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mojinet import scores
from mojinet.cli import main
from mojinet.io import Model, save_model
from mojinet.nn.network import Network


def _flat_sigmoid_model() -> Model:
    """Sigmoid outputs that ignore the input: activations 0.05, 0.02, 0.01 … (all a weak no)."""
    net = Network([784, 8, 4], ["sigmoid", "sigmoid"], "quadratic", seed=0)
    net.weights[-1][:] = 0
    a = np.array([0.05, 0.02, 0.01, 0.1123])
    net.biases[-1][:] = np.log(a / (1 - a))  # σ(b) = a
    return Model(net, tuple("abcd"), {"image_shape": [28, 28], "user_images": {"box": 20}})


def test_sigmoid_candidates_are_activations_and_shares():
    model = _flat_sigmoid_model()
    A = model.network.feedforward(np.zeros((1, 784), np.float32))[0]
    top = scores.candidates(model, A, 4)
    assert [c["label"] for c in top] == ["d", "a", "b", "c"]
    np.testing.assert_allclose([c["activation"] for c in top], [0.1123, 0.05, 0.02, 0.01],
                               atol=1e-6)
    share = 0.05 / (0.05 + 0.02 + 0.01 + 0.1123)
    assert top[1]["share"] == pytest.approx(share, abs=1e-6)  # 26%: a share, not a probability
    assert top[1]["probability"] == top[1]["share"]  # the old field, kept for old clients
    words = scores.describe(top[1], scores.output_kind(model.network))
    assert words == f"a a = 0.05 (share {share:.1%})" and "26.0%" in words


def test_softmax_candidates_are_probabilities():
    net = Network([4, 3], ["softmax"], "cross-entropy", seed=0)
    model = Model(net, tuple("xyz"), {"image_shape": [2, 2]})
    a = net.feedforward(np.ones((1, 4), np.float32))[0]
    top = scores.candidates(model, a, 3)
    assert scores.output_kind(net) == "probability"
    assert sum(c["probability"] for c in top) == pytest.approx(1, abs=1e-5)
    assert all(c["activation"] == c["share"] == c["probability"] for c in top)
    assert scores.describe(top[0], "probability") == f"{top[0]['label']} {a.max():.1%}"


def test_candidates_agree_with_model_probabilities():
    rng = np.random.default_rng(0)
    for output, cost in (("sigmoid", "quadratic"), ("softmax", "cross-entropy"), ("tanh",
                                                                                "quadratic")):
        net = Network([6, 5, 7], ["relu", output], cost, seed=1)
        model = Model(net, tuple("abcdefg"), {"image_shape": [2, 3]})
        X = rng.random((5, 6)).astype(np.float32)
        P = model.probabilities(X)
        for x, p in zip(X, P):
            top = scores.candidates(model, net.feedforward(x[None])[0], 7)
            np.testing.assert_allclose([c["share"] for c in top], np.sort(p)[::-1], atol=1e-6)


def _ink_png(path):
    img = Image.new("L", (100, 100), 255)
    ImageDraw.Draw(img).line([(50, 10), (50, 90)], fill=0, width=8)
    img.save(path)
    return str(path)


def test_predict_command_says_activation_and_share(tmp_path, capsys):
    path = save_model(_flat_sigmoid_model(), tmp_path / "flat.npz")
    image = _ink_png(tmp_path / "one.png")
    assert main(["predict", str(path), image, "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "d a = 0.11 (share 58.4%)" in out and "a a = 0.05 (share 26.0%)" in out
    assert main(["predict", str(path), image, "--top", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)[0]
    assert result["output"] == "activation"
    assert result["top"][1]["activation"] == pytest.approx(0.05, abs=1e-6)
    assert result["top"][1]["share"] == result["top"][1]["probability"]


@pytest.mark.parametrize("top", ["0", "-1"])
def test_predict_refuses_a_top_below_one(tmp_path, capsys, top):
    path = save_model(_flat_sigmoid_model(), tmp_path / "flat.npz")
    image = _ink_png(tmp_path / "one.png")
    assert main(["predict", str(path), image, "--top", top]) == 2
    err = capsys.readouterr().err
    assert "--top must be at least 1" in err and "Traceback" not in err


def test_inspect_says_activation_and_share_for_sigmoid_outputs(tmp_path, capsys):
    """inspect printed a sigmoid output's share as "(58.4%)", as if a probability."""
    path = save_model(_flat_sigmoid_model(), tmp_path / "flat.npz")
    image = _ink_png(tmp_path / "one.png")
    assert main(["inspect", str(path), image]) == 0
    line = next(t for t in capsys.readouterr().out.splitlines() if t.startswith("prediction:"))
    assert line.startswith("prediction: d a = 0.11 (share 58.4%), then a a = 0.05 (share 26.0%)")
    assert main(["inspect", str(path), image, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["output"] == "activation"
    assert report["top"][0]["activation"] == pytest.approx(0.11, abs=0.005)
