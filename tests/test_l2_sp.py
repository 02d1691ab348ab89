"""L2-SP (``l2_sp`` α, ``nn/optim.py``): the cost gains (α/2)‖w − w₀‖², w₀ the weights a fine-tune
started from. Its step against a hand-worked one, against central differences of the whole cost,
against PyTorch's autograd and SGD on identical weights; the fast engines equal to the reference
with it on; and it keeps a fine-tune's weights nearer w₀ than the same run without it."""

from __future__ import annotations

import numpy as np
import pytest

from mojinet import SGD, Network, one_hot
from mojinet.config import ConfigError, RunConfig
from mojinet.engines import BlasTrainer, CompiledTrainer, compiled
from mojinet.nn.network import Gradients
from mojinet.nn.optim import Adam, l2_sp_penalty, make_optimizer

ENGINES = ["blas"] + (["compiled"] if compiled.HAVE_NUMBA else [])
TRAINERS = {"blas": BlasTrainer, "compiled": CompiledTrainer}


def _net(sizes=(12, 6, 4, 3), acts=("relu", "tanh", "softmax"), cost="cross-entropy", seed=1):
    return Network(list(sizes), list(acts), cost, init="xavier", seed=seed, dtype=np.float64)


def _anchor(net: Network, rng, scale=0.3) -> list[np.ndarray]:
    """w₀ away from the current weights, so that α(w − w₀) is not 0 from the first step."""
    return [W + scale * rng.standard_normal(W.shape) for W in net.weights]


def _data(rng, n=40, n_in=12, n_out=3):
    X = rng.random((n, n_in))  # (n, n_in), about half exactly 0 (like a drawn image)
    X[X < 0.5] = 0
    y = rng.integers(0, n_out, n)  # (n,)
    return X, one_hot(y, n_out, np.float64)


def _distance(net: Network, anchor) -> float:
    return float(np.sqrt(sum(np.sum((W - W0) ** 2) for W, W0 in zip(net.weights, anchor))))


# ----------------------------------------------------------------------------- by hand
def test_step_by_hand_weights_only():
    net = Network([1, 1], "sigmoid", dtype=np.float64, seed=0)
    net.weights[0][...], net.biases[0][...] = 1.0, 0.5
    opt = SGD(0.1, weight_decay=0.5, l2_sp=2.0, anchor=[np.array([[0.4]])])
    opt.step(net, Gradients([np.array([[2.0]])], [np.array([-1.0])], 0.0))
    # w: g = 2 + 0.5·1 + 2·(1 − 0.4) = 3.7 → 1 − 0.37 = 0.63; b: 0.5 + 0.1 (no pull)
    assert float(net.weights[0][0, 0]) == pytest.approx(0.63)
    assert float(net.biases[0][0]) == pytest.approx(0.6)
    assert l2_sp_penalty(net.weights, opt.anchor, 2.0) == pytest.approx(0.5 * 2 * 0.23**2)


def test_bad_settings_say_what_to_do(rng):
    with pytest.raises(ValueError, match="l2_sp"):
        SGD(0.1, l2_sp=-1.0)
    with pytest.raises(ValueError, match="l2_sp"):
        Adam(0.1, l2_sp=float("nan"))
    net = _net()
    grads = net.backprop(*_data(rng))
    with pytest.raises(ValueError, match="anchor"):
        SGD(0.1, l2_sp=0.1).step(net, grads)
    with pytest.raises(ValueError, match="anchor"):
        SGD(0.1, l2_sp=0.1, anchor=[W[:1] for W in net.weights]).step(net, grads)
    with pytest.raises(ConfigError, match="finetune"):
        RunConfig(l2_sp=0.01)
    with pytest.raises(ConfigError, match="l2_sp must be >= 0"):
        RunConfig(l2_sp=-0.01, finetune="m.npz")


# ----------------------------------------------------------------------------- central differences
@pytest.mark.parametrize("make", [lambda a: SGD(0.1, weight_decay=0.01, l2_sp=0.7, anchor=a),
                                  lambda a: make_optimizer("sgd", 0.1, l2_sp=0.7, anchor=a)])
def test_step_is_eta_times_the_gradient_of_the_whole_cost(make, rng):
    """One SGD step (no momentum) is w − η∇(C + λ/2‖w‖² + α/2‖w − w₀‖²), the gradient taken by
    central differences of that cost; without the L2-SP term it would be far off."""
    net = _net()
    X, Y = _data(rng)
    anchor = _anchor(net, rng)
    opt = make(anchor)
    lam, alpha, h = opt.weight_decay, opt.l2_sp, 1e-6

    def total() -> float:
        zs, acts = net.forward(X)
        c = net.cost.fn(zs[-1], acts[-1], Y, net.activations[-1])
        return (c + 0.5 * lam * sum(float(np.sum(W**2)) for W in net.weights)
                + l2_sp_penalty(net.weights, anchor, alpha))

    numeric = []
    for W in net.weights:
        g = np.zeros_like(W)
        for i in np.ndindex(W.shape):
            saved = W[i]
            W[i] = saved + h
            plus = total()
            W[i] = saved - h
            minus = total()
            W[i] = saved
            g[i] = (plus - minus) / (2 * h)
        numeric.append(g)
    before = [W.copy() for W in net.weights]
    grads = net.backprop(X, Y)
    opt.step(net, grads)
    for W, W_before, g, nabla in zip(net.weights, before, numeric, grads.nabla_w):
        stepped = (W_before - W) / opt.eta  # (fan_in, fan_out) the gradient the step used
        np.testing.assert_allclose(stepped, g, rtol=1e-6, atol=1e-8)
        assert np.max(np.abs(stepped - (nabla + lam * W_before))) > 1e-2  # the term matters


# ----------------------------------------------------------------------------- PyTorch oracle
@pytest.mark.torch
@pytest.mark.parametrize("optimizer, momentum", [("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0)])
def test_training_matches_torch_autograd_on_the_penalised_cost(optimizer, momentum, rng):
    """Several steps on real batches: our backprop + optimiser with L2-SP against PyTorch's
    autograd of CE + α/2 Σ‖W − W₀‖² and torch.optim on identical weights."""
    torch = pytest.importorskip("torch")
    net = _net()
    anchor = _anchor(net, rng)
    alpha, eta = 0.4, (0.2 if optimizer == "sgd" else 0.01)
    ours = make_optimizer(optimizer, eta, momentum=momentum, l2_sp=alpha, anchor=anchor)
    Ws = [torch.tensor(W.copy(), requires_grad=True) for W in net.weights]
    bs = [torch.tensor(b.copy(), requires_grad=True) for b in net.biases]
    W0s = [torch.tensor(a) for a in anchor]
    params = [p for pair in zip(Ws, bs) for p in pair]
    theirs = (torch.optim.SGD(params, lr=eta, momentum=momentum) if optimizer == "sgd"
              else torch.optim.Adam(params, lr=eta))
    acts = [torch.relu, torch.tanh]
    X, Y = _data(rng)
    for first in range(0, len(X), 8):
        Xb, Yb = X[first:first + 8], Y[first:first + 8]
        ours.step(net, net.backprop(Xb, Yb))
        A = torch.tensor(Xb)
        for l, (W, b) in enumerate(zip(Ws, bs)):
            Z = A @ W + b
            A = acts[l](Z) if l < 2 else Z
        loss = -(torch.tensor(Yb) * torch.log_softmax(Z, dim=1)).sum() / len(Xb)
        loss = loss + 0.5 * alpha * sum(((W - W0) ** 2).sum() for W, W0 in zip(Ws, W0s))
        theirs.zero_grad()
        loss.backward()
        theirs.step()
    for mine, reference in zip(net.parameters(), params):
        np.testing.assert_allclose(mine, reference.detach().numpy(), rtol=1e-9, atol=1e-11)


# ----------------------------------------------------------------------------- fast engines
SETUPS = [  # (sizes, activations, cost, eta, momentum, weight_decay)
    ([12, 6, 4, 3], ["relu", "tanh", "softmax"], "cross-entropy", 0.5, 0.9, 0.0),
    ([12, 7, 3], ["tanh", "sigmoid"], "cross-entropy", 0.5, 0.5, 0.01),
    ([12, 6, 3], ["relu", "softmax"], "quadratic", 1.0, 0.0, 0.05),
    ([12, 5, 3], "sigmoid", "quadratic", 3.0, 0.0, 0.0),
    ([12, 3], "sigmoid", "cross-entropy", 0.5, 0.0, 0.01),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("setup", SETUPS, ids=lambda s: "-".join(map(str, s[0])) + f"-{s[4]}")
@pytest.mark.parametrize("batch_size", [1, 8])
def test_fast_engines_equal_the_reference_with_l2_sp(engine, setup, batch_size, rng):
    sizes, acts, cost, eta, mu, lam = setup
    X, Y = _data(rng, n=37)
    ref = Network(sizes, acts, cost, init="xavier", seed=1, dtype=np.float64)
    net = ref.copy()
    anchor = _anchor(ref, rng)
    plain = ref.copy()
    opt_ref = SGD(eta, mu, lam, l2_sp=0.3, anchor=anchor)
    opt = SGD(eta, mu, lam, l2_sp=0.3, anchor=[a.copy() for a in anchor])
    opt_plain = SGD(eta, mu, lam)
    trainer = TRAINERS[engine](net, opt, batch_size)
    for _ in range(2):  # two epochs: the velocities carry over
        order = rng.permutation(len(X))
        want = [], []
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            grads = ref.backprop(X[idx], Y[idx])
            want[0].append(grads.cost)
            opt_ref.step(ref, grads)
            opt_plain.step(plain, plain.backprop(X[idx], Y[idx]))
        got = trainer.run(X, Y, order, 0, len(X))
        np.testing.assert_allclose(got, want[0], rtol=1e-10, atol=1e-12)
        for p, q in zip(ref.parameters(), net.parameters()):
            np.testing.assert_allclose(q, p, rtol=0, atol=1e-10)
    for a, b in zip(anchor, opt.anchor):
        np.testing.assert_array_equal(a, b)  # the anchor is read, never written
    assert _distance(plain, anchor) - _distance(ref, anchor) > 1e-3  # the term did something


@pytest.mark.parametrize("engine", ENGINES)
def test_fast_engines_float32_with_l2_sp(engine, rng):
    X, Y = _data(rng, n=64, n_in=30, n_out=5)
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    ref = Network([30, 16, 5], ["relu", "softmax"], "cross-entropy", init="he", seed=2)
    net = ref.copy()
    anchor = [(W + 0.1).astype(np.float32) for W in ref.weights]
    opt_ref = SGD(0.1, 0.9, 1e-4, l2_sp=0.5, anchor=anchor)
    opt = SGD(0.1, 0.9, 1e-4, l2_sp=0.5, anchor=anchor)
    order = rng.permutation(len(X))
    for i in range(0, len(X), 10):
        idx = order[i:i + 10]
        opt_ref.step(ref, ref.backprop(X[idx], Y[idx]))
    TRAINERS[engine](net, opt, 10).run(X, Y, order, 0, len(X))
    for p, q in zip(ref.parameters(), net.parameters()):
        np.testing.assert_allclose(q, p, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- what it is for
@pytest.mark.parametrize("engine", ["reference", *ENGINES])
def test_it_keeps_a_fine_tune_near_its_start(engine, rng):
    """The same fine-tune from the same start, with and without L2-SP: with it the weights end
    nearer w₀ (the start), and the more the larger α."""
    from mojinet import engines

    X, Y = _data(rng, n=60)
    y = Y.argmax(axis=1)
    start = _net()
    distances = []
    for alpha in (0.0, 0.5, 5.0):
        net = start.copy()
        anchor = [W.copy() for W in start.weights]
        opt = SGD(0.3, 0.9, l2_sp=alpha, anchor=anchor if alpha else None)
        engines.train(net, X, y, optimizer=opt, batch_size=10, epochs=5, engine=engine,
                      rng=np.random.default_rng(0))
        distances.append(_distance(net, anchor))
    assert distances[0] > distances[1] > distances[2]
    assert distances[2] < 0.5 * distances[0]


# ----------------------------------------------------------------------------- through a run
def test_a_fine_tune_run_with_l2_sp_stays_nearer_its_start_and_resumes_exactly(tmp_path):
    """``run`` takes w₀ from the finetune model (also when resumed: not the resumed weights);
    ``--l2-sp`` on the command line is the config's ``l2_sp``."""
    from mojinet import load_model
    from mojinet.cli import parse_args
    from mojinet.cli.train import config_from_args
    from mojinet.presets import PRESETS
    from mojinet.runner import resume, run

    base = PRESETS["chapter"].config.replace(limit=600, epochs=1, hidden=(16,),
                                             out=str(tmp_path / "start.npz"))
    start = run(base)
    tune = base.replace(finetune=str(tmp_path / "start.npz"), eta=1.0, epochs=3, seed=1,
                        weight_decay=0.0)
    free = run(tune.replace(out=str(tmp_path / "free.npz")))
    pulled = run(tune.replace(l2_sp=0.3, out=str(tmp_path / "pulled.npz")))
    w0 = start.network.weights
    assert _distance(pulled.network, w0) < 0.7 * _distance(free.network, w0)
    assert load_model(tmp_path / "pulled.npz").training["config"]["l2_sp"] == 0.3

    def stop_after_1(net, record):
        if record.epoch == 1:
            raise KeyboardInterrupt

    cut = tune.replace(l2_sp=0.3, out=str(tmp_path / "cut.npz"))
    with pytest.raises(KeyboardInterrupt):
        run(cut, callbacks=[stop_after_1])
    resumed = resume(tmp_path / "cut.npz")
    for p, q in zip(resumed.network.parameters(), pulled.network.parameters()):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-6)

    args = parse_args(["train", "--finetune", str(tmp_path / "start.npz"), "--l2-sp", "0.05"])
    assert config_from_args(args).l2_sp == 0.05
