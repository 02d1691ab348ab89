"""Random initialisation of weights and biases, always from an explicit np.random.Generator.

- ``normal``: the chapter's (and Nielsen's ``large_weight_initializer``): every weight and bias
  drawn from N(0, 1).
- ``xavier``: Glorot & Bengio (2010), W ~ N(0, 2 / (fan_in + fan_out)), biases 0. Suits sigmoid
  and tanh: it keeps weighted inputs z small enough that neurons do not start saturated.
- ``he``: He et al. (2015), W ~ N(0, 2 / fan_in), biases 0. Suits ReLU.
"""

from __future__ import annotations

import numpy as np

INITIALISERS = ("normal", "xavier", "he")


def init_layer(
    fan_in: int, fan_out: int, scheme: str, rng: np.random.Generator, dtype=np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """Return (W, b) with W: (fan_in, fan_out) and b: (fan_out,)."""
    if scheme == "normal":
        std, bias_std = 1.0, 1.0
    elif scheme == "xavier":
        std, bias_std = np.sqrt(2.0 / (fan_in + fan_out)), 0.0
    elif scheme == "he":
        std, bias_std = np.sqrt(2.0 / fan_in), 0.0
    else:
        raise ValueError(
            f"unknown initialiser {scheme!r}; choose one of: {', '.join(INITIALISERS)}"
        )
    W = (std * rng.standard_normal((fan_in, fan_out))).astype(dtype)  # (fan_in, fan_out)
    b = (bias_std * rng.standard_normal(fan_out)).astype(dtype)  # (fan_out,)
    return W, b
