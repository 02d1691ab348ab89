"""Looking inside a trained network: what it computes for one image, and what it has learned.

Every function here takes a ``Network`` (and arrays) and returns plain NumPy arrays or small
named tuples, so notebooks, the ``inspect``/``figures`` commands and the web page can share them.
Rows are samples, as everywhere in mojinet; layer numbering follows ``Network.forward``:
``activations[0]`` is the input layer, ``activations[l]`` the output of weight layer l (1-based),
``activations[-1]`` the output layer.

For one image
- ``layer_activations``      aˡ for every layer (input, hidden…, output).
- ``output_contributions``   how much each neuron of the last hidden layer pushes one output:
                             the terms wᵢⱼ·aᵢ of zⱼ = Σᵢ wᵢⱼ aᵢ + bⱼ.
- ``sensitivities``          ∂C/∂w and ∂C/∂b for this one example (backprop on a batch of one),
                             and ``largest_sensitivities`` to rank them.
- ``output_nudges``          −∂C/∂aᴸ: how backpropagation wants each output activation to move.
- ``activation_gradients``   ∂C/∂aˡ for every layer, down to the input pixels.

What the network learned
- ``incoming_weight_images`` each first-layer hidden neuron's incoming weights as an image.
- ``preferred_inputs``       the input that most excites a neuron (projected gradient ascent).
- ``confusion_matrix``, ``topk_accuracy``, ``confident_mistakes``.
- ``top_k_active``, ``jaccard_matrix``, ``class_overlap``, ``overlap_summary``: do the same
  hidden neurons fire for every example of a class, or different ones for different variations?
  (``standardise`` first to rank neurons by how unusually active they are.)
- ``diverse_examples``       several different-looking examples of one class.

Non-goals: attributions beyond what backpropagation itself gives (no integrated gradients,
no saliency smoothing); any plotting (see ``mojinet.viz``).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb
from typing import NamedTuple

import numpy as np

from .nn.network import Gradients, Network
from .nn.train import one_hot

Array = np.ndarray

__all__ = [
    "Sensitivity", "OverlapSummary", "layer_activations", "output_contributions", "sensitivities",
    "largest_sensitivities", "output_nudges", "cost_gradient_wrt_output", "activation_gradients",
    "incoming_weight_images", "preferred_inputs", "confusion_matrix", "confident_mistakes",
    "topk_accuracy",
    "top_k_active", "jaccard_matrix", "class_overlap", "overlap_summary", "chance_jaccard",
    "diverse_examples", "layer_name", "standardise",
]


def layer_name(net: Network, l: int) -> str:
    """'input', 'hidden 1', …, 'output' for activation layer index l (0 = input)."""
    if l == 0:
        return "input"
    if l == len(net.sizes) - 1:
        return "output"
    return f"hidden {l}"


def _one_row(net: Network, x: Array) -> Array:
    x = np.asarray(x, dtype=net.dtype).reshape(-1)  # (n_in,)
    if x.shape != (net.sizes[0],):
        raise ValueError(f"expected one input of {net.sizes[0]} values, got {x.size}")
    return x[None, :]  # (1, n_in)


# ----------------------------------------------------------------------------- one image
def layer_activations(net: Network, x: Array) -> list[Array]:
    """Activations of every layer for one input x (n_in,) or a batch (batch, n_in).

    Returns a list with one array per layer, input first: (n_l,) for one input,
    (batch, n_l) for a batch.
    """
    single = np.asarray(x).ndim == 1
    _, activations = net.forward(x)
    return [a[0] for a in activations] if single else activations


def output_contributions(net: Network, x: Array, j: int) -> tuple[Array, float]:
    """The terms of output neuron j's weighted input for one input x.

    zⱼᴸ = Σᵢ wᵢⱼ aᵢᴸ⁻¹ + bⱼ: returns (contributions (n_{L−1},) with entry i = wᵢⱼ·aᵢᴸ⁻¹, bⱼ).
    Positive terms push output j up, negative ones push it down; they sum with the bias to zⱼ.
    For a network without hidden layers the "neurons" are the input pixels.
    """
    _, activations = net.forward(_one_row(net, x))
    a_prev = activations[-2][0]  # (n_{L-1},)
    W = net.weights[-1]  # (n_{L-1}, n_out)
    return W[:, j] * a_prev, float(net.biases[-1][j])  # (n_{L-1},), scalar


def sensitivities(net: Network, x: Array, label: int) -> Gradients:
    """∂C/∂w and ∂C/∂b of the cost of this one example, wanting output ``label``.

    This is exactly ``net.backprop`` on a batch of one with the one-hot wanted output: the
    gradient that one step of stochastic gradient descent on this image would follow.
    """
    X = _one_row(net, x)
    return net.backprop(X, one_hot(np.array([label]), net.sizes[-1], net.dtype))


class Sensitivity(NamedTuple):
    """One gradient component: ∂C/∂(parameter) for weight W{layer}[i, j] or bias b{layer}[j]."""

    layer: int  # 1-based weight layer (1 = input → first hidden)
    kind: str  # "weight" or "bias"
    index: tuple[int, ...]  # (i, j) for a weight (from neuron i to neuron j), (j,) for a bias
    gradient: float

    @property
    def name(self) -> str:
        idx = ", ".join(map(str, self.index))
        return f"{'W' if self.kind == 'weight' else 'b'}{self.layer}[{idx}]"


def largest_sensitivities(grads: Gradients, k: int = 10, kind: str = "all") -> list[Sensitivity]:
    """The k gradient components of largest magnitude, largest first.

    ``kind`` is "weight", "bias" or "all". Ties are broken by order (layer, weights before biases,
    row-major index) so the result is deterministic.
    """
    if kind not in ("weight", "bias", "all"):
        raise ValueError(f"kind must be 'weight', 'bias' or 'all', not {kind!r}")
    parts: list[tuple[int, str, Array]] = []
    for l, (gw, gb) in enumerate(zip(grads.nabla_w, grads.nabla_b), start=1):
        if kind in ("weight", "all"):
            parts.append((l, "weight", gw))
        if kind in ("bias", "all"):
            parts.append((l, "bias", gb))
    flat = np.concatenate([g.reshape(-1) for _, _, g in parts]).astype(np.float64)  # (n_params,)
    k = min(k, flat.size)
    order = np.argsort(-np.abs(flat), kind="stable")[:k]
    offsets = np.cumsum([0] + [g.size for _, _, g in parts])
    result = []
    for flat_i in order:
        p = int(np.searchsorted(offsets, flat_i, side="right") - 1)
        l, what, g = parts[p]
        index = tuple(int(i) for i in np.unravel_index(flat_i - offsets[p], g.shape))
        result.append(Sensitivity(l, what, index, float(flat[flat_i])))
    return result


def cost_gradient_wrt_output(net: Network, a: Array, y: Array) -> Array:
    """∂C/∂aᴸ for output activations a and wanted outputs y, both (batch, n_out).

    Per example (no 1/n of the batch mean): quadratic ½‖a − y‖² gives a − y; cross-entropy
    gives −y/a for a softmax output and (a − y)/(a(1 − a)) for sigmoid outputs.
    """
    a = np.asarray(a, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    name = net.cost.name
    if name == "quadratic":
        return a - y
    if name == "cross-entropy":
        tiny = np.finfo(np.float64).tiny
        if net.activations[-1].name == "softmax":
            return -y / np.maximum(a, tiny)
        return (a - y) / np.maximum(a * (1 - a), tiny)
    raise ValueError(f"no ∂C/∂a formula for the {name} cost")  # pragma: no cover


def output_nudges(net: Network, x: Array, label: int) -> Array:
    """−∂C/∂aᴸ for one input: the change backpropagation asks of each output activation.

    Positive = "be more active", negative = "be less active", in proportion to how much the
    cost would fall. For the chapter's quadratic cost this is simply y − a: the wanted output
    pulls up, every other output is pushed down by its own activation. Returns (n_out,).
    """
    _, activations = net.forward(_one_row(net, x))
    y = one_hot(np.array([label]), net.sizes[-1], np.float64)
    return -cost_gradient_wrt_output(net, activations[-1], y)[0]  # (n_out,)


def activation_gradients(net: Network, x: Array, label: int) -> list[Array]:
    """∂C/∂aˡ for every layer l (input first) for one input, wanting output ``label``.

    The entry for the input layer says how the cost changes with each pixel; the entry for the
    output layer is −``output_nudges``. Returns a list of (n_l,) arrays.
    """
    X = _one_row(net, x)
    zs, activations = net.forward(X)
    Y = one_hot(np.array([label]), net.sizes[-1], np.float64)
    grad_out = cost_gradient_wrt_output(net, activations[-1], Y)  # ∂C/∂aᴸ: (1, n_out)
    delta = net.activations[-1].backward(zs[-1], activations[-1], grad_out)  # δᴸ = ∂C/∂zᴸ
    back = net.backward(zs, activations, delta, to_input=True)  # backpropagation's BP2, to a⁰
    return [g[0] for g in [*back.grad_a, grad_out]]


# ----------------------------------------------------------------------------- what was learned
def incoming_weight_images(net: Network, image_shape: tuple[int, int]) -> Array:
    """Each first-layer neuron's incoming weights as an image: (n_hidden1, height, width).

    Entry [j, r, c] is the weight from pixel (r, c) to neuron j: positive where ink makes the
    neuron more active, negative where ink makes it less active.
    """
    h, w = image_shape
    W = net.weights[0]  # (n_in, n_1)
    if W.shape[0] != h * w:
        raise ValueError(f"the network has {W.shape[0]} inputs, not {h}×{w} = {h * w} pixels")
    return W.T.reshape(W.shape[1], h, w)  # (n_1, h, w)


def preferred_inputs(
    net: Network,
    layer: int,
    *,
    norm: float | None = None,
    neurons: Sequence[int] | None = None,
    steps: int = 500,
    step_size: float = 0.2,
    seed: int = 0,
) -> tuple[Array, Array]:
    """The input each neuron of ``layer`` (1-based weight layer) responds to most.

    Maximises the neuron's weighted input zⱼ (not σ(zⱼ), which saturates and stops giving a
    gradient) by projected gradient ascent over inputs x with every pixel in [0, 1] and, if
    ``norm`` is given, ‖x‖₂ ≤ norm (e.g. the typical norm of a real image, so the answer cannot
    simply be "ink everywhere"). Each step moves ``step_size`` (decaying geometrically to 1% of
    it by the last step) along the normalised gradient; the projection clips to [0, 1] and then
    shrinks toward 0 if the norm is too large, which keeps both constraints satisfied.

    For layer 1 the exact answer is known (x ∝ the positive part of the incoming weights); for
    deeper layers this is a local optimum from a small random start. ``neurons`` picks some
    neurons of the layer (default: all). Returns (inputs (n, n_in), z reached (n,)), one row per
    neuron.
    """
    if not 1 <= layer <= net.n_layers:
        raise ValueError(f"layer must be in 1..{net.n_layers}, got {layer}")
    neurons = np.arange(net.sizes[layer]) if neurons is None else np.asarray(neurons, dtype=int)
    if neurons.ndim != 1 or (neurons.size and not 0 <= neurons.min() <= neurons.max()
                             < net.sizes[layer]):
        raise ValueError(f"neurons must be indices in 0..{net.sizes[layer] - 1}")
    n = len(neurons)
    rng = np.random.default_rng(seed)
    # (n, n_in): row j is neuron j's input; drawn for the whole layer, so that a neuron's start
    # (and answer) does not depend on which other neurons are asked for.
    X = rng.uniform(0.0, 0.1, size=(net.sizes[layer], net.sizes[0]))[neurons]

    def project(X: Array) -> Array:
        X = np.clip(X, 0.0, 1.0)
        if norm is not None:
            lengths = np.linalg.norm(X, axis=1, keepdims=True)  # (n, 1)
            X = X * np.minimum(1.0, norm / np.maximum(lengths, 1e-12))
        return X

    X = project(X)
    delta = np.zeros((n, net.sizes[layer]), dtype=net.dtype)  # ∂zⱼ/∂zˡ: row r is 1 at neurons[r]
    delta[np.arange(n), neurons] = 1
    for t in range(steps):
        eta = step_size * 0.01 ** (t / max(steps - 1, 1))
        zs, activations = net.forward(X.astype(net.dtype))
        back = net.backward(zs, activations, delta, top=layer, to_input=True)  # BP2, to x
        g = back.grad_a[0].astype(np.float64)  # ∂zⱼ/∂x: (n, n_in)
        g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)  # direction only
        X = project(X + eta * g)
    zs, _ = net.forward(X.astype(net.dtype))
    return X, zs[layer - 1][np.arange(n), neurons].astype(np.float64)


def confusion_matrix(y_true: Array, y_pred: Array, n_classes: int) -> Array:
    """(n_classes, n_classes) counts: rows = true class, columns = predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def topk_accuracy(net, X: Array, y: Array, k: int, batch_size: int = 4096) -> float:
    """Share of the rows of X whose class y is among the k most active outputs of ``net`` (a
    Network, or a Model: that reads images, its own features of them)."""
    hits = 0
    for i in range(0, len(X), batch_size):
        A = net.feedforward(X[i : i + batch_size])  # (batch, n_out)
        k_ = min(k, A.shape[1])
        top = np.argpartition(-A, k_ - 1, axis=1)[:, :k_]  # (batch, k)
        hits += int((top == y[i : i + batch_size, None]).any(axis=1).sum())
    return hits / len(X)


def confident_mistakes(P: Array, y: Array, n: int = 16) -> Array:
    """Indices of the misclassified rows whose (wrong) top probability is highest, at most n.

    P: (batch, n_classes) class probabilities (e.g. ``Model.probabilities``); y: (batch,) labels.
    """
    pred = np.argmax(P, axis=1)  # (batch,)
    wrong = np.flatnonzero(pred != y)
    confidence = P[wrong, pred[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:n]]


# ----------------------------------------------------------------------------- within-class
def top_k_active(H: Array, k: int) -> Array:
    """Boolean mask (batch, n) marking each row's k largest entries (ties: lower index first)."""
    H = np.asarray(H)
    if not 1 <= k <= H.shape[1]:
        raise ValueError(f"k must be in 1..{H.shape[1]}, got {k}")
    order = np.argsort(-H, axis=1, kind="stable")[:, :k]  # (batch, k)
    mask = np.zeros(H.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask


def jaccard_matrix(A: Array, B: Array) -> Array:
    """Jaccard index |a ∩ b| / |a ∪ b| between every row of masks A (m, n) and B (p, n): (m, p).

    Two empty sets count as identical (1).
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    inter = A @ B.T  # (m, p)
    union = A.sum(1)[:, None] + B.sum(1)[None, :] - inter  # (m, p)
    return np.divide(inter, union, out=np.ones_like(inter), where=union > 0)


def class_overlap(M: Array, y: Array, n_classes: int, max_per_class: int = 2000) -> Array:
    """Mean Jaccard overlap of active-neuron sets between classes: (n_classes, n_classes).

    M: (batch, n) boolean masks (e.g. ``top_k_active``), y: (batch,) labels. Entry [a, b] is the
    mean over pairs (one example of class a, one of class b) of the Jaccard index; on the
    diagonal a sample is never paired with itself. NaN where a class has too few samples.
    At most ``max_per_class`` samples per class are used (the first ones), to bound memory.
    """
    y = np.asarray(y)
    members = [np.flatnonzero(y == c)[:max_per_class] for c in range(n_classes)]
    out = np.full((n_classes, n_classes), np.nan)
    for a in range(n_classes):
        for b in range(a, n_classes):
            J = jaccard_matrix(M[members[a]], M[members[b]])  # (n_a, n_b)
            if a == b:
                m = len(members[a])
                if m >= 2:
                    out[a, a] = (J.sum() - np.trace(J)) / (m * (m - 1))
            elif J.size:
                out[a, b] = out[b, a] = J.mean()
    return out


def chance_jaccard(n: int, k: int) -> float:
    """Expected Jaccard index of two independent, uniformly random k-subsets of n neurons.

    The intersection size m is hypergeometric: P(m) = C(k, m) C(n−k, k−m) / C(n, k), and
    J = m / (2k − m).
    """
    total = comb(n, k)
    return sum(comb(k, m) * comb(n - k, k - m) / total * m / (2 * k - m)
               for m in range(0, k + 1) if k - m <= n - k)


class OverlapSummary(NamedTuple):
    """Within-class vs between-class overlap of the top-k active hidden neurons."""

    within: float  # mean Jaccard over pairs of examples of the same class
    between: float  # mean Jaccard over pairs of examples of different classes
    per_class_within: Array  # (n_classes,)
    per_class_between: Array  # (n_classes,): class c against all other classes
    matrix: Array  # (n_classes, n_classes) from ``class_overlap``
    chance: float  # the same measure for random k-subsets
    k: int
    n_neurons: int


def overlap_summary(H: Array, y: Array, n_classes: int, k: int,
                    max_per_class: int = 2000) -> OverlapSummary:
    """Top-k active neurons of each row of H (batch, n) → within- vs between-class overlap.

    ``within`` and ``between`` are means over all pairs (each pair weighted equally), computed
    from the class-by-class matrix and the class sizes.
    """
    y = np.asarray(y)
    M = top_k_active(H, k)
    C = class_overlap(M, y, n_classes, max_per_class)
    sizes = np.array([min(int(np.sum(y == c)), max_per_class) for c in range(n_classes)])
    pairs = np.outer(sizes, sizes).astype(np.float64)  # ordered pairs between classes
    np.fill_diagonal(pairs, sizes * (sizes - 1.0))
    valid = ~np.isnan(C)
    same = np.eye(n_classes, dtype=bool)
    within = float(np.sum((C * pairs)[valid & same]) / np.sum(pairs[valid & same]))
    between = float(np.sum((C * pairs)[valid & ~same]) / np.sum(pairs[valid & ~same]))
    off = np.where(same | ~valid, 0.0, pairs)
    per_between = np.nansum(np.where(same, 0.0, C) * off, axis=1) / np.maximum(off.sum(1), 1)
    return OverlapSummary(within, between, np.diag(C).copy(), per_between, C,
                          chance_jaccard(H.shape[1], k), k, H.shape[1])


def standardise(H: Array) -> Array:
    """Each column (neuron) of H (batch, n) as z-scores over the batch: (H − mean) / std.

    "Most active" then means "more active than this neuron usually is", so a neuron that is on
    for almost every image no longer counts as firing for all of them. Constant columns become 0.
    """
    H = np.asarray(H, dtype=np.float64)
    std = H.std(axis=0)  # (n,)
    return (H - H.mean(axis=0)) / np.where(std > 0, std, 1.0)  # (batch, n)


def diverse_examples(X: Array, n: int) -> Array:
    """Indices of n rows of X that look as different as possible (farthest-point sampling).

    Starts from the row closest to the mean image (a "typical" example), then repeatedly adds
    the row farthest (Euclidean, in pixel space) from all rows chosen so far.
    """
    X = np.asarray(X, dtype=np.float64)
    if len(X) == 0:
        return np.zeros(0, dtype=np.int64)
    n = min(n, len(X))
    first = int(np.argmin(np.linalg.norm(X - X.mean(0), axis=1)))
    chosen = [first]
    dist = np.linalg.norm(X - X[first], axis=1)  # (batch,) distance to the chosen set
    for _ in range(n - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(X - X[nxt], axis=1))
    return np.array(chosen, dtype=np.int64)
