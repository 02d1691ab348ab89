"""The engines (mojinet.engines) against the reference: Network.backprop followed by SGD.step.

Both fast trainers (compiled with Numba, when installed, and NumPy/BLAS) must give the same
parameters and batch costs as the reference loop, batch after batch, for every activation and
cost they accept, with and without momentum and weight decay, and the same History through
``train`` (with augmentation too). float64 comparisons are tight (only summation order differs);
float32 ones allow float32 rounding. Fast inference must give ``Network.feedforward``'s outputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from mojinet import SGD, Network, TrainingDiverged, engines, one_hot, train
from mojinet.engines import BlasTrainer, CompiledTrainer, compiled, inference
from mojinet.nn.activations import get_activation
from mojinet.nn.regularize import Dropout

ENGINES = ["blas"] + (["compiled"] if compiled.HAVE_NUMBA else [])
TRAINERS = {"blas": BlasTrainer, "compiled": CompiledTrainer}

# (sizes, activations, cost, eta, momentum, weight_decay)
SETUPS = [
    ([12, 5, 3], "sigmoid", "quadratic", 3.0, 0.0, 0.0),  # the chapter's kind of network
    ([12, 6, 4, 3], ["relu", "tanh", "softmax"], "cross-entropy", 0.5, 0.9, 0.0),
    ([12, 7, 3], ["tanh", "sigmoid"], "cross-entropy", 0.5, 0.5, 0.01),
    ([12, 6, 3], ["relu", "softmax"], "quadratic", 1.0, 0.0, 0.05),
    ([12, 4, 3], ["sigmoid", "relu"], "quadratic", 0.1, 0.0, 0.0),
    ([12, 3], "tanh", "quadratic", 0.2, 0.3, 0.0),  # no hidden layer
    ([12, 3], "sigmoid", "cross-entropy", 0.5, 0.0, 0.01),  # no hidden layer, fused step
    ([12, 6, 5, 4, 3], ["sigmoid", "tanh", "relu", "softmax"], "cross-entropy", 0.5, 0.0, 0.0),
]


def _data(rng, n=53, n_in=12, n_out=3, dtype=np.float64):
    """Inputs in [0, 1] with about half of them exactly 0 (like MNIST's background)."""
    X = rng.random((n, n_in)).astype(dtype)  # (n, n_in)
    X[X < 0.5] = 0
    y = rng.integers(0, n_out, n)  # (n,)
    return X, y, one_hot(y, n_out, dtype)


def _reference(net, opt, X, Y, order, batch_size):
    """The reference loop: one backprop and one SGD step per batch; returns the batch costs."""
    costs = []
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        grads = net.backprop(X[idx], Y[idx])
        costs.append(grads.cost)
        opt.step(net, grads)
    return np.array(costs)


def _max_diff(a: Network, b: Network) -> float:
    return max(float(np.max(np.abs(p - q))) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("setup", SETUPS, ids=lambda s: "-".join(map(str, s[0])) + f"-{s[2]}")
@pytest.mark.parametrize("batch_size", [1, 8, 53])
def test_engine_matches_reference_float64(engine, setup, batch_size, rng):
    sizes, acts, cost, eta, mu, lam = setup
    X, _, Y = _data(rng)
    ref = Network(sizes, acts, cost, init="xavier", seed=1, dtype=np.float64)
    ref.biases[0][:] = rng.normal(size=ref.biases[0].shape)  # non-zero biases too
    net = ref.copy()
    opt_ref, opt = SGD(eta, mu, lam), SGD(eta, mu, lam)
    for _ in range(2):  # two epochs: momentum carries over
        order = rng.permutation(len(X))
        want = _reference(ref, opt_ref, X, Y, order, batch_size)
        got = TRAINERS[engine](net, opt, batch_size).run(X, Y, order, 0, len(X))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
        assert _max_diff(ref, net) < 1e-10
    assert _max_diff(ref, Network(sizes, acts, cost, init="xavier", seed=1)) > 1e-3  # it learnt


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_matches_reference_float32_on_mnist(engine, mnist_small):
    """The chapter's network on real digits, float32, one pass over 2,000 images."""
    train_set, _ = mnist_small
    X, Y = train_set.X, one_hot(train_set.y, 10)
    ref = Network([784, 16, 16, 10], seed=3)
    net = ref.copy()
    order = np.random.default_rng(0).permutation(len(X))
    want = _reference(ref, SGD(3.0), X, Y, order, 10)
    got = TRAINERS[engine](net, SGD(3.0), 10).run(X, Y, order, 0, len(X))
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)
    assert _max_diff(ref, net) < 1e-3
    assert all(p.dtype == np.float32 for p in net.parameters())


@pytest.mark.parametrize("engine", ENGINES)
def test_run_covers_a_range_of_batches(engine, rng):
    """run(start, stop) in pieces = run over the whole order at once (progress-bar chunks)."""
    X, _, Y = _data(rng, n=40)
    a = Network([12, 5, 3], "sigmoid", seed=2, dtype=np.float64)
    b = a.copy()
    order = rng.permutation(40)
    ta = TRAINERS[engine](a, SGD(1.0, 0.9), 6)
    tb = TRAINERS[engine](b, SGD(1.0, 0.9), 6)
    whole = ta.run(X, Y, order, 0, 40)
    pieces = np.concatenate([tb.run(X, Y, order, 0, 18), tb.run(X, Y, order, 18, 40)])
    assert len(whole) == 7  # six batches of 6 and one of 4
    np.testing.assert_allclose(pieces, whole, rtol=1e-12)
    assert _max_diff(a, b) < 1e-12


def _shift(Xc, rng_):
    """A distortion that uses the generator: each image rolled by a random number of inputs."""
    return np.stack([np.roll(x, k) for x, k in zip(Xc, rng_.integers(-2, 3, len(Xc)))])


@pytest.mark.parametrize("engine", [*ENGINES, "auto"])
@pytest.mark.parametrize("augment", [None, _shift], ids=["plain", "augment"])
def test_train_fast_and_reference_give_the_same_history(engine, augment, rng, monkeypatch):
    monkeypatch.setattr("mojinet.nn.train.AUGMENT_CHUNK", 20)  # several chunks per epoch
    X, y, _ = _data(rng, n=64)
    a = Network([12, 6, 3], ["relu", "softmax"], "cross-entropy", init="he", seed=4,
                dtype=np.float64)
    b = a.copy()
    eval_data = (X[:20], y[:20])
    steps = engines.select(engine, a, SGD(0.5, 0.9), 8)
    assert steps is not None and steps.engine != "reference"  # the fast path is really taken
    ha = train(a, X, y, optimizer=SGD(0.5, 0.9), epochs=3, batch_size=8, engine=engine,
               rng=np.random.default_rng(7), eval_data=eval_data, progress=False, augment=augment)
    assert engines.select("reference", b, SGD(0.5, 0.9), 8) is None
    hb = train(b, X, y, optimizer=SGD(0.5, 0.9), epochs=3, batch_size=8, engine="reference",
               rng=np.random.default_rng(7), eval_data=eval_data, progress=False, augment=augment)
    for ea, eb in zip(ha.epochs, hb.epochs, strict=True):
        assert ea.train_cost == pytest.approx(eb.train_cost, rel=1e-10)
        assert ea.eval_accuracy == eb.eval_accuracy
    assert _max_diff(a, b) < 1e-10
    plain = a.copy()  # and the augmentation really changed the training
    if augment is not None:
        c = Network([12, 6, 3], ["relu", "softmax"], "cross-entropy", init="he", seed=4,
                    dtype=np.float64)
        train(c, X, y, optimizer=SGD(0.5, 0.9), epochs=3, batch_size=8, engine=engine,
              rng=np.random.default_rng(7), progress=False)
        assert _max_diff(c, plain) > 1e-3


@pytest.mark.parametrize("engine", ENGINES)
def test_per_step_schedule_fast_and_reference_give_the_same_history(engine, rng, monkeypatch):
    from mojinet.nn.schedules import make_schedule

    monkeypatch.setattr("mojinet.nn.train.STEP_CHUNKS", 4)  # η changes within each epoch
    X, y, _ = _data(rng, n=64)
    a = Network([12, 6, 3], ["relu", "softmax"], "cross-entropy", init="he", seed=4,
                dtype=np.float64)
    b = a.copy()
    runs = []
    for net, name in ((a, engine), (b, "reference")):
        runs.append(train(net, X, y, optimizer=SGD(0.5, 0.9), epochs=2, batch_size=8,
                          engine=name, rng=np.random.default_rng(7), progress=False,
                          schedule=make_schedule("onecycle", 0.5, 2), eval_data=(X, y)))
    for ea, eb in zip(*(h.epochs for h in runs), strict=True):
        assert ea.train_cost == pytest.approx(eb.train_cost, rel=1e-10)
        assert ea.eval_accuracy == eb.eval_accuracy and ea.eta == eb.eta
    assert _max_diff(a, b) < 1e-10


def test_train_with_progress_bar_uses_chunks(rng, capsys):
    X, y, _ = _data(rng, n=300)
    a = Network([12, 5, 3], seed=5, dtype=np.float64)
    b = a.copy()
    train(a, X, y, optimizer=SGD(1.0), epochs=1, batch_size=2, rng=np.random.default_rng(1),
          progress=True)
    train(b, X, y, optimizer=SGD(1.0), epochs=1, batch_size=2, rng=np.random.default_rng(1),
          progress=False)
    assert _max_diff(a, b) < 1e-12


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the reference sees the inf
def test_divergence_restores_the_network_and_says_what_to_do(rng):
    X, y, _ = _data(rng, n=50)
    X[7] = np.inf  # a poisoned sample: its batch's cost is not finite
    net = Network([12, 5, 3], seed=6, dtype=np.float64)
    before = [p.copy() for p in net.parameters()]
    assert engines.select("auto", net, SGD(1.0), 5) is not None
    with pytest.raises(TrainingDiverged, match="Lower the learning rate"):
        train(net, X, y, optimizer=SGD(1.0), epochs=1, batch_size=5,
              rng=np.random.default_rng(0), progress=False)
    for p, q in zip(net.parameters(), before):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("engine", ENGINES)
def test_run_stops_at_the_first_non_finite_batch(engine, rng):
    X, _, Y = _data(rng, n=30)
    order = np.arange(30)
    X[13] = np.nan  # in the third batch of 5
    net = Network([12, 4, 3], seed=1, dtype=np.float64)
    costs = TRAINERS[engine](net, SGD(1.0), 5).run(X, Y, order, 0, 30)
    assert len(costs) == 3 and np.all(np.isfinite(costs[:2])) and not np.isfinite(costs[2])
    assert all(np.all(np.isfinite(p)) for p in net.parameters())  # no step from the bad batch


def test_unsupported_setups_fall_back_to_the_reference_loop(rng):
    class Halving(SGD):  # an optimiser the fast path does not know
        def step(self, net, grads):
            for p, g in zip(net.parameters(),
                            [g for w, b in zip(grads.nabla_w, grads.nabla_b) for g in (w, b)]):
                p -= 0.5 * self.eta * g

    net = Network([12, 4, 3], seed=1, dtype=np.float64)
    assert engines.select("auto", net, Halving(1.0), 4) is None
    assert "not the plain SGD" in engines.unsupported_reason(net, Halving(1.0))
    assert engines.unsupported_reason(net, object()) is not None
    assert engines.select("auto", net, SGD(1.0), 4, dropout=Dropout(hidden=0.5)) is None
    with pytest.raises(ValueError, match="the compiled engine cannot train this run: dropout"):
        engines.select("compiled", net, SGD(1.0), 4, dropout=Dropout(hidden=0.5))
    with pytest.raises(ValueError, match="blas engine cannot train this run: Nesterov"):
        engines.select("blas", net, SGD(1.0, 0.9, nesterov=True), 4)
    X, y, Y = _data(rng, n=20)
    a, b = net.copy(), net.copy()
    train(a, X, y, optimizer=Halving(1.0), epochs=1, batch_size=4,
          rng=np.random.default_rng(0), progress=False)
    _reference(b, SGD(0.5), X, Y, np.random.default_rng(0).permutation(20), 4)
    assert _max_diff(a, b) < 1e-12  # the Halving step really ran (eta 1.0 halved)
    net.weights[0] = np.asfortranarray(net.weights[0])
    assert "C-contiguous" in engines.unsupported_reason(net, SGD(1.0))


def test_reference_and_fast_share_momentum(rng):
    """Half an epoch fast, half reference = all reference (the velocities carry over)."""
    X, _, Y = _data(rng, n=40)
    ref = Network([12, 5, 3], "tanh", seed=8, dtype=np.float64)
    net = ref.copy()
    order = rng.permutation(40)
    _reference(ref, SGD(0.3, 0.9), X, Y, order, 4)
    opt = SGD(0.3, 0.9)
    TRAINERS[ENGINES[-1]](net, opt, 4).run(X, Y, order, 0, 20)
    _reference(net, opt, X, Y, order[20:], 4)
    assert _max_diff(ref, net) < 1e-10


def test_bad_arguments_get_clear_errors(rng):
    net = Network([12, 4, 3], seed=1)
    with pytest.raises(ValueError, match="unknown engine"):
        engines.select("gpu", net, SGD(1.0), 4)
    X, _, Y = _data(rng, dtype=np.float32)
    for trainer in [TRAINERS[e](net, SGD(1.0), 4) for e in ENGINES]:
        with pytest.raises(ValueError, match="outside the data"):
            trainer.run(X, Y, np.array([0, 1, 999]), 0, 3)
        with pytest.raises(ValueError, match="do not fit"):
            trainer.run(X[:, :5], Y, np.arange(3), 0, 3)


@pytest.mark.parametrize(
    "sizes, acts",
    [([784, 16, 16, 10], "sigmoid"), ([784, 30, 10], ["relu", "softmax"]),
     ([20, 9, 7, 4], ["tanh", "relu", "sigmoid"])],
)
@pytest.mark.parametrize("kernels", [False, True])
def test_fast_feedforward_matches_reference(sizes, acts, kernels, rng, monkeypatch):
    if kernels and not engines.load_kernels():
        pytest.skip("needs numba")
    monkeypatch.setattr(compiled, "loaded", compiled.loaded and kernels)  # False: the NumPy path
    net = Network(sizes, acts, init="xavier", seed=0)
    X = rng.random((37, sizes[0])).astype(np.float32)  # (37, n_in)
    X[X < 0.6] = 0
    want = net.feedforward(X)
    np.testing.assert_allclose(engines.feedforward(net, X), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(engines.feedforward(net, X[3]), want[3:4], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(engines.predict(net, X), np.argmax(want, axis=1))
    big = np.tile(X, (1 + inference.ROWWISE_LIMIT // (len(X) * net.n_weights), 1))  # BLAS path
    np.testing.assert_allclose(engines.feedforward(net, big)[: len(X)], want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="input must have shape"):
        engines.feedforward(net, X[:, :5])


@pytest.mark.parametrize("kernels", [False, True])
def test_fast_feedforward_sees_every_change_to_the_network(kernels, rng, monkeypatch):
    """The plan kept on the network must never answer with weights the network no longer has."""
    if kernels and not engines.load_kernels():
        pytest.skip("needs numba")
    monkeypatch.setattr(compiled, "loaded", compiled.loaded and kernels)
    net = Network([12, 5, 3], ["sigmoid", "softmax"], "cross-entropy", seed=0)
    x = rng.random((1, 12)).astype(np.float32)

    def check():
        np.testing.assert_allclose(engines.feedforward(net, x), net.feedforward(x), rtol=1e-5)

    check()
    net.weights[0] *= -2  # in place, as training does
    check()
    net.weights[1] = rng.standard_normal((5, 3)).astype(np.float32)  # a new array
    check()
    net.biases[0] = net.biases[0] + 1
    check()
    net.weights[1] = net.weights[1][:1, :1].copy()  # a shape that no longer fits
    with pytest.raises(ValueError):
        engines.feedforward(net, x)
    net.weights[1] = rng.standard_normal((5, 3)).astype(np.float32)
    net.activations[0] = get_activation("relu")
    check()
    net.weights = [W.astype(np.float64) for W in net.weights]  # another dtype: the reference
    net.biases = [b.astype(np.float64) for b in net.biases]
    net.dtype = np.dtype(np.float64)
    np.testing.assert_allclose(engines.feedforward(net, x.astype(np.float64)),
                               net.feedforward(x.astype(np.float64)), rtol=1e-12)


@pytest.mark.skipif(not compiled.HAVE_NUMBA, reason="needs numba")
def test_compress_rows_round_trip(rng):
    X = rng.random((9, 6)).astype(np.float32)
    X[X < 0.7] = 0
    X[4] = 0  # an all-zero row
    indptr, indices, values = compiled.compress_rows(X)
    back = np.zeros_like(X)
    for i in range(len(X)):
        back[i, indices[indptr[i] : indptr[i + 1]]] = values[indptr[i] : indptr[i + 1]]
    np.testing.assert_array_equal(back, X)
    assert indptr[-1] == np.count_nonzero(X)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_without_numba_the_blas_engine_is_used(monkeypatch, rng, momentum):
    """Without Numba, BLAS steps with SGD.step itself: the same numbers as the reference."""
    monkeypatch.setattr(compiled, "HAVE_NUMBA", False)
    monkeypatch.setattr(compiled, "loaded", False)
    net = Network([12, 4, 3], "tanh", seed=1, dtype=np.float64)
    assert engines.default_engine(net) == "blas"
    assert engines.select("auto", net, SGD(1.0), 4).engine == "blas"
    with pytest.raises(ValueError, match="needs numba"):
        engines.select("compiled", net, SGD(1.0), 4)
    X, _, Y = _data(rng, n=30)
    ref, order = net.copy(), rng.permutation(30)
    want = _reference(ref, SGD(0.5, momentum, 0.01), X, Y, order, 4)
    got = BlasTrainer(net, SGD(0.5, momentum, 0.01), 4).run(X, Y, order, 0, 30)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert _max_diff(ref, net) < 1e-12
    X32 = X.astype(np.float32)
    net32 = Network([12, 4, 3], seed=1)
    np.testing.assert_allclose(engines.feedforward(net32, X32), net32.feedforward(X32), rtol=1e-6)


def test_engine_choice(monkeypatch):
    narrow, wide = Network([12, 16, 3], seed=1), Network([12, 300, 300, 3], seed=1)
    wide_first = Network([12, 800, 10], seed=1)  # the first layer skips the inputs that are 0
    if compiled.HAVE_NUMBA:
        assert engines.default_engine(narrow) == "compiled"
        assert engines.default_engine(wide_first) == "compiled"
        assert engines.select("auto", narrow, SGD(1.0), 4).engine == "compiled"
    assert engines.default_engine(wide) == "blas"  # long rows on both sides: BLAS products win
    assert engines.select("auto", wide, SGD(1.0), 4).engine == "blas"
    assert engines.select("blas", narrow, SGD(1.0), 4).engine == "blas"
    assert engines.select("reference", narrow, SGD(1.0), 4) is None
    X = np.random.default_rng(0).random((3, 12)).astype(np.float32)
    np.testing.assert_allclose(engines.feedforward(narrow, X), narrow.feedforward(X), rtol=1e-6)


def test_the_plan_cache_lives_outside_the_network():
    net = Network([12, 5, 3], seed=0)
    x = np.random.default_rng(0).random((1, 12)).astype(np.float32)
    engines.feedforward(net, x)
    assert not any("plan" in k for k in vars(net))
    n_plans = len(inference._PLANS)
    assert id(net) in inference._PLANS
    del net
    import gc

    gc.collect()
    assert len(inference._PLANS) == n_plans - 1  # forgotten with the network
