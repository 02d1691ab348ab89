"""The quantities of mojinet.inspect, checked against independent computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mojinet import Network, one_hot
from mojinet import inspect as ins
from mojinet.nn.gradcheck import numerical_gradients


def small_net(cost="quadratic", out="sigmoid", hidden="sigmoid", seed=0, sizes=(6, 5, 4, 3)):
    acts = [hidden] * (len(sizes) - 2) + [out]
    return Network(list(sizes), acts, cost, init="xavier", seed=seed, dtype=np.float64)


PAIRS = [("quadratic", "sigmoid", "sigmoid"), ("quadratic", "softmax", "tanh"),
         ("cross-entropy", "softmax", "relu"), ("cross-entropy", "sigmoid", "sigmoid")]


@pytest.mark.parametrize("cost,out,hidden", PAIRS)
def test_sensitivities_are_the_gradient_of_the_single_example_cost(cost, out, hidden, rng):
    net = small_net(cost, out, hidden)
    x = rng.uniform(0, 1, 6)
    grads = ins.sensitivities(net, x, 2)
    Y = one_hot(np.array([2]), 3, np.float64)
    num_w, num_b = numerical_gradients(net, x[None, :], Y)
    for a, n in zip(grads.nabla_w + grads.nabla_b, num_w + num_b):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-9)
    direct = net.backprop(x[None, :], Y)
    for a, b in zip(grads.nabla_w + grads.nabla_b, direct.nabla_w + direct.nabla_b):
        np.testing.assert_array_equal(a, b)


def test_largest_sensitivities_match_a_brute_force_ranking(rng):
    net = small_net()
    grads = ins.sensitivities(net, rng.uniform(0, 1, 6), 0)
    everything = []
    for l, (gw, gb) in enumerate(zip(grads.nabla_w, grads.nabla_b), start=1):
        everything += [(abs(v), ("weight", l, idx)) for idx, v in np.ndenumerate(gw)]
        everything += [(abs(v), ("bias", l, idx)) for idx, v in np.ndenumerate(gb)]
    everything.sort(key=lambda t: -t[0])
    top = ins.largest_sensitivities(grads, k=7)
    assert [abs(s.gradient) for s in top] == pytest.approx([t[0] for t in everything[:7]])
    for s in top:  # each entry points back at the value it reports
        arr = (grads.nabla_w if s.kind == "weight" else grads.nabla_b)[s.layer - 1]
        assert arr[s.index] == s.gradient
    only_bias = ins.largest_sensitivities(grads, k=100, kind="bias")
    assert len(only_bias) == net.n_biases and all(s.kind == "bias" for s in only_bias)
    assert top[0].name.startswith(("W", "b"))
    with pytest.raises(ValueError, match="kind"):
        ins.largest_sensitivities(grads, kind="neurons")


@pytest.mark.parametrize("cost,out,hidden", PAIRS)
def test_cost_gradient_wrt_output_agrees_with_the_library_delta(cost, out, hidden, rng):
    """δᴸ = (∂C/∂a) through σ′ must equal the cost's own δᴸ (which may use the a − y shortcut)."""
    net = small_net(cost, out, hidden)
    X = rng.uniform(0, 1, (4, 6))
    zs, acts = net.forward(X)
    Y = one_hot(np.array([0, 1, 2, 1]), 3, np.float64)
    dC_da = ins.cost_gradient_wrt_output(net, acts[-1], Y)  # per example
    delta = net.activations[-1].backward(zs[-1], acts[-1], dC_da)
    expected = net.cost.delta(zs[-1], acts[-1], Y, net.activations[-1]) * len(X)
    np.testing.assert_allclose(delta, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cost,out,hidden", PAIRS)
def test_activation_gradients_match_finite_differences_down_to_the_pixels(cost, out, hidden, rng):
    net = small_net(cost, out, hidden)
    x = rng.uniform(0.1, 0.9, 6)
    label = 1
    grads = ins.activation_gradients(net, x, label)
    assert [g.shape for g in grads] == [(n,) for n in net.sizes]
    Y = one_hot(np.array([label]), 3, np.float64)

    def cost_at(x):
        zs, acts = net.forward(x[None, :])
        return net.cost.fn(zs[-1], acts[-1], Y, net.activations[-1])

    h = 1e-6
    numeric = np.array([(cost_at(x + h * e) - cost_at(x - h * e)) / (2 * h) for e in np.eye(6)])
    np.testing.assert_allclose(grads[0], numeric, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(grads[-1], -ins.output_nudges(net, x, label))
    # BP4 in reverse: ∂C/∂W of the last layer is a^{L-1} ⊗ δᴸ, and ∂C/∂a^{L-1} = W δᴸ.
    full = ins.sensitivities(net, x, label)
    np.testing.assert_allclose(grads[-2], net.weights[-1] @ full.nabla_b[-1], rtol=1e-9)


def test_quadratic_nudges_are_wanted_minus_actual(rng):
    net = small_net()
    x = rng.uniform(0, 1, 6)
    a = ins.layer_activations(net, x)[-1]
    np.testing.assert_allclose(ins.output_nudges(net, x, 2), np.array([0, 0, 1.0]) - a)


def test_output_contributions_add_up_to_the_weighted_input(rng):
    net = small_net()
    x = rng.uniform(0, 1, 6)
    zs, acts = net.forward(x[None, :])
    for j in range(3):
        terms, bias = ins.output_contributions(net, x, j)
        assert terms.shape == (4,)
        assert terms.sum() + bias == pytest.approx(zs[-1][0, j])
        np.testing.assert_allclose(terms, net.weights[-1][:, j] * acts[-2][0])


def test_layer_activations_single_and_batch(rng):
    net = small_net()
    X = rng.uniform(0, 1, (3, 6))
    batch = ins.layer_activations(net, X)
    one = ins.layer_activations(net, X[1])
    assert [a.shape for a in one] == [(6,), (5,), (4,), (3,)]
    for a, b in zip(one, batch):
        np.testing.assert_allclose(a, b[1])
    with pytest.raises(ValueError, match="6"):
        ins.output_contributions(net, np.zeros(5), 0)


def test_incoming_weight_images_put_each_weight_at_its_pixel():
    net = Network([12, 2, 2], seed=1)
    img = ins.incoming_weight_images(net, (3, 4))
    assert img.shape == (2, 3, 4)
    assert img[1, 2, 3] == net.weights[0][2 * 4 + 3, 1]
    with pytest.raises(ValueError, match="pixels"):
        ins.incoming_weight_images(net, (4, 4))


def _exact_first_layer_optimum(w, b, r):
    """max w·x + b over x ∈ [0,1]ⁿ, ‖x‖ ≤ r: x = clip(t·w⁺, 0, 1) with t found by bisection."""
    wp = np.clip(w, 0, None)
    lo, hi = 0.0, 1e9
    for _ in range(200):
        t = (lo + hi) / 2
        lo, hi = (lo, t) if np.linalg.norm(np.clip(t * wp, 0, 1)) > r else (t, hi)
    return float(np.clip(lo * wp, 0, 1) @ w + b)


def test_preferred_inputs_reach_the_known_optimum_of_the_first_layer():
    net = Network([64, 5, 3], init="xavier", seed=3, dtype=np.float64)
    X, z = ins.preferred_inputs(net, 1, norm=3.0)
    assert X.shape == (5, 64) and z.shape == (5,)
    assert X.min() >= 0 and X.max() <= 1
    assert np.all(np.linalg.norm(X, axis=1) <= 3.0 + 1e-9)
    np.testing.assert_allclose(z, np.diag(X @ net.weights[0]) + net.biases[0])  # zⱼ of row j
    for j in range(5):
        best = _exact_first_layer_optimum(net.weights[0][:, j], net.biases[0][j], 3.0)
        assert z[j] >= best - 0.01 * abs(best)


def test_preferred_inputs_of_a_deeper_layer_beat_random_feasible_inputs(rng):
    net = Network([36, 8, 4, 3], init="xavier", seed=5, dtype=np.float64)
    X, z = ins.preferred_inputs(net, 2, norm=2.0)
    assert np.all(np.linalg.norm(X, axis=1) <= 2.0 + 1e-9) and X.min() >= 0 and X.max() <= 1
    R = rng.uniform(0, 1, (500, 36))
    R *= np.minimum(1, 2.0 / np.linalg.norm(R, axis=1, keepdims=True))
    z_random = net.forward(R)[0][1]  # (500, 4)
    assert np.all(z >= z_random.max(axis=0))
    with pytest.raises(ValueError, match="layer"):
        ins.preferred_inputs(net, 4)
    X2, z2 = ins.preferred_inputs(net, 2, norm=2.0, neurons=[3, 1])  # a subset, in that order
    np.testing.assert_allclose(z2, z[[3, 1]], rtol=1e-9)
    np.testing.assert_allclose(X2, X[[3, 1]], atol=1e-9)
    with pytest.raises(ValueError, match="neurons"):
        ins.preferred_inputs(net, 2, neurons=[4])


# ----------------------------------------------------------------------------- overlap
def test_top_k_active_and_jaccard_on_hand_values():
    H = np.array([[0.9, 0.1, 0.8, 0.0], [0.2, 0.7, 0.6, 0.1], [0.5, 0.5, 0.1, 0.1]])
    M = ins.top_k_active(H, 2)
    assert M.tolist() == [[True, False, True, False], [False, True, True, False],
                          [True, True, False, False]]  # a tie goes to the lower index
    J = ins.jaccard_matrix(M, M)
    np.testing.assert_allclose(J, [[1, 1 / 3, 1 / 3], [1 / 3, 1, 1 / 3], [1 / 3, 1 / 3, 1]])
    assert ins.jaccard_matrix(np.zeros((1, 3), bool), np.zeros((1, 3), bool))[0, 0] == 1
    with pytest.raises(ValueError, match="k"):
        ins.top_k_active(H, 5)


def test_chance_jaccard_equals_enumeration_of_all_subset_pairs():
    assert ins.chance_jaccard(4, 2) == pytest.approx(7 / 18)
    n, k = 7, 3
    subsets = [set(s) for s in itertools.combinations(range(n), k)]
    brute = np.mean([len(a & b) / len(a | b) for a in subsets for b in subsets])
    assert ins.chance_jaccard(n, k) == pytest.approx(brute)


def test_overlap_on_a_hand_built_network_with_known_answer():
    """Hidden neuron i copies input i (σ(10x − 5)), so the top-2 sets are the inked inputs.

    class 0: {0,1}, {0,1}, {0,2}; class 1: {2,3}, {2,3}. Within class 0 the three pairs have
    Jaccard 1, 1/3, 1/3 (mean 5/9), class 1 has one pair with 1; between the classes the six
    pairs give 0, 0, 0, 0, 1/3, 1/3 (mean 1/9). Over all same-class pairs: (5/3 + 1)/4 = 2/3.
    """
    net = Network([4, 4, 2], seed=0, dtype=np.float64)
    net.weights[0] = 10 * np.eye(4)
    net.biases[0] = np.full(4, -5.0)
    X = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1], [0, 0, 1, 1]], float)
    y = np.array([0, 0, 0, 1, 1])
    H = ins.layer_activations(net, X)[1]
    s = ins.overlap_summary(H, y, 2, k=2)
    np.testing.assert_allclose(s.matrix, [[5 / 9, 1 / 9], [1 / 9, 1]])
    assert s.within == pytest.approx(2 / 3)
    assert s.between == pytest.approx(1 / 9)
    np.testing.assert_allclose(s.per_class_within, [5 / 9, 1])
    np.testing.assert_allclose(s.per_class_between, [1 / 9, 1 / 9])
    assert s.chance == pytest.approx(7 / 18) and s.k == 2 and s.n_neurons == 4


def test_class_overlap_with_a_single_example_class_is_nan_on_its_diagonal():
    M = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1]], bool)
    C = ins.class_overlap(M, np.array([0, 0, 1]), 3)
    assert np.isnan(C[1, 1]) and np.isnan(C[2, 2]) and np.isnan(C[2, 0])
    assert C[0, 0] == pytest.approx(1 / 3)
    assert C[0, 1] == pytest.approx((1 / 3 + 1 / 3) / 2)


def test_diverse_examples_start_typical_then_go_far():
    X = np.array([[0.0, 0], [0.1, 0], [5, 5], [0, 0.1], [-4, 4]])
    idx = ins.diverse_examples(X, 3)
    assert idx[0] == 3  # the point nearest the mean (0.22, 1.82)
    assert idx[1] == 2  # farthest from the first
    assert idx[2] == 4
    assert len(set(ins.diverse_examples(X, 10).tolist())) == 5


def test_confusion_and_confident_mistakes():
    y = np.array([0, 1, 2, 1, 0])
    P = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.6, 0.1, 0.3], [0.05, 0.05, 0.9],
                  [0.4, 0.6, 0]])
    cm = ins.confusion_matrix(y, P.argmax(1), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 1], [1, 0, 0]]
    assert ins.confident_mistakes(P, y).tolist() == [3, 2, 4]
    assert ins.confident_mistakes(P, y, n=1).tolist() == [3]


def test_standardise_gives_z_scores_per_neuron():
    H = np.array([[1.0, 0.9, 0.5], [3.0, 0.9, 0.1], [2.0, 0.9, 0.3]])
    Z = ins.standardise(H)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, [0, 2]].std(0), 1)
    assert np.all(Z[:, 1] == 0)  # a constant neuron is never "unusually active"
    np.testing.assert_allclose(Z[:, 0], [-np.sqrt(1.5), np.sqrt(1.5), 0])
