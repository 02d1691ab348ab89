"""The mini-batch loop: it learns, it is reproducible, it stops safely when the cost blows up."""

from __future__ import annotations

import numpy as np
import pytest

from mojinet import SGD, History, Network, TrainingDiverged, evaluate, one_hot, train
from mojinet.nn.schedules import make_schedule


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


def test_training_learns_mnist_subset(mnist_small):
    tr, te = mnist_small
    net = Network([784, 16, 16, 10], init="xavier", seed=0)
    cost0, acc0 = evaluate(net, te.X, te.y)
    history = train(net, tr.X, tr.y, optimizer=SGD(3.0), epochs=5, batch_size=10,
                    rng=np.random.default_rng(0), eval_data=(te.X, te.y))
    assert len(history.epochs) == 5
    assert history.epochs[-1].train_cost < history.epochs[0].train_cost < cost0
    assert history.epochs[-1].eval_accuracy > 0.80 > acc0 + 0.5


def test_training_is_reproducible_under_a_seed(mnist_small):
    tr, _ = mnist_small
    nets = []
    for _ in range(2):
        net = Network([784, 8, 10], init="xavier", seed=3)
        train(net, tr.X[:300], tr.y[:300], optimizer=SGD(1.0, momentum=0.5), epochs=2,
              batch_size=16, rng=np.random.default_rng(4))
        nets.append(net)
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        np.testing.assert_array_equal(p, q)


def test_full_batch_gradient_descent_is_one_step_per_epoch(rng):
    """batch_size = n: each epoch is exactly one gradient step on the whole set."""
    X = rng.uniform(size=(20, 5)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    net = Network([5, 4, 3], seed=1)
    expected = net.copy()
    train(net, X, y, optimizer=SGD(0.5), epochs=3, batch_size=20, rng=rng)
    for _ in range(3):
        g = expected.backprop(X, one_hot(y, 3))
        for p, d in zip(expected.parameters(), [a for w, b in zip(g.nabla_w, g.nabla_b)
                                                for a in (w, b)]):
            p -= 0.5 * d
    for p, q in zip(net.parameters(), expected.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-7)


def test_sgd_step_is_the_update_rule(rng):
    net = Network([3, 2], seed=0, dtype=np.float64)
    W0 = net.weights[0].copy()
    g = net.backprop(rng.uniform(size=(4, 3)), np.eye(2)[[0, 1, 1, 0]])
    SGD(0.25).step(net, g)
    np.testing.assert_allclose(net.weights[0], W0 - 0.25 * g.nabla_w[0])
    # L2 weight decay adds λw to the weight gradient only
    net2 = Network([3, 2], seed=0, dtype=np.float64)
    b0 = net2.biases[0].copy()
    SGD(0.25, weight_decay=0.1).step(net2, g)
    np.testing.assert_allclose(net2.weights[0], W0 - 0.25 * (g.nabla_w[0] + 0.1 * W0))
    np.testing.assert_allclose(net2.biases[0], b0 - 0.25 * g.nabla_b[0])


def test_momentum_accumulates_velocity(rng):
    net = Network([3, 2], seed=0, dtype=np.float64)
    W0 = net.weights[0].copy()
    g = net.backprop(rng.uniform(size=(4, 3)), np.eye(2)[[0, 1, 1, 0]])
    opt = SGD(0.1, momentum=0.9)
    opt.step(net, g)  # v1 = −η g
    opt.step(net, g)  # v2 = μ v1 − η g
    np.testing.assert_allclose(net.weights[0], W0 - 0.1 * g.nabla_w[0] * (1 + 1.9))


def test_nan_stops_training_and_restores_last_good_weights(rng):
    X = rng.uniform(size=(30, 4)).astype(np.float32)
    y = rng.integers(0, 2, 30)
    net = Network([4, 3, 2], seed=0)
    train(net, X, y, optimizer=SGD(1.0), epochs=1, batch_size=5, rng=rng)
    good = [p.copy() for p in net.parameters()]
    X_bad = X.copy()
    X_bad[17, 2] = np.nan  # a damaged sample appears in some mini-batch
    with pytest.raises(TrainingDiverged, match="restored.*Lower the learning rate"):
        train(net, X_bad, y, optimizer=SGD(1.0), epochs=2, batch_size=5, rng=rng)
    for p, q in zip(net.parameters(), good):
        np.testing.assert_array_equal(p, q)


def test_parameters_blowing_up_in_the_last_step_are_caught(rng):
    """A step that leaves a parameter infinite (no batch of that epoch saw a bad cost) is still
    caught at the end of the epoch, and the epoch is undone."""

    class BlowUp(SGD):
        def step(self, net, grads):
            super().step(net, grads)
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls == 8:  # the last batch of epoch 2 (4 batches per epoch)
                net.weights[1][0, 0] = np.inf

    X = rng.uniform(size=(32, 8)).astype(np.float32)
    y = rng.integers(0, 4, 32)
    net = Network([8, 6, 4], seed=0)
    opt = BlowUp(0.5)
    hist = History()
    train(net, X, y, optimizer=opt, epochs=1, batch_size=8, rng=rng, history=hist)
    after_epoch_1 = [p.copy() for p in net.parameters()]
    with pytest.raises(TrainingDiverged, match="diverged in epoch 2.*non-finite"):
        train(net, X, y, optimizer=opt, epochs=3, batch_size=8, rng=rng, history=hist)
    for p, q in zip(net.parameters(), after_epoch_1):
        np.testing.assert_array_equal(p, q)
    assert len(hist.epochs) == 1


def test_history_resumes_and_schedule_sets_eta(rng):
    X = rng.uniform(size=(20, 4)).astype(np.float32)
    y = rng.integers(0, 2, 20)
    net, opt, hist = Network([4, 2], seed=0), SGD(2.0), History()
    sched = make_schedule("cosine", 2.0, 4)
    train(net, X, y, optimizer=opt, epochs=2, batch_size=5, rng=rng, schedule=sched, history=hist)
    train(net, X, y, optimizer=opt, epochs=2, batch_size=5, rng=rng, schedule=sched, history=hist)
    assert [e.epoch for e in hist.epochs] == [1, 2, 3, 4]
    np.testing.assert_allclose([e.eta for e in hist.epochs],
                               [2.0, 1.0 + 2 ** -0.5, 1.0, 1.0 - 2 ** -0.5])
    assert History.from_dict(hist.to_dict()).epochs == hist.epochs


@pytest.mark.parametrize("kwargs,message", [
    (dict(batch_size=0), "batch_size"), (dict(epochs=-1), "epochs")])
def test_bad_training_arguments(rng, kwargs, message):
    args = dict(optimizer=SGD(1.0), epochs=1, batch_size=2, rng=rng) | kwargs
    with pytest.raises(ValueError, match=message):
        train(Network([2, 2], seed=0), np.zeros((4, 2)), np.zeros(4, int), **args)


@pytest.mark.parametrize("kwargs", [dict(eta=0), dict(eta=float("nan")), dict(eta=1, momentum=1),
                                    dict(eta=1, weight_decay=-1)])
def test_bad_optimizer_settings(kwargs):
    with pytest.raises(ValueError):
        SGD(**kwargs)


def test_per_step_schedule_sets_eta_before_each_run_of_batches(monkeypatch):
    """onecycle: η is set from the schedule at the middle of each run of batches (4 an epoch
    here); the same run by hand, batch by batch, gives the same network."""
    monkeypatch.setattr("mojinet.nn.train.STEP_CHUNKS", 4)
    rng = np.random.default_rng(0)
    X, y = rng.random((64, 12)), rng.integers(0, 3, 64)
    a = Network([12, 6, 3], ["relu", "softmax"], "cross-entropy", init="he", seed=4,
                dtype=np.float64)
    b, c = a.copy(), a.copy()
    schedule = make_schedule("onecycle", 0.5, 2)
    opt = SGD(0.5, 0.9)
    history = train(a, X, y, optimizer=opt, epochs=2, batch_size=8, engine="reference",
                    rng=np.random.default_rng(7), schedule=schedule, progress=False)
    hand, by_hand, Y = SGD(0.5, 0.9), np.random.default_rng(7), one_hot(y, 3, np.float64)
    etas = []
    for e in range(2):
        order = by_hand.permutation(64)
        for first in range(0, 64, 16):  # runs of 2 batches of 8
            hand.eta = schedule(e + (first + 8) / 64)
            etas.append(hand.eta)
            for i in range(first, first + 16, 8):
                idx = order[i : i + 8]
                hand.step(b, b.backprop(X[idx], Y[idx]))
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)
    assert len(set(etas)) == 8 and history.epochs[-1].eta == etas[-1]
    train(c, X, y, optimizer=SGD(0.5, 0.9), epochs=2, batch_size=8, engine="reference",
          rng=np.random.default_rng(7), schedule=lambda e: schedule(e + 0.125), progress=False)
    assert max(np.abs(p - q).max() for p, q in zip(a.parameters(), c.parameters())) > 1e-6
