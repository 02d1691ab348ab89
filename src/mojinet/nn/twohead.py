"""A network with a second output head: which components (radicals) does the kanji contain?

The trunk is an ordinary ``Network`` (input → hidden layers → class outputs, unchanged). A second
output layer reads the *last hidden layer* Aᴴ and predicts, for each of k components, whether the
character contains it (multi-label: independent sigmoids, binary cross-entropy):

    U = Aᴴ V + c,  P = σ(U)                                  V: (hidden, k), c: (k,)
    C = C_class + λ · (1/k) Σⱼ mean_x [−tⱼ ln pⱼ − (1 − tⱼ) ln(1 − pⱼ)]

The component targets T = Y M come from the class targets Y (one-hot) and the table M
(n_classes, k) of which class has which component, so the model trains with the plain ``train``
loop. Backpropagation is the trunk's, with one change where the heads meet — the last hidden
layer receives error from both heads:

    δᵁ = λ (P − T) / (n k)                  (sigmoid + cross-entropy: σ' cancels, as in costs.py)
    ∂C/∂Aᴴ = δᴸ (Wᴸ)ᵀ + δᵁ Vᵀ               (BP2 with two layers above)

Parameters are ordered [W¹, b¹, …, Wᴸ, bᴸ, V, c] so that ``SGD`` updates all of them. The
backward pass is the trunk's own (``Network.backward``, with the head's δᵁVᵀ joining at the last
hidden layer), so dropout works as in the trunk: the head reads the same masked Ãᴴ.
``trunk`` is a normal ``Network``: save it with ``io.save_model`` and every command works on it.
Non-goals: heads on other layers, weighting components differently.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid
from .costs import binary_cross_entropy_from_logits
from .init import init_layer
from .network import Gradients, Masks, Network

Array = np.ndarray


class TwoHeadNetwork:
    """``trunk`` (a classifier ``Network`` with ≥ 1 hidden layer) + a component head.

    M: (n_classes, k) 0/1 table, M[class, j] = 1 if the class contains component j.
    lam: weight λ of the component cost. Duck-types what ``train``/``evaluate``/``SGD`` use.
    """

    def __init__(self, trunk: Network, M: Array, lam: float = 1.0, *, seed: int | None = None,
                 rng: np.random.Generator | None = None):
        if trunk.n_layers < 2:
            raise ValueError("the component head reads the last hidden layer: the trunk needs one")
        M = np.asarray(M)
        if M.ndim != 2 or M.shape[0] != trunk.sizes[-1] or M.shape[1] < 1:
            raise ValueError(
                f"M must have shape (n_classes={trunk.sizes[-1]}, components >= 1), got {M.shape}"
            )
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        self.trunk = trunk
        self.M = M.astype(trunk.dtype)  # (n_classes, k)
        self.lam = float(lam)
        rng = rng if rng is not None else np.random.default_rng(seed)
        self.V, self.c = init_layer(trunk.sizes[-2], M.shape[1], "xavier", rng, trunk.dtype)

    # what train / evaluate / SGD read
    @property
    def sizes(self):
        return self.trunk.sizes

    @property
    def dtype(self):
        return self.trunk.dtype

    @property
    def cost(self):
        return self.trunk.cost

    @property
    def activations(self):
        return self.trunk.activations

    @property
    def n_layers(self) -> int:
        return self.trunk.n_layers

    @property
    def weights(self) -> list[Array]:
        return [*self.trunk.weights, self.V]

    @property
    def biases(self) -> list[Array]:
        return [*self.trunk.biases, self.c]

    def forward(self, X: Array, masks: Masks = None):
        """The trunk's (zs, activations): the class head is the network's output."""
        return self.trunk.forward(X, masks)

    def feedforward(self, X: Array) -> Array:
        return self.trunk.feedforward(X)

    def predict(self, X: Array) -> Array:
        return self.trunk.predict(X)

    def components(self, X: Array) -> Array:
        """P (batch, k): the component head's probability for every component."""
        _, activations = self.trunk.forward(X)
        return sigmoid(activations[-2] @ self.V + self.c)  # (batch, k)

    def parameters(self) -> list[Array]:
        return [*self.trunk.parameters(), self.V, self.c]

    def costs(self, X: Array, Y: Array, masks: Masks = None) -> tuple[float, float]:
        """(class cost, component cost before λ) of a batch (with fixed dropout ``masks``)."""
        zs, activations = self.trunk.forward(X, masks)
        Y = self.trunk.check_wanted(Y, activations[-1])
        class_cost = self.trunk.cost.fn(zs[-1], activations[-1], Y, self.trunk.activations[-1])
        H = self._head_input(activations, masks)
        return class_cost, _bce(H @ self.V + self.c, Y @ self.M)

    def backprop(self, X: Array, Y: Array, masks: Masks = None) -> Gradients:
        """Gradients of C = C_class + λ C_components for every parameter (pure). ``masks``:
        dropout masks, as for ``Network.backprop``."""
        trunk = self.trunk
        zs, activations = trunk.forward(X, masks)
        Y = trunk.check_wanted(Y, activations[-1])
        out = trunk.activations[-1]
        H = self._head_input(activations, masks)  # (batch, hidden)
        U = H @ self.V + self.c  # (batch, k)
        T = Y @ self.M  # (batch, k) component targets
        n, k = U.shape
        cost = trunk.cost.fn(zs[-1], activations[-1], Y, out) + self.lam * _bce(U, T)

        delta_U = self.lam * (sigmoid(U) - T) / (n * k)  # (batch, k)
        delta = trunk.cost.delta(zs[-1], activations[-1], Y, out)  # (BP1) (batch, n_out)
        # (BP2)–(BP4) of the trunk, the head's error joining where it reads: ∂C/∂Ãᴴ += δᵁVᵀ
        back = trunk.backward(zs, activations, delta, masks=masks,
                              joins={trunk.n_layers - 1: delta_U @ self.V.T})
        nabla_V = H.T @ delta_U  # (hidden, k)
        nabla_c = delta_U.sum(axis=0)  # (k,)
        return Gradients([*back.nabla_w, nabla_V], [*back.nabla_b, nabla_c], cost)

    def _head_input(self, activations, masks: Masks) -> Array:
        """What the head reads: the last hidden layer Aᴴ as it is passed on (Ãᴴ with dropout)."""
        H, last = activations[-2], self.trunk.n_layers - 1  # (batch, hidden)
        return H if masks is None or masks[last] is None else H * masks[last]


def _bce(U: Array, T: Array) -> float:
    """Mean over samples and components of the binary cross-entropy from u (stable)."""
    return float(binary_cross_entropy_from_logits(U, T).mean(dtype=np.float64))


def component_accuracy(model: TwoHeadNetwork, X: Array, y: Array) -> dict:
    """How well the component head does: mean per-component accuracy and exact-set accuracy."""
    P = model.components(X) >= 0.5  # (n, k)
    T = model.M[y] >= 0.5  # (n, k)
    return {"per_component": float((P == T).mean()), "exact_set": float((P == T).all(1).mean())}
