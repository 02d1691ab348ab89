"""ROC AUC, the radical analysis, the two-head (component) model and the kanji commands."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mojinet.data import kanji
from mojinet.nn.network import Network
from mojinet.nn.optim import SGD
from mojinet.nn.regularize import Dropout, MaxNorm
from mojinet.nn.train import one_hot, train
from mojinet.nn.twohead import TwoHeadNetwork, component_accuracy
from mojinet.radicals import analyse, auc, auc_matrix, component_table, rankdata


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(kanji.CACHE_ENV, str(tmp_path / "cache"))


# ----------------------------------------------------------------------------- AUC
def test_auc_hand_computed():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: pairs won 1+0+1+1 of 4
    assert auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    # a tie counts one half: positives {1, 2} vs negative {1}: (0.5 + 1) / 2
    assert auc([1, 1, 2], [0, 1, 1]) == 0.75
    assert auc([3, 2, 1], [1, 0, 0]) == 1.0 and auc([3, 2, 1], [0, 1, 1]) == 0.0
    with pytest.raises(ValueError, match="positive and one negative"):
        auc([1, 2], [1, 1])


def test_rankdata_averages_ties():
    np.testing.assert_array_equal(rankdata(np.array([10, 20, 10, 30, 20])), [1.5, 3.5, 1.5, 5, 3.5])


def _auc_by_pairs(s, p):
    pos, neg = s[p], s[~p]
    wins = sum((a > b) + 0.5 * (a == b) for a, b in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=2, max_size=25))
def test_auc_matches_counting_pairs(rows):
    s = np.array([r[0] for r in rows], dtype=float)
    p = np.array([r[1] for r in rows])
    if p.all() or not p.any():
        return
    assert auc(s, p) == pytest.approx(_auc_by_pairs(s, p))


def test_auc_matrix_matches_auc(rng):
    H = rng.integers(0, 5, (60, 4)).astype(float)  # ties on purpose
    P = rng.random((60, 3)) < 0.3
    A = auc_matrix(H, P)
    assert A.shape == (3, 4)
    for j, h in itertools.product(range(3), range(4)):
        assert A[j, h] == pytest.approx(auc(H[:, h], P[:, j]))


# ----------------------------------------------------------------------------- analysis
# 木 is in six of these (体 = 亻 + 本, and 本 holds 木), 日 in 明 早, 亻 in 休 体.
CLASSES = tuple("林森村校休体明早")


def test_component_table():
    comps, M = component_table(CLASSES, min_kanji=2)
    assert comps[0] == "木" and M[:, 0].tolist() == [True] * 6 + [False] * 2
    assert "亻" in comps and M.shape == (8, len(comps))
    assert "木" not in component_table(CLASSES, min_kanji=7)[0]


def test_analyse_finds_a_planted_radical_neuron():
    """A network whose hidden neuron 0 is 'contains 木' (inputs are one-hot classes)."""
    k = len(CLASSES)
    comps, M = component_table(CLASSES, min_kanji=2)
    net = Network([k, 3, k], ["relu", "softmax"], "cross-entropy", seed=0, dtype=np.float64)
    net.weights[0][:] = 0
    net.weights[0][:, 0] = M[:, comps.index("木")]  # neuron 0 fires for kanji with 木
    net.weights[0][:, 1] = np.arange(k) == 0  # neuron 1 fires for 林 only
    net.weights[0][:, 2] = -1  # neuron 2 never fires
    y = np.tile(np.arange(k), 5)
    X = np.eye(k)[y]
    report = analyse(net, CLASSES, X, y, min_kanji=2, shuffles=20, seed=1)
    j = report.components.index("木")
    assert report.best[j] == 1.0 and report.best_neuron[j] == (1, 0)
    assert report.neurons == [(1, 0), (1, 1), (1, 2)]
    # A shuffled assignment only rarely hands 木's six kanji back to neuron 0.
    assert report.shuffled_best[:, j].mean() < 1.0
    assert report.n_above >= 1 and report.summary()["components"] == len(comps)
    assert report.table(1)[0]["component"] in comps
    counts = {r["threshold"]: r for r in report.counts_at((0.5, 1.0))}
    assert counts[0.5]["components"] == len(comps) and counts[1.0]["components"] >= 1
    assert counts[1.0]["shuffled_mean"] <= counts[0.5]["shuffled_mean"]


def test_analyse_needs_components_and_hidden_layers():
    net = Network([4, 2], "sigmoid", seed=0)
    X, y = np.zeros((2, 4)), np.array([0, 1])
    with pytest.raises(ValueError, match="no component"):
        analyse(net, ("あ", "い"), X, y)
    with pytest.raises(ValueError, match="no hidden layer"):
        analyse(net, ("林", "森"), X, y, min_kanji=1)


# ----------------------------------------------------------------------------- two-head model
def _two_head(lam=0.7, seed=0):
    rng = np.random.default_rng(seed)
    trunk = Network([5, 4, 3, 3], ["tanh", "sigmoid", "softmax"], "cross-entropy",
                    init="xavier", rng=rng, dtype=np.float64)
    M = np.array([[1, 0], [1, 1], [0, 1]])
    net = TwoHeadNetwork(trunk, M, lam=lam, rng=rng)
    X = rng.random((6, 5))
    Y = one_hot(rng.integers(0, 3, 6), 3, np.float64)
    return net, X, Y


def _total_cost(net, X, Y, masks=None):
    c, comp = net.costs(X, Y, masks)
    return c + net.lam * comp


@pytest.mark.parametrize("dropout", [None, Dropout(0.2, 0.5)], ids=["plain", "dropout"])
@pytest.mark.parametrize("lam", [0.0, 0.7, 3.0])
def test_two_head_gradients_match_central_differences(lam, dropout):
    """With dropout too: the two-head model reuses the trunk's backward pass, masks and all."""
    net, X, Y = _two_head(lam)
    masks = None if dropout is None else dropout.masks(net, len(X), np.random.default_rng(4))
    grads = net.backprop(X, Y, masks)
    assert grads.cost == pytest.approx(_total_cost(net, X, Y, masks))
    analytic = [g for nw, nb in zip(grads.nabla_w, grads.nabla_b) for g in (nw, nb)]
    h = 1e-6
    for p, g in zip(net.parameters(), analytic):
        assert g.shape == p.shape
        flat, num = p.reshape(-1), np.zeros(p.size)
        for i in range(p.size):
            saved = flat[i]
            flat[i] = saved + h
            plus = _total_cost(net, X, Y, masks)
            flat[i] = saved - h
            minus = _total_cost(net, X, Y, masks)
            flat[i] = saved
            num[i] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(g.reshape(-1), num, rtol=1e-5, atol=1e-8)
    if masks is not None:  # the masks matter: without them the gradient is another one
        plain = net.backprop(X, Y)
        assert not np.allclose(plain.nabla_w[0], grads.nabla_w[0])


def test_two_head_with_lambda_zero_is_the_trunk():
    net, X, Y = _two_head(0.0)
    g2, g1 = net.backprop(X, Y), net.trunk.backprop(X, Y)
    for a, b in zip(g2.nabla_w[:-1] + g2.nabla_b[:-1], g1.nabla_w + g1.nabla_b):
        np.testing.assert_allclose(a, b)
    assert np.all(g2.nabla_w[-1] == 0) and g2.cost == pytest.approx(g1.cost)


def test_two_head_validation():
    trunk = Network([4, 3], "sigmoid", seed=0)
    with pytest.raises(ValueError, match="hidden"):
        TwoHeadNetwork(trunk, np.ones((3, 2)))
    trunk = Network([4, 5, 3], ["relu", "softmax"], "cross-entropy", seed=0)
    with pytest.raises(ValueError, match="shape"):
        TwoHeadNetwork(trunk, np.ones((4, 2)))


def test_two_head_trains_with_dropout_and_max_norm():
    net, X, Y = _two_head(0.7)
    y = np.argmax(Y, axis=1)
    before = [p.copy() for p in net.parameters()]
    train(net, X, y, optimizer=SGD(0.5), epochs=3, batch_size=3, rng=np.random.default_rng(0),
          dropout=Dropout(0.1, 0.5), constraint=MaxNorm(0.8))
    assert all(not np.array_equal(p, q) for p, q in zip(net.parameters(), before))
    assert max(np.linalg.norm(W, axis=0).max() for W in net.weights) <= 0.8 + 1e-9


def test_two_head_learns_components_with_the_training_loop():
    rng = np.random.default_rng(0)
    k = len(CLASSES)
    comps, M = component_table(CLASSES, min_kanji=2)
    y = rng.integers(0, k, 400)
    X = np.eye(k)[y] + 0.1 * rng.random((400, k))  # (400, k)
    trunk = Network([k, 16, k], ["relu", "softmax"], "cross-entropy", init="he", seed=0)
    net = TwoHeadNetwork(trunk, M, lam=1.0, seed=0)
    before = net.costs(X, one_hot(y, k))
    train(net, X, y, optimizer=SGD(0.5, momentum=0.5), epochs=15, batch_size=20, rng=rng)
    after = net.costs(X, one_hot(y, k))
    assert after[0] < before[0] / 5 and after[1] < before[1] / 5
    assert component_accuracy(net, X, y)["exact_set"] == 1.0


# ----------------------------------------------------------------------------- commands
@pytest.fixture
def tiny_model(tmp_path):
    from mojinet.io import Model, save_model

    d = kanji.synthetic_dataset("".join(CLASSES), 20, 28, seed=0)
    net = Network([784, 32, len(CLASSES)], ["relu", "softmax"], "cross-entropy", init="he",
                  seed=0)
    train(net, d.X, d.y, optimizer=SGD(0.05, momentum=0.9), epochs=5, batch_size=16,
          rng=np.random.default_rng(0))
    pre = {"image_shape": [28, 28], "user_images": {"size": 28, "box": 20}}
    return save_model(Model(net, d.classes, pre, {}), tmp_path / "tiny.npz")


def test_radicals_command(tiny_model, tmp_path, capsys):
    from mojinet.cli import main

    fig = tmp_path / "radicals.png"
    assert main(["radicals", str(tiny_model), "--samples", "6", "--min-kanji", "2",
                 "--shuffles", "3", "--figure", str(fig), "--figure-rows", "2"]) == 0
    out = capsys.readouterr().out
    assert "components with a neuron of AUC >= 0.9" in out and "木" in out
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["radicals", str(tiny_model), "--samples", "4", "--min-kanji", "2",
                 "--shuffles", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["neurons"] == 32 and data["best"][0]["best_auc"] <= 1


def test_train_radical_and_sample_commands(tmp_path, capsys):
    from mojinet.cli import main
    from mojinet.io import load_model

    out = tmp_path / "r.npz"
    assert main(["train-radical", "--charset", "".join(CLASSES), "--size", "28",
                 "--per-class", "6", "--test-per-class", "3", "--hidden", "16", "--epochs", "2",
                 "--eval-styles", "thin", "--out", str(out), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    results = json.loads(lines[-2])
    assert {"test_accuracy", "test_accuracy_thin", "component_head"} <= set(results)
    assert main(["train-radical", "--charset", "".join(CLASSES), "--size", "28",
                 "--per-class", "6", "--test-per-class", "3", "--hidden", "16", "--epochs", "2",
                 "--eval-styles", "thin", "--out", str(out)]) == 0
    text = capsys.readouterr().out  # in words, not a dict
    assert "{" not in text and f"in style thin: {100 * results['test_accuracy_thin']:.2f}%" in text
    assert "component head: " in text and "of its yes/no answers right" in text
    model = load_model(out)
    assert model.classes == CLASSES
    assert model.training["component_head"]["components"][0] == "木"
    assert model.training["config"]["dataset"] == "kanjivg"
    png = tmp_path / "s.png"
    assert main(["kanji-sample", "あい", "--n", "3", "--size", "28", "--out", str(png)]) == 0
    from PIL import Image

    with Image.open(png) as im:
        assert im.size == (3 * 28, 2 * 28)


def test_radicals_command_on_kana_model_is_a_clear_error(tmp_path, capsys):
    from mojinet.cli import main
    from mojinet.io import Model, save_model

    net = Network([784, 4, 2], ["relu", "softmax"], "cross-entropy", seed=0)
    path = save_model(Model(net, ("あ", "い"), {"image_shape": [28, 28]}, {}), tmp_path / "k.npz")
    assert main(["radicals", str(path), "--samples", "2"]) == 2
    assert "no component" in capsys.readouterr().err


def test_topk_accuracy_and_kanji_eval(tiny_model, capsys):
    from mojinet.cli import main
    from mojinet.inspect import topk_accuracy

    net = Network([3, 3], "softmax", "cross-entropy", seed=0, dtype=np.float64)
    net.weights[0][:] = np.array([[3.0, 2, 1], [1, 3, 2], [2, 1, 3]])
    net.biases[0][:] = 0
    X, y = np.eye(3), np.array([0, 2, 1])  # outputs rank 0>1>2, 1>2>0, 2>0>1
    assert topk_accuracy(net, X, y, 1) == pytest.approx(1 / 3)
    assert topk_accuracy(net, X, y, 2) == pytest.approx(2 / 3)
    assert topk_accuracy(net, X, y, 3) == 1.0
    assert main(["kanji-eval", str(tiny_model), "--per-class", "2", "--styles", "default", "thin",
                 "--top", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(res) == {"default", "thin"} and res["thin"]["samples"] == 16
    assert res["default"]["top1"] <= res["default"]["top3"]
