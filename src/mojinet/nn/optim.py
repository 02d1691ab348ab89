"""Optimisers: how a gradient becomes a step. Each updates parameters in place.

- ``SGD``: the chapter's gradient descent, w ← w − η ∂C/∂w, with optional momentum μ
  (v ← μv − η ∂C/∂w; w ← w + v) and L2 weight decay λ (adds λw to the weight gradient; biases
  are not decayed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .network import Gradients, Network


@dataclass
class SGD:
    eta: float = 3.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    _velocity: list[np.ndarray] | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if not (self.eta > 0 and np.isfinite(self.eta)):
            raise ValueError(f"learning rate eta must be a positive number, got {self.eta}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")

    def step(self, net: Network, grads: Gradients) -> None:
        params = net.parameters()  # [W¹, b¹, W², b², …]
        nablas = [g for nw, nb in zip(grads.nabla_w, grads.nabla_b) for g in (nw, nb)]
        if self.momentum and self._velocity is None:
            self._velocity = [np.zeros_like(p) for p in params]
        for i, (p, g) in enumerate(zip(params, nablas)):
            if self.weight_decay and i % 2 == 0:  # weights only, not biases
                g = g + self.weight_decay * p
            if self.momentum:
                v = self._velocity[i]
                v *= self.momentum
                v -= self.eta * g  # v ← μv − η∇C
                p += v
            else:
                p -= self.eta * g  # w ← w − η∇C

    def config(self) -> dict:
        return {"name": "sgd", "eta": self.eta, "momentum": self.momentum,
                "weight_decay": self.weight_decay}
