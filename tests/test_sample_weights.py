"""Per-sample weights in the cost, C = (1/n) Σₓ sₓ Cₓ (nn/costs.py), through backprop and the
engines: central differences, PyTorch on identical weights, the engines against the reference,
and the properties that pin the definition down (weights of 1 are no weights; a weight of 0
removes a sample's gradient; weights c are a learning rate c·η)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mojinet import SGD, Network, one_hot, train
from mojinet.engines import BlasTrainer, CompiledTrainer, compiled
from mojinet.nn.gradcheck import max_relative_error
from mojinet.nn.train import ReferenceSteps

ENGINES = ["blas"] + (["compiled"] if compiled.HAVE_NUMBA else [])
TRAINERS = {"blas": BlasTrainer, "compiled": CompiledTrainer}
CASES = [(h, o, c) for h, o, c in itertools.product(
    ["sigmoid", "relu", "tanh"], ["sigmoid", "softmax"], ["quadratic", "cross-entropy"])]


def _batch(rng, n=9, n_in=6, n_out=4):
    X = rng.uniform(0, 1, size=(n, n_in))  # (n, n_in)
    Y = one_hot(rng.integers(0, n_out, n), n_out, np.float64)  # (n, n_out)
    s = rng.uniform(0, 3, size=n)  # (n,) weights, not all alike
    return X, Y, s


@pytest.mark.parametrize("hidden,out,cost", CASES)
def test_weighted_gradients_match_central_differences(hidden, out, cost, rng):
    net = Network([6, 5, 4], [hidden, out], cost, init="normal", rng=rng, dtype=np.float64)
    X, Y, s = _batch(rng)
    assert max_relative_error(net, X, Y, weights=s) < 1e-7


def test_gradient_check_catches_ignored_weights(rng):
    """The check can fail: the unweighted gradient is not the weighted cost's gradient."""
    net = Network([6, 5, 4], ["tanh", "softmax"], "cross-entropy", rng=rng, dtype=np.float64)
    X, Y, s = _batch(rng)
    unweighted = net.backprop(X, Y)
    weighted = net.backprop(X, Y, weights=s)
    assert np.linalg.norm(unweighted.nabla_w[0] - weighted.nabla_w[0]) > 1e-3


@pytest.mark.torch
@pytest.mark.parametrize("hidden,out,cost", CASES)
def test_weighted_gradients_match_torch(hidden, out, cost, rng):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle (torch==2.13.0)")
    F = torch.nn.functional
    net = Network([6, 5, 4], [hidden, out], cost, init="normal", rng=rng, dtype=np.float64)
    X, Y, s = _batch(rng)
    grads = net.backprop(X, Y, weights=s)
    Ws = [torch.tensor(W, requires_grad=True) for W in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
    act = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh,
           "softmax": lambda z: torch.softmax(z, dim=1)}
    A = torch.tensor(X)
    for W, b, name in zip(Ws, bs, [hidden, out]):
        Z = A @ W + b
        A = act[name](Z)
    Yt, st = torch.tensor(Y), torch.tensor(s)
    if cost == "quadratic":
        per_sample = 0.5 * ((A - Yt) ** 2).sum(dim=1)
    elif out == "softmax":
        per_sample = -(Yt * F.log_softmax(Z, dim=1)).sum(dim=1)
    else:
        per_sample = F.binary_cross_entropy_with_logits(Z, Yt, reduction="none").sum(dim=1)
    loss = (st * per_sample).sum() / len(X)  # (1/n) Σ sₓ Cₓ
    loss.backward()
    assert grads.cost == pytest.approx(loss.item(), rel=1e-12)
    for l in range(2):
        np.testing.assert_allclose(grads.nabla_w[l], Ws[l].grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(grads.nabla_b[l], bs[l].grad.numpy(), rtol=1e-10, atol=1e-14)


def test_weights_of_one_are_no_weights(rng):
    net = Network([6, 5, 4], ["relu", "softmax"], "cross-entropy", rng=rng, dtype=np.float64)
    X, Y, _ = _batch(rng)
    a, b = net.backprop(X, Y), net.backprop(X, Y, weights=np.ones(len(X)))
    assert a.cost == b.cost
    for p, q in zip(a.nabla_w + a.nabla_b, b.nabla_w + b.nabla_b):
        np.testing.assert_array_equal(p, q)


def test_a_zero_weight_removes_the_sample(rng):
    """sₖ = 0: the gradient of the other n − 1 samples, still divided by n."""
    net = Network([6, 5, 4], "sigmoid", "quadratic", rng=rng, dtype=np.float64)
    X, Y, _ = _batch(rng)
    s = np.ones(len(X))
    s[3] = 0
    keep = np.arange(len(X)) != 3
    got = net.backprop(X, Y, weights=s)
    want = net.backprop(X[keep], Y[keep])
    scale = (len(X) - 1) / len(X)
    for p, q in zip(got.nabla_w + got.nabla_b, want.nabla_w + want.nabla_b):
        np.testing.assert_allclose(p, q * scale, rtol=1e-12, atol=1e-15)


def test_bad_weights_are_refused(rng):
    net = Network([6, 5, 4], dtype=np.float64)
    X, Y, _ = _batch(rng)
    with pytest.raises(ValueError, match="one per sample"):
        net.backprop(X, Y, weights=np.ones(3))
    with pytest.raises(ValueError, match="finite and >= 0"):
        train(net, X, Y.argmax(1), optimizer=SGD(1.0), epochs=1, batch_size=3, rng=rng,
              sample_weight=-np.ones(len(X)))


SETUPS = [
    ([12, 5, 3], "sigmoid", "quadratic", 3.0, 0.0, 0.0),
    ([12, 6, 4, 3], ["relu", "tanh", "softmax"], "cross-entropy", 0.5, 0.9, 0.0),
    ([12, 7, 3], ["tanh", "sigmoid"], "cross-entropy", 0.5, 0.5, 0.01),
    ([12, 6, 3], ["relu", "softmax"], "quadratic", 1.0, 0.0, 0.05),
    ([12, 3], "sigmoid", "cross-entropy", 0.5, 0.0, 0.01),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("setup", SETUPS, ids=lambda s: "-".join(map(str, s[0])) + f"-{s[2]}")
@pytest.mark.parametrize("batch_size", [1, 8])
def test_engines_match_the_reference_with_weights(engine, setup, batch_size, rng):
    sizes, acts, cost, eta, mu, lam = setup
    X = rng.random((41, 12))
    X[X < 0.5] = 0  # sparse, like MNIST (the compiled engine compresses rows)
    Y = one_hot(rng.integers(0, 3, 41), 3, np.float64)
    s = rng.uniform(0, 2, 41)
    s[::7] = 0
    ref = Network(sizes, acts, cost, init="xavier", seed=1, dtype=np.float64)
    net = ref.copy()
    steps_ref = ReferenceSteps(ref, SGD(eta, mu, lam), batch_size, rng)
    steps = TRAINERS[engine](net, SGD(eta, mu, lam), batch_size)
    for _ in range(2):
        order = rng.permutation(len(X))
        want = steps_ref.run(X, Y, order, 0, len(X), weights=s)
        got = steps.run(X, Y, order, 0, len(X), weights=s)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
        for p, q in zip(ref.parameters(), net.parameters()):
            np.testing.assert_allclose(q, p, rtol=1e-8, atol=1e-10)
    unweighted = Network(sizes, acts, cost, init="xavier", seed=1, dtype=np.float64)
    TRAINERS[engine](unweighted, SGD(eta, mu, lam), batch_size).run(X, Y, order, 0, len(X))
    assert max(float(np.abs(p - q).max())
               for p, q in zip(unweighted.parameters(), net.parameters())) > 1e-4


@pytest.mark.parametrize("engine", ["reference", *ENGINES])
def test_constant_weights_are_a_learning_rate(engine, rng):
    """Without weight decay, weights c everywhere take the steps of η·c (train, every engine)."""
    from mojinet import engines

    X = rng.random((30, 12))
    y = rng.integers(0, 3, 30)
    a = Network([12, 5, 3], ["tanh", "softmax"], "cross-entropy", seed=2, dtype=np.float64)
    b = a.copy()
    engines.train(a, X, y, optimizer=SGD(0.2), epochs=2, batch_size=4,
                  rng=np.random.default_rng(0), engine=engine, sample_weight=np.full(30, 2.5))
    engines.train(b, X, y, optimizer=SGD(0.5), epochs=2, batch_size=4,
                  rng=np.random.default_rng(0), engine=engine)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)
