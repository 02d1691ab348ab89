"""What both fast trainers share: which runs they can train, the optimiser's velocities they use,
the checks on their inputs, and the per-layer buffers they reuse batch after batch."""

from __future__ import annotations

import numpy as np

from ..nn.activations import RELU, SIGMOID, SOFTMAX, TANH
from ..nn.costs import CROSS_ENTROPY, QUADRATIC
from ..nn.network import Network
from ..nn.optim import SGD

Array = np.ndarray

# Activation and cost codes of the compiled kernels (which cannot take Python objects).
ACT_CODES = {SIGMOID: 0, RELU: 1, TANH: 2, SOFTMAX: 3}
COST_CODES = {QUADRATIC: 0, CROSS_ENTROPY: 1}


def unsupported_reason(net, optimizer) -> str | None:
    """Why the fast trainers cannot train ``net`` with ``optimizer`` (None if they can)."""
    if type(net) is not Network:
        return f"{type(net).__name__} is not a plain Network"
    if type(optimizer) is not SGD:
        return f"optimiser {type(optimizer).__name__} is not the plain SGD"
    if optimizer.nesterov:
        return "Nesterov momentum (only the reference SGD.step has it)"
    if net.dtype not in (np.float32, np.float64):
        return f"dtype {net.dtype} (only float32 and float64)"
    if any(a not in ACT_CODES for a in net.activations):
        return "an activation the fast path does not know"
    if net.cost not in COST_CODES:
        return f"cost {net.cost.name}"
    params = net.parameters()
    if len(params) != 2 * len(net.sizes) - 2 or any(
        p.dtype != net.dtype or not p.flags.c_contiguous or not p.flags.writeable for p in params
    ):
        return "parameters that are not writeable C-contiguous arrays of the network's dtype"
    if any(W.shape != (i, o) for W, i, o in zip(net.weights, net.sizes[:-1], net.sizes[1:])):
        return "weights whose shapes do not match the sizes"
    return None


def velocities(net: Network, optimizer: SGD) -> tuple[list[Array], list[Array]] | None:
    """The optimiser's momentum velocities [vW¹, …], [vb¹, …], made as ``SGD.step`` would make
    them, so that the reference and the fast trainers can take turns on the same state (None
    without momentum)."""
    if not optimizer.momentum:
        return None
    params = net.parameters()
    if optimizer.velocity is None:
        optimizer.velocity = [np.zeros_like(p) for p in params]
    v = optimizer.velocity
    if len(v) != len(params) or any(a.shape != p.shape or a.dtype != p.dtype
                                    for a, p in zip(v, params)):
        raise ValueError("the optimiser's velocities do not match this network's parameters")
    return v[0::2], v[1::2]


def anchors(net: Network, optimizer: SGD) -> list[Array]:
    """L2-SP's anchors w₀ [W₀¹, …] as C-contiguous arrays of the network's dtype — or, when α = 0,
    the weights themselves (so a kernel's α(w − w₀) is 0 without a second copy)."""
    if not optimizer.l2_sp:
        return list(net.weights)
    anchor = optimizer.anchor
    if anchor is None or len(anchor) != len(net.weights) or any(
            np.shape(a) != W.shape for a, W in zip(anchor, net.weights)):
        raise ValueError("l2_sp (L2-SP) needs the optimiser's anchor w₀: one array per weight "
                         "matrix, of its shape (e.g. [W.copy() for W in net.weights])")
    return [np.ascontiguousarray(a, dtype=net.dtype) for a in anchor]


def check_data(net: Network, X: Array, Y: Array, order: Array) -> tuple[Array, Array]:
    """X (n, n_in) and Y (n, n_out) as C-contiguous arrays of the network's dtype (no copy when
    they are already), and ``order`` a 1-d int64 array of row indices into them."""
    dt = net.dtype
    X = np.ascontiguousarray(X, dtype=dt)
    Y = np.ascontiguousarray(Y, dtype=dt)
    sizes = net.sizes
    if X.ndim != 2 or X.shape[1] != sizes[0] or Y.shape != (len(X), sizes[-1]):
        raise ValueError(f"X {X.shape} and Y {Y.shape} do not fit {net!r}")
    if order.dtype != np.int64 or order.ndim != 1:
        raise ValueError("order must be a 1-d int64 array of sample indices")
    if len(order) and (order.min() < 0 or order.max() >= len(X)):
        raise ValueError("order holds indices outside the data")
    return X, Y


def check_weights(net: Network, weights: Array | None, n: int) -> Array | None:
    """Per-sample weights (n,) as a C-contiguous array of the network's dtype (None stays)."""
    if weights is None:
        return None
    weights = np.ascontiguousarray(weights, dtype=net.dtype)
    if weights.shape != (n,):
        raise ValueError(f"weights must have shape ({n},), one per row of X; got {weights.shape}")
    return weights


class LayerBuffers:
    """Zˡ, Aˡ and δˡ for every layer after the input, (batch, fan_out) each, and the batch's rows
    of X and Y: allocated once, reused by every batch (the last one may use fewer rows)."""

    def __init__(self, net: Network, batch_size: int):
        dt, m = net.dtype, batch_size
        self.X_batch = np.empty((m, net.sizes[0]), dtype=dt)  # (batch, n_in)
        self.Y_batch = np.empty((m, net.sizes[-1]), dtype=dt)  # (batch, n_out)
        self.zs = [np.empty((m, s), dtype=dt) for s in net.sizes[1:]]  # Zˡ: (batch, fan_out)
        self.activations = [np.empty((m, s), dtype=dt) for s in net.sizes[1:]]  # Aˡ
        self.deltas = [np.empty((m, s), dtype=dt) for s in net.sizes[1:]]  # δˡ


def check_trainer(net, optimizer, batch_size: int, engine: str) -> None:
    """Refuse, with the reason, a run the fast trainers cannot do."""
    reason = unsupported_reason(net, optimizer)
    if reason is not None:
        raise ValueError(f"the {engine} engine cannot train this run: {reason}; use engine "
                         f"auto or reference")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
