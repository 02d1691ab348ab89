"""Dropout (masks, backprop with masks, gradient check with a fixed mask) and max-norm."""

from __future__ import annotations

import numpy as np
import pytest

from mojinet.nn.gradcheck import max_relative_error
from mojinet.nn.network import Network
from mojinet.nn.regularize import Dropout, MaxNorm, parse_dropout
from mojinet.nn.train import one_hot


def small_problem(rng, sizes=(6, 5, 4, 3), activations=("tanh", "sigmoid", "softmax"),
                  cost="cross-entropy"):
    net = Network(list(sizes), list(activations), cost, dtype=np.float64, rng=rng, init="xavier")
    X = rng.random((7, sizes[0]))  # (batch, n_in)
    Y = one_hot(rng.integers(0, sizes[-1], 7), sizes[-1], np.float64)
    return net, X, Y


def test_masks_hold_zero_or_inverse_keep_probability(rng):
    net = Network([100, 50, 10], "relu", cost="quadratic", seed=0)
    masks = Dropout(input=0.2, hidden=0.5).masks(net, 400, rng)
    assert [m.shape for m in masks] == [(400, 100), (400, 50)]
    assert masks[0].dtype == np.float32
    assert set(np.unique(masks[0])) == {0.0, np.float32(1 / 0.8)}
    assert set(np.unique(masks[1])) == {0.0, 2.0}
    # dropped fractions near p (40,000 and 20,000 draws: 5 standard deviations is < 0.02)
    assert abs((masks[0] == 0).mean() - 0.2) < 0.02
    assert abs((masks[1] == 0).mean() - 0.5) < 0.02
    # the mean of each mask is ≈ 1: the next layer's expected input is unchanged
    assert abs(masks[1].mean() - 1) < 0.04


def test_no_dropout_where_p_is_zero_and_masks_follow_the_seed():
    net = Network([8, 6, 6, 2], "sigmoid", seed=0)
    d = Dropout(hidden=0.3)
    masks = d.masks(net, 5, np.random.default_rng(7))
    assert masks[0] is None and masks[1].shape == (5, 6) and masks[2].shape == (5, 6)
    again = d.masks(net, 5, np.random.default_rng(7))
    assert all(np.array_equal(a, b) for a, b in zip(masks[1:], again[1:]))
    assert not Dropout() and Dropout(input=0.1)


@pytest.mark.parametrize("cost, activations", [
    ("cross-entropy", ("tanh", "sigmoid", "softmax")),
    ("quadratic", ("sigmoid", "relu", "sigmoid")),
])
def test_gradient_check_with_a_fixed_dropout_mask(rng, cost, activations):
    net, X, Y = small_problem(rng, activations=activations, cost=cost)
    masks = Dropout(input=0.3, hidden=0.4).masks(net, len(X), rng)
    masks = [m.astype(np.float64) for m in masks]
    assert any((m == 0).any() for m in masks)  # the check really drops something
    assert max_relative_error(net, X, Y, masks=masks) < 1e-6


def test_dropped_inputs_get_no_weight_gradient(rng):
    net, X, Y = small_problem(rng)
    masks = [np.ones((len(X), n)) for n in net.sizes[:-1]]
    masks[0][:, 2] = 0  # input pixel 2 dropped for every sample
    masks[1][:, 1] = 0  # hidden neuron 1 of layer 1 dropped for every sample
    g = net.backprop(X, Y, masks)
    assert np.all(g.nabla_w[0][2] == 0)  # weights out of the dropped input
    assert np.all(g.nabla_w[1][1] == 0)  # weights out of the dropped neuron
    # …and nothing flows back into the dropped neuron: its incoming weights get no gradient
    assert np.all(g.nabla_w[0][:, 1] == 0) and g.nabla_b[0][1] == 0
    assert np.any(g.nabla_w[0][:, 0] != 0)


def test_all_ones_masks_change_nothing_and_backprop_stays_pure(rng):
    net, X, Y = small_problem(rng)
    before = [p.copy() for p in net.parameters()]
    plain = net.backprop(X, Y)
    ones = net.backprop(X, Y, [np.ones((len(X), n)) for n in net.sizes[:-1]])
    for a, b in zip(plain.nabla_w + plain.nabla_b, ones.nabla_w + ones.nabla_b):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert all(np.array_equal(p, q) for p, q in zip(net.parameters(), before))


def test_bad_masks_are_refused(rng):
    net, X, Y = small_problem(rng)
    with pytest.raises(ValueError, match="one dropout mask"):
        net.backprop(X, Y, [None])
    with pytest.raises(ValueError, match=r"dropout mask 1 must have shape \(7, 5\)"):
        net.backprop(X, Y, [None, np.ones((7, 4)), None])


@pytest.mark.torch
def test_dropout_backprop_matches_torch_autograd(rng):
    torch = pytest.importorskip("torch")
    net, X, Y = small_problem(rng, activations=("relu", "tanh", "softmax"))
    masks = [m.astype(np.float64) for m in Dropout(0.2, 0.5).masks(net, len(X), rng)]
    ours = net.backprop(X, Y, masks)
    Ws = [torch.tensor(W, requires_grad=True) for W in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
    A = torch.tensor(X)
    for l, (W, b) in enumerate(zip(Ws, bs)):
        Z = (A * torch.tensor(masks[l])) @ W + b
        A = torch.relu(Z) if l == 0 else torch.tanh(Z) if l == 1 else Z
    cost = -(torch.tensor(Y) * torch.log_softmax(A, dim=1)).sum(dim=1).mean()
    cost.backward()
    for mine, t in zip(ours.nabla_w + ours.nabla_b, [W.grad for W in Ws] + [b.grad for b in bs]):
        np.testing.assert_allclose(mine, t.numpy(), rtol=1e-10, atol=1e-12)
    assert ours.cost == pytest.approx(cost.item(), rel=1e-12)


def test_dropout_settings():
    with pytest.raises(ValueError, match=r"must be in \[0, 1\)"):
        Dropout(hidden=1.0)
    assert parse_dropout(None) == Dropout()
    assert parse_dropout([0.5]) == Dropout(hidden=0.5)
    assert parse_dropout([0.2, 0.5]) == Dropout(0.2, 0.5)
    with pytest.raises(ValueError, match="P_INPUT P_HIDDEN"):
        parse_dropout([0.1, 0.2, 0.3])


def test_max_norm_scales_only_long_columns():
    net = Network([3, 2, 2], "relu", dtype=np.float64, seed=0)
    net.weights[0][...] = [[3.0, 0.1], [4.0, 0.2], [0.0, 0.2]]  # column norms 5 and 0.3
    net.weights[1][...] = [[1.0, 0.0], [0.0, 2.0]]  # column norms 1 and 2
    MaxNorm(2.0)(net)
    np.testing.assert_allclose(net.weights[0], [[1.2, 0.1], [1.6, 0.2], [0.0, 0.2]])
    np.testing.assert_allclose(net.weights[1], [[1.0, 0.0], [0.0, 2.0]])
    assert np.linalg.norm(net.weights[0], axis=0).max() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="positive"):
        MaxNorm(0)
