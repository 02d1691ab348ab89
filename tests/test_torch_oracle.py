"""Agreement with PyTorch's autograd on identical weights (float64, tight tolerance)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mojinet import Network

torch = pytest.importorskip("torch", reason="PyTorch is the oracle; CI installs torch==2.13.0")
F = torch.nn.functional
pytestmark = pytest.mark.torch

TORCH_ACT = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh,
             "softmax": lambda z: torch.softmax(z, dim=1)}


def torch_cost(name, out, z, a, y):
    n = z.shape[0]
    if name == "quadratic":
        return 0.5 * ((a - y) ** 2).sum() / n
    if out == "softmax":
        return -(y * F.log_softmax(z, dim=1)).sum() / n
    return F.binary_cross_entropy_with_logits(z, y, reduction="sum") / n


CASES = [
    (h, o, c) for h, o, c in itertools.product(
        ["sigmoid", "relu", "tanh"], ["sigmoid", "softmax", "tanh"], ["quadratic", "cross-entropy"])
    if not (c == "cross-entropy" and o == "tanh")
]


@pytest.mark.parametrize("hidden,out,cost", CASES)
def test_forward_and_gradients_match_torch(hidden, out, cost, rng):
    net = Network([12, 9, 7, 5], [hidden, hidden, out], cost, init="normal", rng=rng,
                  dtype=np.float64)
    X = rng.uniform(0, 1, size=(16, 12))
    Y = np.eye(5)[rng.integers(0, 5, size=16)]
    grads = net.backprop(X, Y)

    Ws = [torch.tensor(W, requires_grad=True) for W in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
    A = torch.tensor(X)
    for l, (W, b) in enumerate(zip(Ws, bs)):
        Z = A @ W + b
        A = TORCH_ACT[net.activations[l].name](Z)
    loss = torch_cost(cost, out, Z, A, torch.tensor(Y))
    loss.backward()

    np.testing.assert_allclose(net.feedforward(X), A.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert grads.cost == pytest.approx(loss.item(), rel=1e-12)
    for l in range(net.n_layers):
        np.testing.assert_allclose(grads.nabla_w[l], Ws[l].grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(grads.nabla_b[l], bs[l].grad.numpy(), rtol=1e-10, atol=1e-14)


def test_torch_linear_layout_matches(rng):
    """Our W (fan_in, fan_out) is the transpose of nn.Linear's weight (out, in)."""
    net = Network([6, 4], "sigmoid", dtype=np.float64, rng=rng)
    lin = torch.nn.Linear(6, 4).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(net.weights[0].T))
        lin.bias.copy_(torch.tensor(net.biases[0]))
    X = rng.uniform(size=(3, 6))
    np.testing.assert_allclose(net.feedforward(X), torch.sigmoid(lin(torch.tensor(X))).detach(),
                               rtol=1e-13)
