"""Optimisers: how a gradient becomes a step. Each updates the network's parameters in place.

Ordered by complexity; g is ∂C/∂w for one parameter array w, η the learning rate.

- ``SGD``: the chapter's gradient descent, w ← w − η g, with optional
  - L2 weight decay λ: the cost gains (λ/2)‖w‖², so g ← g + λw (weights only; biases are not
    decayed, as in Nielsen's chapter 3);
  - L2-SP α (Li, Grandvalet & Davoine 2018, "Explicit inductive bias for transfer learning with
    convolutional networks"): the cost gains (α/2)‖w − w₀‖², w₀ the weights a fine-tune started
    from (``anchor``), so g ← g + α(w − w₀) (weights only): weight decay towards the start
    instead of towards 0, so that a fine-tune on few samples stays near what the model knew;
  - momentum μ: a velocity v ← μv + g and the step w ← w − ηv. For a constant η this is the same
    as the textbook v ← μv − ηg; w ← w + v; written this way a learning-rate schedule changes the
    step size without rescaling the stored velocity, exactly as ``torch.optim.SGD`` does;
  - Nesterov momentum: w ← w − η(g + μv), the step taken from the look-ahead point.
- ``Adam`` (Kingma & Ba 2015): running means of g and g², corrected for their start at zero,
  m ← β₁m + (1 − β₁)g, s ← β₂s + (1 − β₂)g², m̂ = m/(1 − β₁ᵗ), ŝ = s/(1 − β₂ᵗ),
  w ← w − η m̂/(√ŝ + ε). Weight decay (and L2-SP) is added to g, like ``torch.optim.Adam``'s.

Both are checked in the tests against hand-computed steps and against PyTorch on identical
gradients. What the next step depends on besides the parameters — SGD's ``velocity``, Adam's ``m``,
``s`` and ``t`` — is public: the fast engines share it, and ``state()``/``load_state()`` give it
to a saved run so that it can resume exactly where it stopped.

Non-goals: per-parameter learning rates, gradient clipping, second-order methods.
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


def _check_l2_sp(l2_sp: float) -> None:
    if not (l2_sp >= 0 and np.isfinite(l2_sp)):
        raise ValueError(f"l2_sp (L2-SP α) must be >= 0, got {l2_sp}")


def l2_sp_penalty(weights, anchor, alpha: float) -> float:
    """(α/2) Σₗ ‖Wˡ − W₀ˡ‖²: the L2-SP term of the cost (weights only; float64)."""
    return 0.5 * alpha * sum(float(np.sum((np.asarray(W, np.float64) - W0) ** 2))
                             for W, W0 in zip(weights, anchor))


def _regularized(g: np.ndarray, w: np.ndarray, i: int, opt) -> np.ndarray:
    """g + λw + α(w − w₀): the gradient of C + (λ/2)‖w‖² + (α/2)‖w − w₀‖² for weight array
    number i (of [W¹, W², …]); the optimiser's ``weight_decay`` λ, ``l2_sp`` α, ``anchor`` w₀."""
    if opt.weight_decay:
        g = g + opt.weight_decay * w  # ∇(C + λ/2 ‖w‖²)
    if opt.l2_sp:
        g = g + opt.l2_sp * (w - opt.anchor[i])  # ∇ (α/2)‖w − w₀‖²
    return g


def _check_anchor(net: Network, opt) -> None:
    """With L2-SP on, the anchor w₀ must be one array per weight matrix, of its shape."""
    if not opt.l2_sp:
        return
    anchor, shapes = opt.anchor, [W.shape for W in net.weights]
    if anchor is None or [np.shape(a) for a in anchor] != shapes:
        raise ValueError(f"l2_sp (L2-SP) pulls the weights towards an anchor w₀, one array per "
                         f"weight matrix of shapes {shapes}; set the optimiser's anchor (e.g. "
                         f"[W.copy() for W in net.weights] at the start of a fine-tune)")


@dataclass
class SGD:
    """Stochastic gradient descent with optional momentum (classic or Nesterov) and L2 decay."""

    eta: float = 3.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False
    l2_sp: float = 0.0  # α of (α/2)‖w − w₀‖²
    anchor: list[np.ndarray] | None = field(default=None, repr=False)  # w₀: [W¹, W², …]
    # v for [W¹, b¹, W², b², …] (made by the first step with momentum; the fast engines use it)
    velocity: list[np.ndarray] | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        _check_eta(self.eta)
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        _check_weight_decay(self.weight_decay)
        _check_l2_sp(self.l2_sp)
        if self.nesterov and not self.momentum:
            raise ValueError("Nesterov momentum needs a momentum > 0 (e.g. --momentum 0.9)")

    def step(self, net: Network, grads: Gradients) -> None:
        _check_anchor(net, self)
        if self.momentum and self.velocity is None:
            self.velocity = [np.zeros_like(p) for p in net.parameters()]
        for i, (is_weight, w, g) in enumerate(_pairs(net, grads)):
            if is_weight:
                g = _regularized(g, w, i // 2, self)  # g + λw + α(w − w₀)
            if self.momentum:
                v = self.velocity[i]
                v *= self.momentum
                v += g  # v ← μv + g
                if self.nesterov:
                    g = g + self.momentum * v  # look ahead: g + μv
                else:
                    g = v
            w -= self.eta * g  # w ← w − η g

    def state(self) -> dict:
        """What the next step depends on besides the parameters: {"velocity": [...]} or {}."""
        return {} if self.velocity is None else {"velocity": self.velocity}

    def load_state(self, state: dict) -> None:
        """Take over a ``state()`` (e.g. read back from a saved run)."""
        self.velocity = _arrays(state, "velocity", self.momentum > 0)

    def config(self) -> dict:
        return {"name": "sgd", "eta": self.eta, "momentum": self.momentum,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay,
                "l2_sp": self.l2_sp}


@dataclass
class Adam:
    """Adam: a step per parameter scaled by running estimates of the gradient's mean and size."""

    eta: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    l2_sp: float = 0.0  # α of (α/2)‖w − w₀‖²
    anchor: list[np.ndarray] | None = field(default=None, repr=False)  # w₀: [W¹, W², …]
    t: int = field(default=0, init=False)  # steps taken
    m: list[np.ndarray] | None = field(default=None, init=False, repr=False)  # running mean of g
    s: list[np.ndarray] | None = field(default=None, init=False, repr=False)  # … of g²

    def __post_init__(self):
        _check_eta(self.eta)
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not self.eps > 0:
            raise ValueError(f"eps must be > 0, got {self.eps}")
        _check_weight_decay(self.weight_decay)
        _check_l2_sp(self.l2_sp)

    def step(self, net: Network, grads: Gradients) -> None:
        _check_anchor(net, self)
        if self.m is None:
            self.m = [np.zeros_like(p) for p in net.parameters()]
            self.s = [np.zeros_like(p) for p in net.parameters()]
        self.t += 1
        correction1 = 1 - self.beta1**self.t  # 1 − β₁ᵗ
        correction2 = 1 - self.beta2**self.t  # 1 − β₂ᵗ
        for i, (is_weight, w, g) in enumerate(_pairs(net, grads)):
            if is_weight:
                g = _regularized(g, w, i // 2, self)  # g + λw + α(w − w₀)
            m, s = self.m[i], self.s[i]
            m *= self.beta1
            m += (1 - self.beta1) * g  # m ← β₁m + (1 − β₁)g
            s *= self.beta2
            s += (1 - self.beta2) * g * g  # s ← β₂s + (1 − β₂)g²
            m_hat = m / correction1
            s_hat = s / correction2
            w -= self.eta * m_hat / (np.sqrt(s_hat) + self.eps)

    def state(self) -> dict:
        """What the next step depends on besides the parameters: t, and m and s once made."""
        return {"t": self.t} if self.m is None else {"t": self.t, "m": self.m, "s": self.s}

    def load_state(self, state: dict) -> None:
        """Take over a ``state()`` (e.g. read back from a saved run)."""
        t = state.get("t", 0)
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"Adam's step count t must be a whole number >= 0, got {t!r}")
        self.t, self.m, self.s = t, _arrays(state, "m", t > 0), _arrays(state, "s", t > 0)

    def config(self) -> dict:
        return {"name": "adam", "eta": self.eta, "beta1": self.beta1, "beta2": self.beta2,
                "eps": self.eps, "weight_decay": self.weight_decay, "l2_sp": self.l2_sp}


def _arrays(state: dict, key: str, needed: bool) -> list[np.ndarray] | None:
    """state[key] as a list of arrays (None when it is not there and not ``needed``)."""
    arrays = state.get(key)
    if arrays is None and not needed:
        return None
    if not isinstance(arrays, list) or not all(isinstance(a, np.ndarray) for a in arrays):
        raise ValueError(f"optimiser state {key!r} must be a list of arrays, got {arrays!r:.60}")
    return arrays


def make_optimizer(name: str, eta: float, *, momentum: float = 0.0, nesterov: bool = False,
                   weight_decay: float = 0.0, l2_sp: float = 0.0, anchor=None):
    """An optimiser by name ('sgd' or 'adam'); the error lists the valid names and options.
    ``anchor``: w₀ of L2-SP (``l2_sp`` α > 0), one array per weight matrix."""
    if name == "sgd":
        return SGD(eta, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov,
                   l2_sp=l2_sp, anchor=anchor)
    if name == "adam":
        if momentum or nesterov:
            raise ValueError("--momentum/--nesterov belong to SGD; Adam has its own running means")
        return Adam(eta, weight_decay=weight_decay, l2_sp=l2_sp, anchor=anchor)
    raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
