"""Property tests (hypothesis) for the numerics: stability and invariants on any valid input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mojinet import Network
from mojinet.nn.activations import log_softmax, sigmoid, softmax

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32)
matrices = arrays(np.float32, st.tuples(st.integers(1, 8), st.integers(1, 12)), elements=finite)


@given(matrices)
def test_softmax_rows_are_distributions(z):
    p = softmax(z)
    assert p.dtype == z.dtype
    assert np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


@given(matrices)
def test_log_softmax_is_finite_and_consistent(z):
    ls = log_softmax(z.astype(np.float64))
    assert np.all(np.isfinite(ls)) and np.all(ls <= 1e-12)
    np.testing.assert_allclose(np.exp(ls), softmax(z.astype(np.float64)), atol=1e-12)


@given(matrices)
def test_sigmoid_in_unit_interval_and_symmetric(z):
    s = sigmoid(z)
    assert s.dtype == z.dtype
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s + sigmoid(-z), 1.0, atol=1e-6)


def test_sigmoid_stable_at_extremes():
    z = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        s = sigmoid(z)
    np.testing.assert_array_equal(s[[0, 2, 4]], [0.0, 0.5, 1.0])
    assert 0 < s[1] < 1e-40 and s[3] == 1.0


@settings(deadline=None, max_examples=60)
@given(
    hidden=st.sampled_from(["sigmoid", "relu", "tanh"]),
    out_cost=st.sampled_from([("sigmoid", "quadratic"), ("sigmoid", "cross-entropy"),
                              ("softmax", "cross-entropy"), ("softmax", "quadratic"),
                              ("relu", "quadratic"), ("tanh", "quadratic")]),
    scale=st.floats(0.01, 300.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_cost_and_gradients_never_nan_on_valid_input(hidden, out_cost, scale, seed):
    """Inputs in [0, 1] and one-hot targets: even with huge weights (saturated neurons), the
    cost and every gradient stay finite."""
    out, cost = out_cost
    rng = np.random.default_rng(seed)
    net = Network([6, 5, 4], [hidden, out], cost, rng=rng)
    for p in net.parameters():
        p *= scale
    X = rng.uniform(0, 1, size=(9, 6)).astype(np.float32)
    Y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 9)]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        g = net.backprop(X, Y)
    assert np.isfinite(g.cost) and g.cost >= 0
    assert all(np.all(np.isfinite(a)) for a in g.nabla_w + g.nabla_b)
