"""mojinet against PyTorch (CPU) and scikit-learn's MLPClassifier: same networks, same MNIST.

    python -m benchmarks.run                 # all configurations, 1 warm-up + 4 timed epochs
    python -m benchmarks.run --quick         # 1 warm-up + 2 timed epochs, fewer inference calls
    python -m benchmarks.run --configs A --epochs 3 --peers mojinet,torch,mojinet-reference

Each peer runs in its own process (so that peak memory is its own and no library's thread pool
disturbs another's); the controller interleaves them epoch by epoch (round r: every peer trains
its epoch r, in an order that rotates each round), so that the load other people put on a shared
machine falls on every peer alike. Ratios are medians of per-round ratios.

Same network, same start: the controller makes a mojinet Network and sends its initial weights
to every peer; mojinet and PyTorch also see the same shuffles (the same seeded Generator).
MLPClassifier shuffles with its own generator and always uses the log-loss with a softmax output
(so config A, quadratic cost with sigmoid outputs, is not identical for it).

Bounds: the machine's float32 GEMM rate (1024² products, NumPy's BLAS and torch) and one core's
memory read rate are measured in a separate process before and after each configuration; the
best measurement so far is the one the bounds use.

Peers:
  mojinet            mojinet.train (the fast path it picks on its own)
  torch              torch==2.13.0 CPU, nn.Linear layers, plain tensors (no DataLoader), SGD
  torch-passive      the same with OMP_WAIT_POLICY=PASSIVE, which mojinet sets for its own
                     threads (waiting OpenMP threads sleep instead of spinning: on a busy machine
                     the spinning takes the time slices the working threads need)
  sklearn            MLPClassifier(solver="sgd"), one partial_fit per epoch
  mojinet-sklearn    mojinet.sklearn.MLPClassifier, the same settings, one partial_fit per
                     epoch (like MLPClassifier: softmax output and log-loss, also in config A);
                     a line after each table gives its time over scikit-learn's
  mojinet-blas       mojinet.train(engine="blas"), the NumPy/BLAS engine
  mojinet-reference  mojinet.train(engine="reference"): Network.backprop + SGD.step

Not part of the test suite; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

CONFIGS = {
    # name: sizes, hidden activation, output, cost, batch, eta, momentum, init
    "A": dict(sizes=[784, 16, 16, 10], hidden="sigmoid", output="sigmoid", cost="quadratic",
              batch=10, eta=3.0, momentum=0.0, init="normal",
              title="the chapter's network: 784-16-16-10 sigmoid, quadratic cost"),
    "B": dict(sizes=[784, 100, 10], hidden="sigmoid", output="softmax", cost="cross-entropy",
              batch=32, eta=0.1, momentum=0.0, init="xavier",
              title="784-100-10 sigmoid hidden, softmax + cross-entropy"),
    "C": dict(sizes=[784, 800, 10], hidden="relu", output="softmax", cost="cross-entropy",
              batch=128, eta=0.05, momentum=0.9, init="he",
              title="784-800-10 ReLU, softmax + cross-entropy, momentum 0.9"),
    # Wide outputs, the kanji models' shapes (docs/kanji.md: 32×32 inputs). Timed on random
    # inputs of that shape (uniform in [0, 1), dense: no zeros to skip, unlike MNIST) and random
    # labels: the same work per epoch as the drawn sets, which take minutes to draw. Their test
    # accuracy is chance and means nothing. Epochs of --wide-train-size images.
    "D": dict(sizes=[1024, 768, 1026], hidden="relu", output="softmax", cost="cross-entropy",
              batch=64, eta=0.05, momentum=0.9, init="he", data="random",
              title="kyōiku: 1024-768-1026 ReLU, softmax + cross-entropy, momentum 0.9"),
    "E": dict(sizes=[1024, 768, 2136], hidden="relu", output="softmax", cost="cross-entropy",
              batch=64, eta=0.05, momentum=0.9, init="he", data="random",
              title="jōyō: 1024-768-2136 ReLU, softmax + cross-entropy, momentum 0.9"),
}
# not MLPClassifier (minutes per epoch), nor mojinet's estimator (its line is its time over it)
WIDE_PEERS = ("mojinet", "torch", "torch-passive", "mojinet-blas", "mojinet-reference")
PEERS = ("mojinet", "torch", "torch-passive", "sklearn", "mojinet-sklearn", "mojinet-blas",
         "mojinet-reference")
SEED = 2024
# Seconds of rest before each timed epoch and inference call: after a call, OpenBLAS's threads
# (in the peer just timed, or in this one after its latency rounds) spin for ~0.1 s before they
# sleep, and they would take a core from the next call (measured: mojinet's test set of C at 2
# threads took 103 ms right after MLPClassifier's, 56 ms after this rest).
QUIET_SECONDS = 0.3


# ============================================================================ worker processes
def _status() -> dict[str, int]:
    """VmRSS and VmHWM (peak resident memory since the last reset) of this process, in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) * 1024
    return out


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # Linux: reset VmHWM to the current VmRSS
    except OSError:
        pass


def _gemm_peak(kind: str, threads: int, n: int = 1024, reps: int = 8) -> float:
    """Best float32 GEMM rate (FLOP/s) of NumPy's BLAS or of torch, n×n times n×n."""
    if kind == "torch":
        import torch

        torch.set_num_threads(threads)
        a, b = torch.rand(n, n), torch.rand(n, n)
        mm = lambda: torch.mm(a, b)  # noqa: E731
    else:
        rng = np.random.default_rng(0)
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        mm = lambda: np.matmul(a, b, out=c)  # noqa: E731
    mm()
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        mm()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def _read_bandwidth(mb: int = 256, reps: int = 5) -> float:
    """Best rate (bytes/s) at which one core streams a float32 array from main memory: the best
    of two reductions that only read (NumPy's max is the faster one here; its sum does pairwise
    additions and can fall behind the memory)."""
    a = np.ones(mb * 2**20 // 4, dtype=np.float32)
    best = float("inf")
    for _ in range(reps):
        for read in (np.max, np.sum):
            t = time.perf_counter()
            read(a)
            best = min(best, time.perf_counter() - t)
    return a.nbytes / best


class Peer:
    """What a worker does for one peer: set up, train epochs, evaluate, infer."""

    def __init__(self, cfg, init_params, X, y, threads, seed=SEED):
        self.cfg, self.X, self.y, self.threads, self.seed = cfg, X, y, threads, seed
        self.rng = np.random.default_rng(seed)  # the shuffles, same for mojinet and torch

    def epoch(self) -> float:
        raise NotImplementedError

    def train_epochs(self, n: int) -> None:
        """n epochs, untimed (the accuracy runs over several seeds)."""
        for _ in range(n):
            self.epoch()

    def close(self) -> None:
        pass

    def predict_proba(self, X) -> np.ndarray:
        raise NotImplementedError

    def predict_one(self, x) -> None:
        self.predict_proba(x)


class _Stop(Exception):
    """Ends a MojinetPeer's training thread early (close())."""


class MojinetPeer(Peer):
    def __init__(self, cfg, init_params, X, y, threads, engine, total, seed=SEED):
        super().__init__(cfg, init_params, X, y, threads, seed)
        from mojinet import SGD, Network, engines

        self.engines, self.engine = engines, engine
        if engine != "reference":
            engines.load_kernels()  # as a server would (training would load them anyway)
        acts = [cfg["hidden"]] * (len(cfg["sizes"]) - 2) + [cfg["output"]]
        self.net = Network(cfg["sizes"], acts, cfg["cost"], seed=0)
        for p, q in zip(self.net.parameters(), init_params):
            p[...] = q
        self.optimizer = SGD(cfg["eta"], momentum=cfg["momentum"])
        self.total = total  # epochs the controller will ask for
        self._thread, self._go, self._done = None, threading.Semaphore(0), queue.Queue()
        self._closed = False

    def epoch(self) -> float:
        """Let mojinet.train run its next epoch. train(epochs=total) is called once, as a user
        would, in a thread that waits in on_epoch_end until the controller asks for more."""
        if self._thread is None:
            import mojinet

            def on_epoch_end(net, record):
                self._done.put(time.perf_counter())
                self._go.acquire()  # wait for the next "epoch" (or close())
                if self._closed:
                    raise _Stop

            def run():
                self._go.acquire()
                try:
                    mojinet.train(self.net, self.X, self.y, optimizer=self.optimizer,
                                  epochs=self.total, batch_size=self.cfg["batch"], rng=self.rng,
                                  progress=False, on_epoch_end=on_epoch_end, engine=self.engine)
                except _Stop:
                    pass

            self._thread = threading.Thread(target=run, daemon=True)
            self._thread.start()
        t = time.perf_counter()
        self._go.release()
        return self._done.get() - t

    def train_epochs(self, n: int) -> None:
        import mojinet

        mojinet.train(self.net, self.X, self.y, optimizer=self.optimizer, epochs=n,
                      batch_size=self.cfg["batch"], rng=self.rng, progress=False,
                      engine=self.engine)

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._closed = True
            self._go.release()
            self._thread.join()

    def predict_proba(self, X):
        return self.engines.feedforward(self.net, X)

    def predict_one(self, x):
        self.engines.feedforward(self.net, x)


class TorchPeer(Peer):
    def __init__(self, cfg, init_params, X, y, threads, seed=SEED):
        super().__init__(cfg, init_params, X, y, threads, seed)
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        sizes = cfg["sizes"]
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            lin = torch.nn.Linear(fan_in, fan_out)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(init_params[2 * i].T.copy()))  # (out, in)
                lin.bias.copy_(torch.from_numpy(init_params[2 * i + 1]))
            layers.append(lin)
            last = i == len(sizes) - 2
            act = cfg["output"] if last else cfg["hidden"]
            if act == "sigmoid":
                layers.append(torch.nn.Sigmoid())
            elif act == "relu":
                layers.append(torch.nn.ReLU())
            # softmax output: folded into cross_entropy (it takes logits)
        self.model = torch.nn.Sequential(*layers)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg["eta"],
                                   momentum=cfg["momentum"])
        self.Xt = torch.from_numpy(X)  # shares memory with X
        self.yt = torch.from_numpy(y)
        self.Yt = torch.nn.functional.one_hot(self.yt, sizes[-1]).float()

    def epoch(self) -> float:
        torch, cfg = self.torch, self.cfg
        t = time.perf_counter()
        order = torch.from_numpy(self.rng.permutation(len(self.X)))
        bs, quadratic = cfg["batch"], cfg["cost"] == "quadratic"
        F = torch.nn.functional
        for i in range(0, len(order), bs):
            idx = order[i : i + bs]
            out = self.model(self.Xt[idx])
            if quadratic:  # C = (1/n) Σ ½‖a − y‖², as mojinet's
                loss = 0.5 * ((out - self.Yt[idx]) ** 2).sum() / len(idx)
            else:
                loss = F.cross_entropy(out, self.yt[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        return time.perf_counter() - t

    def predict_proba(self, X):
        with self.torch.inference_mode():
            out = self.model(self.torch.from_numpy(X))
            if self.cfg["output"] == "softmax":
                out = self.torch.softmax(out, dim=1)
            return out.numpy()

    def predict_one(self, x):
        with self.torch.inference_mode():
            self.model(self.torch.from_numpy(x))


class SklearnPeer(Peer):
    def __init__(self, cfg, init_params, X, y, threads, seed=SEED):
        super().__init__(cfg, init_params, X, y, threads, seed)
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        hidden = {"sigmoid": "logistic", "relu": "relu"}[cfg["hidden"]]
        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(cfg["sizes"][1:-1]), activation=hidden, solver="sgd",
            alpha=0.0, batch_size=cfg["batch"], learning_rate="constant",
            learning_rate_init=cfg["eta"], momentum=cfg["momentum"], nesterovs_momentum=False,
            shuffle=True, random_state=seed, max_iter=1, tol=0.0,
        )
        # Start from the same weights: one step on one sample builds the model, then overwrite.
        with warnings.catch_warnings():  # "batch_size clipped" for this one-sample call
            warnings.simplefilter("ignore", UserWarning)
            self.clf.partial_fit(X[:1], y[:1], classes=np.arange(cfg["sizes"][-1]))
        for i, (W, b) in enumerate(zip(init_params[0::2], init_params[1::2])):
            self.clf.coefs_[i][...] = W
            self.clf.intercepts_[i][...] = b
        for v in getattr(self.clf._optimizer, "velocities", []):
            v[...] = 0

    def epoch(self) -> float:
        t = time.perf_counter()
        self.clf.partial_fit(self.X, self.y)
        return time.perf_counter() - t

    def predict_proba(self, X):
        return self.clf.predict_proba(X)


class EstimatorPeer(Peer):
    """mojinet's scikit-learn estimator with SklearnPeer's settings and start."""

    def __init__(self, cfg, init_params, X, y, threads, seed=SEED):
        super().__init__(cfg, init_params, X, y, threads, seed)
        from mojinet import engines
        from mojinet.sklearn import MLPClassifier

        engines.load_kernels()  # as MojinetPeer does
        hidden = {"sigmoid": "logistic", "relu": "relu"}[cfg["hidden"]]
        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(cfg["sizes"][1:-1]), activation=hidden, solver="sgd",
            alpha=0.0, batch_size=cfg["batch"], schedule="constant",
            learning_rate_init=cfg["eta"], momentum=cfg["momentum"], nesterovs_momentum=False,
            random_state=seed, max_iter=1, tol=0.0,
        )
        self.clf.partial_fit(X[:1], y[:1], classes=np.arange(cfg["sizes"][-1]))  # builds it
        for p, q in zip(self.clf.network_.parameters(), init_params):
            p[...] = q
        for v in self.clf.optimizer_.velocity or []:
            v[...] = 0

    def epoch(self) -> float:
        t = time.perf_counter()
        self.clf.partial_fit(self.X, self.y)
        return time.perf_counter() - t

    def predict_proba(self, X):
        return self.clf.predict_proba(X)


def _make_peer(name, cfg, init_params, X, y, threads, total, seed=SEED) -> Peer:
    if name in ("torch", "torch-passive"):
        return TorchPeer(cfg, init_params, X, y, threads, seed)
    if name == "sklearn":
        return SklearnPeer(cfg, init_params, X, y, threads, seed)
    if name == "mojinet-sklearn":
        return EstimatorPeer(cfg, init_params, X, y, threads, seed)
    engine = {"mojinet": "auto", "mojinet-blas": "blas", "mojinet-reference": "reference"}[name]
    return MojinetPeer(cfg, init_params, X, y, threads, engine, total, seed)


def _data(cfg: dict, train_size: int):
    """(X, y) for training and (X, y) for testing: MNIST, or for the wide configurations random
    inputs and labels of their shape (the same for every peer: a fixed seed)."""
    if cfg.get("data") == "random":
        rng = np.random.default_rng(SEED)
        n_in, n_out = cfg["sizes"][0], cfg["sizes"][-1]
        X, Xt = (rng.random((n, n_in), dtype=np.float32) for n in (train_size, 10_000))
        y, yt = (rng.integers(0, n_out, n) for n in (train_size, 10_000))
        return (X, y), (Xt, yt)
    from mojinet import load_dataset

    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    return (train.X[:train_size], train.y[:train_size]), (test.X, test.y)


def _worker(conn, name: str, cfg: dict, init_params, threads: int, train_size: int,
            total: int) -> None:
    """One peer's process: answers the controller's commands until 'quit'."""
    os.environ["NUMBA_NUM_THREADS"] = str(threads)  # mojinet's compiled kernels (before numba)
    if name == "torch-passive":  # torch with the OpenMP setting mojinet makes for its own threads
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)  # NumPy's BLAS (and sklearn's): the same count as torch's
    (X, y), (test_X, test_y) = _data(cfg, train_size)
    test = argparse.Namespace(X=test_X, y=test_y)
    peer = _make_peer(name, cfg, init_params, X, y, threads, total)
    _reset_peak()
    base = _status()["VmRSS"]
    conn.send(("ready", base))
    while True:
        cmd, arg = conn.recv()
        if cmd == "epoch":
            conn.send(peer.epoch())
        elif cmd == "evaluate":
            mem = _status()
            accuracy = float(np.mean(np.argmax(peer.predict_proba(test.X), axis=1) == test.y))
            conn.send({"accuracy": accuracy, "peak": mem["VmHWM"], "base": base})
        elif cmd == "latency":  # arg calls of batch-1 inference, each timed
            times = np.empty(arg)
            for i in range(arg):
                x = test.X[i % len(test.X)][None, :]  # (1, 784)
                t = time.perf_counter_ns()
                peer.predict_one(x)
                times[i] = time.perf_counter_ns() - t
            conn.send(times / 1e3)  # µs
        elif cmd == "throughput":  # the whole test set at once
            t = time.perf_counter()
            peer.predict_proba(test.X)
            conn.send(time.perf_counter() - t)
        elif cmd == "seed":  # a fresh run from other weights and shuffles: (init_params, seed)
            peer.close()
            peer = _make_peer(name, cfg, arg[0], X, y, threads, total, seed=arg[1])
            conn.send(None)
        elif cmd == "train":  # arg untimed epochs, then the test accuracy
            peer.train_epochs(arg)
            conn.send(float(np.mean(np.argmax(peer.predict_proba(test.X), axis=1) == test.y)))
        elif cmd == "quit":
            peer.close()
            conn.send(None)
            return


def _probe(conn, kinds: list[str], threads: int) -> None:
    """The machine's float32 GEMM rate for each of kinds ("numpy", "torch") and one core's
    memory read rate, measured in a process of its own."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    out = {kind: _gemm_peak(kind, threads) for kind in kinds}
    out["read_bytes_per_s"] = _read_bandwidth()
    conn.send(out)


# ============================================================================ controller
@dataclass
class Result:
    epochs: list[float] = field(default_factory=list)
    accuracy: float = float("nan")
    peak: int = 0
    base: int = 0
    latency: list[float] = field(default_factory=list)
    throughput: list[float] = field(default_factory=list)
    seed_accuracies: list[float] = field(default_factory=list)  # the accuracy runs


def _flops_per_epoch(sizes, n) -> float:
    """Dense FLOPs of one epoch: forward Z = AW (2·in·out per sample), ∂C/∂W = Aᵀδ (same), and
    δ Wᵀ for every layer but the first (its input needs no gradient). Elementwise work ignored."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    per_sample = sum(2 * i * o for i, o in pairs) * 2 + sum(2 * i * o for i, o in pairs[1:])
    return per_sample * n


def _inference_flops(sizes, n) -> float:
    return n * sum(2 * i * o for i, o in zip(sizes[:-1], sizes[1:]))


def _fmt_mb(b: int) -> str:
    return f"{b / 2**20:.0f}"


def run_config(name: str, args, peak_flops: dict) -> dict:
    from mojinet import Network

    cfg = CONFIGS[name]
    acts = [cfg["hidden"]] * (len(cfg["sizes"]) - 2) + [cfg["output"]]
    net = Network(cfg["sizes"], acts, cfg["cost"], init=cfg["init"], seed=SEED)
    init_params = [p.copy() for p in net.parameters()]
    ctx = mp.get_context("spawn")
    peers = [p for p in args.peers if cfg.get("data") != "random" or p in WIDE_PEERS]
    conns, procs = {}, []
    for p in peers:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(child, p, cfg, init_params, args.threads,
                                                 args.train_size, args.warmup + args.epochs),
                           daemon=True)
        proc.start()
        conns[p], procs = parent, procs + [proc]
    results = {p: Result() for p in peers}
    try:
        for p in peers:
            tag, base = conns[p].recv()
            results[p].base = base
        _measure_machine(ctx, peers, args.threads, peak_flops)
        total = args.warmup + args.epochs
        for r in range(total):
            order = peers[r % len(peers):] + peers[: r % len(peers)]  # rotate who goes first
            for p in order:
                time.sleep(QUIET_SECONDS)
                conns[p].send(("epoch", None))
                results[p].epochs.append(conns[p].recv())
                print(f"  [{name}] epoch {r + 1}/{total} {p:18s} {results[p].epochs[-1]:8.3f} s",
                      file=sys.stderr, flush=True)
        for p in peers:
            conns[p].send(("evaluate", None))
            ev = conns[p].recv()
            results[p].accuracy, results[p].peak = ev["accuracy"], ev["peak"]
        for r in range(args.inference_rounds):
            for p in peers[r % len(peers):] + peers[: r % len(peers)]:
                if name == "A" and "sklearn" not in p or name == "A" and args.sklearn_latency:
                    conns[p].send(("latency", args.latency_calls))
                    results[p].latency.extend(conns[p].recv().tolist())
                time.sleep(QUIET_SECONDS)  # the previous call's BLAS threads spin, then sleep
                conns[p].send(("throughput", None))
                results[p].throughput.append(conns[p].recv())
        for k in range(1, args.accuracy_seeds + 1):  # the same run again from other seeds
            seed = SEED + k
            other = Network(cfg["sizes"], acts, cfg["cost"], init=cfg["init"], seed=seed)
            params = [p.copy() for p in other.parameters()]
            for p in peers[k % len(peers):] + peers[: k % len(peers)]:
                conns[p].send(("seed", (params, seed)))
                conns[p].recv()
                conns[p].send(("train", total))
                results[p].seed_accuracies.append(conns[p].recv())
                print(f"  [{name}] seed {seed} {p:18s} {100 * results[p].seed_accuracies[-1]:.2f}%",
                      file=sys.stderr, flush=True)
        for p in peers:
            conns[p].send(("quit", None))
            conns[p].recv()
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
    _measure_machine(ctx, peers, args.threads, peak_flops)  # again: the best of both is the bound
    return _report(name, cfg, results, peers, args, peak_flops)


def _measure_machine(ctx, peers, threads: int, best: dict) -> None:
    """Update best with the machine's float32 GEMM rates and memory read rate, measured now in a
    process of its own (so that its big arrays stay out of the peers' peak memory). The machine's
    speed drifts; keeping the best of several measurements keeps the bounds strict."""
    parent, child = ctx.Pipe()
    kinds = ["numpy"] + ["torch"] * ("torch" in peers)
    probe = ctx.Process(target=_probe, args=(child, kinds, threads), daemon=True)
    probe.start()
    for key, value in parent.recv().items():
        best[key] = max(best.get(key, 0.0), value)
    probe.join()


def _spread(xs):
    return f"{statistics.median(xs):.3f} [{min(xs):.3f}–{max(xs):.3f}]"


def _report(name, cfg, results, peers, args, peak_flops) -> dict:
    peak = max(v for k, v in peak_flops.items() if k in ("numpy", "torch"))
    n = args.train_size
    flops = _flops_per_epoch(cfg["sizes"], n)
    bound = flops / peak
    timed = {p: results[p].epochs[args.warmup:] for p in peers}
    ref = "mojinet" if "mojinet" in peers else peers[0]
    print(f"\n== {name}: {cfg['title']}; batch {cfg['batch']}, eta {cfg['eta']}; "
          f"{n} training images, {args.warmup} warm-up + {args.epochs} timed epochs, "
          f"{args.threads} threads")
    print(f"   compute bound: {flops / 1e9:.1f} GFLOP/epoch at {peak / 1e9:.0f} GFLOP/s "
          f"(best float32 GEMM measured so far) = {bound:.3f} s/epoch")
    print(f"   {'peer':18s} {'s/epoch median [min–max]':28s} {'× ' + ref:>11s} "
          f"{'× bound':>8s} {'test acc %':>10s} {'peak MB':>8s} {'(+ over start)':>14s}")
    out = {"config": name, "flops": flops, "peak_flops": peak, "bound": bound, "peers": {}}
    for p in peers:
        t = timed[p]
        ratios = [a / b for a, b in zip(t, timed[ref])]  # per-round ratios, interleaved pairs
        med = statistics.median(t)
        res = results[p]
        print(f"   {p:18s} {_spread(t):28s} {statistics.median(ratios):11.2f} "
              f"{med / bound:8.1f} {100 * res.accuracy:10.2f} {_fmt_mb(res.peak):>8s} "
              f"{'+' + _fmt_mb(res.peak - res.base):>14s}")
        out["peers"][p] = {"epoch_s": t, "median_s": med, "ratio_to_mojinet":
                           statistics.median(ratios), "accuracy": res.accuracy,
                           "peak_bytes": res.peak, "start_bytes": res.base,
                           "latency_us_median": statistics.median(res.latency)
                           if res.latency else None,
                           "throughput_s": min(res.throughput) if res.throughput else None}
    if "sklearn" in peers and "mojinet-sklearn" in peers:
        ratios = [a / b for a, b in zip(timed["mojinet-sklearn"], timed["sklearn"])]
        print(f"   mojinet.sklearn.MLPClassifier / sklearn MLPClassifier, same network and data: "
              f"{statistics.median(ratios):.2f}× the time per epoch (median of per-round "
              f"ratios; < 1: mojinet's is faster)")
        out["estimator_over_sklearn"] = statistics.median(ratios)
    inf_flops = _inference_flops(cfg["sizes"], 10_000)
    inf_bound = inf_flops / peak
    read = peak_flops.get("read_bytes_per_s")
    sizes = cfg["sizes"]
    inf_bytes = 4 * (10_000 * sizes[0] + sum(i * o for i, o in zip(sizes[:-1], sizes[1:])))
    mem_bound = inf_bytes / read if read else 0.0  # reading the float32 images and weights once
    roofline = max(inf_bound, mem_bound)
    print(f"   inference, whole test set (10,000 images): compute bound {inf_flops / 1e9:.2f} "
          f"GFLOP at {peak / 1e9:.0f} GFLOP/s = {1e3 * inf_bound:.2f} ms; memory bound "
          f"{inf_bytes / 1e6:.1f} MB at {(read or 0) / 1e9:.1f} GB/s = {1e3 * mem_bound:.2f} ms")
    ref_tp = min(results[ref].throughput)
    for p in peers:
        tp = min(results[p].throughput)
        line = (f"   {p:18s} test set {1e3 * tp:8.2f} ms (best of {len(results[p].throughput)}), "
                f"{tp / inf_bound:5.1f}× compute bound, {tp / roofline:5.1f}× roofline, "
                f"{tp / ref_tp:6.2f}× {ref}")
        if results[p].latency:
            lat = results[p].latency
            line += (f"; batch-1 latency median {statistics.median(lat):7.2f} µs "
                     f"(p10 {np.percentile(lat, 10):.2f}, p90 {np.percentile(lat, 90):.2f}, "
                     f"{len(lat)} calls)")
        print(line)
    if results[ref].seed_accuracies:
        runs = len(results[ref].seed_accuracies) + 1
        print(f"   test accuracy over {runs} seeds (initial weights and shuffles), "
              f"{args.warmup + args.epochs} epochs each: mean ± sd [min–max], and the "
              f"difference from {ref} ± its standard error")
        ref_acc = 100 * np.array([results[ref].accuracy] + results[ref].seed_accuracies)
        for p in peers:
            acc = 100 * np.array([results[p].accuracy] + results[p].seed_accuracies)
            diff = acc.mean() - ref_acc.mean()
            se = np.sqrt(acc.var(ddof=1) / len(acc) + ref_acc.var(ddof=1) / len(ref_acc))
            print(f"   {p:18s} {acc.mean():6.2f} ± {acc.std(ddof=1):4.2f} "
                  f"[{acc.min():.2f}–{acc.max():.2f}]   {diff:+6.2f} ± {se:.2f} points")
            out["peers"][p]["seed_accuracies"] = acc.tolist()
    sys.stdout.flush()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default="A,B,C,D,E",
                    help="comma-separated: A,B,C,D,E (default all)")
    ap.add_argument("--peers", default="mojinet,torch,torch-passive,sklearn,mojinet-sklearn",
                    help=f"comma-separated, from: {','.join(PEERS)}")
    ap.add_argument("--epochs", type=int, default=4, help="timed epochs per peer (default 4)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed epochs first (default 1)")
    ap.add_argument("--threads", default=str(os.cpu_count() or 1),
                    help="BLAS/torch/Numba threads for every peer; a comma-separated list runs "
                    "every configuration at each (default: all cores; e.g. 1,2)")
    ap.add_argument("--train-size", type=int, default=60_000, help="training images (≤ 60000)")
    ap.add_argument("--wide-train-size", type=int, default=20_000,
                    help="random training images per epoch for D and E (default 20000)")
    ap.add_argument("--latency-calls", type=int, default=2000, help="batch-1 calls per round")
    ap.add_argument("--inference-rounds", type=int, default=3)
    ap.add_argument("--accuracy-seeds", type=int, default=0, metavar="K",
                    help="train K more times from other seeds (untimed) and report the mean "
                         "test accuracy of each peer with its spread (default 0)")
    ap.add_argument("--sklearn-latency", action="store_true",
                    help="also time MLPClassifier.predict_proba one image at a time")
    ap.add_argument("--quick", action="store_true",
                    help="1 warm-up + 2 timed epochs, 500 latency calls, 2 inference rounds")
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.warmup, args.latency_calls, args.inference_rounds = 2, 1, 500, 2
    args.peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    bad = [p for p in args.peers if p not in PEERS]
    configs = [c.strip().upper() for c in args.configs.split(",") if c.strip()]
    if bad or any(c not in CONFIGS for c in configs) or args.epochs < 1:
        ap.error(f"peers must be among {PEERS}, configs among {tuple(CONFIGS)}, epochs >= 1")
    args.train_size = max(1, min(args.train_size, 60_000))
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i.get('version')} {i.get('architecture')}"
            for i in threadpool_info() if i["user_api"] == "blas"]
    overrides = ", ".join(f"{k}={v}" for k, v in env.items() if v) or "no OPENBLAS_* overrides"
    print(f"mojinet benchmarks — {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, NumPy BLAS: "
          f"{'; '.join(blas)}; {overrides}")
    thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
    peaks: dict[int, dict[str, float]] = {t: {} for t in thread_counts}  # best per thread count
    results = []
    for c in configs:
        for t in thread_counts:
            run_args = argparse.Namespace(**vars(args))
            run_args.threads = t
            if t == 1:  # one OpenMP thread never waits for another
                run_args.peers = [p for p in args.peers if p != "torch-passive"]
            if CONFIGS[c].get("data") == "random":
                run_args.train_size = max(1, args.wide_train_size)
            results.append(dict(run_config(c, run_args, peaks[t]), threads=t))
    for t, peak_flops in peaks.items():
        print(f"\n{t} thread(s): float32 GEMM peak (1024²): " + ", ".join(
            f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in peak_flops.items()
            if k in ("numpy", "torch"))
            + f"; reads memory at {peak_flops.get('read_bytes_per_s', 0) / 1e9:.1f} GB/s")
    _summary(results)
    if args.json:
        import json

        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results,
                       "gemm": {str(t): p for t, p in peaks.items()}}, f, indent=1)
    return 0


def _summary(results: list[dict]) -> None:
    """One line per configuration and thread count: each peer's time per epoch and test-set
    inference as a multiple of mojinet's (> 1: mojinet is faster), mojinet against the bound."""
    print("\nsummary (peer time / mojinet time, medians of interleaved rounds; > 1 = mojinet "
          "faster)")
    print(f"  {'config':6s} {'thr':>3s} {'mojinet s/ep':>12s} {'× bound':>8s}  "
          f"{'train: torch':>12s} {'passive':>8s} {'sklearn':>8s}  {'test set: torch':>15s} "
          f"{'passive':>8s} {'sklearn':>8s}")
    for r in results:
        peers = r["peers"]
        moj = peers.get("mojinet")
        if moj is None:
            continue

        cells = []
        for key in ("epoch", "inference"):
            for p in ("torch", "torch-passive", "sklearn"):
                q = peers.get(p)
                if q is None:
                    cells.append("—")
                elif key == "epoch":
                    cells.append(f"{q['ratio_to_mojinet']:.2f}")
                else:
                    cells.append(f"{q['throughput_s'] / moj['throughput_s']:.2f}")
        print(f"  {r['config']:6s} {r['threads']:3d} {moj['median_s']:12.3f} "
              f"{moj['median_s'] / r['bound']:8.2f}  {cells[0]:>12s} {cells[1]:>8s} "
              f"{cells[2]:>8s}  {cells[3]:>15s} {cells[4]:>8s} {cells[5]:>8s}")


if __name__ == "__main__":
    sys.exit(main())
