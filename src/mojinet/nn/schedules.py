"""Learning-rate schedules: η for each epoch, from the starting η₀ and the number of epochs.

- ``constant``: η₀ every epoch (the chapter's plain gradient descent).
- ``cosine``: η₀·½(1 + cos(π·e/E)) for epoch e = 0 … E−1, large steps early to get near a good
  minimum quickly, small steps late so that mini-batch noise stops jolting the network out of it.
- ``step``: halve η every ``step`` epochs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

SCHEDULES = ("constant", "cosine", "step")


def make_schedule(name: str, eta0: float, epochs: int, step: int = 10) -> Callable[[int], float]:
    """Return eta(e) for 0-based epoch e."""
    if name == "constant":
        return lambda e: eta0
    if name == "cosine":
        return lambda e: eta0 * 0.5 * (1 + math.cos(math.pi * e / max(epochs, 1)))
    if name == "step":
        return lambda e: eta0 * 0.5 ** (e // step)
    raise ValueError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
