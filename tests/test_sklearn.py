"""The scikit-learn estimator (mojinet.sklearn.MLPClassifier): scikit-learn's own estimator
checks, the estimator conventions the issue names (partial_fit with early stopping, warm_start,
sample_weight and class_weight, Pipeline, GridSearchCV), and that it trains the same network as
mojinet's own loop."""

from __future__ import annotations

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="the estimator needs scikit-learn (the test extra)")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from mojinet import SGD, Network, train  # noqa: E402
from mojinet.sklearn import MLPClassifier  # noqa: E402

# Checks the estimator cannot pass, and why (kept short).
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data":
        "mini-batch SGD: repeating a sample puts it in more batches, a weight of 2 does not",
}


def _blobs(rng, n=240, n_features=8, n_classes=3, spread=1.0):
    centres = rng.normal(0, 3, size=(n_classes, n_features))
    y = rng.integers(0, n_classes, n)
    X = centres[y] + rng.normal(0, spread, size=(n, n_features))
    return X, y


@parametrize_with_checks([MLPClassifier(max_iter=50, random_state=0)],
                         expected_failed_checks=lambda est: EXPECTED_FAILED)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_fit_predict_score(rng):
    X, y = _blobs(rng)
    labels = np.array(["あ", "い", "う"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X[:200], labels[:200])
    assert list(clf.classes_) == ["あ", "い", "う"] and clf.n_features_in_ == 8
    P = clf.predict_proba(X[200:])
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-6)
    assert set(clf.predict(X[200:])) <= set(clf.classes_)
    assert clf.score(X[200:], labels[200:]) > 0.9
    assert 1 <= clf.n_iter_ <= 200 and len(clf.loss_curve_) == clf.n_iter_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_same_network_as_mojinet_train(rng):
    """The estimator's epochs are nn.train's: same seed-drawn network, same batches, same
    weights (float64, reference engine and the default one)."""
    X, y = _blobs(rng, n=90)
    for engine in ("reference", "auto"):
        clf = MLPClassifier(hidden_layer_sizes=(7,), activation="tanh", max_iter=3, tol=0,
                            learning_rate_init=0.05, momentum=0.5, alpha=0.0, batch_size=16,
                            engine=engine, random_state=4).fit(X, y)
        seed = int(np.random.RandomState(4).randint(2**31 - 1))
        net = Network([8, 7, 3], ["tanh", "softmax"], "cross-entropy", init="xavier", seed=seed,
                      dtype=np.float64)
        train(net, X, y, optimizer=SGD(0.05, 0.5), epochs=3, batch_size=16,
              rng=np.random.default_rng(seed), engine="reference")
        for p, q in zip(net.parameters(), clf.network_.parameters()):
            np.testing.assert_allclose(q, p, rtol=1e-9, atol=1e-12)


def test_alpha_is_sklearns_penalty_per_batch():
    clf = MLPClassifier(alpha=0.01, batch_size=50)
    assert clf.to_config(1000).weight_decay == pytest.approx(0.01 / 50)


def test_bad_parameters_name_themselves(rng):
    X, y = _blobs(rng, n=40)
    with pytest.raises(ValueError, match="learning_rate_init"):
        MLPClassifier(learning_rate_init=-1).fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPClassifier(hidden_layer_sizes=(0,)).fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        MLPClassifier(solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        MLPClassifier(alpha="much").fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        MLPClassifier(early_stopping=True, validation_fraction=1.5).fit(X, y)


def test_partial_fit_needs_classes_then_trains_one_epoch_a_call(rng):
    X, y = _blobs(rng)
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X[:50], y[:50])
    for i in range(0, 200, 50):
        clf.partial_fit(X[i : i + 50], y[i : i + 50], classes=[0, 1, 2])
    assert clf.n_iter_ == 4
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X[:5], np.full(5, 7))


def test_early_stopping_with_partial_fit(rng):
    """The first call holds out the validation set; calls are scored on it; after
    n_iter_no_change calls without a gain the best network is back and training stops."""
    X, y = _blobs(rng, n=400, spread=2.5)
    clf = MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, validation_fraction=0.25,
                        n_iter_no_change=3, tol=0.0, random_state=0)
    clf.partial_fit(X[:200], y[:200], classes=[0, 1, 2])
    Xv, yv = clf.validation_set_
    assert len(Xv) == 50 and np.bincount(yv, minlength=3).min() > 0  # stratified
    calls = 1
    while not clf.stopped_ and calls < 300:
        clf.partial_fit(X[200:], y[200:])
        calls += 1
    assert clf.stopped_ and len(clf.validation_scores_) == clf.n_iter_
    best = max(clf.validation_scores_)
    assert clf.best_validation_score_ == best
    assert clf.validation_scores_.index(best) + 1 == clf.best_epoch_
    assert clf.score(Xv, yv) == pytest.approx(best)  # the best epoch's network is back
    before = [p.copy() for p in clf.network_.parameters()]
    clf.partial_fit(X[200:], y[200:])  # stopped: no more training
    assert all(np.array_equal(p, q) for p, q in zip(before, clf.network_.parameters()))


def test_early_stopping_in_fit_keeps_the_best_epoch(rng):
    X, y = _blobs(rng, n=300, spread=3.0)
    clf = MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, n_iter_no_change=4,
                        max_iter=300, random_state=1).fit(X, y)
    assert clf.n_iter_ < 300 and clf.stopped_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_warm_start_goes_on(rng):
    X, y = _blobs(rng)
    cold = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, tol=0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        cold.fit(X, y)
    first = [p.copy() for p in cold.network_.parameters()]
    with pytest.warns(ConvergenceWarning):
        cold.fit(X, y)  # no warm start: the same network again
    assert all(np.array_equal(p, q) for p, q in zip(first, cold.network_.parameters()))
    warm = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, tol=0, random_state=0,
                         warm_start=True)
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y).fit(X, y)
    assert warm.n_iter_ == 4
    assert not all(np.array_equal(p, q) for p, q in zip(first, warm.network_.parameters()))


def test_sample_weight_zero_removes_samples_from_the_gradient(rng):
    """Weight 0 on every sample of class 2 (and class 2 present): it is never predicted."""
    X, y = _blobs(rng, n=300)
    w = np.where(y == 2, 0.0, 1.0)
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X, y, sample_weight=w)
    assert 2 not in set(clf.predict(X)) or np.mean(clf.predict(X) == 2) < 0.02
    plain = MLPClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X, y)
    assert np.mean(plain.predict(X) == 2) > 0.2


def test_class_weight_moves_the_boundary(rng):
    """Overlapping classes: a heavy class weight on class 0 makes it predicted more often."""
    y = rng.integers(0, 2, 400)
    X = rng.normal(0, 1, size=(400, 2)) + np.where(y == 0, -0.5, 0.5)[:, None]  # overlapping
    share = {}
    for cw in (None, {0: 10.0, 1: 1.0}):
        clf = MLPClassifier(hidden_layer_sizes=(8,), class_weight=cw, random_state=0).fit(X, y)
        share[cw is None] = np.mean(clf.predict(X) == 0)
    assert share[False] > share[True] + 0.05
    balanced = MLPClassifier(class_weight="balanced", random_state=0).fit(X, y)
    assert balanced.score(X, y) > 0.6


def test_pipeline_and_grid_search(rng):
    X, y = _blobs(rng, n=200)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2],
                               "mlpclassifier__hidden_layer_sizes": [(4,), (16,)]}, cv=3)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"mlpclassifier__alpha", "mlpclassifier__hidden_layer_sizes"}
    assert grid.score(X, y) > 0.9


def test_to_model_reads_the_same(rng, tmp_path):
    from mojinet import load_model, save_model

    X, y = _blobs(rng, n=100, n_features=16)
    clf = MLPClassifier(hidden_layer_sizes=(8,), random_state=0).fit(X, y)
    path = save_model(clf.to_model(), tmp_path / "clf.npz")
    model = load_model(path)
    assert model.image_shape == (4, 4) and model.classes == ("0", "1", "2")
    np.testing.assert_allclose(model.probabilities(X), clf.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_verbose_prints_each_epoch(rng, capsys):
    X, y = _blobs(rng, n=60)
    with pytest.warns(ConvergenceWarning):
        MLPClassifier(max_iter=3, tol=0, verbose=True, random_state=0).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 3 and "cost" in lines[0]
