"""Stochastic gradient descent over mini-batches: shuffle, split, one step per batch, epochs.

``train`` is the loop the chapter describes. Each epoch shuffles the training samples with the
given Generator, splits them into mini-batches of ``batch_size`` rows (``batch_size = n`` is
full-batch gradient descent), and for each batch asks the network for the gradient (backprop) and
the optimiser for a step. After each epoch it records the mean training cost (averaged over the
epoch's batches, each measured just before its step) and, when an evaluation set is given, its
cost and accuracy.

Training aids, all optional and off by default (issue 4): ``augment(X_batch, rng)`` distorts each
mini-batch before backprop (``data.augment``), ``dropout`` draws masks for backprop
(``regularize.Dropout``), ``constraint(net)`` runs after each step (``regularize.MaxNorm``), and
``on_epoch_end`` may return True to stop early (``callbacks.EarlyStopping``).

If the cost stops being finite, the network is put back as it was at the start of that epoch and
``TrainingDiverged`` says what to change.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from . import fast
from .network import Network
from .regularize import Dropout

# Images distorted per call of ``augment`` (rounded up to whole mini-batches): one call per
# mini-batch of 10 would spend most of its time on per-call overhead.
AUGMENT_CHUNK = 1000


class TrainingDiverged(RuntimeError):
    """The cost became NaN or infinite; the network holds the last good parameters."""


@dataclass
class EpochRecord:
    epoch: int  # 1-based
    train_cost: float
    eval_cost: float | None = None
    eval_accuracy: float | None = None
    seconds: float = 0.0
    eta: float | None = None
    augment_seconds: float | None = None  # time spent distorting images, when augmenting


@dataclass
class History:
    epochs: list[EpochRecord] = field(default_factory=list)

    def to_dict(self) -> list[dict]:
        return [asdict(e) for e in self.epochs]

    @classmethod
    def from_dict(cls, records: list[dict]) -> History:
        return cls([EpochRecord(**r) for r in records])

    @property
    def best(self) -> EpochRecord | None:
        scored = [e for e in self.epochs if e.eval_accuracy is not None]
        return max(scored, key=lambda e: e.eval_accuracy) if scored else None


def one_hot(y: np.ndarray, n_classes: int, dtype=np.float32) -> np.ndarray:
    """Class indices (n,) → wanted outputs (n, n_classes): 1 at the class, 0 elsewhere."""
    Y = np.zeros((len(y), n_classes), dtype=dtype)
    Y[np.arange(len(y)), y] = 1
    return Y


def evaluate(net: Network, X: np.ndarray, y: np.ndarray, batch_size: int = 10_000):
    """(mean cost, accuracy) of ``net`` on samples X (n, n_in) with class indices y (n,)."""
    correct, total_cost = 0, 0.0
    n_out = net.sizes[-1]
    for i in range(0, len(X), batch_size):
        zs, activations = net.forward(X[i : i + batch_size])
        yb = y[i : i + batch_size]
        Yb = one_hot(yb, n_out, net.dtype)
        total_cost += net.cost.fn(zs[-1], activations[-1], Yb, net.activations[-1]) * len(yb)
        correct += int(np.sum(np.argmax(activations[-1], axis=1) == yb))
    return total_cost / len(X), correct / len(X)


def _diverged(net: Network, snapshot, optimizer, epoch: int, what: str):
    for p, saved in zip(net.parameters(), snapshot):
        p[...] = saved
    raise TrainingDiverged(
        f"training diverged in epoch {epoch} ({what}); the network was restored to its state "
        f"before that epoch. Lower the learning rate (now {getattr(optimizer, 'eta', '?')}), "
        f"use a smaller initialisation (--init xavier) or check the inputs for NaN."
    )


def train(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    *,
    optimizer,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    eval_data: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool | None = None,
    schedule: Callable[[int], float] | None = None,
    on_epoch_end: Callable[[Network, EpochRecord], bool | None] | None = None,
    history: History | None = None,
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    dropout: Dropout | None = None,
    constraint: Callable[[Network], None] | None = None,
    targets: np.ndarray | None = None,
) -> History:
    """Train ``net`` in place on samples X (n, n_in) with class indices y (n,).

    ``schedule(e)`` gives the learning rate for 0-based epoch e (see ``schedules``); it counts
    from the first epoch in ``history``, so training can resume. ``on_epoch_end(net, record)`` is
    called after each epoch (printing, checkpoints); if it returns True, training stops there.
    ``augment``, ``dropout`` and ``constraint``: see the module docstring. ``targets`` (n, n_out),
    if given, are the wanted outputs instead of one-hot rows of y (soft targets from a teacher
    network, ``nn/distill.py``); y still gives the labels for reporting. Returns the
    ``History``; on KeyboardInterrupt the history so far is attached as ``exc.history``.
    """
    n = len(X)
    if n == 0:
        raise ValueError("no training samples")
    if len(y) != n:
        raise ValueError(f"X has {n} samples but y has {len(y)} labels")
    if not 1 <= batch_size:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    X = np.asarray(X, dtype=net.dtype)
    Y = one_hot(y, net.sizes[-1], net.dtype)  # (n, n_out)
    if targets is not None:
        if targets.shape != Y.shape:
            raise ValueError(f"targets must have shape {Y.shape}, got {targets.shape}")
        Y = np.asarray(targets, dtype=net.dtype)  # (n, n_out) soft targets
    history = history if history is not None else History()
    if progress is None:
        progress = sys.stderr.isatty()
    first = len(history.epochs) + 1
    # The fast path (nn/fast.py): the same batches and math in fused calls; None when it does not
    # support this network/optimiser, and then the reference loop below does everything.
    # Augmentation, dropout and constraints exist only in the reference loop.
    plain = augment is None and not dropout and constraint is None
    trainer = fast.trainer_for(net, optimizer, batch_size) if plain else None
    try:
        for epoch in range(first, first + epochs):
            start = time.perf_counter()
            if schedule is not None:
                optimizer.eta = schedule(epoch - 1)
            snapshot = [p.copy() for p in net.parameters()]
            order = rng.permutation(n)  # shuffle
            batches = range(0, n, batch_size)  # split
            cost_sum = 0.0
            if trainer is not None:  # fast path; it leaves the reference loop nothing to do, or
                # the batch whose cost was not finite (recomputed and reported below)
                with np.errstate(over="ignore", invalid="ignore"):
                    cost_sum, done = trainer.run_epoch(X, Y, order, progress, f"epoch {epoch}")
                batches = range(done, n, batch_size)
            if progress and len(batches):
                from tqdm import tqdm

                batches = tqdm(batches, desc=f"epoch {epoch}", unit="batch", leave=False)
            augment_seconds = 0.0
            chunk = batch_size * -(-AUGMENT_CHUNK // batch_size)  # whole mini-batches
            # Overflow is not an error here: a blow-up shows as a non-finite cost or parameter,
            # which is checked below and answered with TrainingDiverged.
            with np.errstate(over="ignore", invalid="ignore"):
                for i in batches:
                    idx = order[i : i + batch_size]
                    if augment is None:
                        Xb = X[idx]  # (batch, n_in)
                    else:
                        if i % chunk == 0:  # distort the next chunk of shuffled images afresh
                            t0 = time.perf_counter()
                            distorted = augment(X[order[i : i + chunk]], rng)  # (chunk, n_in)
                            augment_seconds += time.perf_counter() - t0
                        Xb = distorted[i % chunk : i % chunk + batch_size]  # (batch, n_in)
                    if dropout:  # masks drawn here; backprop itself stays pure
                        grads = net.backprop(Xb, Y[idx], dropout.masks(net, len(idx), rng))
                    else:  # (networks without dropout support, e.g. nn/twohead.py's, work too)
                        grads = net.backprop(Xb, Y[idx])
                    if not np.isfinite(grads.cost):
                        _diverged(net, snapshot, optimizer, epoch, f"cost {grads.cost}")
                    cost_sum += grads.cost * len(idx)
                    optimizer.step(net, grads)  # one step per batch
                    if constraint is not None:
                        constraint(net)
                if not all(np.isfinite(p).all() for p in net.parameters()):
                    _diverged(net, snapshot, optimizer, epoch, "parameters non-finite")
            record = EpochRecord(epoch, cost_sum / n, eta=getattr(optimizer, "eta", None))
            if augment is not None:
                record.augment_seconds = augment_seconds
            if eval_data is not None:
                record.eval_cost, record.eval_accuracy = evaluate(net, *eval_data)
            record.seconds = time.perf_counter() - start
            history.epochs.append(record)
            if on_epoch_end is not None and on_epoch_end(net, record):
                break  # e.g. early stopping
    except KeyboardInterrupt as exc:
        exc.history = history  # type: ignore[attr-defined]
        raise
    return history
