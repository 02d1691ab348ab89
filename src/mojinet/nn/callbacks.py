"""Things to do after each epoch: keep the best network, stop when it stops improving.

``train(..., on_epoch_end=f)`` calls ``f(net, record)`` after every epoch and stops if it returns
True. These classes are such functions:

- ``BestCheckpoint``: remembers a copy of the parameters from the epoch with the highest
  evaluation accuracy; ``restore(net)`` puts them back. Use it with a *validation* split held out
  of the training set: picking the best epoch by test accuracy would report a number tuned on the
  test set.
- ``EarlyStopping``: True once the evaluation accuracy has not improved by more than
  ``min_delta`` for ``patience`` epochs in a row (Nielsen's "no-improvement-in-n" rule).
- ``chain(f, g, …)``: call several in order; stop if any says stop.

Non-goals: stopping on the training cost, saving files (the CLI saves the model after each epoch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .network import Network
from .train import EpochRecord

Callback = Callable[[Network, EpochRecord], "bool | None"]


def _accuracy(record: EpochRecord) -> float:
    if record.eval_accuracy is None:
        raise ValueError("this callback needs an evaluation set: pass eval_data to train "
                         "(on the command line: --validation N)")
    return record.eval_accuracy


@dataclass
class BestCheckpoint:
    """Keep the parameters of the most accurate epoch so far (ties keep the earlier epoch)."""

    best_accuracy: float = -np.inf
    best_epoch: int | None = None
    params: list[np.ndarray] | None = field(default=None, repr=False)

    def __call__(self, net: Network, record: EpochRecord) -> bool:
        accuracy = _accuracy(record)
        if accuracy > self.best_accuracy:
            self.best_accuracy, self.best_epoch = accuracy, record.epoch
            self.params = [p.copy() for p in net.parameters()]
        return False

    def restore(self, net: Network) -> None:
        """Put the best epoch's parameters back into ``net`` (in place)."""
        if self.params is None:
            raise RuntimeError("no epoch has been checkpointed yet")
        for p, saved in zip(net.parameters(), self.params):
            p[...] = saved


@dataclass
class EarlyStopping:
    """Stop after ``patience`` epochs without an accuracy gain larger than ``min_delta``."""

    patience: int = 10
    min_delta: float = 0.0
    best_accuracy: float = -np.inf
    waited: int = 0

    def __post_init__(self):
        if self.patience < 1:
            raise ValueError(f"early-stopping patience must be >= 1 epoch, got {self.patience}")

    def __call__(self, net: Network, record: EpochRecord) -> bool:
        accuracy = _accuracy(record)
        if accuracy > self.best_accuracy + self.min_delta:
            self.best_accuracy, self.waited = accuracy, 0
            return False
        self.waited += 1
        return self.waited >= self.patience


def chain(*callbacks: Callback | None) -> Callback:
    """One callback that calls each of ``callbacks`` (skipping None) and stops if any asks to."""
    active = [c for c in callbacks if c is not None]

    def on_epoch_end(net: Network, record: EpochRecord) -> bool:
        stop = False
        for c in active:
            stop = bool(c(net, record)) or stop  # every callback runs, even after a stop
        return stop

    return on_epoch_end
