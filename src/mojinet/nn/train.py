"""Stochastic gradient descent over mini-batches: shuffle, split, one step per batch, epochs.

``train`` is the loop the chapter describes. Each epoch shuffles the training samples with the
given Generator, splits them into mini-batches of ``batch_size`` rows (``batch_size = n`` is
full-batch gradient descent), and for each batch asks the network for the gradient (backprop) and
the optimiser for a step. After each epoch it records the mean training cost (averaged over the
epoch's batches, each measured just before its step) and, when an evaluation set is given, its
cost and accuracy.

Training aids, all optional and off by default (issue 4): ``augment(X_chunk, rng)`` distorts the
images before backprop, a chunk of whole mini-batches at a time (``data.augment``), ``dropout``
draws masks for backprop (``regularize.Dropout``), ``constraint(net)`` runs after each step
(``regularize.MaxNorm``), and ``on_epoch_end`` may return True to stop early
(``callbacks.EarlyStopping``).

The steps themselves are ``ReferenceSteps`` — backprop, then the optimiser's step — unless a fast
engine's trainer is passed as ``steps`` (``mojinet.engines``; ``mojinet.train`` picks one). Both
see the same shuffled batches and the same random draws, so they give the same numbers.

If the cost stops being finite, the network is put back as it was at the start of that epoch and
``TrainingDiverged`` says what to change.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from .network import Network
from .regularize import Dropout

# Images distorted per call of ``augment`` (rounded up to whole mini-batches): one call per
# mini-batch of 10 would spend most of its time on per-call overhead.
AUGMENT_CHUNK = 1000
# Runs of mini-batches an epoch is split into when the schedule is per step (``schedules``): η is
# set before each, so it follows the schedule within ~1/20 of an epoch.
STEP_CHUNKS = 20


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

    def _repr_html_(self) -> str:  # Jupyter: the curves and the last epochs
        from .display import history_html

        return history_html(self)


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


class ReferenceSteps:
    """The chapter's step, batch by batch: ``Network.backprop`` then ``optimizer.step`` (and the
    max-norm ``constraint``); with ``dropout``, masks drawn from ``rng`` for each batch.

    ``run`` is the interface the fast engines (``mojinet.engines``) implement too, and this class
    is what they are tested against.
    """

    engine = "reference"

    def __init__(self, net, optimizer, batch_size: int, rng: np.random.Generator,
                 dropout: Dropout | None = None, constraint: Callable | None = None):
        self.net, self.optimizer, self.batch_size = net, optimizer, batch_size
        self.rng, self.dropout, self.constraint = rng, dropout, constraint

    def run(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray, start: int,
            stop: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Train on the batches ``order[i : i + batch_size]`` for i = start, start + batch_size, …
        < stop. Returns each batch's cost before its step; stops after the first batch whose cost
        is not finite, without taking that step. ``weights`` (n,): a weight per row of X
        (``Network.backprop``); None: every sample counts once."""
        costs = []
        for i in range(start, stop, self.batch_size):
            idx = order[i : i + self.batch_size]
            s = None if weights is None else weights[idx]  # (batch,)
            masks = None
            if self.dropout:  # masks drawn here; backprop itself stays pure
                masks = self.dropout.masks(self.net, len(idx), self.rng)
            if s is None:  # (a TwoHeadNetwork takes no weights)
                grads = self.net.backprop(X[idx], Y[idx], masks)
            else:
                grads = self.net.backprop(X[idx], Y[idx], masks, s)
            costs.append(grads.cost)
            if not np.isfinite(grads.cost):
                break
            self.optimizer.step(self.net, grads)  # one step per batch
            if self.constraint is not None:
                self.constraint(self.net)
        return np.array(costs, dtype=np.float64)


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
    steps=None,
    sample_weight: np.ndarray | None = None,
) -> History:
    """Train ``net`` in place on samples X (n, n_in) with class indices y (n,).

    ``schedule(e)`` gives the learning rate for 0-based epoch e (see ``schedules``); it counts
    from the first epoch in ``history``, so training can resume. ``on_epoch_end(net, record)`` is
    called after each epoch (printing, checkpoints); if it returns True, training stops there.
    ``augment``, ``dropout`` and ``constraint``: see the module docstring. ``targets`` (n, n_out),
    if given, are the wanted outputs instead of one-hot rows of y (soft targets from a teacher
    network, ``nn/distill.py``); y still gives the labels for reporting. ``steps``: what does the
    mini-batch steps — default ``ReferenceSteps``; a fast engine's trainer
    (``mojinet.engines.select``) made for this net, optimiser and batch size gives the same
    numbers in fewer calls. ``sample_weight`` (n,): how much each sample counts in the cost
    (C = (1/batch) Σ sₓ Cₓ per mini-batch, see ``costs.py``); None: each counts once. Returns the
    ``History``; on KeyboardInterrupt the history so far is attached as ``exc.history``.
    """
    X, Y = _check_training_data(net, X, y, batch_size, epochs, targets)
    weights = _check_sample_weight(net, sample_weight, len(X))
    history = history if history is not None else History()
    if progress is None:
        progress = sys.stderr.isatty()
    if steps is None:
        steps = ReferenceSteps(net, optimizer, batch_size, rng, dropout, constraint)
    elif dropout or constraint is not None:
        raise ValueError(f"the {steps.engine} engine does no dropout or max-norm; leave steps "
                         f"out (the reference loop does them)")
    first = len(history.epochs) + 1
    try:
        for epoch in range(first, first + epochs):
            start = time.perf_counter()
            if schedule is not None:
                optimizer.eta = schedule(epoch - 1)
            snapshot = [p.copy() for p in net.parameters()]
            # Overflow is not an error here: a blow-up shows as a non-finite cost or parameter,
            # which is checked below and answered with TrainingDiverged.
            with np.errstate(over="ignore", invalid="ignore"):
                record = _epoch(net, X, Y, steps, rng, augment, progress, epoch, weights,
                                _eta_setter(optimizer, schedule))
                if not np.isfinite(record.train_cost):
                    _diverged(net, snapshot, optimizer, epoch, f"cost {record.train_cost}")
                if not all(np.isfinite(p).all() for p in net.parameters()):
                    _diverged(net, snapshot, optimizer, epoch, "parameters non-finite")
            record.eta = getattr(optimizer, "eta", None)
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


def _check_training_data(net, X, y, batch_size: int, epochs: int, targets):
    """(X, Y) in the network's dtype, Y the one-hot wanted outputs (or ``targets``)."""
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
    return X, Y


def _check_sample_weight(net, sample_weight, n: int) -> np.ndarray | None:
    """Per-sample weights (n,) in the network's dtype, finite and >= 0 (None stays None)."""
    if sample_weight is None:
        return None
    weights = net.check_weights(sample_weight, n)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample weights must be finite and >= 0")
    return weights


def _eta_setter(optimizer, schedule) -> Callable[[float], None] | None:
    """For a per-step schedule, set_eta(t) sets η for t epochs done (a float); else None."""
    if schedule is None or not getattr(schedule, "per_step", False):
        return None

    def set_eta(t: float) -> None:
        optimizer.eta = schedule(t)

    return set_eta


def _epoch(net, X, Y, steps, rng, augment, progress: bool, epoch: int,
           weights: np.ndarray | None = None,
           set_eta: Callable[[float], None] | None = None) -> EpochRecord:
    """One pass: shuffle, then the mini-batches in chunks of whole batches (a chunk of images is
    distorted at once when augmenting; chunks also pace the progress bar). The record's cost is
    not finite if a batch's was (that batch and the rest are not done). ``set_eta(t)``, for a
    per-step schedule, is called before each chunk with the epochs done at the chunk's middle."""
    n, m = len(X), steps.batch_size
    order = rng.permutation(n)  # shuffle
    chunk = n
    if augment is not None:  # one call per mini-batch of 10 would be mostly per-call overhead
        chunk = m * -(-AUGMENT_CHUNK // m)
    elif progress:
        chunk = max(m, (n // 100) // m * m)  # ~100 progress updates
    if set_eta is not None:  # η follows the schedule within the epoch
        chunk = min(chunk, m * -(-n // (STEP_CHUNKS * m)))
    bar = _progress_bar(len(range(0, n, m)), f"epoch {epoch}") if progress else None
    cost_sum, augment_seconds = 0.0, 0.0
    try:
        for first in range(0, n, chunk):
            rows = order[first : first + chunk]  # whole mini-batches of the shuffled samples
            if set_eta is not None:
                set_eta(epoch - 1 + (first + len(rows) / 2) / n)
            with_weights = {} if weights is None else {"weights": weights}
            if augment is None:
                costs = steps.run(X, Y, order, first, first + len(rows), **with_weights)
            else:  # distort this chunk's images afresh
                t0 = time.perf_counter()
                distorted = augment(X[rows], rng)  # (chunk, n_in)
                augment_seconds += time.perf_counter() - t0
                if weights is not None:
                    with_weights = {"weights": weights[rows]}  # (chunk,)
                costs = steps.run(distorted, Y[rows], np.arange(len(rows)), 0, len(rows),
                                  **with_weights)
            sizes = np.minimum(m, len(rows) - m * np.arange(len(costs)))  # rows per batch
            cost_sum += float(costs @ sizes)
            if bar is not None:
                bar.update(len(costs))
            if len(costs) and not np.isfinite(costs[-1]):
                cost_sum = float(costs[-1])
                break
    finally:
        if bar is not None:
            bar.close()
    record = EpochRecord(epoch, cost_sum / n)
    if augment is not None:
        record.augment_seconds = augment_seconds
    return record


def _progress_bar(total: int, desc: str):
    from tqdm.auto import tqdm  # a widget in Jupyter, text on a terminal

    return tqdm(total=total, desc=desc, unit="batch", leave=False)
