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

Parameters are ordered [W¹, b¹, …, Wᴸ, bᴸ, V, c] so that ``SGD`` updates all of them.
``trunk`` is a normal ``Network``: save it with ``io.save_model`` and every command works on it.
Non-goals: heads on other layers, weighting components differently.
"""

from __future__ import annotations

import numpy as np

from .init import init_layer
from .network import Gradients, Network

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

    def forward(self, X: Array):
        """The trunk's (zs, activations): the class head is the network's output."""
        return self.trunk.forward(X)

    def feedforward(self, X: Array) -> Array:
        return self.trunk.feedforward(X)

    def predict(self, X: Array) -> Array:
        return self.trunk.predict(X)

    def components(self, X: Array) -> Array:
        """P (batch, k): the component head's probability for every component."""
        _, activations = self.trunk.forward(X)
        return _sigmoid(activations[-2] @ self.V + self.c)  # (batch, k)

    def parameters(self) -> list[Array]:
        return [*self.trunk.parameters(), self.V, self.c]

    def costs(self, X: Array, Y: Array) -> tuple[float, float]:
        """(class cost, component cost before λ) of a batch."""
        zs, activations = self.trunk.forward(X)
        Y = np.asarray(Y, dtype=self.dtype)
        out = self.trunk.activations[-1]
        class_cost = self.trunk.cost.fn(zs[-1], activations[-1], Y, out)
        U = activations[-2] @ self.V + self.c  # (batch, k)
        T = Y @ self.M  # (batch, k)
        return class_cost, _bce(U, T)

    def backprop(self, X: Array, Y: Array) -> Gradients:
        """Gradients of C = C_class + λ C_components for every parameter (pure)."""
        trunk = self.trunk
        zs, activations = trunk.forward(X)
        Y = np.asarray(Y, dtype=self.dtype)
        if Y.shape != activations[-1].shape:
            raise ValueError(f"Y must have shape {activations[-1].shape}, got {Y.shape}")
        out = trunk.activations[-1]
        L = trunk.n_layers
        H = activations[-2]  # last hidden layer Aᴴ: (batch, hidden)
        U = H @ self.V + self.c  # (batch, k)
        P = _sigmoid(U)  # (batch, k)
        T = Y @ self.M  # (batch, k) component targets
        n, k = P.shape
        cost = trunk.cost.fn(zs[-1], activations[-1], Y, out) + self.lam * _bce(U, T)

        delta_U = self.lam * (P - T) / (n * k)  # (batch, k)
        nabla_V = H.T @ delta_U  # (hidden, k)
        nabla_c = delta_U.sum(axis=0)  # (k,)

        nabla_w: list[Array] = [None] * L  # type: ignore[list-item]
        nabla_b: list[Array] = [None] * L  # type: ignore[list-item]
        delta = trunk.cost.delta(zs[-1], activations[-1], Y, out)  # (BP1) (batch, n_out)
        for l in range(L - 1, -1, -1):
            nabla_b[l] = delta.sum(axis=0)  # (BP3) (fan_out,)
            nabla_w[l] = activations[l].T @ delta  # (BP4) (fan_in, fan_out)
            if l > 0:
                grad_a = delta @ trunk.weights[l].T  # ∂C/∂Aˡ⁻¹: (batch, fan_in)
                if l == L - 1:  # the last hidden layer also feeds the component head
                    grad_a = grad_a + delta_U @ self.V.T  # (batch, hidden)
                delta = trunk.activations[l - 1].backward(zs[l - 1], activations[l], grad_a)
        return Gradients([*nabla_w, nabla_V], [*nabla_b, nabla_c], cost)


def _sigmoid(u: Array) -> Array:
    e = np.exp(-np.abs(u))
    return np.where(u >= 0, 1 / (1 + e), e / (1 + e)).astype(u.dtype, copy=False)


def _bce(U: Array, T: Array) -> float:
    """Mean over samples and components of −[t ln σ(u) + (1 − t) ln(1 − σ(u))], from u (stable)."""
    per = np.maximum(U, 0) - U * T + np.log1p(np.exp(-np.abs(U)))  # (batch, k)
    return float(per.mean(dtype=np.float64))


def component_accuracy(model: TwoHeadNetwork, X: Array, y: Array) -> dict:
    """How well the component head does: mean per-component accuracy and exact-set accuracy."""
    P = model.components(X) >= 0.5  # (n, k)
    T = model.M[y] >= 0.5  # (n, k)
    return {"per_component": float((P == T).mean()), "exact_set": float((P == T).all(1).mean())}
