"""The BLAS engine: the reference's own math (``nn/``) with its matrix products written into
buffers allocated once, for wide layers — where the products dominate and BLAS's register-blocked
kernels are faster than the compiled engine — and as the fast path without Numba.

Per batch: the forward products Zˡ = Aˡ⁻¹Wˡ + bˡ into preallocated (batch, fan_out) arrays and
Aˡ = σ(Zˡ) in place (the activations' own functions, with ``out=``); (BP1) from the cost's own
``fn`` and ``delta``; (BP2)–(BP4) as products into preallocated gradient arrays with the
activations' own σ'; then the step — ``SGD.step`` itself, or with Numba installed the compiled
``dense_step``, which makes the same update in one pass over memory instead of four.
"""

from __future__ import annotations

import numpy as np

from ..nn.network import Gradients, Network
from . import compiled
from .common import LayerBuffers, check_data, check_trainer, check_weights, velocities

Array = np.ndarray


class BlasTrainer:
    """Trains ``net`` with ``optimizer`` (a plain SGD) on mini-batches of ``batch_size`` rows
    (``run``: the interface of ``nn.train.ReferenceSteps``). Shares the momentum velocities with
    the optimiser, as ``CompiledTrainer`` does."""

    engine = "blas"

    def __init__(self, net: Network, optimizer, batch_size: int):
        check_trainer(net, optimizer, batch_size, self.engine)
        self.net, self.optimizer, self.batch_size = net, optimizer, int(batch_size)
        self.buffers = LayerBuffers(net, self.batch_size)
        self.nabla_w = [np.empty_like(W) for W in net.weights]  # ∂C/∂Wˡ: (fan_in, fan_out)
        self.nabla_b = [np.empty_like(b) for b in net.biases]  # ∂C/∂bˡ: (fan_out,)

    def run(self, X: Array, Y: Array, order: Array, start: int, stop: int,
            weights: Array | None = None) -> Array:
        """Train on the batches that start at start, start + batch_size, … < stop; returns their
        costs, stopping after the first that is not finite (without its step). ``weights`` (n,):
        per-sample weights of the cost, as in ``Network.backprop``."""
        X, Y = check_data(self.net, X, Y, order[start:stop])
        weights = check_weights(self.net, weights, len(X))
        fused = self._fused_step() if compiled.HAVE_NUMBA else None
        costs = []
        for first in range(start, stop, self.batch_size):
            idx = order[first : first + self.batch_size]
            cost = self._step(X, Y, idx, fused, None if weights is None else weights[idx])
            costs.append(cost)
            if not np.isfinite(cost):
                break
        return np.array(costs, dtype=np.float64)

    def _step(self, X: Array, Y: Array, idx: Array, fused, s: Array | None) -> float:
        """Forward, backprop and the step for the batch X[idx] with sample weights s (or None);
        its cost (no step if not finite). ``fused(l)`` steps layer l (with Numba); without it
        ``SGD.step`` steps all at the end."""
        net, buf, m = self.net, self.buffers, len(idx)
        A0 = np.take(X, idx, axis=0, out=buf.X_batch[:m])  # (m, n_in)
        Yb = np.take(Y, idx, axis=0, out=buf.Y_batch[:m])  # (m, n_out)
        zs, acts = [Z[:m] for Z in buf.zs], [A[:m] for A in buf.activations]
        prev = A0
        for W, b, sigma, Z, A in zip(net.weights, net.biases, net.activations, zs, acts):
            np.matmul(prev, W, out=Z)  # Zˡ = Aˡ⁻¹Wˡ + bˡ: (m, fan_out)
            Z += b
            prev = sigma(Z, out=A)  # Aˡ = σ(Zˡ)
        out = net.activations[-1]
        cost = net.cost.fn(zs[-1], acts[-1], Yb, out, s)
        if not np.isfinite(cost):
            return cost
        D = net.cost.delta(zs[-1], acts[-1], Yb, out, s)  # (BP1) δᴸ: (m, n_out)
        for l in range(net.n_layers - 1, -1, -1):
            prev = A0 if l == 0 else acts[l - 1]  # Aˡ⁻¹: (m, fan_in)
            np.matmul(prev.T, D, out=self.nabla_w[l])  # (BP4) (fan_in, fan_out)
            np.sum(D, axis=0, out=self.nabla_b[l])  # (BP3) (fan_out,)
            if l > 0:  # (BP2), with Wˡ before its step
                G = np.matmul(D, net.weights[l].T, out=buf.deltas[l - 1][:m])  # ∂C/∂Aˡ⁻¹
                G *= net.activations[l - 1].derivative(zs[l - 1], prev)  # δˡ⁻¹
                D = G
            if fused is not None:
                fused(l)
        if fused is None:
            self.optimizer.step(net, Gradients(self.nabla_w, self.nabla_b, cost))
        return cost

    def _fused_step(self):
        """``step(l)``: ``SGD.step`` for layer l in one compiled pass per array (biases are not
        decayed), with η, μ and λ as the optimiser has them now."""
        net, opt = self.net, self.optimizer
        dt = net.dtype
        eta, mu, lam, zero = (dt.type(v) for v in (opt.eta, opt.momentum, opt.weight_decay, 0))
        vel = velocities(net, opt)
        Ws, bs = net.weights, [b[None, :] for b in net.biases]  # biases as (1, fan_out) rows
        Vws, Vbs = (Ws, bs) if vel is None else (vel[0], [v[None, :] for v in vel[1]])
        gbs = [g[None, :] for g in self.nabla_b]

        def step(l: int) -> None:
            compiled.dense_step(Ws[l], self.nabla_w[l], Vws[l], eta, mu, lam)
            compiled.dense_step(bs[l], gbs[l], Vbs[l], eta, mu, zero)

        return step
