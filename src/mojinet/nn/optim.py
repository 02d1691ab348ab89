"""Optimisers: how a gradient becomes a step. Each updates the network's parameters in place.

Ordered by complexity; g is ∂C/∂w for one parameter array w, η the learning rate.

- ``SGD``: the chapter's gradient descent, w ← w − η g, with optional
  - L2 weight decay λ: the cost gains (λ/2)‖w‖², so g ← g + λw (weights only; biases are not
    decayed, as in Nielsen's chapter 3);
  - momentum μ: a velocity v ← μv + g and the step w ← w − ηv. For a constant η this is the same
    as the textbook v ← μv − ηg; w ← w + v; written this way a learning-rate schedule changes the
    step size without rescaling the stored velocity, exactly as ``torch.optim.SGD`` does;
  - Nesterov momentum: w ← w − η(g + μv), the step taken from the look-ahead point.
- ``Adam`` (Kingma & Ba 2015): running means of g and g², corrected for their start at zero,
  m ← β₁m + (1 − β₁)g, s ← β₂s + (1 − β₂)g², m̂ = m/(1 − β₁ᵗ), ŝ = s/(1 − β₂ᵗ),
  w ← w − η m̂/(√ŝ + ε). Weight decay is L2 added to g, like ``torch.optim.Adam``'s.

Both are checked in the tests against hand-computed steps and against PyTorch on identical
gradients. Non-goals: per-parameter learning rates, gradient clipping, second-order methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .network import Gradients, Network

OPTIMIZERS = ("sgd", "adam")


def _pairs(net: Network, grads: Gradients):
    """(is_weight, parameter, gradient) for [W¹, b¹, W², b², …]."""
    nablas = [g for nw, nb in zip(grads.nabla_w, grads.nabla_b) for g in (nw, nb)]
    for i, (p, g) in enumerate(zip(net.parameters(), nablas)):
        yield i % 2 == 0, p, g


def _check_eta(eta: float) -> None:
    if not (eta > 0 and np.isfinite(eta)):
        raise ValueError(f"learning rate eta must be a positive number, got {eta}")


def _check_weight_decay(weight_decay: float) -> None:
    if not (weight_decay >= 0 and np.isfinite(weight_decay)):
        raise ValueError(f"weight_decay (L2 λ) must be >= 0, got {weight_decay}")


@dataclass
class SGD:
    """Stochastic gradient descent with optional momentum (classic or Nesterov) and L2 decay."""

    eta: float = 3.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False
    _velocity: list[np.ndarray] | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        _check_eta(self.eta)
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        _check_weight_decay(self.weight_decay)
        if self.nesterov and not self.momentum:
            raise ValueError("Nesterov momentum needs a momentum > 0 (e.g. --momentum 0.9)")

    def step(self, net: Network, grads: Gradients) -> None:
        if self.momentum and self._velocity is None:
            self._velocity = [np.zeros_like(p) for p in net.parameters()]
        for i, (is_weight, w, g) in enumerate(_pairs(net, grads)):
            if self.weight_decay and is_weight:
                g = g + self.weight_decay * w  # ∇(C + λ/2 ‖w‖²)
            if self.momentum:
                v = self._velocity[i]
                v *= self.momentum
                v += g  # v ← μv + g
                if self.nesterov:
                    g = g + self.momentum * v  # look ahead: g + μv
                else:
                    g = v
            w -= self.eta * g  # w ← w − η g

    def config(self) -> dict:
        return {"name": "sgd", "eta": self.eta, "momentum": self.momentum,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay}


@dataclass
class Adam:
    """Adam: a step per parameter scaled by running estimates of the gradient's mean and size."""

    eta: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    t: int = field(default=0, init=False)
    _m: list[np.ndarray] | None = field(default=None, init=False, repr=False)
    _s: list[np.ndarray] | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        _check_eta(self.eta)
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not self.eps > 0:
            raise ValueError(f"eps must be > 0, got {self.eps}")
        _check_weight_decay(self.weight_decay)

    def step(self, net: Network, grads: Gradients) -> None:
        if self._m is None:
            self._m = [np.zeros_like(p) for p in net.parameters()]
            self._s = [np.zeros_like(p) for p in net.parameters()]
        self.t += 1
        correction1 = 1 - self.beta1**self.t  # 1 − β₁ᵗ
        correction2 = 1 - self.beta2**self.t  # 1 − β₂ᵗ
        for i, (is_weight, w, g) in enumerate(_pairs(net, grads)):
            if self.weight_decay and is_weight:
                g = g + self.weight_decay * w
            m, s = self._m[i], self._s[i]
            m *= self.beta1
            m += (1 - self.beta1) * g  # m ← β₁m + (1 − β₁)g
            s *= self.beta2
            s += (1 - self.beta2) * g * g  # s ← β₂s + (1 − β₂)g²
            m_hat = m / correction1
            s_hat = s / correction2
            w -= self.eta * m_hat / (np.sqrt(s_hat) + self.eps)

    def config(self) -> dict:
        return {"name": "adam", "eta": self.eta, "beta1": self.beta1, "beta2": self.beta2,
                "eps": self.eps, "weight_decay": self.weight_decay}


def make_optimizer(name: str, eta: float, *, momentum: float = 0.0, nesterov: bool = False,
                   weight_decay: float = 0.0):
    """An optimiser by name ('sgd' or 'adam'); the error lists the valid names and options."""
    if name == "sgd":
        return SGD(eta, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    if name == "adam":
        if momentum or nesterov:
            raise ValueError("--momentum/--nesterov belong to SGD; Adam has its own running means")
        return Adam(eta, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
