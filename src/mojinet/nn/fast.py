"""The fast path: the same math as ``Network.backprop`` followed by ``SGD.step``, in fewer calls.

Why it exists. For the chapter's network (784-16-16-10, mini-batches of 10) one training step is
about half a million multiply-adds — a few microseconds of arithmetic — while the reference code
(``Network.backprop`` then ``SGD.step``) makes some 45 NumPy calls of about a microsecond each, and
a framework such as PyTorch spends hundreds of microseconds per step in dispatch. Speed for small
networks is therefore about the number of calls, not the FLOPs.

Two engines; ``default_engine(net)`` picks one (``MOJINET_FAST`` in the environment overrides):

- ``compiled`` (needs Numba; for narrow networks, and for a wide first layer followed by small
  ones — see ``default_engine``): one compiled call trains a whole run of mini-batches, forward
  pass, backpropagation and SGD step fused:

  forward    Zˡ = Aˡ⁻¹Wˡ + bˡ, Aˡ = σ(Zˡ), sample by sample; the first layer over the non-zero
             inputs only (the training set is compressed by rows once: ~80% of MNIST's pixels
             are 0, so most of its products are 0·w and need not be done);
  (BP1)      δᴸ from the cost (the formulas of ``costs.py``), and the batch's cost;
  (BP2)      δˡ = (δˡ⁺¹ (Wˡ⁺¹)ᵀ) ⊙ σ'(Zˡ), computed before Wˡ⁺¹ changes;
  (BP3/BP4)  ∂C/∂bˡ = Σ δˡ and ∂C/∂Wˡ = (Aˡ⁻¹)ᵀδˡ with the step w ← w − η(∂C/∂w + λw): without
             momentum each sample's −η·aₖ·δ goes straight into W (no gradient array); with
             momentum the first layer's ∂C/∂W is made a row at a time (from the batch's inputs
             compressed by columns) and used at once for v ← μv + (…), w ← w − ηv; later
             layers accumulate theirs in a buffer first.
             Layers after the first keep their weights transposed inside the kernel, so that
             every inner loop runs along the (long) fan-in rather than a fan-out of 10 or 16.

- ``blas`` (pure NumPy; for wide layers, and the fallback without Numba): the reference's matrix
  products, but into preallocated buffers (``out=``), elementwise work in place, no per-batch
  allocation or dtype conversion; with Numba installed the SGD step is one fused pass.

The reference implementation stays the definition of the math: ``tests/test_fast.py`` compares
both engines with ``Network.backprop`` + ``SGD.step`` on several activations, costs and
optimiser settings. ``trainer_for`` returns ``None`` for anything this module does not know
(another optimiser, a Network subclass, dropout, …) and ``train`` then uses the reference loop.
Set ``MOJINET_FAST=0`` in the environment to force the reference loop everywhere, or
``MOJINET_FAST=blas`` / ``=compiled`` to force an engine.

Non-goals: convolution, GPUs, multi-threaded kernels (the BLAS library threads the big products;
the compiled kernel is single-threaded because the machines this targets have few cores).
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np

from .activations import RELU, SIGMOID, SOFTMAX, TANH
from .costs import CROSS_ENTROPY, QUADRATIC
from .network import Network

# Numba is optional: without it the pure-NumPy ``blas`` engine is used. It is imported only when a
# compiled kernel is first called (the import costs ~0.5 s, which `mojinet predict` need not pay).
HAVE_NUMBA = importlib.util.find_spec("numba") is not None

Array = np.ndarray

# Activation and cost codes shared by the compiled kernels (which cannot take Python objects).
ACT_CODES = {SIGMOID: 0, RELU: 1, TANH: 2, SOFTMAX: 3}
COST_CODES = {QUADRATIC: 0, CROSS_ENTROPY: 1}
_SIGMOID, _RELU, _TANH, _SOFTMAX = 0, 1, 2, 3
_QUADRATIC, _CROSS_ENTROPY = 0, 1

ENGINES = ("compiled", "blas")


def _setting() -> str:
    """MOJINET_FAST, read on every call (tests and users change it while running).

    ``os.environ.get`` of a variable that is not set costs ~1 µs (it raises and catches KeyError
    twice), a tenth of a one-image prediction; CPython's mapping behind ``os.environ`` answers
    the usual "not set" in a plain dict lookup."""
    data = getattr(os.environ, "_data", None)
    if data is None:
        value = os.environ.get("MOJINET_FAST")
    else:
        raw = data.get(_ENV_KEY)
        if raw is None:
            return ""
        value = os.environ.decodevalue(raw)  # type: ignore[attr-defined]
    return value.strip().lower() if value else ""


try:
    _ENV_KEY = os.environ.encodekey("MOJINET_FAST")  # type: ignore[attr-defined]
except AttributeError:  # not CPython's os._Environ: always take the os.environ.get path
    _ENV_KEY = object()


def enabled() -> bool:
    """False when the environment says ``MOJINET_FAST=0`` (use the reference code everywhere)."""
    data = getattr(os.environ, "_data", None)
    if data is not None and _ENV_KEY not in data:  # the usual case, in one dict lookup
        return True
    return _setting() not in ("0", "false", "no", "off")


# When the compiled kernel beats BLAS products (measured on MNIST, one core, epochs of 20,000-60,000
# images): networks no wider than COMPILED_MAX_WIDTH (784-16-16-10 and 784-100-10 are several times
# faster compiled), and networks whose first layer is wide but whose later layers are small
# (784-800-10: 2.2 s/epoch against BLAS's 3.2; 784-1024-10, 784-2048-10): the first layer only
# works on the ~20% of pixels that are not 0, the rest is little work. Wider later layers
# (784-256-256-10, 784-300-100-10, 784-800-800-10) are faster with BLAS, whose register-blocked
# products win once both sides of a product are long.
COMPILED_MAX_WIDTH = 256
COMPILED_MAX_LATER_WEIGHTS = 20_480  # Σ fan_in·fan_out over the layers after the first


def default_engine(net: Network | None = None) -> str:
    """The engine for ``net``: ``MOJINET_FAST=blas`` or ``=compiled`` forces one; otherwise the
    compiled kernel (if Numba is installed) for networks no wider than COMPILED_MAX_WIDTH or with
    at most COMPILED_MAX_LATER_WEIGHTS weights after the first layer."""
    setting = _setting()
    if setting == "blas" or not HAVE_NUMBA:
        return "blas"
    if setting == "compiled" or net is None:
        return "compiled"
    sizes = net.sizes
    later = sum(i * o for i, o in zip(sizes[1:-1], sizes[2:]))
    if max(sizes[1:]) <= COMPILED_MAX_WIDTH or later <= COMPILED_MAX_LATER_WEIGHTS:
        return "compiled"
    return "blas"


# --------------------------------------------------------------------------- what is supported
def unsupported_reason(net, optimizer) -> str | None:
    """Why the fast path cannot train ``net`` with ``optimizer`` (None if it can)."""
    from .optim import SGD

    if type(net) is not Network:
        return f"{type(net).__name__} is not a plain Network"
    if type(optimizer) is not SGD:
        return f"optimiser {type(optimizer).__name__} is not the plain SGD"
    config = optimizer.config() if hasattr(optimizer, "config") else None
    known = {"name", "eta", "momentum", "weight_decay", "nesterov"}
    if not isinstance(config, dict) or not {"name", "eta", "momentum", "weight_decay"} <= set(
        config) <= known:
        return f"SGD settings {config} are not the ones the fast path knows"
    if config.get("nesterov"):
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


def trainer_for(net, optimizer, batch_size: int, engine: str | None = None) -> FastTrainer | None:
    """A ``FastTrainer`` for this setup, or None if the reference loop must do it."""
    if not enabled() or unsupported_reason(net, optimizer) is not None:
        return None
    return FastTrainer(net, optimizer, batch_size, engine=engine)


# --------------------------------------------------------------------------- the trainer
class FastTrainer:
    """Trains ``net`` with ``optimizer`` (a plain SGD) on mini-batches of ``batch_size`` rows.

    Reads the parameters, η, μ and λ afresh on every call (so schedules and callbacks that change
    them work) and shares the momentum velocities with the optimiser (``optimizer.velocity``, the
    list ``SGD.step`` uses), so the reference and fast paths can take turns on the same state.
    The compiled engine compresses the training set once and reuses that while it is given the
    same X array: X must not be changed in place between calls (``train`` never does).
    """

    def __init__(self, net: Network, optimizer, batch_size: int, engine: str | None = None):
        engine = engine or default_engine(net)
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
        if engine == "compiled" and not HAVE_NUMBA:
            raise ValueError("the compiled engine needs numba: pip install 'mojinet[fast]'")
        reason = unsupported_reason(net, optimizer)
        if reason is not None:
            raise ValueError(f"the fast path cannot train this setup: {reason}")
        self.net, self.optimizer, self.engine = net, optimizer, engine
        self.batch_size = int(batch_size)
        dt = net.dtype
        m = self.batch_size
        # Preallocated per-layer buffers, reused by every batch (the last one may use fewer rows).
        self.X_batch = np.empty((m, net.sizes[0]), dtype=dt)  # (batch, n_in)
        self.zs = [np.empty((m, s), dtype=dt) for s in net.sizes[1:]]  # Zˡ: (batch, fan_out)
        self.activations = [np.empty((m, s), dtype=dt) for s in net.sizes[1:]]  # Aˡ
        self.deltas = [np.empty((m, s), dtype=dt) for s in net.sizes[1:]]  # δˡ
        self.Y_batch = np.empty((m, net.sizes[-1]), dtype=dt)  # (batch, n_out)
        if engine == "blas":  # gradient buffers ∂C/∂Wˡ (the compiled kernel needs none)
            self.nabla_w = [np.empty_like(W) for W in net.weights]  # (fan_in, fan_out)
            self.nabla_b = [np.empty_like(b) for b in net.biases]  # (fan_out,)
        if engine == "compiled":
            # scratch for the gradients: a row of layer 0's ∂C/∂W (with momentum), every layer's
            # ∂C/∂b; layers ≥ 1 get gradient buffers transposed, (fan_out, fan_in)
            self.grad0_row = np.empty(net.sizes[1], dtype=dt)  # (fan_out,)
            self.grad_b = [np.empty_like(b) for b in net.biases]  # (fan_out,)
            self.grads_t = [np.zeros((1, 1), dtype=dt)] + [
                np.zeros_like(W.T, order="C") for W in net.weights[1:]]  # (fan_out, fan_in)
            self._compressed = None  # (X, its compressed rows), made once per training set
        self.act_codes = np.array([ACT_CODES[a] for a in net.activations], dtype=np.int64)
        self.cost_code = COST_CODES[net.cost]

    # ------------------------------------------------------------------ optimiser state
    def _velocities(self) -> tuple[list[Array], list[Array]] | None:
        """The optimiser's momentum velocities [vW¹, …], [vb¹, …] (created as SGD.step would)."""
        opt = self.optimizer
        if not opt.momentum:
            return None
        params = self.net.parameters()
        if opt.velocity is None:
            opt.velocity = [np.zeros_like(p) for p in params]
        v = opt.velocity
        if len(v) != len(params) or any(a.shape != p.shape or a.dtype != p.dtype
                                        for a, p in zip(v, params)):
            raise ValueError("the optimiser's velocities do not match this network's parameters")
        return v[0::2], v[1::2]

    # ------------------------------------------------------------------ training
    def run(self, X: Array, Y: Array, order: Array, start: int, stop: int) -> Array:
        """Train on the batches that start at start, start + batch_size, … < stop.

        Batch k holds the samples ``order[start + k·batch_size : … + batch_size]`` (clipped at
        ``len(order)``). Returns each batch's cost before its step (float64). Stops after the
        first batch whose cost is not finite, without taking that batch's step.
        """
        net, opt = self.net, self.optimizer
        dt = net.dtype
        eta, mu, lam = dt.type(opt.eta), dt.type(opt.momentum), dt.type(opt.weight_decay)
        n_batches = len(range(start, stop, self.batch_size))
        costs = np.zeros(n_batches, dtype=np.float64)
        vel = self._velocities()
        if self.engine == "compiled":
            Vw, Vb = vel if vel is not None else (net.weights, net.biases)  # unused when μ = 0
            X_ptr, X_idx, X_val = self._compress(X)
            # layers ≥ 1 train on transposed copies (see _affine_t), written back afterwards
            placeholder = self.grads_t[:1]
            WTs = placeholder + [np.ascontiguousarray(W.T) for W in net.weights[1:]]
            VTs = placeholder + [np.ascontiguousarray(V.T) for V in Vw[1:]]
            try:
                done = _train_batches(
                    X_ptr, X_idx, X_val, Y, order, start, stop, self.batch_size,
                    net.weights[0], Vw[0], self.grad0_row,
                    tuple(WTs), tuple(VTs), tuple(self.grads_t), tuple(net.biases), tuple(Vb),
                    tuple(self.grad_b), tuple(self.zs), tuple(self.activations), tuple(self.deltas),
                    self.act_codes, self.cost_code, eta, mu, lam, costs,
                )
            finally:
                for W, WT in zip(net.weights[1:], WTs[1:]):
                    W[...] = WT.T
                if vel is not None:
                    for V, VT in zip(Vw[1:], VTs[1:]):
                        V[...] = VT.T
        else:
            done = self._run_blas(X, Y, order, start, stop, eta, mu, lam, vel, costs)
        return costs[:done]

    def _compress(self, X: Array):
        """X's compressed rows, made once and kept while the same X array is passed again."""
        if self._compressed is None or self._compressed[0] is not X:
            self._compressed = (X, compress_rows(X))
        return self._compressed[1]

    def run_epoch(self, X: Array, Y: Array, order: Array, progress: bool = False,
                  desc: str = "") -> tuple[float, int]:
        """One pass over ``order`` in mini-batches. Returns (Σ cost·batch rows, samples done).

        ``samples done`` is ``len(order)`` unless a batch's cost was not finite: then it is where
        that batch starts, and that batch and the rest are left undone.
        """
        X, Y = self._check_data(X, Y, order)
        n, m = len(order), self.batch_size
        chunk = n if not progress else max(m, (n // 100) // m * m)  # ~100 progress updates
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(range(0, n, m)), desc=desc, unit="batch", leave=False)
        cost_sum, done = 0.0, 0
        try:
            for first in range(0, n, chunk):
                stop = min(first + chunk, n)
                costs = self.run(X, Y, order, first, stop)  # (batches,)
                rows = np.minimum(m, n - (first + m * np.arange(len(costs))))  # rows per batch
                if len(costs) and not np.isfinite(costs[-1]):
                    return cost_sum + float(costs[:-1] @ rows[:-1]), first + m * (len(costs) - 1)
                cost_sum += float(costs @ rows)
                done = stop
                if bar is not None:
                    bar.update(len(costs))
        finally:
            if bar is not None:
                bar.close()
        return cost_sum, done

    def _check_data(self, X: Array, Y: Array, order: Array):
        dt = self.net.dtype
        X = np.ascontiguousarray(X, dtype=dt)  # (n, n_in), no copy when it already is
        Y = np.ascontiguousarray(Y, dtype=dt)  # (n, n_out)
        sizes = self.net.sizes
        if X.ndim != 2 or X.shape[1] != sizes[0] or Y.shape != (len(X), sizes[-1]):
            raise ValueError(f"X {X.shape} and Y {Y.shape} do not fit {self.net!r}")
        if order.dtype != np.int64 or order.ndim != 1:
            raise ValueError("order must be a 1-d int64 array of sample indices")
        if len(order) and (order.min() < 0 or order.max() >= len(X)):
            raise ValueError("order holds indices outside the data")
        return X, Y

    # ------------------------------------------------------------------ the BLAS engine
    def _run_blas(self, X, Y, order, start, stop, eta, mu, lam, vel, costs) -> int:
        """NumPy version of ``_train_batches``: matrix products into preallocated buffers."""
        net = self.net
        L = net.n_layers
        done = 0
        for first in range(start, stop, self.batch_size):
            idx = order[first : first + self.batch_size]
            m = len(idx)
            A0 = np.take(X, idx, axis=0, out=self.X_batch[:m])  # (m, n_in)
            Yb = np.take(Y, idx, axis=0, out=self.Y_batch[:m])  # (m, n_out)
            prev = A0
            for l in range(L):  # forward: Zˡ = Aˡ⁻¹Wˡ + bˡ, Aˡ = σ(Zˡ)
                Z, A = self.zs[l][:m], self.activations[l][:m]  # (m, fan_out)
                np.matmul(prev, net.weights[l], out=Z)
                Z += net.biases[l]
                _np_activate(Z, A, self.act_codes[l])
                prev = A
            costs[done] = cost = _np_cost_and_delta(
                self.zs[L - 1][:m], self.activations[L - 1][:m], Yb, self.deltas[L - 1][:m],
                self.act_codes[L - 1], self.cost_code)  # (BP1)
            done += 1
            if not np.isfinite(cost):
                return done
            for l in range(L - 1, -1, -1):
                D = self.deltas[l][:m]  # δˡ: (m, fan_out)
                prev = A0 if l == 0 else self.activations[l - 1][:m]  # Aˡ⁻¹: (m, fan_in)
                np.matmul(prev.T, D, out=self.nabla_w[l])  # (BP4) (fan_in, fan_out)
                np.sum(D, axis=0, out=self.nabla_b[l])  # (BP3) (fan_out,)
                if l > 0:  # (BP2), with Wˡ before its step
                    G = self.deltas[l - 1][:m]  # ∂C/∂Aˡ⁻¹, then δˡ⁻¹: (m, fan_in)
                    np.matmul(D, net.weights[l].T, out=G)
                    _np_hidden_delta(G, self.zs[l - 1][:m], prev, self.act_codes[l - 1])
                Vw, Vb = (vel[0][l], vel[1][l]) if vel is not None else (None, None)
                if HAVE_NUMBA:  # the same step in one pass over memory instead of four
                    _dense_step(net.weights[l], self.nabla_w[l], net.weights[l] if Vw is None
                                else Vw, eta, mu, lam)
                else:
                    _np_step(net.weights[l], self.nabla_w[l], Vw, eta, mu, lam)
                _np_step(net.biases[l], self.nabla_b[l], Vb, eta, mu, 0)  # biases: no decay
        return done


# --------------------------------------------------------------------------- NumPy helpers
def _np_activate(Z: Array, A: Array, code: int) -> None:
    """A = σ(Z), into A (which may be Z itself); numerically stable sigmoid and softmax."""
    if code == _SIGMOID:  # σ(z) = 1/(1 + e^(−z)) = ½ + ½ tanh(z/2): no overflow, no masks
        np.multiply(Z, 0.5, out=A)
        np.tanh(A, out=A)
        A *= 0.5
        A += 0.5
    elif code == _RELU:
        np.maximum(Z, 0, out=A)
    elif code == _TANH:
        np.tanh(Z, out=A)
    else:  # softmax, row by row, shifted by the row maximum
        np.subtract(Z, Z.max(axis=1, keepdims=True), out=A)
        np.exp(A, out=A)
        A /= A.sum(axis=1, keepdims=True)


def _np_hidden_delta(G: Array, Z: Array, A: Array, code: int) -> None:
    """δ = ∂C/∂A ⊙ σ'(Z), in place into G (hidden layers: no softmax)."""
    if code == _SIGMOID:
        G *= A
        G *= 1 - A  # σ' = a(1 − a)
    elif code == _RELU:
        G *= Z > 0
    else:  # tanh: σ' = 1 − a²
        G *= 1 - A * A


def _np_cost_and_delta(Z, A, Y, D, code: int, cost_code: int) -> float:
    """The batch's mean cost, and δᴸ into D (the formulas of costs.py)."""
    m = len(A)
    np.subtract(A, Y, out=D)  # a − y
    if cost_code == _CROSS_ENTROPY:
        if code == _SOFTMAX:
            shifted = Z - Z.max(axis=1, keepdims=True)
            log_a = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            cost = -np.sum(Y * log_a, dtype=np.float64) / m
        else:  # sigmoid outputs, binary cross-entropy from z
            cost = np.sum(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z))),
                          dtype=np.float64) / m
        D /= m  # δᴸ = (a − y)/n for the matching output activation
        return float(cost)
    cost = 0.5 * np.sum(D * D, dtype=np.float64) / m
    D /= m  # ∂C/∂a = (a − y)/n
    if code == _SOFTMAX:  # δ_j = a_j (g_j − Σ_k g_k a_k)
        D -= (D * A).sum(axis=1, keepdims=True)
        D *= A
    else:
        _np_hidden_delta(D, Z, A, code)
    return float(cost)


def _np_step(p: Array, g: Array, v: Array | None, eta, mu, lam) -> None:
    """SGD.step for one parameter, in place (g is overwritten)."""
    if lam:
        g += lam * p  # L2 weight decay
    if v is not None:
        v *= mu
        v += g  # v ← μv + ∇C (SGD's velocity, as torch.optim.SGD keeps it)
        g[...] = v
    g *= eta
    p -= g  # w ← w − η∇C, or w ← w − ηv


# --------------------------------------------------------------------------- compiled kernels
_KERNELS: list[str] = []  # names of the functions below that Numba compiles


def _njit(fn):
    """Mark fn for compilation with Numba (when installed), done on the first call of any kernel."""
    if not HAVE_NUMBA:
        return fn
    _KERNELS.append(fn.__name__)
    return _Uncompiled(fn)


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

    Training does this on its first step. ``feedforward`` does not: a one-off prediction (such as
    ``mojinet predict``) is done sooner with NumPy than by loading Numba first, so it uses the
    compiled row kernel only once the kernels are loaded in this process. A long-running server
    calls this at start-up."""
    if HAVE_NUMBA and not _loaded:
        _compile_kernels()
    return _loaded


_loaded = False  # whether the kernels below are compiled (set by _compile_kernels)


def _compile_kernels() -> None:
    global _loaded
    try:
        import numba
    except ImportError as exc:  # found by find_spec but broken
        raise RuntimeError(
            f"numba is installed but cannot be imported ({exc}); reinstall it "
            f"(pip install 'mojinet[fast]') or set MOJINET_FAST=blas"
        ) from exc
    namespace = globals()
    namespace["_carray"], namespace["_pointer"] = numba.carray, _pointer_intrinsic()
    for name in _KERNELS:
        if isinstance(namespace[name], _Uncompiled):
            # 'reassoc'/'contract' let sums vectorise; no 'nnan'/'ninf': NaN must stay NaN.
            namespace[name] = numba.njit(cache=True, fastmath={"reassoc", "contract"},
                                         nogil=True)(namespace[name].fn)
    _loaded = True


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
def _cost_and_delta(Z, A, Y, y, D, r, code, cost_code, m):
    """Sample r's cost Cₓ (float64) and its row of δᴸ into D (divided by the batch size m);
    its wanted output is row y of Y."""
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
            D[r, j] = (A[r, j] - Y[y, j]) / m
        return cost
    for j in range(n):  # quadratic: ½‖a − y‖², ∂C/∂a = (a − y)/m
        diff = A[r, j] - Y[y, j]
        cost += 0.5 * np.float64(diff) * np.float64(diff)
        D[r, j] = diff / m
    if code == 3:  # softmax Jacobian: δ_j = a_j (g_j − Σ_k g_k a_k)
        dot = 0.0
        for j in range(n):
            dot += D[r, j] * A[r, j]
        for j in range(n):
            D[r, j] = A[r, j] * (D[r, j] - dot)
    else:
        for j in range(n):
            D[r, j] = D[r, j] * _derivative(Z[r, j], A[r, j], code)
    return cost


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
    for r in range(m):
        z = Z[r]  # (fan_out,)
        z[:] = b
        row = rows[r]
        _add_rows(z, W, idx, val, ptr[row], ptr[row + 1])


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
def _momentum_step_compressed(ptr, idx, val, rows, m, D, W, V, g, eta, mu, lam):
    """One momentum step for the first layer, row by row of W, with the gradient made on the fly:
    gₖ = Σ_r aᵣₖ δᵣ (BP4, row k of ∂C/∂W, summed over the batch's samples whose input k is not 0),
    then vₖ ← μvₖ + (gₖ + λwₖ), wₖ ← wₖ − ηvₖ. g is a (fan_out,) scratch row: no gradient matrix
    is written and read back, and W and V are each read and written once."""
    colptr, sample, value = _transpose_compressed(ptr, idx, val, rows, m, W.shape[0])
    for k in range(W.shape[0]):
        g[:] = 0
        _add_rows(g, D, sample, value, colptr[k], colptr[k + 1])  # Σ_r aᵣₖ δᵣ
        w, v = W[k], V[k]  # (fan_out,)
        for j in range(w.shape[0]):
            v[j] = mu * v[j] + (g[j] + lam * w[j])
            w[j] -= eta * v[j]


@_njit
def _decay(W, eta, lam):
    """W ← (1 − ηλ)W: the weight-decay half of a step without momentum (nothing when λ = 0)."""
    if lam != 0:
        shrink = 1 - eta * lam
        for k in range(W.shape[0]):
            w = W[k]  # a row
            for j in range(w.shape[0]):
                w[j] *= shrink


@_njit
def _step_compressed(ptr, idx, val, rows, m, D, W, eta, lam):
    """W ← W − η((Aˡ⁻¹)ᵀδˡ + λW) without momentum, fused: the decay (1 − ηλ)W first, then each
    sample's −η·aₖ·δ added to row k of W straight away. The sum is the same as building ∂C/∂W and
    stepping (only the order of the float additions differs), but W is read and written once
    instead of W and then a gradient of the same size."""
    _decay(W, eta, lam)
    for r in range(m):
        d = D[r]  # δ of sample r: (fan_out,)
        row = rows[r]
        for p in range(ptr[row], ptr[row + 1]):
            c, w = -eta * val[p], W[idx[p]]  # −η·aₖ and row k of W: (fan_out,)
            for j in range(w.shape[0]):
                w[j] += c * d[j]


@_njit
def _dense_step(W, G, V, eta, mu, lam):
    """SGD.step for one weight matrix from its gradient G: w ← w − η(g + λw), or with momentum
    v ← μv + (g + λw), w ← w − ηv (V is ignored when μ = 0)."""
    for k in range(W.shape[0]):
        w, g, v = W[k], G[k], V[k]  # (fan_out,)
        if mu != 0:
            for j in range(w.shape[0]):
                v[j] = mu * v[j] + (g[j] + lam * w[j])
                w[j] -= eta * v[j]
        else:
            for j in range(w.shape[0]):
                w[j] -= eta * (g[j] + lam * w[j])


# Hidden layers' inputs are dense (sigmoid and tanh are never 0) and narrow (≤ 256): compressing
# them costs more than it saves, and loops over fan_out = 10 or 16 are too short for SIMD. So for
# l ≥ 1 the kernel keeps Wˡ transposed, WTˡ = (Wˡ)ᵀ: (fan_out, fan_in), and every inner loop runs
# along a whole row of WTˡ or Aˡ⁻¹ (fan_in long).


@_njit
def _affine_t(A, m, WT, b, Z):
    """Z[r, j] = A[r] · WT[j] + b[j] for r < m: Zˡ = Aˡ⁻¹Wˡ + bˡ with Wˡ given transposed."""
    for r in range(m):
        a, z = A[r], Z[r]  # (fan_in,), (fan_out,)
        for j in range(z.shape[0]):
            w = WT[j]  # (fan_in,): the weights into neuron j
            s = b[j]
            for k in range(a.shape[0]):
                s += a[k] * w[k]
            z[j] = s


@_njit
def _backprop_t(D, m, WT, Zp, Ap, Dp, code):
    """(BP2) δˡ⁻¹ = (δˡ (Wˡ)ᵀ) ⊙ σ'(Zˡ⁻¹) for rows r < m, with Wˡ given transposed."""
    for r in range(m):
        d, g = D[r], Dp[r]  # δˡ: (fan_out,), δˡ⁻¹: (fan_in,)
        g[:] = 0
        for j in range(d.shape[0]):
            c, w = d[j], WT[j]  # (fan_in,)
            for k in range(g.shape[0]):
                g[k] += c * w[k]
        z, a = Zp[r], Ap[r]  # (fan_in,)
        for k in range(g.shape[0]):
            g[k] *= _derivative(z[k], a[k], code)


@_njit
def _gradient_t(A, m, D, GT):
    """(BP4) GT = (∂C/∂Wˡ)ᵀ = δˡᵀ Aˡ⁻¹ over rows r < m (overwrites GT)."""
    GT[:] = 0
    for r in range(m):
        a, d = A[r], D[r]  # (fan_in,), (fan_out,)
        for j in range(d.shape[0]):
            c, g = d[j], GT[j]  # (fan_in,)
            for k in range(a.shape[0]):
                g[k] += c * a[k]


@_njit
def _step_t(A, m, D, WT, eta, lam):
    """WT ← WT − η(δˡᵀAˡ⁻¹ + λWT) without momentum, fused as in ``_step_compressed``."""
    _decay(WT, eta, lam)
    for r in range(m):
        a, d = A[r], D[r]  # (fan_in,), (fan_out,)
        for j in range(d.shape[0]):
            c, w = -eta * d[j], WT[j]  # (fan_in,)
            for k in range(a.shape[0]):
                w[k] += c * a[k]


@_njit
def _train_batches(X_ptr, X_idx, X_val, Y, order, start, stop, batch_size, W0, V0, g0, WTs,
                   VTs, GTs, bs, Vbs, gbs, Zs, As, Ds, acts, cost_code, eta, mu, lam, costs):
    """Forward, backprop and SGD step for each batch starting at start, … < stop. See the module
    docstring for the equations. Layer 0 reads the training inputs compressed by rows (X_ptr,
    X_idx, X_val) and has its weights W0 as they are; layers l ≥ 1 have theirs transposed in
    WTs[l] (WTs[0] is a placeholder), likewise velocities VTs and gradient buffers GTs; g0 and
    gbs[l] are scratch rows for layer 0's weight gradient and the bias gradients. Returns how
    many batches were done (the last one without its step if its cost was not finite)."""
    n = order.shape[0]
    L = len(bs)
    done = 0
    for first in range(start, stop, batch_size):
        m = min(batch_size, n - first)
        rows = order[first : first + m]
        # forward: Zˡ = Aˡ⁻¹Wˡ + bˡ, Aˡ = σ(Zˡ)
        for l in range(L):
            Z, A = Zs[l], As[l]
            if l == 0:
                _affine_compressed(X_ptr, X_idx, X_val, rows, m, W0, bs[0], Z)
            else:
                _affine_t(As[l - 1], m, WTs[l], bs[l], Z)
            for r in range(m):
                _activate(Z, A, r, Z.shape[1], acts[l])
        # (BP1) and the cost
        cost = 0.0
        for r in range(m):
            cost += _cost_and_delta(Zs[L - 1], As[L - 1], Y, rows[r], Ds[L - 1], r,
                                    acts[L - 1], cost_code, m)
        cost /= m
        costs[done] = cost
        done += 1
        if not np.isfinite(cost):
            return done
        for l in range(L - 1, -1, -1):
            b, D = bs[l], Ds[l]
            if l > 0:  # (BP2) δˡ⁻¹, with Wˡ before its step
                _backprop_t(D, m, WTs[l], Zs[l - 1], As[l - 1], Ds[l - 1], acts[l - 1])
            # (BP3) ∂C/∂bˡ = Σ_rows δˡ, and the step for bˡ
            gb = gbs[l]  # (fan_out,)
            gb[:] = 0
            for r in range(m):
                d = D[r]
                for j in range(gb.shape[0]):
                    gb[j] += d[j]
            vb = Vbs[l]
            for j in range(b.shape[0]):
                if mu != 0:
                    vb[j] = mu * vb[j] + gb[j]
                    b[j] -= eta * vb[j]
                else:
                    b[j] -= eta * gb[j]
            # (BP4) ∂C/∂Wˡ = (Aˡ⁻¹)ᵀ δˡ and the step for Wˡ: fused without momentum; with
            # momentum a row at a time for layer 0, through a gradient buffer for the others
            if l == 0 and mu == 0:
                _step_compressed(X_ptr, X_idx, X_val, rows, m, D, W0, eta, lam)
            elif l == 0:
                _momentum_step_compressed(X_ptr, X_idx, X_val, rows, m, D, W0, V0, g0, eta,
                                          mu, lam)
            elif mu == 0:
                _step_t(As[l - 1], m, D, WTs[l], eta, lam)
            else:
                _gradient_t(As[l - 1], m, D, GTs[l])
                _dense_step(WTs[l], GTs[l], VTs[l], eta, mu, lam)
    return done


# --------------------------------------------------------------------------- inference
@_njit
def _softmax_rows(Z):
    """Z ← softmax(Z) row by row, in place: (batch, n)."""
    for r in range(Z.shape[0]):
        _activate(Z, Z, r, Z.shape[1], 3)


# One image through the chapter's network is ~20,000 multiply-adds, a microsecond or two; passing
# the weights to compiled code as tuples of arrays costs about as much again (Numba unboxes every
# array on every call). So the row kernel gets one int64 array, the layout, with five numbers
# per layer: [address of Wˡ, fan_in, fan_out, address of bˡ, activation code], and sees Wˡ and bˡ
# through arrays made on the addresses (``_pointer``). The layout is made by ``_Plan``, which also
# holds the arrays themselves (so the addresses stay valid) and is remade whenever the network's
# arrays are replaced.
_LAYOUT = 5  # numbers per layer in a layout
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
def _feedforward_rows(X, layout, out):
    """Output activations for every row of X into out (batch, n_out), one row at a time through
    all layers (for a few rows, where a BLAS call per layer costs more than the arithmetic).
    layout: see above. out comes from the caller: returning a new array from compiled code costs
    ~0.5 µs more."""
    L = layout.shape[0] // _LAYOUT
    width = 0
    for l in range(L):
        width = max(width, layout[_LAYOUT * l + 2])
    Z = np.empty((L, width), dtype=X.dtype)  # row l: layer l's z, then its activations
    idx = np.empty(max(width, X.shape[1]), dtype=np.int64)  # where a layer's input is not 0
    for r in range(X.shape[0]):
        for l in range(L):
            w_at, fan_in, fan_out, b_at, code = layout[_LAYOUT * l : _LAYOUT * (l + 1)]
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


def feedforward(net: Network, X: Array) -> Array:
    """``net.feedforward(X)``, faster: one compiled call for small batches (once the kernels are
    loaded, see ``load_kernels``), one BLAS product and in-place activation per layer for large
    ones (or without Numba).

    Anything else (a Network subclass, an activation it does not know, another dtype) goes to
    ``net.feedforward``, which also gives the errors for bad input. For one image the whole call
    takes a few microseconds, so the checks are written to be cheap (see ``_Plan``).
    """
    if type(X) is not np.ndarray:
        X = np.asarray(X)
    if X.ndim == 1:
        X = X[None, :]
    plan = net.__dict__.get("_fast_plan") if type(net) is Network else None
    if plan is None or not plan.fits(net):
        plan = _Plan.make(net)
    if (plan is None or X.ndim != 2 or X.dtype != plan.dtype or X.shape[1] != plan.n_in
            or not enabled()):
        return net.feedforward(X)
    n = X.shape[0]
    if _loaded and (n == 1 or n * plan.n_weights <= _ROWWISE_LIMIT) and X.flags.c_contiguous:
        out = np.empty((n, plan.n_out), plan.dtype)  # (batch, n_out)
        _feedforward_rows(X, plan.layout, out)
        return out
    A = X  # (batch, n_in)
    for W, b, code in zip(plan.weights, plan.biases, plan.codes):
        A = A @ W  # Z: (batch, fan_out), a new array …
        A += b
        if code == _SOFTMAX and _loaded:  # NumPy's reductions over short rows are slow
            _softmax_rows(A)
        else:
            _np_activate(A, A, code)  # … turned into the activations in place
    return A


def predict(net: Network, X: Array) -> Array:
    """Index of the most active output neuron for each row: (batch,)."""
    return np.argmax(feedforward(net, X), axis=1)


# Rows × weights above which BLAS matrix products beat the row-at-a-time compiled kernel.
_ROWWISE_LIMIT = 2_000_000


class _Plan:
    """What ``feedforward`` needs of a network, kept on it (``net._fast_plan``) between calls.

    It holds the network's own weight and bias arrays (so in-place changes, as training makes,
    need nothing, and the addresses in ``layout`` stay valid) and is remade when an array is
    replaced or the activations change.
    """

    __slots__ = ("dtype", "n_in", "n_out", "n_weights", "weights", "biases", "codes",
                 "activations", "layout")

    @classmethod
    def make(cls, net: Network) -> _Plan | None:
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
        plan.codes = np.array([ACT_CODES[a] for a in net.activations], dtype=np.int64)
        plan.activations = list(net.activations)
        plan.layout = np.array(
            [[W.ctypes.data, W.shape[0], W.shape[1], b.ctypes.data, code]
             for W, b, code in zip(plan.weights, plan.biases, plan.codes)], dtype=np.int64
        ).ravel()  # (_LAYOUT · layers,)
        net.__dict__["_fast_plan"] = plan
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
