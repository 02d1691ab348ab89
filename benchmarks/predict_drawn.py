"""How well does `mojinet predict` read real-looking pictures, compared with MNIST itself?

Takes MNIST test digits, draws each dark on a white 200×200 canvas at a random size and place,
saves it as JPEG (quality 85), runs it through the same preprocessing as `mojinet predict`, and
compares the model's accuracy on these pictures with its accuracy on the same digits from MNIST.

    python benchmarks/predict_drawn.py mojinet-mnist.npz --n 2000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from drawn import drawn_digit  # noqa: E402
from mojinet import load_dataset, load_model  # noqa: E402
from mojinet.data.images import to_input  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--n", type=int, default=2000, help="how many test digits")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    model = load_model(args.model)
    test = load_dataset("mnist", "test")
    rng = np.random.default_rng(args.seed)
    idx = rng.choice(len(test), args.n, replace=False)
    X = np.stack([to_input(drawn_digit(test.images()[i], rng)).reshape(-1) for i in idx])
    on_pictures = np.mean(model.network.predict(X) == test.y[idx])
    on_mnist = np.mean(model.network.predict(test.X[idx]) == test.y[idx])
    print(f"{args.n} digits: accuracy on drawn JPEGs {on_pictures:.2%}, on the same MNIST images "
          f"{on_mnist:.2%} (gap {100 * (on_mnist - on_pictures):.2f} points)")


if __name__ == "__main__":
    main()
