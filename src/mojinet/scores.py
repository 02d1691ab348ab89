"""What the output layer's numbers mean, named honestly: probabilities or activations and shares.

A softmax output layer gives probabilities: its activations are positive and sum to 1. Any other
output layer (the chapter's sigmoid outputs) gives one independent activation per class,
a = σ(z) in [0, 1]; an activation of 0.05 is a weak "no", whatever the others do. Scaling the
activations to sum to 1 (``Model.probabilities``) gives each class's *share* of the total, which
ranks the classes the same way but is not a probability: with every activation near 0.05, the
best one still gets a large share.

``candidates`` gives, for one input, the best classes with all three numbers; ``describe`` says
one candidate in words fit for the output layer (``7 98.1%`` for a softmax, ``7 a = 0.93 (share
61.0%)`` otherwise). The command line (``mojinet predict``) and the draw page use both.
"""

from __future__ import annotations

import numpy as np

PROBABILITY = "probability"
ACTIVATION = "activation"


def output_kind(network) -> str:
    """``"probability"`` for a softmax output layer, ``"activation"`` for any other."""
    return PROBABILITY if network.activations[-1].name == "softmax" else ACTIVATION


def shares(A: np.ndarray) -> np.ndarray:
    """Each output's share of the row's total activation (negative ones count as 0): (batch, n).

    A row with no positive activation shares equally. For a softmax output: A itself."""
    A = np.clip(np.asarray(A, dtype=np.float64), 0.0, None)  # (batch, n)
    total = A.sum(axis=1, keepdims=True)  # (batch, 1)
    return np.divide(A, total, out=np.full_like(A, 1 / A.shape[1]), where=total > 0)


def candidates(model, a: np.ndarray, k: int, decimals: int = 6) -> list[dict]:
    """The k best classes for one output row ``a`` (n_classes,), best first.

    Each: ``label``, ``index``, ``activation`` (the output neuron's aᴸⱼ), ``share`` (aⱼ / Σₖ aₖ)
    and ``probability`` — for a softmax the probability (= activation = share); for other outputs
    the share, kept under that name for older clients. Rounded to ``decimals`` places.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1)  # (n_classes,)
    s = a if output_kind(model.network) == PROBABILITY else shares(a[None, :])[0]
    k = max(1, min(int(k), a.size))
    best = np.argsort(-s, kind="stable")[:k]  # (k,)
    return [{"label": model.classes[j], "index": int(j),
             "activation": round(float(a[j]), decimals), "share": round(float(s[j]), decimals),
             "probability": round(float(s[j]), decimals)} for j in best]


def describe(candidate: dict, kind: str) -> str:
    """One candidate in words: ``7 98.1%`` (probability) or ``7 a = 0.93 (share 61.0%)``."""
    if kind == PROBABILITY:
        return f"{candidate['label']} {candidate['probability']:.1%}"
    a, share = candidate["activation"], candidate["share"]
    return f"{candidate['label']} a = {a:.2f} (share {share:.1%})"
