"""The multilayer perceptron: layers of neurons, a′ = σ(W·a + b), trained by backpropagation.

Rows are samples. A mini-batch X of shape (batch, n_in) passes through each layer l as one
matrix product, Zˡ = Aˡ⁻¹ Wˡ + bˡ and Aˡ = σˡ(Zˡ), with Wˡ of shape (fan_in, fan_out): this is the
chapter's a′ = σ(W·a + b) written for many samples at once (transposed: W·a becomes a·W).

Non-goals: convolution, recurrence, automatic differentiation. Every derivative is written out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .activations import Activation, get_activation
from .costs import Cost, get_cost
from .init import init_layer

Array = np.ndarray


class Gradients(NamedTuple):
    """∂C/∂Wˡ and ∂C/∂bˡ for every layer, and the cost C of the batch they were computed on."""

    nabla_w: list[Array]  # nabla_w[l]: (fan_in, fan_out)
    nabla_b: list[Array]  # nabla_b[l]: (fan_out,)
    cost: float


class Backward(NamedTuple):
    """What ``Network.backward`` returns: for the weight layers below the start, ∂C/∂Wˡ and ∂C/∂bˡ,
    and ∂C/∂Aˡ, the gradient with respect to each layer's activations."""

    nabla_w: list[Array]  # nabla_w[l]: (fan_in, fan_out) for weight layer l < top
    nabla_b: list[Array]  # nabla_b[l]: (fan_out,)
    grad_a: list[Array | None]  # grad_a[l]: ∂C/∂Aˡ (batch, sizes[l]); grad_a[0] only if asked


Masks = Sequence[Array | None] | None  # dropout masks, one per weight layer (see forward)


def _masked(A: Array, masks, l: int) -> Array:
    """Aˡ ⊙ Mˡ when layer l has a dropout mask, else Aˡ unchanged."""
    if masks is None or masks[l] is None:
        return A
    return A * masks[l]  # (batch, sizes[l])


class Network:
    """A fully connected network of ``sizes`` neurons per layer (input layer first).

    >>> net = Network([784, 16, 16, 10])          # the chapter's network, sigmoid everywhere
    >>> net.n_weights, net.n_biases
    (12960, 42)

    ``activations`` is one name for every layer after the input (or a single name for all of
    them). Parameters are float32 unless ``dtype`` says otherwise (tests use float64).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activations: str | Sequence[str] = "sigmoid",
        cost: str | Cost = "quadratic",
        *,
        init: str = "normal",
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        self._architecture(sizes, activations, cost, dtype)
        if rng is None:
            rng = np.random.default_rng(seed)
        self.weights: list[Array] = []
        self.biases: list[Array] = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            W, b = init_layer(fan_in, fan_out, init, rng, self.dtype)
            self.weights.append(W)  # (fan_in, fan_out)
            self.biases.append(b)  # (fan_out,)

    def _architecture(self, sizes, activations, cost, dtype) -> None:
        """Sizes, activations, cost and dtype, checked (everything but the parameters)."""
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s < 1 for s in sizes):
            raise ValueError(
                f"sizes must list at least an input and an output layer, each with >= 1 neuron; "
                f"got {sizes}"
            )
        if isinstance(activations, str) or isinstance(activations, Activation):
            activations = [activations] * (len(sizes) - 1)
        if len(activations) != len(sizes) - 1:
            raise ValueError(
                f"need one activation per layer after the input ({len(sizes) - 1}), "
                f"got {len(activations)}: {list(activations)}"
            )
        self.sizes = sizes
        self.activations: list[Activation] = [get_activation(a) for a in activations]
        for a in self.activations[:-1]:
            if a.derivative is None:
                raise ValueError(f"{a.name} is only supported on the output layer")
        self.cost: Cost = get_cost(cost)
        self.cost.check_output(self.activations[-1])
        self.dtype = np.dtype(dtype)

    @classmethod
    def from_parameters(
        cls,
        weights: Sequence[Array],
        biases: Sequence[Array],
        activations: str | Sequence[str] = "sigmoid",
        cost: str | Cost = "quadratic",
        dtype=np.float32,
        copy: bool = True,
    ) -> Network:
        """A network with the given weights[l] (fan_in, fan_out) and biases[l] (fan_out,).

        ``copy=False`` uses arrays that already have the dtype as they are (a loaded model's
        arrays: no second copy); no random initial weights are drawn either way."""
        if len(weights) != len(biases) or not weights:
            raise ValueError(f"need as many weight matrices as bias vectors (>= 1), got "
                             f"{len(weights)} and {len(biases)}")
        sizes = [np.shape(weights[0])[0]] + [np.shape(W)[-1] for W in weights]
        for l, (W, b) in enumerate(zip(weights, biases)):
            if np.shape(W) != (sizes[l], sizes[l + 1]) or np.shape(b) != (sizes[l + 1],):
                raise ValueError(
                    f"layer {l + 1}: weights {np.shape(W)} and biases {np.shape(b)} do not chain; "
                    f"expected ({sizes[l]}, {sizes[l + 1]}) and ({sizes[l + 1]},)"
                )
        net = cls.__new__(cls)
        net._architecture(sizes, activations, cost, dtype)
        take = np.array if copy else np.asarray
        net.weights = [take(W, dtype=net.dtype) for W in weights]
        net.biases = [take(b, dtype=net.dtype) for b in biases]
        return net

    # ----------------------------------------------------------------- description
    @property
    def n_layers(self) -> int:
        """Number of layers with weights (the input layer has none)."""
        return len(self.weights)

    @property
    def n_weights(self) -> int:
        return sum(W.size for W in self.weights)

    @property
    def n_biases(self) -> int:
        return sum(b.size for b in self.biases)

    @property
    def n_params(self) -> int:
        return self.n_weights + self.n_biases

    def summary(self) -> str:
        """Layer sizes, activations and cost, and exact parameter counts per layer."""
        lines = [f"Network {'-'.join(map(str, self.sizes))}: activations "
                 f"{', '.join(a.name for a in self.activations)}; cost {self.cost.name}"]
        for l, W in enumerate(self.weights, start=1):
            fan_in, fan_out = W.shape
            lines.append(f"  layer {l}: {fan_in:>5} → {fan_out:<5} {W.size:>10,} weights + "
                         f"{fan_out:,} biases")
        lines.append(f"  total: {self.n_weights:,} weights + {self.n_biases:,} biases = "
                     f"{self.n_params:,} parameters")
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # Jupyter: the layer table
        from .display import network_html

        return network_html(self)

    def __repr__(self) -> str:
        acts = ",".join(a.name for a in self.activations)
        return f"Network({'-'.join(map(str, self.sizes))}, {acts}, {self.cost.name})"

    def _check_input(self, X: Array) -> Array:
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(
                f"input must have shape (batch, {self.sizes[0]}) — one row of {self.sizes[0]} "
                f"input activations per sample; got {X.shape}"
            )
        return X.astype(self.dtype, copy=False)

    # ----------------------------------------------------------------- forward
    def feedforward(self, X: Array) -> Array:
        """Output activations Aᴸ for a batch X: (batch, n_in) → (batch, n_out)."""
        A = self._check_input(X)  # (batch, n_in)
        for W, b, sigma in zip(self.weights, self.biases, self.activations):
            A = sigma(A @ W + b)  # (batch, fan_out)
        return A

    def forward(self, X: Array, masks: Masks = None) -> tuple[list[Array], list[Array]]:
        """Weighted inputs and activations of every layer.

        Returns ``(zs, activations)``: zs[l] is Zˡ⁺¹ (batch, sizes[l+1]) and activations[l] is Aˡ
        (batch, sizes[l]), so activations[0] is the input and activations[-1] the output.

        ``masks`` (training with dropout only, see ``regularize.Dropout``): masks[l] of shape
        (batch, sizes[l]), or None, multiplies what layer l passes on, Zˡ⁺¹ = (Aˡ ⊙ Mˡ) Wˡ⁺¹ + bˡ⁺¹.
        The returned activations are the unmasked Aˡ.
        """
        A = self._check_input(X)
        self._check_masks(masks, len(A))
        zs: list[Array] = []
        activations: list[Array] = [A]
        for l, (W, b, sigma) in enumerate(zip(self.weights, self.biases, self.activations)):
            Z = _masked(A, masks, l) @ W + b  # (batch, fan_out)
            A = sigma(Z)  # (batch, fan_out)
            zs.append(Z)
            activations.append(A)
        return zs, activations

    def predict(self, X: Array) -> Array:
        """Index of the most active output neuron for each row: (batch,)."""
        return np.argmax(self.feedforward(X), axis=1)

    def total_cost(self, X: Array, Y: Array, batch_size: int = 10_000) -> float:
        """Mean cost over a (possibly large) dataset, computed in chunks."""
        total = 0.0
        for i in range(0, len(X), batch_size):
            zs, activations = self.forward(X[i : i + batch_size])
            Yb = np.asarray(Y[i : i + batch_size], dtype=self.dtype)
            total += self.cost.fn(zs[-1], activations[-1], Yb, self.activations[-1]) * len(Yb)
        return total / len(X)

    # ----------------------------------------------------------------- backward
    def backprop(self, X: Array, Y: Array, masks: Masks = None,
                 weights: Array | None = None) -> Gradients:
        """Gradient of the mean cost over the batch (X, Y) with respect to every weight and bias.

        The four equations of backpropagation, in matrix form for a batch (rows = samples,
        ⊙ = elementwise product, L = output layer):

        (BP1) δᴸ = ∇_a C ⊙ σ'(Zᴸ)                 the output error (``Cost.delta``)
        (BP2) δˡ = (δˡ⁺¹ (Wˡ⁺¹)ᵀ) ⊙ σ'(Zˡ)        the error moves back one layer
        (BP3) ∂C/∂bˡ = Σ_rows δˡ                   (rows already carry the 1/n of the mean)
        (BP4) ∂C/∂Wˡ = (Aˡ⁻¹)ᵀ δˡ

        Pure: returns fresh arrays and changes nothing. ``Y`` holds the wanted output
        activations (one-hot rows for classification): (batch, n_out).

        With dropout ``masks`` (see ``forward``) layer l sees Ãˡ⁻¹ = Aˡ⁻¹ ⊙ Mˡ⁻¹ instead of Aˡ⁻¹,
        so (BP4) uses Ãˡ⁻¹ and (BP2) gains the mask: δˡ = (δˡ⁺¹ (Wˡ⁺¹)ᵀ ⊙ Mˡ) ⊙ σ'(Zˡ).

        ``weights`` (batch,): per-sample weights sₓ of the cost C = (1/n) Σₓ sₓ Cₓ (``costs.py``);
        they scale the rows of δᴸ in (BP1), and (BP2)–(BP4) carry them through unchanged.
        """
        zs, activations = self.forward(X, masks)
        Y = self.check_wanted(Y, activations[-1])
        weights = self.check_weights(weights, len(Y))
        out = self.activations[-1]
        cost = self.cost.fn(zs[-1], activations[-1], Y, out, weights)
        delta = self.cost.delta(zs[-1], activations[-1], Y, out, weights)  # (BP1) (batch, n_out)
        back = self.backward(zs, activations, delta, masks=masks)  # (BP2)–(BP4)
        return Gradients(back.nabla_w, back.nabla_b, cost)

    def backward(self, zs, activations, delta: Array, *, top: int | None = None,
                 masks: Masks = None, joins: dict[int, Array] | None = None,
                 to_input: bool = False) -> Backward:
        """(BP2)–(BP4) from δ at layer ``top`` (default: the output, δᴸ) down to the input.

        ``zs``, ``activations``: from ``forward`` (with the same ``masks``); ``delta``: (batch,
        sizes[top]). For each weight layer l < top (0-based, Wˡ maps Aˡ to Zˡ⁺¹):

            ∂C/∂bˡ = Σ_rows δ,  ∂C/∂Wˡ = (Ãˡ)ᵀ δ,  ∂C/∂Ãˡ = δ (Wˡ)ᵀ (+ joins[l])
            ∂C/∂Aˡ = ∂C/∂Ãˡ ⊙ Mˡ,  and one layer down  δ ← σ'-backward of ∂C/∂Aˡ     (BP2)

        with Ãˡ = Aˡ ⊙ Mˡ the masked activations when there is dropout. ``joins[l]`` adds the
        gradient of another branch that reads layer l's activations (e.g. the component head of
        ``twohead.py``: ∂C/∂Aᴴ gets δᵁVᵀ as well). ``to_input``: also ∂C/∂A⁰, the gradient with
        respect to the input pixels (one more product; backprop does not need it).
        """
        top = self.n_layers if top is None else top
        nabla_w: list[Array] = [None] * top  # type: ignore[list-item]
        nabla_b: list[Array] = [None] * top  # type: ignore[list-item]
        grad_a: list[Array | None] = [None] * top
        for l in range(top - 1, -1, -1):
            nabla_b[l] = delta.sum(axis=0)  # (BP3) (fan_out,)
            nabla_w[l] = _masked(activations[l], masks, l).T @ delta  # (BP4) (fan_in, fan_out)
            if l == 0 and not to_input:
                break
            grad = delta @ self.weights[l].T  # ∂C/∂Ãˡ: (batch, fan_in)
            if joins and l in joins:
                grad = grad + joins[l]
            grad_a[l] = _masked(grad, masks, l)  # ∂C/∂Aˡ: (batch, fan_in)
            if l > 0:
                delta = self.activations[l - 1].backward(zs[l - 1], activations[l], grad_a[l])
        return Backward(nabla_w, nabla_b, grad_a)

    def check_wanted(self, Y: Array, out: Array) -> Array:
        """Y as wanted outputs for the output activations ``out``: same shape, the net's dtype."""
        Y = np.asarray(Y, dtype=self.dtype)
        if Y.shape != out.shape:
            raise ValueError(f"wanted outputs Y must have shape {out.shape}, got {Y.shape}")
        return Y

    def check_weights(self, weights: Array | None, batch: int) -> Array | None:
        """Per-sample weights as a (batch,) array of the net's dtype (None stays None)."""
        if weights is None:
            return None
        weights = np.asarray(weights, dtype=self.dtype)
        if weights.shape != (batch,):
            raise ValueError(f"sample weights must have shape ({batch},), one per sample; got "
                             f"{weights.shape}")
        return weights

    def _check_masks(self, masks: Masks, batch: int) -> None:
        if masks is None:
            return
        if len(masks) != self.n_layers:
            raise ValueError(f"need one dropout mask (or None) per weight layer "
                             f"({self.n_layers}), got {len(masks)}")
        for l, M in enumerate(masks):
            if M is not None and M.shape != (batch, self.sizes[l]):
                raise ValueError(f"dropout mask {l} must have shape {(batch, self.sizes[l])}, "
                                 f"got {M.shape}")

    # ----------------------------------------------------------------- parameters
    def parameters(self) -> list[Array]:
        """Every parameter array, in the order [W¹, b¹, W², b², …] (views, not copies)."""
        return [p for W, b in zip(self.weights, self.biases) for p in (W, b)]

    def copy(self) -> Network:
        """An independent copy (same architecture, copied parameters)."""
        clone = object.__new__(Network)
        clone.__dict__.update(self.__dict__)
        clone.weights = [W.copy() for W in self.weights]
        clone.biases = [b.copy() for b in self.biases]
        return clone
