"""Engines: the fast paths of training and inference, tested equal to the reference in ``nn/``.

- ``reference``: ``nn/`` itself — ``Network.backprop`` then the optimiser's step, batch by batch
  (``nn.train.ReferenceSteps``). Every option works here (Adam, Nesterov, dropout, max-norm, the
  component head).
- ``blas`` (``blas.py``): the same math with its products in preallocated buffers; for wide
  layers, and the fast path without Numba.
- ``compiled`` (``compiled.py``, needs Numba): forward, backprop and the step fused in one
  compiled call per run of mini-batches; several times faster for narrow networks.
- ``auto``: the fastest of these that can train the run (see ``default_engine``).

``select`` makes the trainer once per run; ``train`` is ``nn.train.train`` with that choice made
(it is ``mojinet.train``). ``feedforward``/``predict`` are the fast inference (``inference.py``).
The fast paths read only public state: the network's arrays and the optimiser's ``velocity``.
"""

from __future__ import annotations

from ..nn.network import Network
from ..nn.train import History
from ..nn.train import train as reference_train
from . import compiled
from .blas import BlasTrainer
from .common import unsupported_reason
from .compiled import CompiledTrainer, load_kernels
from .inference import feedforward, predict

__all__ = ["ENGINES", "BlasTrainer", "CompiledTrainer", "default_engine", "feedforward",
           "load_kernels", "predict", "select", "train", "unsupported_reason"]

ENGINES = ("auto", "reference", "blas", "compiled")

# When the compiled kernel beats BLAS products (measured on MNIST, one core, epochs of 20,000-60,000
# images): networks no wider than COMPILED_MAX_WIDTH (784-16-16-10 and 784-100-10 are several times
# faster compiled), and networks whose first layer is wide but whose later layers are small
# (784-800-10: 2.2 s/epoch against BLAS's 3.2; 784-1024-10, 784-2048-10): the first layer only
# works on the ~20% of pixels that are not 0, the rest is little work. Wider later layers
# (784-256-256-10, 784-300-100-10, 784-800-800-10) are faster with BLAS, whose register-blocked
# products win once both sides of a product are long.
COMPILED_MAX_WIDTH = 256
COMPILED_MAX_LATER_WEIGHTS = 20_480  # Σ fan_in·fan_out over the layers after the first


def default_engine(net: Network) -> str:
    """The faster fast engine for ``net``: compiled (if Numba is installed) for networks no wider
    than COMPILED_MAX_WIDTH or with at most COMPILED_MAX_LATER_WEIGHTS weights after the first
    layer, else blas."""
    if not compiled.HAVE_NUMBA:
        return "blas"
    sizes = net.sizes
    later = sum(i * o for i, o in zip(sizes[1:-1], sizes[2:]))
    if max(sizes[1:]) <= COMPILED_MAX_WIDTH or later <= COMPILED_MAX_LATER_WEIGHTS:
        return "compiled"
    return "blas"


def select(engine: str, net, optimizer, batch_size: int, *, dropout=None,
           constraint=None) -> BlasTrainer | CompiledTrainer | None:
    """The trainer that does a run's mini-batch steps with ``engine``; None means the reference
    loop. ``auto`` falls back to the reference for what the fast paths do not do (another
    optimiser, Nesterov, dropout, max-norm, a Network subclass); naming a fast engine for such a
    run is an error that says why."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    if engine == "reference":
        return None
    reason = unsupported_reason(net, optimizer)
    if reason is None and dropout:
        reason = "dropout"
    if reason is None and constraint is not None:
        reason = "a max-norm constraint"
    if reason is not None:
        if engine == "auto":
            return None
        raise ValueError(f"the {engine} engine cannot train this run: {reason}; use engine "
                         f"auto or reference")
    if engine == "auto":
        engine = default_engine(net)
    return (CompiledTrainer if engine == "compiled" else BlasTrainer)(net, optimizer, batch_size)


def train(net, X, y, *, optimizer, batch_size: int, engine: str = "auto", dropout=None,
          constraint=None, **options) -> History:
    """``nn.train.train`` (same arguments) with the mini-batch steps done by ``engine``: the same
    numbers as the reference loop, faster."""
    steps = select(engine, net, optimizer, batch_size, dropout=dropout, constraint=constraint)
    return reference_train(net, X, y, optimizer=optimizer, batch_size=batch_size,
                           dropout=dropout, constraint=constraint, steps=steps, **options)
