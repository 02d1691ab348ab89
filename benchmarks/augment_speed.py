"""How much of an epoch does data augmentation take? Images/second of ``Augment`` against the
training step (backprop + optimiser step) of the preset networks, measured interleaved in one run.

    OPENBLAS_NUM_THREADS=1 python benchmarks/augment_speed.py [--images 6000] [--repeats 3]

Prints, per configuration, the median images per CPU-second and the fraction of (augment + train)
time spent augmenting. Times are the process's CPU time (time.process_time), not wall time: on a
shared machine a waiting process accumulates wall time but not CPU time. Run single-threaded
(OPENBLAS_NUM_THREADS=1) so that CPU time is also what an idle core would take.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mojinet import load_dataset
from mojinet.data.augment import Augment, describe
from mojinet.nn.network import Network
from mojinet.nn.optim import make_optimizer
from mojinet.nn.train import AUGMENT_CHUNK, one_hot
from mojinet.presets import PRESETS


def preset_parts(name: str):
    a = PRESETS[name].config
    sizes = [784, *a.hidden, 10]
    net = Network(sizes, list(a.layer_activations), a.cost, init=a.init, seed=0)
    opt = make_optimizer(a.optimizer, a.eta, momentum=a.momentum, nesterov=a.nesterov,
                         weight_decay=a.weight_decay)
    aug = Augment((28, 28), rotate=a.rotate, scale=a.scale, shift=a.shift,
                  elastic_alpha=a.elastic_alpha, elastic_sigma=a.elastic_sigma)
    return net, opt, aug, a.batch_size


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=6000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--presets", nargs="+", default=["chapter-tuned", "best-cpu", "record"])
    args = p.parse_args()
    data = load_dataset("mnist", "train").subset(args.images)
    X, Y = data.X, one_hot(data.y, 10)
    rng = np.random.default_rng(0)
    parts = {name: preset_parts(name) for name in args.presets}
    times: dict[str, dict[str, list[float]]] = {n: {"augment": [], "train": []} for n in parts}
    for _ in range(args.repeats):
        for name, (net, opt, aug, batch) in parts.items():  # noqa: B007  # interleaved: same load for both
            t0 = time.process_time()
            for i in range(0, len(X), AUGMENT_CHUNK):
                aug(X[i : i + AUGMENT_CHUNK], rng)
            t1 = time.process_time()
            for i in range(0, len(X), batch):
                opt.step(net, net.backprop(X[i : i + batch], Y[i : i + batch]))
            t2 = time.process_time()
            times[name]["augment"].append(t1 - t0)
            times[name]["train"].append(t2 - t1)
    print(f"{args.images} images, chunks of {AUGMENT_CHUNK}, median of {args.repeats} runs")
    print(f"{'preset':<14} {'augmentation':<48} {'aug img/cpu-s':>14} {'train img/cpu-s':>16} "
          f"{'aug share':>10}")
    for name, (net, opt, aug, batch) in parts.items():  # noqa: B007
        ta, tt = (float(np.median(times[name][k])) for k in ("augment", "train"))
        print(f"{name:<14} {describe(aug):<48} {args.images / ta:>14,.0f} "
              f"{args.images / tt:>16,.0f} {ta / (ta + tt):>10.1%}")


if __name__ == "__main__":
    main()
