"""What several commands do the same way: read a model whose inputs are square images; show
option defaults in --help."""

from __future__ import annotations

import argparse

from ..io import Model, load_model
from .printer import CLIError


def load_square_model(path: str, command: str) -> tuple[Model, int]:
    """(the model in ``path``, the side of its square input images); ``command`` names who asks
    when the inputs are not square."""
    from ..models import model_path

    model = load_model(model_path(path))  # a file, or a shipped model's name
    h, w = model.image_shape
    if h != w:
        raise CLIError(f"{path}: {command} needs square input images, not {h}×{w}")
    return model, h


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """--help with each option's default, "(default: X)", unless its help already says its
    default or there is none to say (None, False, an empty list)."""

    def _get_help_string(self, action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or default is None or default is False or default == []
                or default is argparse.SUPPRESS or not action.option_strings):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        return f"{text} (default: {shown})" if text else f"(default: {shown})"
