"""KMNIST held-out accuracy: train an MLP on 8,000 images of the real KMNIST test split and
measure it on the other 2,000 (seeded split), since only the test split is at hand here.

    python examples/kmnist_heldout.py --data-dir ../shared/data/kmnist

Prints the accuracy on the 2,000 held-out images after each epoch and at the end.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mojinet
from mojinet.nn.schedules import make_schedule


def main(argv=None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", help="folder with the KMNIST files (default: cache/download)")
    p.add_argument("--holdout", type=int, default=2000)
    p.add_argument("--hidden", type=int, nargs="*", default=[100])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--eta", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    data = mojinet.load_dataset("kmnist", "test", data_dir=args.data_dir)
    train_set, held_out = data.split(args.holdout, seed=args.seed)
    sizes = [data.n_features, *args.hidden, data.n_classes]
    activations = ["relu"] * len(args.hidden) + ["softmax"]
    net = mojinet.Network(sizes, activations, "cross-entropy", init="he", seed=args.seed)
    print(f"KMNIST test split: {len(train_set):,} to train, {len(held_out):,} held out; "
          f"network {'-'.join(map(str, sizes))} relu/softmax, cross-entropy")
    started = time.perf_counter()
    mojinet.train(
        net, train_set.X, train_set.y,
        optimizer=mojinet.SGD(args.eta, momentum=args.momentum, weight_decay=args.weight_decay),
        epochs=args.epochs, batch_size=args.batch_size, rng=np.random.default_rng(args.seed),
        eval_data=(held_out.X, held_out.y),
        schedule=make_schedule("cosine", args.eta, args.epochs),
        on_epoch_end=lambda n, r: print(f"epoch {r.epoch:>3}: held-out accuracy "
                                        f"{r.eval_accuracy:.2%}", flush=True),
    )
    _, accuracy = mojinet.evaluate(net, held_out.X, held_out.y)
    print(f"held-out accuracy {accuracy:.2%} ({round(accuracy * len(held_out))} of "
          f"{len(held_out)}) after {args.epochs} epochs, {time.perf_counter() - started:.1f} s")
    return accuracy


if __name__ == "__main__":
    main()
