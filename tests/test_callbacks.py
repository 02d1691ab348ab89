"""Early stopping, best-epoch checkpoint, and the training-loop hooks they use (augment,
dropout, constraint, stop)."""

from __future__ import annotations

import numpy as np
import pytest

from mojinet.nn.callbacks import BestCheckpoint, EarlyStopping, chain
from mojinet.nn.network import Network
from mojinet.nn.optim import SGD
from mojinet.nn.regularize import Dropout, MaxNorm
from mojinet.nn.train import EpochRecord, train


def record(epoch: int, accuracy: float | None) -> EpochRecord:
    return EpochRecord(epoch, 0.0, 0.0, accuracy)


def test_early_stopping_counts_epochs_without_gain():
    stop = EarlyStopping(patience=2)
    net = Network([2, 2], seed=0)
    flags = [stop(net, record(e, a)) for e, a in enumerate([0.5, 0.6, 0.6, 0.7, 0.65, 0.7], 1)]
    assert flags == [False, False, False, False, False, True]


def test_early_stopping_min_delta():
    stop = EarlyStopping(patience=1, min_delta=0.01)
    net = Network([2, 2], seed=0)
    assert stop(net, record(1, 0.90)) is False
    assert stop(net, record(2, 0.905)) is True  # +0.005 is not a gain of more than 0.01


def test_callbacks_need_an_evaluation_set():
    with pytest.raises(ValueError, match="--validation"):
        EarlyStopping()(Network([2, 2], seed=0), record(1, None))
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


def test_best_checkpoint_keeps_and_restores_the_best_epoch():
    net = Network([2, 2], seed=0)
    best = BestCheckpoint()
    with pytest.raises(RuntimeError, match="no epoch"):
        best.restore(net)
    net.weights[0][...] = 1.0
    best(net, record(1, 0.8))
    net.weights[0][...] = 2.0
    best(net, record(2, 0.9))  # best
    net.weights[0][...] = 3.0
    best(net, record(3, 0.9))  # a tie keeps the earlier epoch
    assert best.best_epoch == 2 and best.best_accuracy == 0.9
    best.restore(net)
    assert np.all(net.weights[0] == 2.0)


def test_chain_runs_every_callback_and_stops_if_any_asks():
    calls = []
    f = chain(lambda n, r: calls.append("a"), None, lambda n, r: calls.append("b") or True,
              lambda n, r: calls.append("c"))
    assert f(None, record(1, 0.5)) is True
    assert calls == ["a", "b", "c"]


def _data(rng, n=60):
    X = rng.random((n, 4)).astype(np.float32)  # (n, 4)
    y = (X[:, 0] > X[:, 1]).astype(np.int64)  # (n,)
    return X, y


def test_training_stops_when_the_callback_says_so(rng):
    X, y = _data(rng)
    net = Network([4, 3, 2], seed=0)
    stop = EarlyStopping(patience=1)
    history = train(net, X, y, optimizer=SGD(0.0001), epochs=20, batch_size=10,
                    rng=np.random.default_rng(0), eval_data=(X, y), on_epoch_end=stop)
    assert 2 <= len(history.epochs) < 20  # tiny steps: no accuracy gain, stop after one more


@pytest.mark.parametrize("batch_size", [7, 10, 60])
def test_identity_augment_gives_exactly_the_plain_training(rng, batch_size):
    """Images go through ``augment`` in chunks, but each mini-batch is still X[its indices]."""
    X, y = _data(rng)
    seen = []

    def identity(Xc, rng_):
        seen.append(len(Xc))
        return Xc.copy()

    nets = [Network([4, 3, 2], seed=1) for _ in range(2)]
    for net, augment in zip(nets, [None, identity]):
        train(net, X, y, optimizer=SGD(1.0), epochs=2, batch_size=batch_size,
              rng=np.random.default_rng(3), augment=augment)
    assert sum(seen) == 2 * len(X)  # every image distorted once per epoch
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        np.testing.assert_array_equal(a, b)


def test_augment_time_is_recorded_and_dropout_and_constraint_apply(rng):
    X, y = _data(rng)
    net = Network([4, 8, 2], ["relu", "softmax"], "cross-entropy", seed=0)
    history = train(net, X, y, optimizer=SGD(5.0), epochs=2, batch_size=10,
                    rng=np.random.default_rng(0), augment=lambda Xc, r: Xc + 0,
                    dropout=Dropout(0.2, 0.5), constraint=MaxNorm(0.5))
    assert all(e.augment_seconds is not None and e.augment_seconds >= 0 for e in history.epochs)
    assert np.linalg.norm(net.weights[0], axis=0).max() <= 0.5 + 1e-6


def test_dropout_training_is_deterministic_under_a_seed(rng):
    X, y = _data(rng)
    results = []
    for _ in range(2):
        net = Network([4, 8, 2], seed=0)
        train(net, X, y, optimizer=SGD(1.0), epochs=2, batch_size=10,
              rng=np.random.default_rng(9), dropout=Dropout(hidden=0.5))
        results.append(net.weights[0].copy())
    np.testing.assert_array_equal(*results)
    plain = Network([4, 8, 2], seed=0)
    train(plain, X, y, optimizer=SGD(1.0), epochs=2, batch_size=10,
          rng=np.random.default_rng(9))
    assert not np.array_equal(plain.weights[0], results[0])  # dropout really changed training
