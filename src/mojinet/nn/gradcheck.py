"""Central-difference gradient checking: is backprop's ∂C/∂w what the cost actually does?

For each parameter w, ∂C/∂w ≈ (C(w + h) − C(w − h)) / 2h, with error O(h²). Run it in float64.
With dropout ``masks`` (fixed, see ``Network.forward``) both sides use the same masks, and with
per-sample ``weights`` (``costs.py``) the same weighted cost.
"""

from __future__ import annotations

import numpy as np

from .network import Network


def numerical_gradients(net: Network, X, Y, h: float = 1e-6, masks=None, weights=None):
    """Central-difference estimates of (nabla_w, nabla_b); restores every parameter it touches."""
    Y = np.asarray(Y, dtype=net.dtype)

    def cost() -> float:
        zs, activations = net.forward(X, masks)
        return net.cost.fn(zs[-1], activations[-1], Y, net.activations[-1], weights)

    estimates = []
    for p in net.parameters():
        g = np.zeros_like(p, dtype=np.float64)
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + h
            c_plus = cost()
            flat[i] = saved - h
            c_minus = cost()
            flat[i] = saved
            gflat[i] = (c_plus - c_minus) / (2 * h)
        estimates.append(g)
    return estimates[0::2], estimates[1::2]


def max_relative_error(net: Network, X, Y, h: float = 1e-6, masks=None,
                       weights=None) -> float:
    """Worst ‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖) over the parameter arrays.

    Norms per array rather than elementwise ratios, so that components that are ~0 in both do
    not turn rounding noise into huge relative errors. In float64 a correct backprop gives
    ~1e-9 or less; a wrong sign or a missing factor gives ~0.1 or more.
    """
    grads = net.backprop(X, Y, masks, weights)
    num_w, num_b = numerical_gradients(net, X, Y, h, masks, weights)
    worst = 0.0
    for a, n in zip(grads.nabla_w + grads.nabla_b, num_w + num_b):
        scale = np.linalg.norm(a) + np.linalg.norm(n)
        if scale > 0:
            worst = max(worst, float(np.linalg.norm(a - n) / scale))
    return worst
