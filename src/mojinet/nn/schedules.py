"""Learning-rate schedules: η for each epoch, from the starting η₀ and the number of epochs E.

- ``constant``: η₀ every epoch (the chapter's plain gradient descent).
- ``cosine``: η₀·½(1 + cos(π·e/E)) for epoch e = 0 … E−1, large steps early to get near a good
  minimum quickly, small steps late so that mini-batch noise stops jolting the network out of it.
- ``step``: η₀·γ^⌊e/k⌋, multiply η by γ (default ½) every k epochs.
- ``onecycle`` (Smith & Topin 2018, "Super-convergence"), per step rather than per epoch: over the
  first 30% of the run η rises linearly from η₀/10 to η₀, then falls as a cosine to 0 at the end.
  On MNIST validation it reached 98% in 3 epochs where the per-epoch cosine took 6 (issue 18,
  preset fast-98). ``warmup`` does not apply (the rise is its warm-up).
- warm-up (with constant, cosine, step): ``warmup`` = W epochs rising linearly, η₀·(e+1)/(W+1)
  for e < W (so W = 1 is one epoch at η₀/2), then the chosen schedule over the remaining E − W
  epochs. Large steps on a freshly initialised network can throw it far off; warm-up lets
  momentum and Adam's running means settle first.

η changes once per epoch (the training loop sets ``optimizer.eta`` before each epoch), except for a
schedule marked ``per_step`` (``onecycle``): it takes the fraction of epochs done, e + i/n after
i of an epoch's n samples, and the loop sets η before every run of mini-batches (STEP_CHUNKS runs
an epoch), which every engine reads. Non-goals: cyclic or adaptive ("reduce on plateau")
schedules.
"""

from __future__ import annotations

import math
from collections.abc import Callable

SCHEDULES = ("constant", "cosine", "step", "onecycle")
ONECYCLE_RISE = 0.3  # fraction of the run over which onecycle's η rises
ONECYCLE_START = 0.1  # onecycle's first η, as a fraction of η₀


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
    if name == "onecycle":
        if warmup:
            raise ValueError("the onecycle schedule has its own warm-up; leave warmup at 0")
        return _onecycle(eta0, epochs)
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


def _onecycle(eta0: float, epochs: int) -> Callable[[float], float]:
    """eta(t) for t epochs done (a float): linear rise over ONECYCLE_RISE of the run from
    ONECYCLE_START·η₀ to η₀, then a cosine down to 0 at t = epochs."""
    total = max(epochs, 1)

    def eta(t: float) -> float:
        u = min(max(t / total, 0.0), 1.0)  # fraction of the run done
        if u < ONECYCLE_RISE:
            return eta0 * (ONECYCLE_START + (1 - ONECYCLE_START) * u / ONECYCLE_RISE)
        return eta0 * 0.5 * (1 + math.cos(math.pi * (u - ONECYCLE_RISE) / (1 - ONECYCLE_RISE)))

    eta.per_step = True  # type: ignore[attr-defined]
    return eta
