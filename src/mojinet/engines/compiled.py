"""The compiled engine (Numba): a whole run of mini-batches in one compiled call, and the
row-at-a-time inference kernel. The same math as ``Network.backprop`` followed by ``SGD.step``.

Why it exists. For the chapter's network (784-16-16-10, mini-batches of 10) one training step is
about half a million multiply-adds — a few microseconds of arithmetic — while the reference code
makes some 45 NumPy calls of about a microsecond each, and a framework such as PyTorch spends
hundreds of microseconds per step in dispatch. Speed for small networks is about the number of
calls, not the FLOPs. ``CompiledTrainer.run`` trains a run of mini-batches in one call, forward
pass, backpropagation and SGD step fused:

  forward    Zˡ = Aˡ⁻¹Wˡ + bˡ, Aˡ = σ(Zˡ), sample by sample; the first layer over the non-zero
             inputs only (the training set is compressed by rows once: ~80% of MNIST's pixels
             are 0, so most of its products are 0·w and need not be done);
  (BP1)      δᴸ from the cost (the formulas of ``costs.py``), and the batch's cost;
  (BP2)      δˡ = (δˡ⁺¹ (Wˡ⁺¹)ᵀ) ⊙ σ'(Zˡ), computed before Wˡ⁺¹ changes;
  (BP3/BP4)  ∂C/∂bˡ = Σ δˡ and ∂C/∂Wˡ = (Aˡ⁻¹)ᵀδˡ with the step w ← w − η(∂C/∂w + λw), plus
             α(w − w₀) with L2-SP (``nn/optim.py``; the anchor w₀ laid out as the weights): without
             momentum each sample's −η·aₖ·δ goes straight into W (no gradient array); with
             momentum the first layer's ∂C/∂W is made a row at a time (from the batch's inputs
             compressed by columns) and used at once for v ← μv + (…), w ← w − ηv; later
             layers accumulate theirs in a buffer first.
             Layers after the first keep their weights transposed inside the kernel, so that
             every inner loop runs along the (long) fan-in rather than a fan-out of 10 or 16.

The kernels loop their own way; ``tests/test_engines.py`` holds them equal to the reference on
several activations, costs and optimiser settings. Numba is optional (``pip install
'mojinet[fast]'``) and imported only when a kernel is first called (~0.5 s, which `mojinet
predict` need not pay). Non-goals: GPUs, multi-threaded kernels (the machines this targets have
few cores).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import threading
import types

import numpy as np

from ..nn.network import Network
from .common import (
    ACT_CODES,
    COST_CODES,
    LayerBuffers,
    anchors,
    check_data,
    check_trainer,
    check_weights,
    velocities,
)

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
# Batch size × fan_in × fan_out of a layer from which the trainer runs that layer's kernels on
# all of Numba's threads (when it has more than one). Each parallel kernel is a fork and a join of
# the threads, which wait passively (``_import_numba``): waking them costs tens of microseconds a
# kernel, and on a busy machine a thread may wait a time slice for the other. So only layers with
# a lot of work go parallel. Measured on 2 cores (MNIST epochs, 2026-12-04): with momentum,
# 784-300-10 in batches of 64 (15 million) gained 10% and C's first layer (784-800, batches of
# 128: 80 million) 18%; without it, the parallel step must first sort the batch by columns, and
# 784-100-10 in batches of 32 (B: 2.5 million) took twice the serial time, 784-800-10 in batches
# of 32 (20 million) 1.15 times it.
PARALLEL_MIN_WORK = 10_000_000  # with momentum
PARALLEL_MIN_WORK_PLAIN = 50_000_000  # without (μ = 0 when the trainer is made)

Array = np.ndarray


class CompiledTrainer:
    """Trains ``net`` with ``optimizer`` (a plain SGD) on mini-batches of ``batch_size`` rows, in
    compiled calls (``run``: the interface of ``nn.train.ReferenceSteps``).

    Reads the parameters, η, μ and λ afresh on every call (so schedules and callbacks that change
    them work) and shares the momentum velocities with the optimiser (``optimizer.velocity``), so
    that the reference and this trainer can take turns on the same state. The training inputs are
    compressed once and reused while the same X array is passed again: X must not be changed in
    place between calls (``train`` never does).
    """

    engine = "compiled"

    def __init__(self, net: Network, optimizer, batch_size: int):
        if not HAVE_NUMBA:
            raise ValueError("the compiled engine needs numba: pip install 'mojinet[fast]'")
        check_trainer(net, optimizer, batch_size, self.engine)
        self.net, self.optimizer, self.batch_size = net, optimizer, int(batch_size)
        self.buffers = LayerBuffers(net, self.batch_size)
        dt = net.dtype
        # scratch for the gradients: a row of layer 0's ∂C/∂W (with momentum), every layer's
        # ∂C/∂b; layers ≥ 1 get gradient buffers transposed, (fan_out, fan_in)
        n_threads = threads()
        # which layers run their kernels in parallel (1) or serially (0)
        min_work = PARALLEL_MIN_WORK if optimizer.momentum else PARALLEL_MIN_WORK_PLAIN
        self.parallel = np.array([int(n_threads > 1 and batch_size * W.size >= min_work)
                                  for W in net.weights], dtype=np.int64)
        blocks = 4 * n_threads if self.parallel[0] else 1  # blocks of layer 0's rows, for G0
        self.grad0_rows = np.empty((blocks, net.sizes[1]), dtype=dt)  # (blocks, fan_out)
        self.grad_b = [np.empty_like(b) for b in net.biases]  # (fan_out,)
        self.grads_t = [np.zeros((1, 1), dtype=dt)] + [
            np.zeros_like(W.T, order="C") for W in net.weights[1:]]  # (fan_out, fan_in)
        self.compressed = None  # (X, its compressed rows), made once per training set
        self.act_codes = np.array([ACT_CODES[a] for a in net.activations], dtype=np.int64)
        self.cost_code = COST_CODES[net.cost]

    def run(self, X: Array, Y: Array, order: Array, start: int, stop: int,
            weights: Array | None = None) -> Array:
        """Train on the batches that start at start, start + batch_size, … < stop.

        Batch k holds the samples ``order[start + k·batch_size : … + batch_size]`` (clipped at
        ``len(order)``). Returns each batch's cost before its step (float64). Stops after the
        first batch whose cost is not finite, without taking that batch's step. ``weights``
        (n,): per-sample weights of the cost, as in ``Network.backprop`` (None: all 1).
        """
        X, Y = check_data(self.net, X, Y, order[start:stop])
        S = check_weights(self.net, weights, len(X))
        if S is None:  # sₓ = 1 multiplies exactly: the unweighted numbers
            S = np.ones(len(X), dtype=self.net.dtype)
        net, opt, buf = self.net, self.optimizer, self.buffers
        dt = net.dtype
        eta, mu, lam = dt.type(opt.eta), dt.type(opt.momentum), dt.type(opt.weight_decay)
        alpha, anchor = dt.type(opt.l2_sp), anchors(net, opt)  # L2-SP: α, w₀ (or W: unused)
        costs = np.zeros(len(range(start, stop, self.batch_size)), dtype=np.float64)
        vel = velocities(net, opt)
        Vw, Vb = vel if vel is not None else (net.weights, net.biases)  # unused when μ = 0
        X_ptr, X_idx, X_val = self._compress(X)
        # layers ≥ 1 train on transposed copies (see _affine_t), written back afterwards
        placeholder = self.grads_t[:1]
        WTs = placeholder + [np.ascontiguousarray(W.T) for W in net.weights[1:]]
        VTs = placeholder + [np.ascontiguousarray(V.T) for V in Vw[1:]]
        ATs = placeholder + [WT if a is W else np.ascontiguousarray(a.T)
                             for W, WT, a in zip(net.weights[1:], WTs[1:], anchor[1:])]
        par = bool(self.parallel.any())
        try:
            with PARALLEL_LOCK if par else contextlib.nullcontext():
                done = _train_batches(
                    X_ptr, X_idx, X_val, Y, S, order, start, stop, self.batch_size,
                    net.weights[0], Vw[0], self.grad0_rows,
                    tuple(WTs), tuple(VTs), tuple(self.grads_t), tuple(net.biases), tuple(Vb),
                    tuple(self.grad_b), tuple(buf.zs), tuple(buf.activations),
                    tuple(buf.deltas), self.act_codes, self.cost_code, eta, mu, lam, costs,
                    self.parallel, anchor[0], tuple(ATs), alpha,
                )
        finally:
            for W, WT in zip(net.weights[1:], WTs[1:]):
                W[...] = WT.T
            if vel is not None:
                for V, VT in zip(Vw[1:], VTs[1:]):
                    V[...] = VT.T
        return costs[:done]

    def _compress(self, X: Array):
        """X's compressed rows, made once and kept while the same X array is passed again."""
        if self.compressed is None or self.compressed[0] is not X:
            self.compressed = (X, compress_rows(X))
        return self.compressed[1]


# --------------------------------------------------------------------------- compiling
_KERNELS: list[tuple[str, bool]] = []  # (name, parallel) of the kernels Numba compiles


def _njit(fn):
    """Mark fn for compilation with Numba (when installed), done on the first call of any kernel."""
    if not HAVE_NUMBA:
        return fn
    _KERNELS.append((fn.__name__, False))
    return _Uncompiled(fn)


def _parallel(kernel):
    """``kernel`` (made by ``_njit``) compiled with ``parallel=True``, to be bound to the name
    ``<name>_par``: its ``prange`` loops then run on Numba's threads (in the serial kernel
    prange is range). Every prange loop below writes rows of its own and adds into each element
    in the same order as the serial loop, so both give the same numbers, bit for bit."""
    if not HAVE_NUMBA:
        return kernel
    fn = kernel.fn
    name = fn.__name__ + "_par"
    # a function of its own (its own name in Numba's on-disk cache, which does not tell the
    # parallel compilation of a function from the serial one)
    twin = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    twin.__qualname__, twin.__doc__ = name, fn.__doc__
    _KERNELS.append((name, True))
    return _Uncompiled(twin)


class _Uncompiled:
    """Stands in for a kernel until the first call, which compiles them all (or loads them from
    Numba's on-disk cache) and puts the compiled versions in this module's namespace."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __call__(self, *args):
        _compile_kernels()
        return globals()[self.fn.__name__](*args)


def load_kernels() -> bool:
    """Compile the kernels now (or load them from Numba's on-disk cache: ~1 s, most of it
    importing Numba). Returns whether they are available.

    Training does this on its first step. Inference (``engines.feedforward``) does not: a one-off
    prediction (such as ``mojinet predict``) is done sooner with NumPy than by loading Numba
    first, so it uses the compiled kernels only once they are loaded in this process. A
    long-running server calls this at start-up."""
    if HAVE_NUMBA and not loaded:
        _compile_kernels()
    return loaded


loaded = False  # whether the kernels below are compiled (set by _compile_kernels)


def _import_numba():
    """numba, imported with OMP_WAIT_POLICY=PASSIVE unless the user set it: threads that wait for
    work then sleep at once instead of spinning. On a machine whose cores are busy with other jobs
    a spinning thread takes the time slice its partner needs (a parallel C epoch took 6× the CPU
    time of a serial one). GNU OpenMP (Numba's default threading layer here) reads it once, when
    it is loaded, so this must come before anything starts Numba's threads."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import numba
    except ImportError as exc:  # found by find_spec but broken
        raise RuntimeError(
            f"numba is installed but cannot be imported ({exc}); reinstall it "
            f"(pip install 'mojinet[fast]') or use engine blas"
        ) from exc
    return numba


def _compile_kernels() -> None:
    global loaded
    numba = _import_numba()
    namespace = globals()
    namespace["_carray"], namespace["_pointer"] = numba.carray, _pointer_intrinsic()
    namespace["_prange"] = numba.prange
    for name, parallel in _KERNELS:
        if isinstance(namespace[name], _Uncompiled):
            # 'reassoc'/'contract' let sums vectorise; no 'nnan'/'ninf': NaN must stay NaN.
            namespace[name] = numba.njit(cache=True, fastmath={"reassoc", "contract"},
                                         nogil=True, parallel=parallel)(namespace[name].fn)
    loaded = True


_prange = range  # numba.prange once the kernels are compiled (range for the pure-Python versions)


def threads() -> int:
    """How many threads the parallel kernels use: Numba's setting for the calling thread
    (``NUMBA_NUM_THREADS``, default all cores; ``numba.set_num_threads``), 1 without Numba."""
    if not HAVE_NUMBA:
        return 1
    return _import_numba().get_num_threads()


# Numba's default thread pool ("workqueue") must not be entered by two Python threads at once
# (a web server's pool threads could): the parallel kernels are called under this lock.
PARALLEL_LOCK = threading.Lock()



# --------------------------------------------------------------------------- training kernels
@_njit
def _activate(Z, A, r, n, code):
    """The first n entries of row r of A = σ(Z) (numerically stable sigmoid and softmax)."""
    if code == 0:  # sigmoid: 1/(1 + e^(−z)), or e^z/(1 + e^z) for z < 0 (a select, no branch)
        z, a = Z[r], A[r]  # (fan_out,)
        for j in range(n):
            e = np.exp(-abs(z[j]))
            s = 1 / (1 + e)
            a[j] = s if z[j] >= 0 else e * s
    elif code == 1:  # relu
        for j in range(n):
            A[r, j] = max(Z[r, j], 0.0)
    elif code == 2:  # tanh
        for j in range(n):
            A[r, j] = np.tanh(Z[r, j])
    else:  # softmax, shifted by the row maximum
        top = Z[r, 0]
        for j in range(1, n):
            top = max(top, Z[r, j])
        total = 0.0
        for j in range(n):
            A[r, j] = np.exp(Z[r, j] - top)
            total += A[r, j]
        for j in range(n):
            A[r, j] = A[r, j] / total


@_njit
def _derivative(z, a, code):
    """σ'(z) of an elementwise activation, from z or a = σ(z)."""
    if code == 0:
        return a * (1 - a)
    if code == 1:
        return 1.0 if z > 0 else 0.0
    return 1 - a * a  # tanh


@_njit
def _cost_and_delta(Z, A, Y, y, D, r, code, cost_code, m, s):
    """Sample r's weighted cost sₓCₓ (float64) and its row of δᴸ into D (divided by the batch
    size m, times its weight s); its wanted output is row y of Y."""
    n = Z.shape[1]
    cost = 0.0
    if cost_code == 1:  # cross-entropy: δ = (a − y)/m
        if code == 3:  # softmax: −Σ y ln a, with ln a = z − max − ln Σ e^(z − max)
            top = np.float64(Z[r, 0])
            for j in range(1, n):
                top = max(top, np.float64(Z[r, j]))
            total = 0.0
            for j in range(n):
                total += np.exp(np.float64(Z[r, j]) - top)
            log_total = np.log(total)
            for j in range(n):
                cost -= Y[y, j] * (np.float64(Z[r, j]) - top - log_total)
        else:  # sigmoid: max(z, 0) − z·y + ln(1 + e^(−|z|))
            for j in range(n):
                z = np.float64(Z[r, j])
                cost += max(z, 0.0) - z * Y[y, j] + np.log1p(np.exp(-abs(z)))
        for j in range(n):
            D[r, j] = (A[r, j] - Y[y, j]) / m * s
        return cost * s
    for j in range(n):  # quadratic: ½‖a − y‖², ∂C/∂a = (a − y)/m
        diff = A[r, j] - Y[y, j]
        cost += 0.5 * np.float64(diff) * np.float64(diff)
        D[r, j] = diff / m * s
    if code == 3:  # softmax Jacobian: δ_j = a_j (g_j − Σ_k g_k a_k)
        dot = 0.0
        for j in range(n):
            dot += D[r, j] * A[r, j]
        for j in range(n):
            D[r, j] = A[r, j] * (D[r, j] - dot)
    else:
        for j in range(n):
            D[r, j] = D[r, j] * _derivative(Z[r, j], A[r, j], code)
    return cost * s


@_njit
def compress_rows(X):
    """X (n, d) as compressed rows: (indptr (n+1,), indices (nnz,) int32, values (nnz,)).

    Row i's non-zero entries are values[indptr[i]:indptr[i+1]] at columns indices[…]. MNIST
    images are ~80% zeros, so the first layer's products only need the other 20%.
    """
    n, d = X.shape
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        count = 0
        for k in range(d):
            if X[i, k] != 0:
                count += 1
        indptr[i + 1] = indptr[i] + count
    indices = np.empty(indptr[n], dtype=np.int32)
    values = np.empty(indptr[n], dtype=X.dtype)
    for i in range(n):
        p = indptr[i]
        for k in range(d):
            if X[i, k] != 0:
                indices[p] = k
                values[p] = X[i, k]
                p += 1
    return indptr, indices, values


# Loops below work on 1-d row views (W[k], Z[r]) with the innermost loop over a whole row:
# that is the form Numba turns into SIMD instructions (2-d indexing Z[r, j] defeats it).


@_njit
def _add_rows(y, M, index, value, start, end):
    """y += Σ_p value[p]·M[index[p]] over p in [start, end): a combination of rows of M (fan_out,).

    Four rows per pass over y, so that y is read and written once per four rows instead of once
    per row (for 800-wide layers that is ~20% of the first layer's time)."""
    p = start
    while p + 4 <= end:
        c0, c1, c2, c3 = value[p], value[p + 1], value[p + 2], value[p + 3]
        m0, m1, m2, m3 = M[index[p]], M[index[p + 1]], M[index[p + 2]], M[index[p + 3]]
        for j in range(y.shape[0]):
            y[j] += c0 * m0[j] + c1 * m1[j] + c2 * m2[j] + c3 * m3[j]
        p += 4
    for q in range(p, end):
        c, row = value[q], M[index[q]]
        for j in range(y.shape[0]):
            y[j] += c * row[j]


@_njit
def _affine_compressed(ptr, idx, val, rows, m, W, b, Z):
    """Z[r] = (compressed row rows[r]) W + b for r < m: Zˡ = Aˡ⁻¹Wˡ + bˡ, each input k that is not 0
    adding its value times row k of W."""
    for r in _prange(m):
        z = Z[r]  # (fan_out,)
        z[:] = b
        row = rows[r]
        _add_rows(z, W, idx, val, ptr[row], ptr[row + 1])


_affine_compressed_par = _parallel(_affine_compressed)


@_njit
def _transpose_compressed(ptr, idx, val, rows, m, n_in):
    """The batch rows[:m] of a compressed matrix, compressed by columns instead: (colptr
    (n_in+1,), sample (nnz,), value (nnz,)); column k's entries are the batch's non-zero inputs
    k, with the batch row r they come from."""
    colptr = np.zeros(n_in + 1, dtype=np.int64)
    for r in range(m):
        row = rows[r]
        for p in range(ptr[row], ptr[row + 1]):
            colptr[idx[p] + 1] += 1
    for k in range(n_in):
        colptr[k + 1] += colptr[k]
    sample = np.empty(colptr[n_in], dtype=np.int32)
    value = np.empty(colptr[n_in], dtype=val.dtype)
    fill = colptr[:n_in].copy()  # where column k's next entry goes
    for r in range(m):
        row = rows[r]
        for p in range(ptr[row], ptr[row + 1]):
            k = idx[p]
            sample[fill[k]] = r
            value[fill[k]] = val[p]
            fill[k] += 1
    return colptr, sample, value


@_njit
def _momentum_step_compressed(ptr, idx, val, rows, m, D, W, V, G, W0, eta, mu, lam, alpha):
    """One momentum step for the first layer, row by row of W, with the gradient made on the fly:
    gₖ = Σ_r aᵣₖ δᵣ (BP4, row k of ∂C/∂W, summed over the batch's samples whose input k is not 0),
    then vₖ ← μvₖ + (gₖ + λwₖ + α(wₖ − w₀ₖ)), wₖ ← wₖ − ηvₖ (W0: L2-SP's anchor). G holds a
    (fan_out,) scratch row per block of rows of W (blocks run in parallel): no gradient matrix is
    written and read back, and W and V are each read and written once."""
    colptr, sample, value = _transpose_compressed(ptr, idx, val, rows, m, W.shape[0])
    n_in, blocks = W.shape[0], G.shape[0]
    for c in _prange(blocks):
        g = G[c]  # (fan_out,)
        for k in range(c * n_in // blocks, (c + 1) * n_in // blocks):
            g[:] = 0
            _add_rows(g, D, sample, value, colptr[k], colptr[k + 1])  # Σ_r aᵣₖ δᵣ
            w, v, w0 = W[k], V[k], W0[k]  # (fan_out,)
            if alpha != 0:
                for j in range(w.shape[0]):
                    v[j] = mu * v[j] + (g[j] + lam * w[j] + alpha * (w[j] - w0[j]))
                    w[j] -= eta * v[j]
            else:  # without L2-SP: no second array read
                for j in range(w.shape[0]):
                    v[j] = mu * v[j] + (g[j] + lam * w[j])
                    w[j] -= eta * v[j]


_momentum_step_compressed_par = _parallel(_momentum_step_compressed)


@_njit
def _decay(W, W0, eta, lam, alpha):
    """W ← (1 − ηλ)W − ηα(W − W0): the decay half of a step without momentum (nothing when
    λ = α = 0: then not even a loop over the rows, whose calls cost more than the whole step of
    the chapter's network — each passes two row views, counted in and out of Numba's reference
    counts; measured: 0.36 s of a 0.42 s epoch)."""
    if lam == 0 and alpha == 0:
        return
    for k in range(W.shape[0]):
        _decay_row(W[k], W0[k], eta, lam, alpha)


@_njit
def _decay_row(w, w0, eta, lam, alpha):
    """A row of ``_decay``: w ← (1 − ηλ)w − ηα(w − w₀) (L2-SP, anchor row w0)."""
    shrink = 1 - eta * lam
    if alpha != 0:
        for j in range(w.shape[0]):
            w[j] = w[j] * shrink - eta * alpha * (w[j] - w0[j])
    elif lam != 0:
        for j in range(w.shape[0]):
            w[j] *= shrink


@_njit
def _step_compressed(ptr, idx, val, rows, m, D, W, W0, eta, lam, alpha):
    """W ← W − η((Aˡ⁻¹)ᵀδˡ + λW + α(W − W0)) without momentum, fused: the decay first, then each
    sample's −η·aₖ·δ added to row k of W straight away. The sum is the same as building ∂C/∂W and
    stepping (only the order of the float additions differs), but W is read and written once
    instead of W and then a gradient of the same size."""
    _decay(W, W0, eta, lam, alpha)
    for r in range(m):
        d = D[r]  # δ of sample r: (fan_out,)
        row = rows[r]
        for p in range(ptr[row], ptr[row + 1]):
            c, w = -eta * val[p], W[idx[p]]  # −η·aₖ and row k of W: (fan_out,)
            for j in range(w.shape[0]):
                w[j] += c * d[j]


@_njit
def _step_compressed_by_rows(ptr, idx, val, rows, m, D, W, W0, eta, lam, alpha):
    """``_step_compressed`` row by row of W (rows in parallel): the batch compressed by columns,
    then for each row k its decay and the samples' −η·aₖ·δ in the order of the samples — the
    same additions into each weight, in the same order, as ``_step_compressed``."""
    colptr, sample, value = _transpose_compressed(ptr, idx, val, rows, m, W.shape[0])
    for k in _prange(W.shape[0]):
        w = W[k]  # (fan_out,)
        if lam != 0 or alpha != 0:  # (see _decay)
            _decay_row(w, W0[k], eta, lam, alpha)
        for q in range(colptr[k], colptr[k + 1]):
            c, d = -eta * value[q], D[sample[q]]  # −η·aₖ and δ of that sample: (fan_out,)
            for j in range(w.shape[0]):
                w[j] += c * d[j]


_step_compressed_by_rows_par = _parallel(_step_compressed_by_rows)


@_njit
def dense_step(W, G, V, W0, eta, mu, lam, alpha):
    """SGD.step for one weight matrix from its gradient G: w ← w − η(g + λw + α(w − w₀)), or with
    momentum v ← μv + (g + λw + α(w − w₀)), w ← w − ηv (V is ignored when μ = 0; W0 is L2-SP's
    anchor w₀, ignored when α = 0: pass W itself)."""
    for k in _prange(W.shape[0]):
        w, g, v, w0 = W[k], G[k], V[k], W0[k]  # (fan_out,)
        if mu != 0 and alpha != 0:
            for j in range(w.shape[0]):
                v[j] = mu * v[j] + (g[j] + lam * w[j] + alpha * (w[j] - w0[j]))
                w[j] -= eta * v[j]
        elif mu != 0:  # without L2-SP: no second array read
            for j in range(w.shape[0]):
                v[j] = mu * v[j] + (g[j] + lam * w[j])
                w[j] -= eta * v[j]
        else:
            for j in range(w.shape[0]):
                w[j] -= eta * (g[j] + lam * w[j] + alpha * (w[j] - w0[j]))


dense_step_par = _parallel(dense_step)


# Hidden layers' inputs are dense (sigmoid and tanh are never 0) and narrow (≤ 256): compressing
# them costs more than it saves, and loops over fan_out = 10 or 16 are too short for SIMD. So for
# l ≥ 1 the kernel keeps Wˡ transposed, WTˡ = (Wˡ)ᵀ: (fan_out, fan_in), and every inner loop runs
# along a whole row of WTˡ or Aˡ⁻¹ (fan_in long).


@_njit
def _affine_t(A, m, WT, b, Z):
    """Z[r, j] = A[r] · WT[j] + b[j] for r < m: Zˡ = Aˡ⁻¹Wˡ + bˡ with Wˡ given transposed."""
    for r in _prange(m):
        a, z = A[r], Z[r]  # (fan_in,), (fan_out,)
        for j in range(z.shape[0]):
            w = WT[j]  # (fan_in,): the weights into neuron j
            s = b[j]
            for k in range(a.shape[0]):
                s += a[k] * w[k]
            z[j] = s


_affine_t_par = _parallel(_affine_t)


@_njit
def _backprop_t(D, m, WT, Zp, Ap, Dp, code):
    """(BP2) δˡ⁻¹ = (δˡ (Wˡ)ᵀ) ⊙ σ'(Zˡ⁻¹) for rows r < m, with Wˡ given transposed."""
    for r in _prange(m):
        d, g = D[r], Dp[r]  # δˡ: (fan_out,), δˡ⁻¹: (fan_in,)
        g[:] = 0
        for j in range(d.shape[0]):
            c, w = d[j], WT[j]  # (fan_in,)
            for k in range(g.shape[0]):
                g[k] += c * w[k]
        z, a = Zp[r], Ap[r]  # (fan_in,)
        for k in range(g.shape[0]):
            g[k] *= _derivative(z[k], a[k], code)


_backprop_t_par = _parallel(_backprop_t)


@_njit
def _gradient_t(A, m, D, GT):
    """(BP4) GT = (∂C/∂Wˡ)ᵀ = δˡᵀ Aˡ⁻¹ over rows r < m (overwrites GT; rows of GT in parallel,
    each summed over the samples in order)."""
    for j in _prange(GT.shape[0]):
        g = GT[j]  # (fan_in,)
        g[:] = 0
        for r in range(m):
            c, a = D[r, j], A[r]  # (fan_in,)
            for k in range(a.shape[0]):
                g[k] += c * a[k]


_gradient_t_par = _parallel(_gradient_t)


@_njit
def _step_t(A, m, D, WT, WT0, eta, lam, alpha):
    """WT ← WT − η(δˡᵀAˡ⁻¹ + λWT + α(WT − WT0)) without momentum, fused as in
    ``_step_compressed`` (rows of WT in parallel, each with the samples in order)."""
    for j in _prange(WT.shape[0]):
        w = WT[j]  # (fan_in,)
        if lam != 0 or alpha != 0:  # (see _decay)
            _decay_row(w, WT0[j], eta, lam, alpha)
        for r in range(m):
            c, a = -eta * D[r, j], A[r]  # (fan_in,)
            for k in range(a.shape[0]):
                w[k] += c * a[k]


_step_t_par = _parallel(_step_t)


@_njit
def _train_batches(X_ptr, X_idx, X_val, Y, S, order, start, stop, batch_size, W0, V0, G0, WTs,
                   VTs, GTs, bs, Vbs, gbs, Zs, As, Ds, acts, cost_code, eta, mu, lam, costs,
                   parallel, anchor0, anchor_ts, alpha):
    """Forward, backprop and SGD step for each batch starting at start, … < stop. See the module
    docstring for the equations. Layer 0 reads the training inputs compressed by rows (X_ptr,
    X_idx, X_val) and has its weights W0 as they are; layers l ≥ 1 have theirs transposed in
    WTs[l] (WTs[0] is a placeholder), likewise velocities VTs and gradient buffers GTs; G0 (a row
    per block of layer 0's rows) and gbs[l] are scratch for layer 0's weight gradient and the
    bias gradients; anchor0 and anchor_ts[l] are L2-SP's anchors w₀ (α = ``alpha``), laid out
    as W0 and WTs[l]; S (n,): each sample's weight in the cost (it enters sₓCₓ and δᴸ, computed
    serially, so the parallel kernels need nothing more). ``parallel[l]``: 1 for layers whose
    kernels run in parallel (the same numbers). Returns how many batches were done (the last
    one without its step if its cost was not finite)."""
    n = order.shape[0]
    L = len(bs)
    done = 0
    for first in range(start, stop, batch_size):
        m = min(batch_size, n - first)
        rows = order[first : first + m]
        # forward: Zˡ = Aˡ⁻¹Wˡ + bˡ, Aˡ = σ(Zˡ)
        for l in range(L):
            Z, A, par = Zs[l], As[l], parallel[l] != 0
            if l == 0 and par:
                _affine_compressed_par(X_ptr, X_idx, X_val, rows, m, W0, bs[0], Z)
            elif l == 0:
                _affine_compressed(X_ptr, X_idx, X_val, rows, m, W0, bs[0], Z)
            elif par:
                _affine_t_par(As[l - 1], m, WTs[l], bs[l], Z)
            else:
                _affine_t(As[l - 1], m, WTs[l], bs[l], Z)
            for r in range(m):
                _activate(Z, A, r, Z.shape[1], acts[l])
        # (BP1) and the cost
        cost = 0.0
        for r in range(m):
            cost += _cost_and_delta(Zs[L - 1], As[L - 1], Y, rows[r], Ds[L - 1], r,
                                    acts[L - 1], cost_code, m, S[rows[r]])
        cost /= m
        costs[done] = cost
        done += 1
        if not np.isfinite(cost):
            return done
        for l in range(L - 1, -1, -1):
            par = parallel[l] != 0
            if l > 0 and par:  # (BP2) δˡ⁻¹, with Wˡ before its step
                _backprop_t_par(Ds[l], m, WTs[l], Zs[l - 1], As[l - 1], Ds[l - 1], acts[l - 1])
            elif l > 0:
                _backprop_t(Ds[l], m, WTs[l], Zs[l - 1], As[l - 1], Ds[l - 1], acts[l - 1])
            _bias_step(Ds[l], m, bs[l], Vbs[l], gbs[l], eta, mu)
            _weight_step(X_ptr, X_idx, X_val, rows, m, l, Ds[l], W0, V0, G0, As, WTs, VTs, GTs,
                         eta, mu, lam, par, anchor0, anchor_ts, alpha)
    return done


@_njit
def _bias_step(D, m, b, vb, gb, eta, mu):
    """(BP3) ∂C/∂bˡ = Σ_rows δˡ into gb, and the step for bˡ (velocity vb with momentum)."""
    gb[:] = 0
    for r in range(m):
        d = D[r]
        for j in range(gb.shape[0]):
            gb[j] += d[j]
    for j in range(b.shape[0]):
        if mu != 0:
            vb[j] = mu * vb[j] + gb[j]
            b[j] -= eta * vb[j]
        else:
            b[j] -= eta * gb[j]


@_njit
def _weight_step(X_ptr, X_idx, X_val, rows, m, l, D, W0, V0, G0, As, WTs, VTs, GTs, eta, mu,
                 lam, par, anchor0, anchor_ts, alpha):
    """(BP4) ∂C/∂Wˡ = (Aˡ⁻¹)ᵀ δˡ and the step for Wˡ: fused without momentum; with momentum a
    row at a time for layer 0, through a gradient buffer for the others. (W0 is layer 0's
    weights; anchor0 and anchor_ts[l] the L2-SP anchors.)"""
    if l == 0 and mu == 0 and par:
        _step_compressed_by_rows_par(X_ptr, X_idx, X_val, rows, m, D, W0, anchor0, eta, lam, alpha)
    elif l == 0 and mu == 0:
        _step_compressed(X_ptr, X_idx, X_val, rows, m, D, W0, anchor0, eta, lam, alpha)
    elif l == 0 and par:
        _momentum_step_compressed_par(X_ptr, X_idx, X_val, rows, m, D, W0, V0, G0, anchor0, eta, mu,
                                      lam, alpha)
    elif l == 0:
        _momentum_step_compressed(X_ptr, X_idx, X_val, rows, m, D, W0, V0, G0, anchor0, eta, mu,
                                  lam, alpha)
    elif mu == 0 and par:
        _step_t_par(As[l - 1], m, D, WTs[l], anchor_ts[l], eta, lam, alpha)
    elif mu == 0:
        _step_t(As[l - 1], m, D, WTs[l], anchor_ts[l], eta, lam, alpha)
    elif par:
        _gradient_t_par(As[l - 1], m, D, GTs[l])
        dense_step_par(WTs[l], GTs[l], VTs[l], anchor_ts[l], eta, mu, lam, alpha)
    else:
        _gradient_t(As[l - 1], m, D, GTs[l])
        dense_step(WTs[l], GTs[l], VTs[l], anchor_ts[l], eta, mu, lam, alpha)



# --------------------------------------------------------------------------- BLAS-engine helpers
# Row-wise passes that the BLAS engine (blas.py) makes between its matrix products: each is one
# pass over a (batch, fan_out) array where NumPy makes two to five, rows in parallel.


@_njit
def bias_activate(Z, b, A, m, code):
    """Zˡ += bˡ and Aˡ = σ(Zˡ) for rows r < m, in one pass."""
    for r in _prange(m):
        z = Z[r]  # (fan_out,)
        for j in range(z.shape[0]):
            z[j] += b[j]
        _activate(Z, A, r, z.shape[0], code)


bias_activate_par = _parallel(bias_activate)


@_njit
def softmax_cross_entropy(Z, A, Y, rows, m, D, cost_rows):
    """The softmax output layer with the cross-entropy cost, fused: for r < m, Aᴸ = softmax(Zᴸ)
    (row r), the sample's cost Cₓ = −Σⱼ yⱼ ln aⱼ into cost_rows[r] (float64, with ln aⱼ =
    zⱼ − max − ln Σ e^(z − max), as in ``costs.py``) and (BP1) δᴸ = (aᴸ − y)/m into D; y is row
    rows[r] of Y. One exponential per entry, in two passes over the row."""
    n = Z.shape[1]
    for r in _prange(m):
        z, a, d, y = Z[r], A[r], D[r], Y[rows[r]]  # (n,) each
        top = z[0]
        for j in range(1, n):
            top = max(top, z[j])
        total = 0.0
        for j in range(n):
            a[j] = np.exp(z[j] - top)
            total += a[j]
        log_total = np.log(total)
        cost = 0.0
        for j in range(n):
            cost -= y[j] * (np.float64(z[j]) - top - log_total)
            a[j] = a[j] / total
            d[j] = (a[j] - y[j]) / m
        cost_rows[r] = cost


softmax_cross_entropy_par = _parallel(softmax_cross_entropy)


@_njit
def times_derivative(G, Z, A, m, code):
    """(BP2)'s ⊙: G ← G ⊙ σ'(Z) for rows r < m (σ' from z or a = σ(z))."""
    for r in _prange(m):
        g, z, a = G[r], Z[r], A[r]  # (fan,)
        for j in range(g.shape[0]):
            g[j] *= _derivative(z[j], a[j], code)


times_derivative_par = _parallel(times_derivative)


# --------------------------------------------------------------------------- inference
# One image through the chapter's network is ~20,000 multiply-adds, a microsecond or two; passing
# the weights to compiled code as tuples of arrays costs about as much again (Numba unboxes every
# array on every call). So the row kernel gets one int64 array, the layout, with five numbers
# per layer: [address of Wˡ, fan_in, fan_out, address of bˡ, activation code], and sees Wˡ and bˡ
# through arrays made on the addresses (``_pointer``). The layout is made by ``Plan``, which also
# holds the arrays themselves (so the addresses stay valid) and is remade whenever the network's
# arrays are replaced (``inference.py``).
LAYOUT = 5  # numbers per layer in a layout
_carray = _pointer = None  # numba.carray and _pointer_intrinsic(), set by _compile_kernels


def _pointer_intrinsic():
    """``_pointer(address, like)``: a pointer to ``like``'s element type at ``address`` (for
    ``_carray``), made when the kernels are compiled. Numba has no public way to turn an
    integer into a pointer; an intrinsic is its documented way to add one."""
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _pointer(typingctx, address, like):
        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

        return types.CPointer(like.dtype)(types.int64, like), codegen

    return _pointer


@_njit
def feedforward_rows(X, layout, out):
    """Output activations for every row of X into out (batch, n_out), one row at a time through
    all layers (for a few rows, where a BLAS call per layer costs more than the arithmetic).
    layout: see above. out comes from the caller: returning a new array from compiled code costs
    ~0.5 µs more."""
    L = layout.shape[0] // LAYOUT
    width = 0
    for l in range(L):
        width = max(width, layout[LAYOUT * l + 2])
    Z = np.empty((L, width), dtype=X.dtype)  # row l: layer l's z, then its activations
    idx = np.empty(max(width, X.shape[1]), dtype=np.int64)  # where a layer's input is not 0
    for r in range(X.shape[0]):
        for l in range(L):
            w_at, fan_in, fan_out, b_at, code = layout[LAYOUT * l : LAYOUT * (l + 1)]
            W = _carray(_pointer(w_at, X), (fan_in, fan_out))  # Wˡ: (fan_in, fan_out)
            b = _carray(_pointer(b_at, X), (fan_out,))  # bˡ: (fan_out,)
            a = X[r] if l == 0 else Z[l - 1]  # (≥ fan_in,)
            z = Z[l]  # (≥ fan_out,)
            n = 0
            for k in range(fan_in):  # the non-zero inputs, without a branch per input
                idx[n] = k
                n += a[k] != 0
            for j in range(fan_out):
                z[j] = b[j]
            for q in range(n):
                c, w = a[idx[q]], W[idx[q]]  # input k and its row of weights: (fan_out,)
                for j in range(fan_out):
                    z[j] += c * w[j]
            _activate(Z, Z, l, fan_out, code)
        o, a = out[r], Z[L - 1]  # (n_out,)
        for j in range(o.shape[0]):
            o[j] = a[j]
