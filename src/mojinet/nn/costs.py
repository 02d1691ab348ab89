"""Cost functions C and the output error δᴸ = ∂C/∂zᴸ that starts backpropagation.

Every cost is averaged over the samples of a batch: C = (1/n) Σₓ Cₓ. So ``delta`` returns
(1/n)·∂Cₓ/∂zᴸ for each row, and the gradients backpropagation builds from it are those of the mean.

Per-sample weights sₓ (``weights``, shape (batch,); e.g. scikit-learn's ``sample_weight`` and
``class_weight``) make it C = (1/n) Σₓ sₓ Cₓ: still divided by the batch size n, not by Σ sₓ, so
weights of 1 are no weights, and a sample's row of δᴸ is sₓ·(1/n)·∂Cₓ/∂zᴸ — everything after
(BP1) is linear in δ, so the weights need no other change to backpropagation.

- quadratic, the chapter's: Cₓ = ½‖y − a‖². δ = (a − y) ⊙ σ'(z), for any output activation.
- cross-entropy: for a softmax output the log-likelihood Cₓ = −Σⱼ yⱼ ln aⱼ; for sigmoid outputs
  the binary form Cₓ = −Σⱼ [yⱼ ln aⱼ + (1 − yⱼ) ln(1 − aⱼ)]. With the matching output activation
  the σ' factor cancels and δ = a − y exactly (no learning slowdown when a neuron saturates) — the
  shortcut is valid only for these pairs, which is why cross-entropy refuses other outputs.
  Both are computed from z, not a, so that saturated outputs give finite costs, never NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .activations import SIGMOID, SOFTMAX, Activation, log_softmax

Array = np.ndarray


def _mean(per_sample: Array, weights: Array | None) -> float:
    """(1/n) Σₓ sₓ Cₓ of the per-sample costs Cₓ (n,) (float64), sₓ = 1 without weights."""
    if weights is not None:
        per_sample = per_sample * weights
    return float(per_sample.mean())


def _weighted(rows: Array, weights: Array | None) -> Array:
    """Each row x of ``rows`` (batch, n_out) times sₓ; the rows themselves without weights."""
    return rows if weights is None else rows * weights[:, None]  # (batch, n_out)


def _quadratic_fn(z: Array, a: Array, y: Array, out: Activation, weights=None) -> float:
    return _mean(0.5 * np.sum((a - y) ** 2, axis=1, dtype=np.float64), weights)


def _quadratic_delta(z: Array, a: Array, y: Array, out: Activation, weights=None) -> Array:
    return out.backward(z, a, _weighted((a - y) / len(a), weights))  # (batch, n_out)


def binary_cross_entropy_from_logits(z: Array, y: Array) -> Array:
    """−[y ln σ(z) + (1 − y) ln(1 − σ(z))] elementwise, from z: max(z, 0) − z·y + ln(1 + e^(−|z|)),
    finite for any z (σ(z) itself would round to 0 or 1 and make a log of 0)."""
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def _cross_entropy_fn(z: Array, a: Array, y: Array, out: Activation, weights=None) -> float:
    if out is SOFTMAX:
        per_sample = -np.sum(y * log_softmax(z), axis=1, dtype=np.float64)
    else:
        per_sample = np.sum(binary_cross_entropy_from_logits(z, y), axis=1, dtype=np.float64)
    return _mean(per_sample, weights)


def _cross_entropy_delta(z: Array, a: Array, y: Array, out: Activation, weights=None) -> Array:
    # valid for sigmoid and softmax outputs only (checked in Network)
    return _weighted((a - y) / len(a), weights)  # (batch, n_out)


@dataclass(frozen=True)
class Cost:
    """A cost: ``fn(z, a, y, out, weights=None)`` gives the mean cost of a batch, ``delta`` (same
    arguments) gives δᴸ; ``weights``: per-sample weights sₓ (batch,), see the module docstring."""

    name: str
    fn: Callable[..., float]
    delta: Callable[..., Array]
    output_activations: tuple[str, ...] | None  # the output activations it is valid with

    def check_output(self, out: Activation) -> None:
        if self.output_activations is not None and out.name not in self.output_activations:
            raise ValueError(
                f"the {self.name} cost needs a {' or '.join(self.output_activations)} output "
                f"layer, not {out.name}; change the output activation or use the quadratic cost"
            )

    def __repr__(self) -> str:
        return f"Cost({self.name!r})"

    def __reduce__(self):  # pickled by name: the same object comes back
        return get_cost, (self.name,)


QUADRATIC = Cost("quadratic", _quadratic_fn, _quadratic_delta, None)
CROSS_ENTROPY = Cost(
    "cross-entropy", _cross_entropy_fn, _cross_entropy_delta, (SIGMOID.name, SOFTMAX.name)
)

COSTS: dict[str, Cost] = {c.name: c for c in (QUADRATIC, CROSS_ENTROPY)}


def get_cost(name: str | Cost) -> Cost:
    if isinstance(name, Cost):
        return name
    try:
        return COSTS[name]
    except KeyError:
        raise ValueError(f"unknown cost {name!r}; choose one of: {', '.join(COSTS)}") from None
