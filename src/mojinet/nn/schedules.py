"""Learning-rate schedules: η for each epoch, from the starting η₀ and the number of epochs E.

- ``constant``: η₀ every epoch (the chapter's plain gradient descent).
- ``cosine``: η₀·½(1 + cos(π·e/E)) for epoch e = 0 … E−1, large steps early to get near a good
  minimum quickly, small steps late so that mini-batch noise stops jolting the network out of it.
- ``step``: η₀·γ^⌊e/k⌋, multiply η by γ (default ½) every k epochs.
- warm-up (with any of them): ``warmup`` = W epochs rising linearly, η₀·(e+1)/(W+1) for e < W
  (so W = 1 is one epoch at η₀/2), then the chosen schedule over the remaining E − W epochs.
  Large steps on a freshly initialised network can throw it far off; warm-up lets momentum and
  Adam's running means settle first.

η changes once per epoch (the training loop sets ``optimizer.eta`` before each epoch).
Non-goals: per-batch schedules, cyclic or adaptive ("reduce on plateau") schedules.
"""

from __future__ import annotations

import math
from collections.abc import Callable

SCHEDULES = ("constant", "cosine", "step")


def make_schedule(
    name: str, eta0: float, epochs: int, step: int = 10, *, gamma: float = 0.5, warmup: int = 0
) -> Callable[[int], float]:
    """Return eta(e) for 0-based epoch e."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
    if step < 1:
        raise ValueError(f"the step schedule needs step >= 1 epoch, got {step}")
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must be in (0, 1], got {gamma}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0 epochs, got {warmup}")
    rest = max(epochs - warmup, 1)  # epochs left for the main schedule

    def main(e: int) -> float:
        if name == "cosine":
            return eta0 * 0.5 * (1 + math.cos(math.pi * e / rest))
        if name == "step":
            return eta0 * gamma ** (e // step)
        return eta0

    def eta(e: int) -> float:
        if e < warmup:
            return eta0 * (e + 1) / (warmup + 1)  # linear warm-up towards η₀
        return main(e - warmup)

    return eta
