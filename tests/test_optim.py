"""Optimisers: each update rule against steps worked by hand, and against PyTorch's optimisers
(torch.optim.SGD with momentum/nesterov/weight_decay, torch.optim.Adam) on identical gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mojinet.nn.network import Gradients, Network
from mojinet.nn.optim import SGD, Adam, make_optimizer


def tiny_net(w: float = 1.0, b: float = 0.5) -> Network:
    """A 1-1 network whose single weight and bias we set by hand."""
    net = Network([1, 1], "sigmoid", dtype=np.float64, seed=0)
    net.weights[0][...] = w
    net.biases[0][...] = b
    return net


def grads(gw: float, gb: float) -> Gradients:
    return Gradients([np.array([[gw]])], [np.array([gb])], 0.0)


def wb(net: Network) -> tuple[float, float]:
    return float(net.weights[0][0, 0]), float(net.biases[0][0])


# ----------------------------------------------------------------------------- by hand
def test_sgd_plain_step():
    net = tiny_net(1.0, 0.5)
    SGD(0.1).step(net, grads(2.0, -1.0))
    assert wb(net) == pytest.approx((1.0 - 0.1 * 2.0, 0.5 + 0.1 * 1.0))  # (0.8, 0.6)


def test_sgd_weight_decay_weights_only():
    net = tiny_net(1.0, 0.5)
    SGD(0.1, weight_decay=0.5).step(net, grads(2.0, -1.0))
    # w: g = 2 + 0.5·1 = 2.5 → 1 − 0.25 = 0.75; b is not decayed: 0.5 + 0.1 = 0.6
    assert wb(net) == pytest.approx((0.75, 0.6))


def test_sgd_momentum_two_steps():
    net = tiny_net(1.0, 0.0)
    opt = SGD(0.1, momentum=0.9)
    opt.step(net, grads(2.0, 0.0))  # v = 2 → w = 1 − 0.2 = 0.8
    assert wb(net)[0] == pytest.approx(0.8)
    opt.step(net, grads(-1.0, 0.0))  # v = 0.9·2 − 1 = 0.8 → w = 0.8 − 0.08 = 0.72
    assert wb(net)[0] == pytest.approx(0.72)


def test_sgd_nesterov_two_steps():
    net = tiny_net(1.0, 0.0)
    opt = SGD(0.1, momentum=0.9, nesterov=True)
    opt.step(net, grads(2.0, 0.0))  # v = 2; step g + μv = 2 + 1.8 = 3.8 → w = 0.62
    assert wb(net)[0] == pytest.approx(0.62)
    opt.step(net, grads(-1.0, 0.0))  # v = 0.8; step −1 + 0.72 = −0.28 → w = 0.62 + 0.028
    assert wb(net)[0] == pytest.approx(0.648)


def test_sgd_momentum_equals_textbook_form_for_constant_eta():
    """v ← μv + g; w ← w − ηv is the chapter-style v ← μv − ηg; w ← w + v when η is fixed."""
    rng = np.random.default_rng(1)
    net = tiny_net(0.3, -0.2)
    opt = SGD(0.05, momentum=0.8)
    w, v = 0.3, 0.0
    for _ in range(20):
        g = float(rng.standard_normal())
        opt.step(net, grads(g, 0.0))
        v = 0.8 * v - 0.05 * g
        w = w + v
    assert wb(net)[0] == pytest.approx(w, rel=1e-12)


def test_adam_two_steps_by_hand():
    net = tiny_net(1.0, 0.0)
    opt = Adam(0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    opt.step(net, grads(0.5, 0.0))
    # t=1: m = 0.05, s = 0.00025; m̂ = 0.5, ŝ = 0.25 → step 0.01·0.5/(0.5 + 1e-8) ≈ 0.01
    w1 = 1.0 - 0.01 * 0.5 / (0.5 + 1e-8)
    assert wb(net)[0] == pytest.approx(w1, rel=1e-12)
    opt.step(net, grads(-1.0, 0.0))
    m = 0.9 * 0.05 + 0.1 * -1.0  # −0.055
    s = 0.999 * 0.00025 + 0.001 * 1.0  # 0.00124975
    m_hat, s_hat = m / (1 - 0.9**2), s / (1 - 0.999**2)
    w2 = w1 - 0.01 * m_hat / (math.sqrt(s_hat) + 1e-8)
    assert wb(net)[0] == pytest.approx(w2, rel=1e-12)
    assert opt.t == 2
    assert wb(net)[1] == 0.0  # zero gradient, zero step


def test_adam_weight_decay_is_l2_on_weights_only():
    net = tiny_net(2.0, 1.0)
    Adam(0.1, weight_decay=0.5).step(net, grads(0.0, 0.0))
    # w: g = 0.5·2 = 1 → first Adam step ≈ η·sign(g); b: g = 0 → unchanged
    assert wb(net) == pytest.approx((2.0 - 0.1 * 1 / (1 + 1e-8), 1.0))


@pytest.mark.parametrize("kwargs, message", [
    (dict(eta=0), "eta"), (dict(eta=float("nan")), "eta"), (dict(momentum=1.0), "momentum"),
    (dict(momentum=-0.1), "momentum"), (dict(weight_decay=-1), "weight_decay"),
    (dict(nesterov=True), "Nesterov"),
])
def test_sgd_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(eta=-1), "eta"), (dict(beta1=1.0), "beta1"), (dict(beta2=-0.5), "beta2"),
    (dict(eps=0), "eps"), (dict(weight_decay=-1e-3), "weight_decay"),
])
def test_adam_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Adam(**kwargs)


def test_make_optimizer():
    assert isinstance(make_optimizer("sgd", 0.1, momentum=0.9, nesterov=True), SGD)
    assert isinstance(make_optimizer("adam", 1e-3), Adam)
    with pytest.raises(ValueError, match="choose one of: sgd, adam"):
        make_optimizer("rmsprop", 0.1)
    with pytest.raises(ValueError, match="belong to SGD"):
        make_optimizer("adam", 1e-3, momentum=0.9)


# ----------------------------------------------------------------------------- PyTorch oracle
torch = pytest.importorskip("torch")


def _run_both(make_ours, make_torch, etas, seed=0):
    """Apply the same gradients (one set per entry of ``etas``) with our optimiser and torch's."""
    rng = np.random.default_rng(seed)
    net = Network([5, 4, 3], "tanh", dtype=np.float64, rng=rng)
    params = [torch.tensor(p.copy(), dtype=torch.float64, requires_grad=True)
              for p in net.parameters()]
    ours = make_ours()
    theirs = make_torch(
        [{"params": params[0::2]}, {"params": params[1::2], "weight_decay": 0.0}]  # W, then b
    )
    for eta in etas:
        nabla_w = [rng.standard_normal(W.shape) for W in net.weights]
        nabla_b = [rng.standard_normal(b.shape) for b in net.biases]
        ours.eta = eta
        ours.step(net, Gradients(nabla_w, nabla_b, 0.0))
        for group in theirs.param_groups:
            group["lr"] = eta
        for p, g in zip(params, [g for pair in zip(nabla_w, nabla_b) for g in pair]):
            p.grad = torch.tensor(g)
        theirs.step()
    for mine, reference in zip(net.parameters(), params):
        np.testing.assert_allclose(mine, reference.detach().numpy(), rtol=1e-11, atol=1e-12)
    return net


# A schedule that changes η every step: the stored velocity must not be rescaled by it.
ETAS = [0.1, 0.1, 0.05, 0.2, 0.01, 0.07, 0.07, 0.03]


@pytest.mark.torch
@pytest.mark.parametrize("momentum, nesterov, weight_decay", [
    (0.0, False, 0.0), (0.0, False, 1e-2), (0.9, False, 0.0), (0.9, False, 5e-3),
    (0.9, True, 0.0), (0.5, True, 1e-2),
])
def test_sgd_matches_torch(momentum, nesterov, weight_decay):
    _run_both(
        lambda: SGD(0.1, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay),
        lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=momentum, nesterov=nesterov,
                                       weight_decay=weight_decay),
        ETAS,
    )


@pytest.mark.torch
@pytest.mark.parametrize("betas, eps, weight_decay", [
    ((0.9, 0.999), 1e-8, 0.0), ((0.8, 0.99), 1e-6, 1e-2), ((0.0, 0.5), 1e-3, 0.0),
])
def test_adam_matches_torch(betas, eps, weight_decay):
    _run_both(
        lambda: Adam(1e-3, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay),
        lambda groups: torch.optim.Adam(groups, lr=1e-3, betas=betas, eps=eps,
                                        weight_decay=weight_decay),
        [1e-3, 1e-3, 2e-3, 5e-4, 1e-3, 3e-3],
    )


@pytest.mark.torch
def test_sgd_float32_network_matches_torch_closely():
    """The default float32 parameters follow the same path (to float32 rounding)."""
    rng = np.random.default_rng(3)
    net = Network([6, 5, 2], "relu", rng=rng)
    params = [torch.tensor(p.copy(), requires_grad=True) for p in net.parameters()]
    ours = SGD(0.05, momentum=0.9, nesterov=True)
    theirs = torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True)
    for _ in range(10):
        gs = [rng.standard_normal(p.shape).astype(np.float32) for p in net.parameters()]
        ours.step(net, Gradients(gs[0::2], gs[1::2], 0.0))
        for p, g in zip(params, gs):
            p.grad = torch.tensor(g)
        theirs.step()
    for mine, reference in zip(net.parameters(), params):
        assert mine.dtype == np.float32
        np.testing.assert_allclose(mine, reference.detach().numpy(), rtol=1e-5, atol=1e-6)
