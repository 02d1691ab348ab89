"""Regularisers applied during training only: dropout and the max-norm constraint.

- ``Dropout`` (Srivastava, Hinton et al. 2014): during training each neuron's output is kept with
  probability 1 − p and otherwise set to 0, a fresh random choice for every sample of every
  mini-batch. It stops neurons from relying on particular partners. This is "inverted" dropout:
  kept outputs are multiplied by 1/(1 − p), so the expected input of the next layer is unchanged
  and the trained network is used as it is — nothing changes at test time. Masks are drawn here
  and handed to ``Network.backprop(X, Y, masks)``, which stays pure (same masks → same gradient).
- ``MaxNorm`` (Srivastava et al. 2014 used it with dropout): after every step, each neuron's
  vector of incoming weights (a column of Wˡ) longer than c is scaled back to length c. It lets
  large learning rates run without the weights growing without bound.

Non-goals: dropout at test time (MC dropout), DropConnect, batch normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .network import Network


@dataclass(frozen=True)
class Dropout:
    """Drop probabilities: ``input`` for the input pixels, ``hidden`` for every hidden layer."""

    input: float = 0.0
    hidden: float = 0.0

    def __post_init__(self):
        for name in ("input", "hidden"):
            p = getattr(self, name)
            if not 0 <= p < 1:
                raise ValueError(f"dropout probability ({name}) must be in [0, 1), got {p}")

    def __bool__(self) -> bool:
        return bool(self.input or self.hidden)

    def rates(self, net: Network) -> list[float]:
        """p for the outputs of layers l = 0 … L−1 (0: the input; the output is never dropped)."""
        return [self.input] + [self.hidden] * (net.n_layers - 1)

    def masks(self, net: Network, batch: int, rng: np.random.Generator) -> list[np.ndarray | None]:
        """One mask per weight layer: masks[l] (batch, sizes[l]) holds 0 or 1/(1 − p)."""
        out: list[np.ndarray | None] = []
        for p, n in zip(self.rates(net), net.sizes[:-1]):
            if p == 0:
                out.append(None)
                continue
            keep = rng.random((batch, n), dtype=np.float32) >= p  # (batch, n) kept with prob 1 − p
            out.append(keep.astype(net.dtype) / net.dtype.type(1 - p))  # (batch, n)
        return out


@dataclass(frozen=True)
class MaxNorm:
    """Scale every column of every Wˡ (one neuron's incoming weights) to length ≤ ``c``."""

    c: float

    def __post_init__(self):
        if not (self.c > 0 and np.isfinite(self.c)):
            raise ValueError(f"max-norm c must be a positive number, got {self.c}")

    def __call__(self, net: Network) -> None:
        for W in net.weights:
            norms = np.sqrt(np.einsum("ij,ij->j", W, W))  # (fan_out,) ‖w_j‖ per neuron
            too_long = norms > self.c
            if too_long.any():
                W[:, too_long] *= (self.c / norms[too_long]).astype(W.dtype)  # (fan_in, k)


def parse_dropout(values: Sequence[float] | None) -> Dropout:
    """CLI form: none, [p] (hidden layers only) or [p_input, p_hidden]."""
    if not values:
        return Dropout()
    if len(values) == 1:
        return Dropout(hidden=values[0])
    if len(values) == 2:
        return Dropout(input=values[0], hidden=values[1])
    raise ValueError(f"--dropout takes P_HIDDEN or P_INPUT P_HIDDEN, got {list(values)}")
