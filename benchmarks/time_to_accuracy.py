"""Time to accuracy: wall seconds and epochs until MNIST test accuracy first reaches 98% and 99%.

    python -m benchmarks.time_to_accuracy                 # the fast presets, mojinet and torch
    python -m benchmarks.time_to_accuracy --recipes best-cpu --peers mojinet
    python -m benchmarks.time_to_accuracy --validation    # choosing recipes: no test set

A recipe is a preset (``mojinet.presets``), chosen beforehand on validation data (``--validation``:
train on 50,000 training images, check on the other 10,000; see docs/benchmarks.md for how the
presets were chosen). The benchmark then trains on all 60,000 and checks the test accuracy after
every epoch (the check is part of the wall time, as it is for a user watching the run); a run stops
once the highest target is reached or its epochs are done. The wall clock starts in the parent
just before the peer's process is started, so it includes starting Python, importing the peer
(and Numba's cached kernels), loading the data and making the network; the CPU seconds are the
peer process's own (all its threads, from its start: on a shared machine the honest number).
Before the timed runs each peer trains its recipe once, untimed, for one epoch on 2,000 images
(``--no-warm-up`` skips it): the first run after installing compiles Numba's kernels into its
on-disk cache (~15 s, once), which later runs — a user's second training, every timed run here —
only load. The warm-up's wall time is printed.

Peers, each in a process of its own with --threads threads (BLAS, Numba, torch):
  mojinet   ``runner.run`` with the preset's config, as ``mojinet train --preset NAME`` runs it
  torch     torch==2.13.0 CPU, the same recipe: the same layers and initial weights, the training
            set distorted afresh every epoch by mojinet's own Augment (the same distortions, not
            the same random draws), SGD with the same batch size, momentum, Nesterov flag, weight
            decay (weights only) and η schedule (per epoch, or for a per-step schedule such as
            onecycle set before each of the same runs of batches as mojinet's loop), the
            cross-entropy on a softmax output

Repeats alternate the peers (mojinet, torch, mojinet, …) so that other people's load on the shared
machine falls on both; medians and the spread are printed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time

import numpy as np

TARGETS = (0.98, 0.99)
DEFAULT_RECIPES = "fast-98,fast-99"


def _limit_threads(threads: int) -> None:
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)


def _config(recipe: str, validation: bool, options: dict):
    """The preset's config with ``options`` changed (e.g. {"epochs": 5}), saving nothing."""
    from mojinet.presets import get_preset

    config = get_preset(recipe).config.replace(out=None, validation=10_000 if validation else 0)
    return config.replace(**options)


def _mojinet(recipe: str, validation: bool, options: dict, threads: int,
             start: float) -> list[tuple]:
    """(epoch, wall seconds since ``start`` (time.time()), CPU seconds of this process, accuracy)
    after every epoch of the preset's run."""
    _limit_threads(threads)
    from mojinet import runner

    config = _config(recipe, validation, options)
    trace = []

    def check(net, record) -> bool:
        trace.append((record.epoch, time.time() - start, time.process_time(),
                      record.eval_accuracy))
        return record.eval_accuracy >= max(TARGETS)

    runner.run(config, callbacks=[check])
    return trace


def _torch(recipe: str, validation: bool, options: dict, threads: int,
           start: float) -> list[tuple]:
    """The same recipe in PyTorch (see the module docstring); the trace as ``_mojinet``'s."""
    _limit_threads(threads)
    import torch

    from mojinet import Network
    from mojinet.data.augment import Augment
    from mojinet.nn.schedules import make_schedule
    from mojinet.nn.train import AUGMENT_CHUNK, STEP_CHUNKS
    from mojinet.runner import load_data

    torch.set_num_threads(threads)
    c = _config(recipe, validation, options)
    data = load_data(c)
    sizes = [data.train.n_features, *c.hidden, data.train.n_classes]
    net = Network(sizes, list(c.layer_activations), c.cost, init=c.init, seed=c.seed)  # as runner
    augment = Augment(data.train.image_shape, rotate=c.rotate, scale=c.scale, shift=c.shift,
                      elastic_alpha=c.elastic_alpha, elastic_sigma=c.elastic_sigma)
    model = _torch_model(torch, net)
    opt = torch.optim.SGD(model.parameters(), lr=c.eta, momentum=c.momentum,
                          nesterov=c.nesterov, weight_decay=0.0)
    decay = c.weight_decay  # mojinet decays weights only, not biases
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    schedule = make_schedule(c.schedule, c.eta, c.epochs, c.step_size, gamma=c.gamma,
                             warmup=c.warmup)
    rng = np.random.default_rng(c.seed)
    X, y = data.train.X, torch.from_numpy(data.train.y)
    eval_X, eval_y = torch.from_numpy(data.eval.X), torch.from_numpy(data.eval.y)
    per_step = getattr(schedule, "per_step", False)
    n, m = len(X), c.batch_size
    chunk = m * -(-n // (STEP_CHUNKS * m))  # the runs of batches of mojinet's loop (per step)
    if augment:  # there the loop's runs are the chunks it distorts at once, when smaller
        chunk = min(chunk, m * -(-AUGMENT_CHUNK // m))
    trace = []
    for epoch in range(c.epochs):
        for group in opt.param_groups:
            group["lr"] = schedule(epoch)
        order = rng.permutation(len(X))
        Xe = torch.from_numpy(augment(X, rng) if augment else X)
        for i in range(0, len(order), c.batch_size):
            if per_step and i % chunk == 0:
                mid = epoch + (i + min(chunk, n - i) / 2) / n
                for group in opt.param_groups:
                    group["lr"] = schedule(mid)
            idx = torch.from_numpy(order[i : i + c.batch_size])
            loss = torch.nn.functional.cross_entropy(model(Xe[idx]), y[idx])
            if decay:
                loss = loss + 0.5 * decay * sum((W * W).sum() for W in weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.inference_mode():
            accuracy = float((model(eval_X).argmax(1) == eval_y).float().mean())
        trace.append((epoch + 1, time.time() - start, time.process_time(), accuracy))
        if accuracy >= max(TARGETS):
            break
    return trace


def _torch_model(torch, net):
    """nn.Sequential of Linear + activation layers with the network's own initial weights
    (softmax left to cross_entropy, which takes logits)."""
    layers = []
    acts = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))  # (out, in)
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        name = net.activations[l].name
        if l < net.n_layers - 1:
            layers.append(acts[name]())
        elif name != "softmax":
            raise ValueError(f"the torch peer needs a softmax output, not {name}")
    return torch.nn.Sequential(*layers)


def _in_process(peer: str, *args) -> list[tuple]:
    """Run one peer's training in a fresh process (its own thread pools) and return its trace."""
    ctx = mp.get_context("spawn")
    start = time.time()  # before the process starts: its start-up is part of the time
    with ctx.Pool(1) as pool:
        return pool.apply(_mojinet if peer == "mojinet" else _torch, (*args, start))


def first_reaching(trace, target: float):
    """(epoch, wall seconds, CPU seconds) of the first check at or above target, or None."""
    for epoch, seconds, cpu, accuracy in trace:
        if accuracy >= target:
            return epoch, seconds, cpu
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.time_to_accuracy",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--recipes", default=DEFAULT_RECIPES, help="comma-separated preset names")
    ap.add_argument("--peers", default="mojinet,torch", help="mojinet,torch")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=1, help="runs per peer and recipe")
    ap.add_argument("--options", default="{}", metavar="JSON",
                    help='change the recipes\' options, e.g. \'{"epochs": 5, "eta": 0.1}\' '
                    "(for choosing recipes, with --validation)")
    ap.add_argument("--validation", action="store_true",
                    help="train on 50,000, check on the 10,000 held out (for choosing recipes)")
    ap.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                    help="time the first run too (it may compile Numba's kernels)")
    args = ap.parse_args(argv)
    where = "validation (10,000 held-out training images)" if args.validation else "test"
    print(f"time to accuracy — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, {args.threads} threads, load average "
          f"{os.getloadavg()[0]:.1f}; accuracy on the {where} set after every epoch")
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    options = json.loads(args.options)
    if options:
        print(f"options changed: {options}")
    for recipe in [r.strip() for r in args.recipes.split(",") if r.strip()]:
        runs: dict[str, list] = {p: [] for p in peers}
        if args.warm_up:
            _warm_up(recipe, peers, options, args.threads)
        for _ in range(args.repeats):
            for peer in peers:
                trace = _in_process(peer, recipe, args.validation, options, args.threads)
                runs[peer].append(trace)
                line = ", ".join(f"{e}: {100 * a:.2f}% at {s:.1f} s ({cpu:.1f} CPU-s)"
                                 for e, s, cpu, a in trace)
                print(f"  {recipe} {peer}: {line}", flush=True)
        _report(recipe, runs)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


def _warm_up(recipe: str, peers: list, options: dict, threads: int) -> None:
    """One untimed epoch on 2,000 images per peer: fills Numba's on-disk cache of kernels."""
    small = {**options, "epochs": 1, "limit": 2_000}
    for peer in peers:
        start = time.time()
        _in_process(peer, recipe, False, small, threads)
        print(f"  {recipe} {peer}: warm-up (1 epoch of 2,000 images, not timed) "
              f"{time.time() - start:.1f} s", flush=True)


def _report(recipe: str, runs: dict) -> None:
    print(f"== {recipe}")
    for peer, traces in runs.items():
        parts = []
        for target in TARGETS:
            hits = [first_reaching(t, target) for t in traces]
            got = [h for h in hits if h is not None]
            if not got:
                parts.append(f"{100 * target:.1f}%: not reached")
                continue
            secs, cpus = [s for _, s, _ in got], [c for _, _, c in got]
            epochs = statistics.median([e for e, _, _ in got])
            parts.append(f"{100 * target:.1f}%: {statistics.median(secs):.1f} s "
                         f"[{min(secs):.1f}–{max(secs):.1f}], "
                         f"{statistics.median(cpus):.1f} CPU-s, epoch {epochs:g} "
                         f"({len(got)}/{len(hits)} runs)")
        best = [max(a for *_, a in t) for t in traces]
        print(f"   {peer:8s} " + "; ".join(parts) + f"; best {100 * max(best):.2f}%")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
