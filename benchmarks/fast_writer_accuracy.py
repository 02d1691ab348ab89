"""Does a model care which engine drew its training set? The same network trained on the
reference's and on the fast engine's images (same characters, seeds, styles), each scored on
held-out writers drawn by both engines and, optionally, on real handwriting.

    OPENBLAS_NUM_THREADS=1 python benchmarks/fast_writer_accuracy.py [--chars hiragana] \\
        [--per-class 100] [--test-per-class 50] [--epochs 8] \\
        [--real ../shared/data/handwriting/tegaki/writer1-hiragana.charcol.gz]

Prints each (training engine, test set) accuracy with n and a 95 % Wilson interval. Training
uses seed 0 (sample seed and weights), the test sets seed 1 (other writers); nothing here is
chosen on a test set: the recipe is the hiragana row of docs/kanji.md, shortened.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mojinet.data import kanji
from mojinet.data.strokes import read_strokes
from mojinet.data.strokeset import label_index, render_samples
from mojinet.nn.network import Network
from mojinet.nn.optim import make_optimizer
from mojinet.nn.train import evaluate, train
from mojinet.real_eval import wilson_interval

ENGINES = ("reference", "fast")


def fit(X: np.ndarray, y: np.ndarray, n_classes: int, epochs: int) -> Network:
    net = Network([X.shape[1], 256, n_classes], ["relu", "softmax"], "cross-entropy",
                  init="he", seed=0)
    opt = make_optimizer("sgd", 0.05, momentum=0.9, weight_decay=1e-4)
    train(net, X, y, optimizer=opt, epochs=epochs, batch_size=64,
          rng=np.random.default_rng(0), progress=False)
    return net


def flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 255


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chars", default="hiragana")
    p.add_argument("--per-class", type=int, default=100)
    p.add_argument("--test-per-class", type=int, default=50)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--real", nargs="*", default=[], help="strokes files of real handwriting")
    args = p.parse_args()
    chars = kanji.resolve_chars(args.chars)
    tests = {}
    for engine in ENGINES:
        images, y = kanji.render_images(chars, args.test_per_class, args.size, 1, engine=engine)
        tests[f"held-out writers, {engine}"] = (flat(images), y)
    for path in args.real:
        samples = read_strokes(path)
        keep, y, _ = label_index(samples, chars)
        for engine in ENGINES:
            images = render_samples([samples[i] for i in keep], args.size, engine=engine)
            tests[f"real {path.rsplit('/', 1)[-1]}, {engine}"] = (flat(images), y)
    print(f"{len(chars)} classes, {args.per_class}/class training, {args.epochs} epochs, "
          f"1024-256-{len(chars)} ReLU, size {args.size}")
    for engine in ENGINES:
        t = time.perf_counter()
        images, y = kanji.render_images(chars, args.per_class, args.size, 0, engine=engine)
        drawn = time.perf_counter() - t
        net = fit(flat(images), y, len(chars), args.epochs)
        for name, (X, yt) in tests.items():
            hits = round(evaluate(net, X, yt)[1] * len(yt))
            lo, hi = wilson_interval(hits, len(yt))
            print(f"trained on {engine:9} (drawn in {drawn:5.1f} s) → {name:38}: "
                  f"{hits / len(yt):7.2%} [{lo:.2%}, {hi:.2%}] (n = {len(yt)})")


if __name__ == "__main__":
    main()
