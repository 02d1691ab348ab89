"""Activation functions σ and what backpropagation needs of them.

A neuron's activation is a = σ(z), where z = W·a_prev + b is its weighted input. Backpropagation
needs, for each layer, δ = ∂C/∂z given ∂C/∂a. For the elementwise functions that is
δ = ∂C/∂a ⊙ σ'(z); softmax couples the neurons of a layer, so it gets the full Jacobian-vector
product. Every function here takes and returns arrays of shape (batch, neurons) and keeps dtype;
``out`` (which may be z itself) says where to write, so the fast engines can reuse their buffers
with the same functions.

Non-goals: learnable activations (PReLU), activations with hyperparameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


def sigmoid(z: Array, out: Array | None = None) -> Array:
    """σ(z) = 1 / (1 + e^(−z)), numerically stable for any z (no overflow at ±1000), with full
    relative precision in the tails: 1 / (1 + e) for z ≥ 0 and e / (1 + e) for z < 0, where
    e = e^(−|z|) ∈ (0, 1] never overflows."""
    z = np.asarray(z)
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)  # e = e^(−|z|)
    numerator = np.greater_equal(z, 0, out=np.empty_like(e))  # 1 where z ≥ 0, else 0 …
    np.maximum(numerator, e, out=numerator)  # … and there e = e^z
    e += 1
    return np.divide(numerator, e, out=out)


def relu(z: Array, out: Array | None = None) -> Array:
    """max(0, z)."""
    return np.maximum(z, 0, out=out)


def tanh(z: Array, out: Array | None = None) -> Array:
    return np.tanh(z, out=out)


def softmax(z: Array, out: Array | None = None) -> Array:
    """Row-wise e^z / Σ e^z, shifted by the row maximum so that nothing overflows."""
    e = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)  # (batch, n)
    np.exp(e, out=e)  # every entry in (0, 1]
    e /= e.sum(axis=-1, keepdims=True)
    return e


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
    fn: Callable[..., Array]  # fn(z, out=None) = σ(z)
    derivative: Callable[[Array, Array], Array] | None  # σ'(z) from (z, a); None: not elementwise
    output_range: tuple[float, float]

    def __call__(self, z: Array, out: Array | None = None) -> Array:
        return self.fn(z, out=out)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        if self.derivative is not None:
            return grad_a * self.derivative(z, a)  # δ = ∂C/∂a ⊙ σ'(z)
        # softmax: δ_j = a_j (g_j − Σ_k g_k a_k), the Jacobian-vector product of softmax.
        return a * (grad_a - (grad_a * a).sum(axis=-1, keepdims=True))

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def __reduce__(self):  # pickled by name: the same object comes back (costs test identity)
        return get_activation, (self.name,)


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
