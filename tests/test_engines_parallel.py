"""The engines' parallel paths and the wide-output shapes against the reference.

The parallel kernels (``compiled._parallel``: on Numba's threads) must give the same numbers as
the serial ones — bit for bit, since each weight gets its additions in the same order — and so the
same as the reference within summation-order rounding. The BLAS engine's fused passes (bias and σ,
softmax + cross-entropy + δᴸ, ⊙σ') are held to the reference on the kanji models' shapes
(1024-768-1026 and 1024-768-2136, softmax + cross-entropy, momentum, batches of 64) in float32.
The parallel tests need Numba with at least two threads (CI's default on 2 cores).
"""

from __future__ import annotations

import numpy as np
import pytest

from mojinet import SGD, Network, engines, one_hot
from mojinet.engines import BlasTrainer, CompiledTrainer, blas, compiled
from test_engines import SETUPS

# (the helpers of test_engines.py, which are private to it)


def _data(rng, n, n_in=12, n_out=3):
    """Inputs in [0, 1] with about half of them exactly 0 (like MNIST's background), float64."""
    X = rng.random((n, n_in))  # (n, n_in)
    X[X < 0.5] = 0
    return X, one_hot(rng.integers(0, n_out, n), n_out, np.float64)


def _reference(net, opt, X, Y, order, batch_size, weights=None):
    """One backprop and one SGD step per batch (with per-sample weights, or None); the costs."""
    costs = []
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        grads = net.backprop(X[idx], Y[idx], weights=None if weights is None else weights[idx])
        costs.append(grads.cost)
        opt.step(net, grads)
    return np.array(costs)


def _max_diff(a: Network, b: Network) -> float:
    return max(float(np.max(np.abs(p - q))) for p, q in zip(a.parameters(), b.parameters()))

numba = pytest.importorskip("numba")
two_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                 reason="needs NUMBA_NUM_THREADS >= 2")


@pytest.fixture
def parallel(monkeypatch):
    """Every layer's kernels in parallel on two threads, however small the network."""
    engines.load_kernels()
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    monkeypatch.setattr(compiled, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(compiled, "PARALLEL_MIN_WORK_PLAIN", 0)
    monkeypatch.setattr(blas, "PARALLEL_MIN_ENTRIES", 0)
    yield
    numba.set_num_threads(before)


@two_threads
@pytest.mark.parametrize("engine", ["compiled", "blas"])
@pytest.mark.parametrize("setup", SETUPS, ids=lambda s: "-".join(map(str, s[0])) + f"-{s[2]}")
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weights"])
def test_parallel_engine_matches_reference_and_serial(engine, setup, weighted, parallel, rng):
    sizes, acts, cost, eta, mu, lam = setup
    X, Y = _data(rng, n=70)
    s = None
    if weighted:  # per-sample weights sₓ in [0, 2), some 0 (the sample drops out)
        s = rng.uniform(0, 2, len(X))
        s[::9] = 0
    ref = Network(sizes, acts, cost, init="xavier", seed=1, dtype=np.float64)
    ref.biases[0][:] = rng.normal(size=ref.biases[0].shape)
    par, ser, plain = ref.copy(), ref.copy(), ref.copy()
    trainer = {"compiled": CompiledTrainer, "blas": BlasTrainer}[engine]
    opt_ref, opt_par, opt_ser = SGD(eta, mu, lam), SGD(eta, mu, lam), SGD(eta, mu, lam)
    t_par = trainer(par, opt_par, 16)
    if engine == "compiled":
        assert t_par.parallel.all()
    numba.set_num_threads(1)
    t_ser = trainer(ser, opt_ser, 16)
    orders = [rng.permutation(len(X)) for _ in range(2)]
    for order in orders:  # two epochs: momentum carries over
        want = _reference(ref, opt_ref, X, Y, order, 16, s)
        numba.set_num_threads(1)
        serial = t_ser.run(X, Y, order, 0, len(X), weights=s)
        numba.set_num_threads(2)
        got = t_par.run(X, Y, order, 0, len(X), weights=s)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
        assert _max_diff(ref, par) < 1e-10
        if engine == "compiled":  # the same additions in the same order
            np.testing.assert_array_equal(got, serial)
            assert _max_diff(par, ser) == 0
    assert _max_diff(ref, Network(sizes, acts, cost, init="xavier", seed=1)) > 1e-3
    if weighted:  # the weights were used: the same run unweighted ends elsewhere
        t_plain = trainer(plain, SGD(eta, mu, lam), 16)
        for order in orders:
            t_plain.run(X, Y, order, 0, len(X))
        assert _max_diff(plain, par) > 1e-4


@pytest.mark.parametrize("n_out", [1026, 2136], ids=["kyoiku-D", "joyo-E"])
@pytest.mark.parametrize("threads", [1, 2])
def test_wide_outputs_blas_matches_reference_float32(n_out, threads, rng):
    """Configurations D and E of benchmarks.run: the engine auto picks (BLAS) against the reference
    on dense random inputs, float32, three batches of 64 (and a short last one)."""
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("needs NUMBA_NUM_THREADS >= 2")
    engines.load_kernels()
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        X = rng.random((200, 1024), dtype=np.float32)  # (200, 1024)
        Y = one_hot(rng.integers(0, n_out, 200), n_out)  # (200, n_out)
        ref = Network([1024, 768, n_out], ["relu", "softmax"], "cross-entropy", init="he",
                      seed=5)
        net = ref.copy()
        steps = engines.select("auto", net, SGD(0.05, 0.9), 64)
        assert steps.engine == "blas"
        order = rng.permutation(200)
        want = _reference(ref, SGD(0.05, 0.9), X, Y, order, 64)
        got = steps.run(X, Y, order, 0, 200)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert _max_diff(ref, net) < 1e-5
    assert _max_diff(net, Network([1024, 768, n_out], ["relu", "softmax"], "cross-entropy",
                                  init="he", seed=5)) > 1e-4  # it learnt


@two_threads
@pytest.mark.parametrize("sizes, acts", [([784, 16, 16, 10], "sigmoid"),
                                         ([784, 100, 10], ["sigmoid", "softmax"])])
def test_parallel_inference_matches_reference(sizes, acts, parallel, rng):
    net = Network(sizes, acts, init="xavier", seed=0)
    X = rng.random((3000, sizes[0])).astype(np.float32)  # (3000, n_in): over ROWWISE_LIMIT
    X[X < 0.8] = 0
    want = net.feedforward(X)
    np.testing.assert_allclose(engines.feedforward(net, X), want, rtol=1e-5, atol=1e-6)


@two_threads
@pytest.mark.parametrize("sizes, batch, mu, want", [
    ([784, 16, 16, 10], 10, 0.0, [0, 0, 0]),  # A: the fork and join would cost more than the work
    ([784, 100, 10], 32, 0.0, [0, 0]),  # B: 2.5 million multiply-adds per batch, no momentum
    ([784, 300, 10], 64, 0.9, [1, 0]),  # 15 million, with momentum
    ([784, 800, 10], 128, 0.0, [1, 0]),  # C's first layer (80 million), even without momentum
])
def test_which_layers_go_parallel_on_two_threads(sizes, batch, mu, want):
    engines.load_kernels()
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        net = Network(sizes, ["relu"] * (len(sizes) - 2) + ["softmax"], "cross-entropy")
        trainer = CompiledTrainer(net, SGD(0.05, mu), batch)
    finally:
        numba.set_num_threads(before)
    assert trainer.parallel.tolist() == want
