"""The network's math: a hand-worked example, central differences, and shapes and errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from mojinet import Network
from mojinet.nn.gradcheck import max_relative_error, numerical_gradients

LN3 = math.log(3.0)


def test_from_parameters_checks_the_chain():
    net = Network.from_parameters([np.ones((3, 2)), np.ones((2, 4))], [np.zeros(2), np.zeros(4)],
                                  ["tanh", "softmax"], "cross-entropy")
    assert net.sizes == [3, 2, 4] and net.weights[0].dtype == np.float32
    with pytest.raises(ValueError, match="layer 2.*do not chain"):
        Network.from_parameters([np.ones((3, 2)), np.ones((3, 4))], [np.zeros(2), np.zeros(4)])


def hand_network() -> Network:
    """A 2-2-2 sigmoid network whose numbers come out as fractions.

    With σ(0) = 1/2, σ(ln 3) = 3/4, σ'(0) = 1/4 and σ'(ln 3) = 3/4 · 1/4 = 3/16:
      x  = [1, 0]
      W¹ = [[ln3, 0], [1, 1]], b¹ = [0, 0]      → z¹ = x W¹ + b¹ = [ln3, 0], a¹ = [3/4, 1/2]
      W² = [[1, 0], [1, 2 ln3]], b² = [−5/4, 0] → z² = [3/4 + 1/2 − 5/4, 2 ln3 / 2] = [0, ln3]
                                                 a² = [1/2, 3/4]
    """
    net = Network([2, 2, 2], "sigmoid", "quadratic", dtype=np.float64)
    net.weights = [np.array([[LN3, 0.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 2 * LN3]])]
    net.biases = [np.array([0.0, 0.0]), np.array([-1.25, 0.0])]
    return net


def test_hand_worked_forward():
    zs, activations = hand_network().forward(np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(zs[0], [[LN3, 0.0]], atol=1e-15)
    np.testing.assert_allclose(activations[1], [[3 / 4, 1 / 2]], rtol=1e-15)
    np.testing.assert_allclose(zs[1], [[0.0, LN3]], atol=1e-15)
    np.testing.assert_allclose(activations[2], [[1 / 2, 3 / 4]], rtol=1e-15)


def test_hand_worked_backprop():
    """Wanted output y = [1, 0].

    C   = ½[(1/2 − 1)² + (3/4 − 0)²] = ½(1/4 + 9/16) = 13/32
    δ²  = (a² − y) ⊙ σ'(z²) = [−1/2 · 1/4, 3/4 · 3/16] = [−1/8, 9/64]               (BP1)
    ∂C/∂b² = δ² ;  ∂C/∂W² = (a¹)ᵀ δ² = [[3/4·−1/8, 3/4·9/64], [1/2·−1/8, 1/2·9/64]]
                                     = [[−3/32, 27/256], [−1/16, 9/128]]            (BP3, BP4)
    δ² (W²)ᵀ = [−1/8·1 + 9/64·0, −1/8·1 + 9/64·2 ln3] = [−1/8, −1/8 + 9 ln3/32]
    δ¹  = that ⊙ σ'(z¹) = [−1/8 · 3/16, (−1/8 + 9 ln3/32) · 1/4]
        = [−3/128, −1/32 + 9 ln3/128]                                             (BP2)
    ∂C/∂b¹ = δ¹ ;  ∂C/∂W¹ = xᵀ δ¹ = [[δ¹₀, δ¹₁], [0, 0]]  (since x = [1, 0])
    """
    net = hand_network()
    g = net.backprop(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]))
    assert g.cost == pytest.approx(13 / 32, rel=1e-14)
    np.testing.assert_allclose(g.nabla_b[1], [-1 / 8, 9 / 64], rtol=1e-14)
    np.testing.assert_allclose(g.nabla_w[1], [[-3 / 32, 27 / 256], [-1 / 16, 9 / 128]], rtol=1e-14)
    d1 = [-3 / 128, -1 / 32 + 9 * LN3 / 128]
    np.testing.assert_allclose(g.nabla_b[0], d1, rtol=1e-14)
    np.testing.assert_allclose(g.nabla_w[0], [d1, [0.0, 0.0]], rtol=1e-14, atol=1e-17)


HIDDEN = ["sigmoid", "relu", "tanh"]
COMBOS = [
    (hidden, out, cost)
    for hidden, out, cost in itertools.product(
        HIDDEN, ["sigmoid", "softmax", "relu", "tanh"], ["quadratic", "cross-entropy"]
    )
    if not (cost == "cross-entropy" and out not in ("sigmoid", "softmax"))
]


@pytest.mark.parametrize("hidden,out,cost", COMBOS)
def test_backprop_matches_central_differences(hidden, out, cost, rng):
    net = Network([5, 4, 3, 3], [hidden, hidden, out], cost, init="normal", rng=rng,
                  dtype=np.float64)
    X = rng.uniform(0, 1, size=(7, 5))  # (batch, n_in)
    Y = np.eye(3)[rng.integers(0, 3, size=7)]  # one-hot (batch, n_out)
    assert max_relative_error(net, X, Y) < 1e-7
    grads = net.backprop(X, Y)
    num_w, num_b = numerical_gradients(net, X, Y)
    for a, n in zip(grads.nabla_w + grads.nabla_b, num_w + num_b):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-9)


def test_gradcheck_catches_a_wrong_gradient(rng, monkeypatch):
    """The checker itself must be able to fail: break BP2's sign and it must notice."""
    net = Network([4, 3, 2], "sigmoid", "quadratic", rng=rng, dtype=np.float64)
    X, Y = rng.uniform(size=(5, 4)), np.eye(2)[rng.integers(0, 2, 5)]
    act = net.activations[0]
    broken = type(act)(act.name, act.fn, lambda z, a: -a * (1 - a), act.output_range)
    net.activations[0] = broken
    assert max_relative_error(net, X, Y) > 0.5


def test_backprop_is_pure(rng):
    net = Network([6, 5, 3], ["relu", "softmax"], "cross-entropy", rng=rng, dtype=np.float64)
    before = [p.copy() for p in net.parameters()]
    X, Y = rng.uniform(size=(4, 6)), np.eye(3)[[0, 1, 2, 0]]
    g1 = net.backprop(X, Y)
    g2 = net.backprop(X, Y)
    for p, q in zip(before, net.parameters()):
        np.testing.assert_array_equal(p, q)
    for a, b in zip(g1.nabla_w + g1.nabla_b, g2.nabla_w + g2.nabla_b):
        np.testing.assert_array_equal(a, b)
        assert all(a is not p for p in net.parameters())


def test_gradient_is_mean_over_batch(rng):
    """The gradient of a batch is the mean of the per-sample gradients."""
    net = Network([3, 4, 2], "tanh", "quadratic", rng=rng, dtype=np.float64)
    X, Y = rng.uniform(size=(6, 3)), rng.uniform(size=(6, 2))
    whole = net.backprop(X, Y)
    singles = [net.backprop(X[i : i + 1], Y[i : i + 1]) for i in range(6)]
    for l in range(net.n_layers):
        np.testing.assert_allclose(whole.nabla_w[l], np.mean([s.nabla_w[l] for s in singles], 0))
        np.testing.assert_allclose(whole.nabla_b[l], np.mean([s.nabla_b[l] for s in singles], 0))


def test_chapter_network_parameter_count():
    net = Network([784, 16, 16, 10])
    assert (net.n_weights, net.n_biases, net.n_params) == (12_960, 42, 13_002)
    assert [W.shape for W in net.weights] == [(784, 16), (16, 16), (16, 10)]
    assert all(W.dtype == np.float32 for W in net.weights)


def test_seeded_initialisation_is_reproducible():
    a, b = Network([10, 5, 2], seed=7), Network([10, 5, 2], seed=7)
    c = Network([10, 5, 2], seed=8)
    assert all(np.array_equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not np.array_equal(a.weights[0], c.weights[0])


@pytest.mark.parametrize("scheme,expected_std", [("normal", 1.0), ("xavier", math.sqrt(2 / 600)),
                                                  ("he", math.sqrt(2 / 400))])
def test_initialiser_scales(scheme, expected_std):
    net = Network([400, 200], init=scheme, seed=0)
    assert net.weights[0].std() == pytest.approx(expected_std, rel=0.02)


def test_numerical_gradients_restore_parameters(rng):
    net = Network([3, 2], "sigmoid", dtype=np.float64, rng=rng)
    before = [p.copy() for p in net.parameters()]
    numerical_gradients(net, rng.uniform(size=(2, 3)), np.eye(2))
    assert all(np.array_equal(p, q) for p, q in zip(before, net.parameters()))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(sizes=[784]), "at least an input and an output"),
        (dict(sizes=[784, 0, 10]), "at least an input and an output"),
        (dict(sizes=[4, 3, 2], activations=["sigmoid"]), "one activation per layer"),
        (dict(sizes=[4, 3, 2], activations="swish"), "unknown activation 'swish'"),
        (dict(sizes=[4, 3, 2], cost="hinge"), "unknown cost 'hinge'"),
        (dict(sizes=[4, 3, 2], activations=["sigmoid", "relu"], cost="cross-entropy"),
         "needs a sigmoid or softmax output"),
        (dict(sizes=[4, 3, 2], activations=["softmax", "softmax"]), "only supported on the output"),
        (dict(sizes=[4, 2], init="uniform"), "unknown initialiser"),
    ],
)
def test_bad_network_configuration(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Network(**kwargs)


def test_wrong_input_shape_is_explained():
    net = Network([784, 16, 10])
    with pytest.raises(ValueError, match=r"shape \(batch, 784\).*\(3, 28, 28\)"):
        net.feedforward(np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match="wanted outputs Y must have shape"):
        net.backprop(np.zeros((3, 784)), np.zeros((3, 9)))


def test_single_sample_vector_is_accepted():
    net = Network([4, 3], seed=0)
    x = np.linspace(0, 1, 4)
    np.testing.assert_allclose(net.feedforward(x), net.feedforward(x[None, :]))
