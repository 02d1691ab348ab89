"""``MLPClassifier``: mojinet's network as a scikit-learn estimator.

>>> from mojinet.sklearn import MLPClassifier
>>> clf = MLPClassifier(hidden_layer_sizes=(100,), max_iter=20).fit(X_train, y_train)
>>> clf.score(X_test, y_test), clf.predict_proba(X_test[:3])

The parameters become a ``RunConfig`` (``to_config``; the last one trained with is ``config_``),
checked there — an error names the parameter — and built by the runner's
``network_of``/``optimizer_of``; the epochs run through
``nn.train.train`` with the fast engines (``mojinet.engines``: compiled with Numba, else BLAS),
which give the reference's numbers. The network has ``hidden_layer_sizes`` hidden layers of
``activation`` and a softmax output with the cross-entropy cost (δᴸ = a − y); ``predict_proba``
is that softmax. Parameters take scikit-learn's names where they mean the same:

- ``alpha``: the L2 penalty ½·α‖W‖² on each mini-batch's *summed* cost, as scikit-learn's; mojinet
  averages the cost over the batch, so it trains with weight decay λ = α / batch size.
- ``learning_rate_init`` (η), ``momentum``, ``nesterovs_momentum``, ``batch_size`` ("auto":
  min(200, n)), ``max_iter`` (epochs), ``tol`` and ``n_iter_no_change``: as scikit-learn's; with
  ``early_stopping`` off, training stops once the training cost has not fallen by ``tol`` for
  ``n_iter_no_change`` epochs; with it on, once the validation accuracy has not risen by ``tol``
  for as many epochs, and the network of the best epoch is kept.
- ``schedule`` (mojinet's: constant, cosine over ``max_iter`` epochs, step), ``solver`` (sgd or
  adam; the fast engines do plain and momentum SGD, the rest runs on the reference ``nn/``),
  ``engine`` (auto, reference, blas, compiled).
- ``sample_weight`` (``fit``, ``partial_fit``) and ``class_weight`` (a dict or "balanced")
  multiply into per-sample weights sₓ of the cost C = (1/n) Σₓ sₓ Cₓ (``nn/costs.py``), scaled so
  that they average 1 over the samples of a call: η keeps its meaning.

``early_stopping`` works with ``partial_fit`` too: the first call holds out
``validation_fraction`` of its samples (stratified) as the validation set, never trained on; each
call is one epoch, scored on that set; after ``n_iter_no_change`` calls without a gain the best
network is put back, ``stopped_`` becomes True and later calls train no more (``fit`` starts
afresh). ``warm_start``: ``fit`` goes on from the fitted network. ``verbose``: a line per epoch
(2: and a progress bar per epoch, notebook-aware).

Pickling (joblib, GridSearchCV's workers) works as for any estimator; to keep a model as a file
use ``to_model()`` and ``mojinet.save_model`` (no pickle). Non-goals: regression, multi-label
targets, sparse input (densify it first).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from . import engines
from .config import ConfigError, RunConfig
from .io import Model
from .nn.train import EpochRecord, History, train
from .runner import network_of, optimizer_of, preprocessing, schedule_of

__all__ = ["MLPClassifier"]

# scikit-learn's parameter names for the RunConfig fields they set (for error messages)
_PARAMETER_OF = {"hidden": "hidden_layer_sizes", "activation": "activation",
                 "optimizer": "solver", "eta": "learning_rate_init", "batch_size": "batch_size",
                 "momentum": "momentum", "nesterov": "nesterovs_momentum",
                 "weight_decay": "alpha", "schedule": "schedule", "epochs": "max_iter",
                 "engine": "engine", "seed": "random_state"}
_ACTIVATIONS = {"logistic": "sigmoid", "sigmoid": "sigmoid", "relu": "relu", "tanh": "tanh"}


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A multilayer perceptron classifier trained by mojinet (see the module docstring)."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="sgd",
                 alpha=1e-4, batch_size="auto", learning_rate_init=0.01, momentum=0.9,
                 nesterovs_momentum=False, schedule="constant", max_iter=200, tol=1e-4,
                 n_iter_no_change=10, early_stopping=False, validation_fraction=0.1,
                 class_weight=None, warm_start=False, verbose=False, random_state=None,
                 engine="auto"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.schedule = schedule
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.engine = engine

    # ------------------------------------------------------------------ configuration
    def to_config(self, n_samples: int = 200) -> RunConfig:
        """The ``RunConfig`` of these parameters for a training set of ``n_samples`` (the batch
        size "auto" and α depend on it); a ValueError names the parameter that is wrong."""
        batch = _batch_size(self.batch_size, n_samples)
        alpha = _number(self.alpha)
        try:
            activation = _ACTIVATIONS.get(self.activation, self.activation)
            return RunConfig(
                preset="sklearn", dataset="arrays", hidden=_hidden(self.hidden_layer_sizes),
                activation=activation, output_activation="softmax", cost="cross-entropy",
                init="xavier", optimizer=self.solver, eta=_number(self.learning_rate_init),
                batch_size=batch, momentum=_number(self.momentum) if self.solver == "sgd" else 0,
                nesterov=bool(self.nesterovs_momentum) and self.solver == "sgd",
                weight_decay=alpha / batch if isinstance(alpha, float) else alpha,
                schedule=self.schedule,
                epochs=self.max_iter, engine=self.engine, seed=0)
        except ConfigError as e:
            field = str(e).split()[0]
            raise ValueError(f"{_PARAMETER_OF.get(field, field)}: {e}") from None

    def _check_stopping(self) -> None:
        if not (isinstance(self.tol, numbers.Real) and self.tol >= 0):
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}")
        if not (isinstance(self.n_iter_no_change, numbers.Integral) and self.n_iter_no_change >= 1):
            raise ValueError(f"n_iter_no_change must be a whole number >= 1, got "
                             f"{self.n_iter_no_change!r}")
        if self.early_stopping and not (isinstance(self.validation_fraction, numbers.Real)
                                        and 0 < self.validation_fraction < 1):
            raise ValueError(f"validation_fraction must be in (0, 1), got "
                             f"{self.validation_fraction!r}")

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None):
        """Train from scratch (or, with ``warm_start``, from the fitted network) for up to
        ``max_iter`` epochs on X (n_samples, n_features) with labels y (n_samples,)."""
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32), reset=True)
        self._check_stopping()
        config = self.to_config(len(X))
        classes = _classes(y)
        if not (self.warm_start and hasattr(self, "network_")):
            self._start(config, X, classes)
        elif not np.array_equal(classes, self.classes_):
            raise ValueError(f"warm_start: y has the classes {classes.tolist()}, the fitted "
                             f"network reads {self.classes_.tolist()}; fit without warm_start")
        y_index = np.searchsorted(self.classes_, y)
        weights = self._weights(sample_weight, X, y)
        eval_data = None
        if self.early_stopping:
            X, y_index, weights, eval_data = self._split(X, y_index, weights)
        stop = _Stopping(self, eval_data is not None)
        self._epochs(config, X, y_index, weights, eval_data, config.epochs, stop)
        if not stop.finish(self.network_):
            warnings.warn(f"MLPClassifier: {config.epochs} epochs (max_iter) and still gaining; "
                          f"raise max_iter or tol", ConvergenceWarning, stacklevel=2)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch on (X, y). The first call needs ``classes`` (every label there will be);
        with ``early_stopping`` it holds out the validation set (see the module docstring)."""
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32), reset=first)
        self._check_stopping()
        if first:
            if classes is None:
                raise ValueError("the first call of partial_fit needs classes: every label "
                                 "the data will have (e.g. classes=np.unique(y_all))")
            self._start(self.to_config(len(X)), X, _classes(np.asarray(classes)))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes {np.unique(classes).tolist()} differ from those of the "
                             f"first call, {self.classes_.tolist()}")
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(f"y has labels {unknown.tolist()} not in classes "
                             f"{self.classes_.tolist()}")
        y_index = np.searchsorted(self.classes_, y)
        weights = self._weights(sample_weight, X, y)
        if self.early_stopping and first:
            X, y_index, weights, self.validation_set_ = self._split(X, y_index, weights)
        if self.stopped_:
            if self.verbose:
                print(f"Stopped early at epoch {self.best_epoch_}: partial_fit trains no more")
            return self
        eval_data = self.validation_set_ if self.early_stopping else None
        stop = _Stopping(self, eval_data is not None, resume=True)
        self._epochs(self.to_config(len(X)), X, y_index, weights, eval_data, 1, stop)
        stop.finish(self.network_)
        return self

    def _start(self, config: RunConfig, X, classes) -> None:
        """A fresh network for X's features and ``classes``, its optimiser and record."""
        if len(classes) < 2:
            raise ValueError(f"y has only one class ({classes.tolist()}): MLPClassifier needs "
                             f"samples of at least 2 classes to learn to tell them apart")
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        self.classes_, self.seed_ = classes, seed
        self.network_ = network_of(config.replace(seed=seed), X.shape[1], len(classes),
                                     dtype=X.dtype)
        self.optimizer_ = optimizer_of(config)
        self.rng_ = np.random.default_rng(seed)
        self.history_ = History()
        self.n_iter_, self.loss_curve_ = 0, []
        self.best_loss_, self.best_validation_score_ = np.inf, -np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_epoch_, self.waited_, self.stopped_ = None, 0, False
        self.best_parameters_ = None
        self.validation_set_ = None

    def _weights(self, sample_weight, X, y):
        """sₓ: ``sample_weight`` times the class weights, scaled to mean 1 (None: all 1)."""
        if sample_weight is None and self.class_weight is None:
            return None
        s = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
        if s.shape != (len(X),):
            raise ValueError(f"sample_weight must have shape ({len(X)},), got {s.shape}")
        if self.class_weight is not None:
            s = s * compute_sample_weight(self.class_weight, y)
        if not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError("sample_weight must be finite and >= 0")
        if not s.sum() > 0:
            raise ValueError("every sample weight is zero: give some samples a weight > 0")
        return s * (len(s) / s.sum())  # (n,) mean 1

    def _split(self, X, y_index, weights):
        """(X, y, weights) to train on and the (X, y) validation set held out of them."""
        n_val = max(1, int(round(self.validation_fraction * len(X))))
        counts = np.bincount(y_index)
        stratify = y_index if counts[counts > 0].min() >= 2 and n_val >= len(counts) else None
        idx = np.arange(len(X))
        seed = int(self.rng_.integers(2**31 - 1))
        fit_idx, val_idx = train_test_split(idx, test_size=n_val, stratify=stratify,
                                            random_state=seed)
        w = None if weights is None else weights[fit_idx]
        return X[fit_idx], y_index[fit_idx], w, (X[val_idx], y_index[val_idx])

    def _epochs(self, config, X, y_index, weights, eval_data, epochs: int, stop) -> None:
        """Up to ``epochs`` epochs of ``nn.train.train`` with the engine the config names."""
        # the RunConfig of the last call (its seed, and the batch size and α for its n)
        self.config_ = config.replace(seed=self.seed_)
        net, optimizer = self.network_, self.optimizer_
        X = np.asarray(X, dtype=net.dtype)
        optimizer.weight_decay = config.weight_decay  # α / batch size, for this call's batches
        steps = engines.select(config.engine, net, optimizer, config.batch_size)
        schedule = schedule_of(config)
        last = config.epochs - 1
        train(net, X, y_index, optimizer=optimizer, epochs=epochs, batch_size=config.batch_size,
              rng=self.rng_, eval_data=eval_data, progress=bool(self.verbose) and self.verbose >= 2,
              schedule=lambda e: schedule(min(e, last)), on_epoch_end=stop,
              history=self.history_, steps=steps, sample_weight=weights)

    # ------------------------------------------------------------------ using
    def predict_proba(self, X):
        """The softmax output: (n_samples, n_classes), columns in the order of ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return engines.feedforward(self.network_, X.astype(self.network_.dtype, copy=False))

    def predict_log_proba(self, X):
        """ln of ``predict_proba`` (−inf where a probability underflowed to 0)."""
        P = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(P)

    def predict(self, X):
        """The most probable class of each row: (n_samples,)."""
        P = self.predict_proba(X)  # (n_samples, n_classes); checks that it is fitted
        return self.classes_[np.argmax(P, axis=1)]

    def to_model(self) -> Model:
        """The fitted network as a mojinet ``Model`` (``mojinet.save_model`` writes it, no
        pickle); square inputs are taken as images for ``mojinet predict``/``serve``."""
        check_is_fitted(self)
        side = int(round(self.n_features_in_ ** 0.5))
        shape = (side, side) if side * side == self.n_features_in_ else (1, self.n_features_in_)
        training = {"config": self.config_.to_dict(), "history": self.history_.to_dict(),
                    "estimator": "mojinet.sklearn.MLPClassifier"}
        return Model(self.network_.copy(), tuple(str(c) for c in self.classes_),
                     preprocessing(shape), training)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class _Stopping:
    """After each epoch: record it, say it (``verbose``), and decide whether to stop — on the
    training cost's gains (< ``tol`` for ``n_iter_no_change`` epochs) or, with a validation set,
    on its accuracy's, keeping the best network."""

    def __init__(self, est: MLPClassifier, validating: bool, resume: bool = False):
        self.est, self.validating = est, validating
        if not resume:
            est.waited_ = 0

    def __call__(self, net, record: EpochRecord) -> bool:
        est = self.est
        est.n_iter_ += 1
        est.loss_curve_.append(record.train_cost)
        if self.validating:
            score = record.eval_accuracy
            est.validation_scores_.append(score)
            gained = score > est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_, est.best_epoch_ = score, est.n_iter_
                est.best_parameters_ = [p.copy() for p in net.parameters()]
        else:
            gained = record.train_cost < est.best_loss_ - est.tol
        est.best_loss_ = min(est.best_loss_, record.train_cost)
        est.waited_ = 0 if gained else est.waited_ + 1
        if est.verbose:
            check = (f"  validation accuracy {record.eval_accuracy:.2%}"
                     if self.validating else "")
            print(f"epoch {est.n_iter_:>4}  cost {record.train_cost:.6f}{check}  "
                  f"({record.seconds:.2f} s)")
        return est.waited_ >= est.n_iter_no_change

    def finish(self, net) -> bool:
        """Put the best epoch's network back when validating and it has stopped; whether it
        stopped (converged)."""
        est = self.est
        stopped = est.waited_ >= est.n_iter_no_change
        if stopped:
            est.stopped_ = self.validating
            if self.validating and est.best_parameters_ is not None:
                for p, best in zip(net.parameters(), est.best_parameters_):
                    p[...] = best
            if est.verbose:
                what = ("validation accuracy" if self.validating else "training cost")
                print(f"Stopped: no gain in {what} above tol={est.tol:g} for "
                      f"{est.n_iter_no_change} epochs")
        return stopped


def _batch_size(batch_size, n_samples: int) -> int:
    if isinstance(batch_size, str) and batch_size == "auto":
        return max(1, min(200, n_samples))
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be 'auto' or a whole number >= 1, got {batch_size!r}")
    return int(min(batch_size, max(n_samples, 1)))


def _hidden(sizes) -> tuple[int, ...]:
    if isinstance(sizes, numbers.Integral):
        sizes = (sizes,)
    try:
        return tuple(int(s) if isinstance(s, numbers.Integral) else s for s in sizes)
    except TypeError:
        raise ValueError(f"hidden_layer_sizes must be a list of layer sizes, got "
                         f"{sizes!r}") from None


def _number(value):
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) \
        else value


def _classes(y) -> np.ndarray:
    check_classification_targets(y)
    return np.unique(y)

