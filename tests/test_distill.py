"""Distillation targets: labels mixed with a teacher's softened answers."""

from __future__ import annotations

import numpy as np
import pytest

from mojinet.nn.distill import soft_targets
from mojinet.nn.network import Network
from mojinet.nn.optim import SGD
from mojinet.nn.train import train


def teacher_with_logits(logits) -> Network:
    """A 1-input softmax network whose output logits are exactly ``logits`` for input 0."""
    net = Network([1, len(logits)], "softmax", "cross-entropy", dtype=np.float64, seed=0)
    net.weights[0][...] = 0
    net.biases[0][...] = logits
    return net


def test_soft_targets_by_hand():
    teacher = teacher_with_logits([2.0, 0.0, 0.0])
    X, y = np.zeros((1, 1)), np.array([1])
    Y = soft_targets(teacher, X, y, weight=0.5, temperature=2.0)
    p = np.exp([1.0, 0.0, 0.0]) / np.exp([1.0, 0.0, 0.0]).sum()  # softmax(z / T)
    np.testing.assert_allclose(Y[0], 0.5 * np.array([0, 1, 0]) + 0.5 * p, rtol=1e-6)
    assert Y.sum() == pytest.approx(1.0)
    hard = soft_targets(teacher, X, y, weight=0.0, temperature=1.0)
    np.testing.assert_array_equal(hard, [[0, 1, 0]])


def test_soft_targets_refuse_bad_settings():
    X, y = np.zeros((1, 1)), np.array([0])
    with pytest.raises(ValueError, match="softmax output"):
        soft_targets(Network([1, 3], "sigmoid", seed=0), X, y, weight=0.5, temperature=1)
    with pytest.raises(ValueError, match=r"weight must be in \[0, 1\]"):
        soft_targets(teacher_with_logits([0, 0]), X, y, weight=1.5, temperature=1)
    with pytest.raises(ValueError, match="temperature"):
        soft_targets(teacher_with_logits([0, 0]), X, y, weight=0.5, temperature=0)


def test_train_uses_the_targets(rng):
    X = rng.random((40, 3)).astype(np.float32)
    y = rng.integers(0, 2, 40)
    uniform = np.full((40, 2), 0.5, dtype=np.float32)
    net = Network([3, 2], "softmax", "cross-entropy", seed=0)
    train(net, X, y, optimizer=SGD(1.0), epochs=300, batch_size=40,
          rng=np.random.default_rng(0), targets=uniform)
    # wanted outputs ½, ½ for every input: the network learns to answer ½, ½ whatever the labels
    np.testing.assert_allclose(net.feedforward(X), 0.5, atol=0.02)
    with pytest.raises(ValueError, match=r"targets must have shape \(40, 2\)"):
        train(net, X, y, optimizer=SGD(1.0), epochs=1, batch_size=40,
              rng=np.random.default_rng(0), targets=uniform[:, :1])
