"""Knowledge distillation: a small network learns from a big one's answers, not only the labels.

Hinton, Vinyals & Dean (2015), "Distilling the knowledge in a neural network": a trained network
(the teacher) says more about a training image than its label does — that this 7 looks a little
like a 1 and not at all like a 6. A small network (the student) trained to match those graded
answers generalises better than one trained on the labels alone.

Here the student's wanted outputs for training image x are

    y_soft = (1 − w)·onehot(label) + w·softmax(zᵀ(x) / T)

where zᵀ are the teacher's output weighted inputs (logits) and T ≥ 1 a temperature that softens
them (T = 1: the teacher's own probabilities; larger T: more weight on the wrong-but-plausible
classes). The student is trained with its usual cost on these targets (a simplification of Hinton
et al., whose student is also trained at temperature T). The teacher sees only the training
images, so the test set stays unseen. Targets are computed once, on the undistorted images; with
augmentation a distorted image keeps its original's targets, as it keeps its label.

Non-goals: training the teacher and student together, matching hidden layers, ensembles.
"""

from __future__ import annotations

import numpy as np

from .activations import SOFTMAX, softmax
from .network import Network
from .train import one_hot


def soft_targets(
    teacher: Network, X: np.ndarray, y: np.ndarray, *, weight: float, temperature: float,
    batch_size: int = 10_000,
) -> np.ndarray:
    """(n, n_out) targets mixing one-hot labels with the teacher's softened probabilities."""
    if teacher.activations[-1] is not SOFTMAX:
        raise ValueError("the teacher needs a softmax output layer (its logits are softened); "
                         f"this one has {teacher.activations[-1].name}")
    if not 0 <= weight <= 1:
        raise ValueError(f"the teacher's weight must be in [0, 1], got {weight}")
    if not temperature > 0:
        raise ValueError(f"the temperature must be > 0, got {temperature}")
    probs = []
    for i in range(0, len(X), batch_size):
        zs, _ = teacher.forward(X[i : i + batch_size])
        probs.append(softmax(zs[-1].astype(np.float64) / temperature))  # (batch, n_out)
    P = np.concatenate(probs)  # (n, n_out)
    Y = one_hot(y, teacher.sizes[-1], np.float64)  # (n, n_out)
    return ((1 - weight) * Y + weight * P).astype(np.float32)
