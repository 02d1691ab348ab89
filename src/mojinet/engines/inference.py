"""Fast inference: ``feedforward(net, X)`` gives ``net.feedforward(X)``'s numbers in fewer calls.

For a few rows it is one compiled call through all layers (once the kernels are loaded, see
``compiled.load_kernels``); for many rows one BLAS product and an in-place activation per layer,
on BLAS's threads. (A parallel row kernel that skips the inputs that are 0 lost to BLAS on every
batch of the benchmarks measured: docs/benchmarks.md, "Inference on both cores".)
What it needs of a network (its arrays, activation codes, and the layout of addresses the row
kernel reads) is a ``Plan``, kept here between calls — keyed by the network, dropped when the
network is — and remade when the network's arrays are replaced. Anything else (a Network
subclass, an activation it does not know, another dtype) goes to ``net.feedforward``, which also
gives the errors for bad input. For one image the whole call takes a few microseconds, so the
checks are written to be cheap.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..nn.activations import SOFTMAX
from ..nn.network import Network
from . import blas, compiled
from .common import ACT_CODES

Array = np.ndarray

# Rows × weights above which BLAS matrix products beat the row-at-a-time compiled kernel.
ROWWISE_LIMIT = 2_000_000
SOFTMAX_CODE = ACT_CODES[SOFTMAX]


def feedforward(net: Network, X: Array) -> Array:
    """Output activations Aᴸ for a batch X: (batch, n_in) → (batch, n_out), as
    ``net.feedforward``."""
    if type(X) is not np.ndarray:
        X = np.asarray(X)
    if X.ndim == 1:
        X = X[None, :]
    plan = _PLANS.get(id(net)) if type(net) is Network else None
    if plan is None or not plan.fits(net):
        plan = Plan.make(net)
    if plan is None or X.ndim != 2 or X.dtype != plan.dtype or X.shape[1] != plan.n_in:
        return net.feedforward(X)
    n = X.shape[0]
    loaded = compiled.loaded
    if loaded and X.flags.c_contiguous:
        if n == 1 or n * plan.n_weights <= ROWWISE_LIMIT:
            out = np.empty((n, plan.n_out), plan.dtype)  # (batch, n_out)
            compiled.feedforward_rows(X, plan.layout, out)
            return out
    A = X  # (batch, n_in)
    for W, b, sigma, code in zip(plan.weights, plan.biases, plan.activations, plan.codes):
        A = A @ W  # Z: (batch, fan_out), a new array …
        if loaded and code == SOFTMAX_CODE:  # NumPy's reductions over short rows are slow
            _bias_softmax(A, b)
        else:  # (NumPy's vectorised exp beats the compiled scalar one for sigmoid)
            A += b
            sigma(A, out=A)  # … turned into the activations in place (nn/activations.py)
    return A


def _bias_softmax(Z: Array, b: Array) -> None:
    """Z ← softmax(Z + b) row by row, in place, in one compiled pass; on all of Numba's threads
    for big arrays (E's output on the test set, 10,000 × 2,136 entries: ~97 ms serial, 58 on two
    threads)."""
    if Z.size >= blas.PARALLEL_MIN_ENTRIES and compiled.threads() > 1:
        with compiled.PARALLEL_LOCK:
            compiled.bias_activate_par(Z, b, Z, Z.shape[0], SOFTMAX_CODE)
    else:
        compiled.bias_activate(Z, b, Z, Z.shape[0], SOFTMAX_CODE)


def predict(net: Network, X: Array) -> Array:
    """Index of the most active output neuron for each row: (batch,)."""
    return np.argmax(feedforward(net, X), axis=1)


class Plan:
    """What ``feedforward`` needs of a network. It holds the network's own weight and bias arrays
    (so in-place changes, as training makes, need nothing, and the addresses in ``layout`` stay
    valid) and is remade when an array is replaced or the activations change."""

    __slots__ = ("dtype", "n_in", "n_out", "n_weights", "weights", "biases", "codes",
                 "activations", "layout")

    @classmethod
    def make(cls, net: Network) -> Plan | None:
        """The plan for ``net`` (kept for the next call), or None if it needs the reference."""
        if type(net) is not Network or any(a not in ACT_CODES for a in net.activations):
            return None
        sizes, dt = net.sizes, net.dtype
        for l, (W, b) in enumerate(zip(net.weights, net.biases)):  # else: the reference's errors
            if (type(W) is not np.ndarray or type(b) is not np.ndarray
                    or W.shape != (sizes[l], sizes[l + 1]) or b.shape != (sizes[l + 1],)
                    or W.dtype != dt or b.dtype != dt or not W.flags.c_contiguous
                    or not b.flags.c_contiguous):
                return None
        plan = cls()
        plan.dtype, plan.n_in, plan.n_out = dt, sizes[0], sizes[-1]
        plan.weights, plan.biases = tuple(net.weights), tuple(net.biases)
        plan.n_weights = sum(W.size for W in plan.weights)
        plan.codes = [ACT_CODES[a] for a in net.activations]
        plan.activations = list(net.activations)
        plan.layout = np.array(
            [[W.ctypes.data, W.shape[0], W.shape[1], b.ctypes.data, code]
             for W, b, code in zip(plan.weights, plan.biases, plan.codes)], dtype=np.int64
        ).ravel()  # (compiled.LAYOUT · layers,)
        if id(net) not in _PLANS:  # forget the plan when the network goes
            weakref.finalize(net, _PLANS.pop, id(net), None)
        _PLANS[id(net)] = plan
        return plan

    def fits(self, net: Network) -> bool:
        """Whether net still has these arrays and activations. Tuple comparison takes the same
        object as equal without looking at it; a replaced array is compared by value, which
        raises (several elements) or says whether it would give the same answer."""
        try:
            return (self.activations == net.activations and tuple(net.weights) == self.weights
                    and tuple(net.biases) == self.biases)
        except (ValueError, TypeError, DeprecationWarning):
            return False


_PLANS: dict[int, Plan] = {}  # id(network) → its plan, while the network lives
