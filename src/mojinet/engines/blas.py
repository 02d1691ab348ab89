"""The BLAS engine: the reference's own math (``nn/``) with its matrix products written into
buffers allocated once, for wide layers — where the products dominate and BLAS's register-blocked
kernels are faster than the compiled engine — and as the fast path without Numba.

Per batch: one matrix product per layer and pass — Zˡ = Aˡ⁻¹Wˡ forward, (BP4) ∂C/∂Wˡ = (Aˡ⁻¹)ᵀδˡ
and (BP2) δˡ(Wˡ)ᵀ backward — into buffers allocated once (BLAS reads the transposes in place, no
copies). Between them, without Numba: + bˡ and Aˡ = σ(Zˡ) with the activations' own functions
(``out=``), (BP1) from the cost's own ``fn`` and ``delta``, σ' from the activation, and
``SGD.step``. With Numba, compiled row-wise passes instead (``RowKernels``, parallel when Numba
has several threads): bias and σ in one pass; for a softmax output with the cross-entropy,
softmax, cost and δᴸ = (aᴸ − y)/m in one pass that reads y straight from the training set's
rows; (BP2)'s ⊙σ' in place; and ``dense_step``, the step in one pass over memory instead of
four. For wide outputs (a thousand kanji) these passes are what is left besides the products.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..nn.activations import SOFTMAX
from ..nn.costs import CROSS_ENTROPY
from ..nn.network import Gradients, Network
from . import compiled
from .common import (
    ACT_CODES,
    LayerBuffers,
    anchors,
    check_data,
    check_trainer,
    check_weights,
    velocities,
)

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
        self.cost_rows = np.empty(self.batch_size, dtype=np.float64)  # Cₓ of the batch's samples
        self.codes = [ACT_CODES[a] for a in net.activations]
        # softmax + cross-entropy: σ, the cost and δᴸ in one compiled pass (softmax_cross_entropy)
        self.fused_output = net.activations[-1] is SOFTMAX and net.cost is CROSS_ENTROPY

    def run(self, X: Array, Y: Array, order: Array, start: int, stop: int,
            weights: Array | None = None) -> Array:
        """Train on the batches that start at start, start + batch_size, … < stop; returns their
        costs, stopping after the first that is not finite (without its step). ``weights`` (n,):
        per-sample weights of the cost, as in ``Network.backprop``."""
        X, Y = check_data(self.net, X, Y, order[start:stop])
        weights = check_weights(self.net, weights, len(X))
        rows = RowKernels(self.net, self.batch_size) if compiled.HAVE_NUMBA else None
        fused = self._fused_step(rows) if rows else None
        costs = []
        with compiled.PARALLEL_LOCK if rows and rows.parallel else contextlib.nullcontext():
            for first in range(start, stop, self.batch_size):
                idx = order[first : first + self.batch_size]
                s = None if weights is None else weights[idx]
                cost = self._step(X, Y, idx, fused, rows, s)
                costs.append(cost)
                if not np.isfinite(cost):
                    break
        return np.array(costs, dtype=np.float64)

    def _step(self, X: Array, Y: Array, idx: Array, fused, rows, s: Array | None) -> float:
        """Forward, backprop and the step for the batch X[idx] with sample weights s (m,) (or
        None); its cost (no step if not finite). With Numba, ``rows`` makes the row-wise passes
        and ``fused(l)`` steps layer l; without it the activations' own functions do, and
        ``SGD.step`` steps all at the end."""
        net, buf, m = self.net, self.buffers, len(idx)
        A0 = np.take(X, idx, axis=0, out=buf.X_batch[:m])  # (m, n_in)
        zs, acts = self._forward(A0, m, rows)
        if rows and self.fused_output:
            rows.softmax_cross_entropy(buf.zs[-1], buf.activations[-1], Y, idx, m,
                                       buf.deltas[-1], self.cost_rows)
            D = buf.deltas[-1][:m]  # (BP1) δᴸ = (aᴸ − y)/m: (m, n_out)
            if s is None:
                cost = float(self.cost_rows[:m].sum() / m)
            else:  # weighted as in costs.py: (1/m) Σₓ sₓCₓ, and δᴸ's row x times sₓ
                cost = float((self.cost_rows[:m] * s).sum() / m)
                D *= s[:, None]
        else:
            Yb = np.take(Y, idx, axis=0, out=buf.Y_batch[:m])  # (m, n_out)
            out = net.activations[-1]
            cost = net.cost.fn(zs[-1], acts[-1], Yb, out, s)
            D = None if not np.isfinite(cost) else net.cost.delta(zs[-1], acts[-1], Yb, out, s)
        if not np.isfinite(cost):
            return cost
        for l in range(net.n_layers - 1, -1, -1):
            prev = A0 if l == 0 else acts[l - 1]  # Aˡ⁻¹: (m, fan_in)
            np.matmul(prev.T, D, out=self.nabla_w[l])  # (BP4) (fan_in, fan_out)
            np.sum(D, axis=0, out=self.nabla_b[l])  # (BP3) (fan_out,)
            if l > 0:  # (BP2), with Wˡ before its step
                G = np.matmul(D, net.weights[l].T, out=buf.deltas[l - 1][:m])  # ∂C/∂Aˡ⁻¹
                if rows:
                    rows.times_derivative(G, zs[l - 1], prev, m, self.codes[l - 1])  # δˡ⁻¹
                else:
                    G *= net.activations[l - 1].derivative(zs[l - 1], prev)  # δˡ⁻¹
                D = G
            if fused is not None:
                fused(l)
        if fused is None:
            self.optimizer.step(net, Gradients(self.nabla_w, self.nabla_b, cost))
        return cost

    def _forward(self, A0: Array, m: int, rows) -> tuple[list[Array], list[Array]]:
        """Zˡ = Aˡ⁻¹Wˡ + bˡ and Aˡ = σ(Zˡ) into the buffers' first m rows; the output layer's σ
        is left to the cost when ``rows`` fuses them (softmax + cross-entropy)."""
        net, buf = self.net, self.buffers
        zs, acts = [Z[:m] for Z in buf.zs], [A[:m] for A in buf.activations]
        prev, last = A0, net.n_layers - 1
        for l, (W, b, sigma) in enumerate(zip(net.weights, net.biases, net.activations)):
            Z, A = zs[l], acts[l]
            np.matmul(prev, W, out=Z)  # Zˡ = Aˡ⁻¹Wˡ + bˡ: (m, fan_out)
            if rows and l == last and self.fused_output:
                Z += b  # σ: in the output's fused pass with the cost (softmax_cross_entropy)
            elif rows:
                rows.bias_activate(buf.zs[l], b, buf.activations[l], m, self.codes[l])
            else:
                Z += b
                sigma(Z, out=A)  # Aˡ = σ(Zˡ)
            prev = A
        return zs, acts

    def _fused_step(self, rows):
        """``step(l)``: ``SGD.step`` for layer l in one compiled pass per array (biases are not
        decayed), with η, μ, λ and L2-SP's α and w₀ as the optimiser has them now."""
        net, opt = self.net, self.optimizer
        dt = net.dtype
        eta, mu, lam, alpha, zero = (dt.type(v) for v in (opt.eta, opt.momentum, opt.weight_decay,
                                                          opt.l2_sp, 0))
        anchor = anchors(net, opt)  # w₀ (the weights themselves when α = 0)
        vel = velocities(net, opt)
        Ws, bs = net.weights, [b[None, :] for b in net.biases]  # biases as (1, fan_out) rows
        Vws, Vbs = (Ws, bs) if vel is None else (vel[0], [v[None, :] for v in vel[1]])
        gbs = [g[None, :] for g in self.nabla_b]

        def step(l: int) -> None:
            rows.steps[l](Ws[l], self.nabla_w[l], Vws[l], anchor[l], eta, mu, lam, alpha)
            compiled.dense_step(bs[l], gbs[l], Vbs[l], bs[l], eta, mu, zero, zero)

        return step


# Entries a row-wise pass must touch per call before it runs on all of Numba's threads (each
# parallel call is a fork and join of the threads; see compiled.PARALLEL_MIN_WORK).
PARALLEL_MIN_ENTRIES = 65_536


class RowKernels:
    """The compiled row-wise passes and steps (``compiled``) for ``net`` in batches of
    ``batch_size``: the parallel versions (the same numbers) for the big ones when Numba has more
    than one thread — the output layer's softmax and cost for a thousand classes, the steps of
    big weight matrices."""

    def __init__(self, net: Network, batch_size: int):
        threads = compiled.threads()

        def pick(name: str, entries: int):
            big = threads > 1 and entries >= PARALLEL_MIN_ENTRIES
            return getattr(compiled, name + ("_par" if big else ""))

        widest = max(net.sizes[1:-1], default=0)
        self.bias_activate = pick("bias_activate", batch_size * widest)
        self.times_derivative = pick("times_derivative", batch_size * widest)
        self.softmax_cross_entropy = pick("softmax_cross_entropy", batch_size * net.sizes[-1])
        self.steps = [pick("dense_step", W.size) for W in net.weights]
        self.parallel = threads > 1
