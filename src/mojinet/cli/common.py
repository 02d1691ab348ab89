"""What several commands do the same way: read a model whose inputs are square images."""

from __future__ import annotations

from ..io import Model, load_model
from .printer import CLIError


def load_square_model(path: str, command: str) -> tuple[Model, int]:
    """(the model in ``path``, the side of its square input images); ``command`` names who asks
    when the inputs are not square."""
    model = load_model(path)
    h, w = model.image_shape
    if h != w:
        raise CLIError(f"{path}: {command} needs square input images, not {h}×{w}")
    return model, h
