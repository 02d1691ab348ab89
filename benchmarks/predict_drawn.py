"""How well does `mojinet predict` read real-looking pictures, compared with MNIST itself?

Default mode: takes MNIST test digits, draws each dark on a white 200×200 canvas at a random size
and place, saves it as JPEG (quality 85), runs it through the same preprocessing as `mojinet
predict`, and compares the model's accuracy on these pictures with its accuracy on the same
digits from MNIST.

``--photo``: the same digits photographed (tests/photos.py: lighting gradients, a shadow, grey
paper, ruled lines, pencil, blur, JPEG), per condition, read by `mojinet predict`'s
preprocessing and, beside it, by the global threshold it used before (to_grey → ink_map →
fit_and_center without the paper correction). Accuracies with n and 95 % Wilson intervals.

    python benchmarks/predict_drawn.py mojinet-mnist.npz --n 2000
    python benchmarks/predict_drawn.py mojinet-mnist.npz --photo --n 300
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from drawn import drawn_digit  # noqa: E402
from mojinet import load_dataset, load_model  # noqa: E402
from mojinet.data.images import (  # noqa: E402
    ImageError,
    fit_and_center,
    ink_map,
    open_image,
    to_grey,
    to_input,
)
from mojinet.real_eval import wilson_interval  # noqa: E402
from photos import CONDITIONS, photo, place  # noqa: E402


def _acc(hits: np.ndarray) -> str:
    k, n = int(hits.sum()), hits.size
    lo, hi = wilson_interval(k, n)
    return f"{k / n:6.1%} [{lo:5.1%}, {hi:5.1%}]"


def _old(b: bytes) -> np.ndarray:
    try:
        return fit_and_center(ink_map(to_grey(open_image(b)))).reshape(-1)
    except ImageError:
        return np.zeros(784, np.float32)


def _new(b: bytes) -> np.ndarray:
    try:
        return to_input(b).reshape(-1)
    except ImageError:
        return np.zeros(784, np.float32)


def photo_mode(model, test, idx, rng) -> None:
    y = test.y[idx]
    on_mnist = model.network.predict(test.X[idx]) == y
    print(f"n = {idx.size} MNIST test digits per condition; on the MNIST images themselves "
          f"{_acc(on_mnist)}")
    head = ("condition", "predict (paper corrected)", "global threshold (before)")
    print(f"{head[0]:14s}  {head[1]:27s}  {head[2]:27s}")
    for name, light in CONDITIONS.items():
        files = [photo(place(test.images()[i], rng), rng, light) for i in idx]
        new = model.network.predict(np.stack([_new(b) for b in files])) == y
        old = model.network.predict(np.stack([_old(b) for b in files])) == y
        print(f"{name:14s}  {_acc(new):27s}  {_acc(old):27s}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--n", type=int, default=2000, help="how many test digits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--photo", action="store_true", help="photo-like pictures, per condition")
    args = p.parse_args()
    model = load_model(args.model)
    test = load_dataset("mnist", "test")
    rng = np.random.default_rng(args.seed)
    idx = rng.choice(len(test), args.n, replace=False)
    if args.photo:
        photo_mode(model, test, idx, rng)
        return
    X = np.stack([to_input(drawn_digit(test.images()[i], rng)).reshape(-1) for i in idx])
    on_pictures = np.mean(model.network.predict(X) == test.y[idx])
    on_mnist = np.mean(model.network.predict(test.X[idx]) == test.y[idx])
    print(f"{args.n} digits: accuracy on drawn JPEGs {on_pictures:.2%}, on the same MNIST images "
          f"{on_mnist:.2%} (gap {100 * (on_mnist - on_pictures):.2f} points)")


if __name__ == "__main__":
    main()
