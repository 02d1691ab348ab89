"""What a training run will allocate, estimated before it does, and checked against free memory.

``estimate(config, n_train, n_features, n_classes)`` adds up, in float32 bytes: the parameters
P = Σ (fan_in + 1)·fan_out and their gradients (2·4P), the optimiser's state (SGD momentum one
more copy, Adam two), the best epoch's copy (``best``), the engine's batch buffers (inputs,
targets, and Zˡ, Aˡ, δˡ of every layer for min(batch_size, n_train) rows), the evaluation's
forward pass (10,000 rows), distorted images (one epoch's inputs, when augmenting), a teacher's
soft targets, and the float64 draw of the largest initial weight matrix. The data already loaded
is not counted: it is in memory, so it is not in what the system reports available.

``check(estimate)`` raises ``ConfigError`` when the total is over what ``memory.available_bytes``
reports, naming the big parts and what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ConfigError, RunConfig
from .memory import available_bytes, format_bytes

__all__ = ["Estimate", "check", "estimate"]

EVAL_ROWS = 10_000  # nn.train.evaluate's batch


@dataclass(frozen=True)
class Estimate:
    parts: dict[str, int]  # bytes per part

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def __str__(self) -> str:
        big = sorted(self.parts.items(), key=lambda kv: -kv[1])[:4]
        return (f"about {format_bytes(self.total)} ("
                + ", ".join(f"{name} {format_bytes(n)}" for name, n in big if n) + ")")


def estimate(c: RunConfig, n_train: int, n_features: int, n_classes: int,
             n_eval: int | None = None) -> Estimate:
    """The parts of what the run ``c`` allocates for ``n_train`` training images (``n_eval``:
    the largest split it evaluates; default ``n_train``)."""
    n_eval = n_train if n_eval is None else n_eval
    sizes = [n_features, *c.hidden, n_classes]
    params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    copies = {"sgd": 1 if c.momentum else 0, "adam": 2}.get(c.optimizer, 2)
    m = max(1, min(c.batch_size, n_train))
    rows = m * (sizes[0] + sizes[-1] + 3 * sum(sizes[1:]))
    return Estimate({
        "weights and gradients": 2 * 4 * params,
        "optimiser state": copies * 4 * params,
        "best epoch's copy": 4 * params if c.best else 0,
        "batch buffers": 4 * rows,
        "evaluation": 2 * 4 * min(EVAL_ROWS, max(n_eval, 1)) * sum(sizes),
        "distorted images": 4 * n_train * n_features if (c.rotate or c.scale or c.shift
                                                         or c.elastic_alpha) else 0,
        "teacher targets": 4 * n_train * n_classes if c.teacher else 0,
        "initial draw": 8 * max(a * b for a, b in zip(sizes[:-1], sizes[1:])),
    })


def check(needed: Estimate, available: int | None = None) -> None:
    """ConfigError when ``needed`` is over the memory available (None: ask the system)."""
    available = available_bytes() if available is None else available
    if available is None or needed.total <= available:
        return
    raise ConfigError(f"this run needs {needed}, but only {format_bytes(available)} of memory "
                      f"is available: use smaller or fewer hidden layers (--hidden), a smaller "
                      f"--batch-size, or fewer images (--limit)")
