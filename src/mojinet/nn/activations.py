"""Activation functions σ and what backpropagation needs of them.

A neuron's activation is a = σ(z), where z = W·a_prev + b is its weighted input. Backpropagation
needs, for each layer, δ = ∂C/∂z given ∂C/∂a. For the elementwise functions that is
δ = ∂C/∂a ⊙ σ'(z); softmax couples the neurons of a layer, so it gets the full Jacobian-vector
product. Every function here takes and returns arrays of shape (batch, neurons) and keeps dtype.

Non-goals: learnable activations (PReLU), activations with hyperparameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


def sigmoid(z: Array) -> Array:
    """σ(z) = 1 / (1 + e^(−z)), numerically stable for any z (no overflow at ±1000)."""
    # e^(−|z|) never overflows; for z < 0 use σ(z) = e^z / (1 + e^z).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def relu(z: Array) -> Array:
    """max(0, z)."""
    return np.maximum(z, 0)


def tanh(z: Array) -> Array:
    return np.tanh(z)


def softmax(z: Array) -> Array:
    """Row-wise e^z / Σ e^z, shifted by the row maximum so that nothing overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))  # (batch, n), every entry in (0, 1]
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(z: Array) -> Array:
    """Row-wise log softmax(z), stable for any finite z."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """An activation function with what backpropagation needs of it.

    ``backward(z, a, grad_a)`` returns δ = ∂C/∂z from ∂C/∂a. Elementwise activations express
    σ'(z) through z or a = σ(z), whichever is cheaper (for sigmoid, σ' = a(1 − a)).
    """

    name: str
    fn: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None  # σ'(z) from (z, a); None: not elementwise
    output_range: tuple[float, float]

    def __call__(self, z: Array) -> Array:
        return self.fn(z)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        if self.derivative is not None:
            return grad_a * self.derivative(z, a)  # δ = ∂C/∂a ⊙ σ'(z)
        # softmax: δ_j = a_j (g_j − Σ_k g_k a_k), the Jacobian-vector product of softmax.
        return a * (grad_a - (grad_a * a).sum(axis=-1, keepdims=True))

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


SIGMOID = Activation("sigmoid", sigmoid, lambda z, a: a * (1 - a), (0.0, 1.0))
RELU = Activation("relu", relu, lambda z, a: (z > 0).astype(z.dtype), (0.0, np.inf))
TANH = Activation("tanh", tanh, lambda z, a: 1 - a * a, (-1.0, 1.0))
SOFTMAX = Activation("softmax", softmax, None, (0.0, 1.0))

ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (SIGMOID, RELU, TANH, SOFTMAX)}


def get_activation(name: str | Activation) -> Activation:
    """Look an activation up by name; the error lists the valid names."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}"
        ) from None
