"""Models side by side on the same real strokes, with a paired test: the ablation table's rows.

    python benchmarks/real_ablation.py BASE.npz OTHER.npz … --real PATH[,session=train] …

For every model: top-1 with n and a 95 % Wilson interval on all the given real samples within
its classes (drawn as ``mojinet real-eval`` draws them: default pen, as written, render seed
0). For every model after the first: the samples it reads right and the first does not, and
the reverse, with the two-sided exact sign (McNemar) test's p — on a small set, a difference of
a few samples is noise, and the paired count says so better than two overlapping intervals.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from mojinet.data.strokeset import label_index, render_samples, sample_key
from mojinet.io import load_model
from mojinet.real_eval import read_real, true_ranks, wilson_interval


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial p of ``wins`` against ``losses`` under p = ½ (McNemar)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def correct(model, samples) -> tuple[np.ndarray, list[str]]:
    """(n,) bool: each sample within the model's classes read right; their labels."""
    keep, y, _ = label_index(samples, model.classes)
    kept = [samples[i] for i in keep]
    size = model.image_shape[0]
    images = render_samples(kept, size, 0, "default", False,
                            keys=[sample_key(s) for s in kept])  # as real-eval draws them
    X = images.reshape(len(kept), -1).astype(np.float32) / np.float32(255)
    ranks, _ = true_ranks(model, X, y)
    return ranks == 0, [s.origin for s in kept]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--real", nargs="+", required=True)
    args = p.parse_args()
    samples, _ = read_real(args.real)
    base = None
    for path in args.models:
        right, origins = correct(load_model(path), samples)
        lo, hi = wilson_interval(int(right.sum()), len(right))
        line = (f"{path}: n {len(right)}  top-1 {right.mean():.2%} [{lo:.1%}, {hi:.1%}]")
        if base is None:
            base = (right, origins)
        elif origins == base[1]:
            wins, losses = int((right & ~base[0]).sum()), int((~right & base[0]).sum())
            line += (f"  vs first: +{wins} −{losses} (sign test p = "
                     f"{sign_test(wins, losses):.3f})")
        else:
            line += "  (other classes than the first: no paired test)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
