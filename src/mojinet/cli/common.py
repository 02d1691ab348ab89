"""What several commands do the same way: read a model whose inputs are square images; check
a whole-number option's range while parsing (before any work), with argparse's own message."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..io import Model, load_model
from .printer import CLIError


def whole(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number in [lo, hi] (``--top 0`` is refused as it is parsed:
    ``argument --top: must be a whole number >= 1, got 0``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < lo or (hi is not None and value > hi):
            span = f">= {lo}" if hi is None else f"from {lo} to {hi:,}"
            raise argparse.ArgumentTypeError(f"must be a whole number {span}, got {text!r}")
        return value

    parse.__name__ = "whole number"
    return parse


def load_square_model(path: str, command: str) -> tuple[Model, int]:
    """(the model in ``path``, the side of its square input images); ``command`` names who asks
    when the inputs are not square."""
    model = load_model(path)
    h, w = model.image_shape
    if h != w:
        raise CLIError(f"{path}: {command} needs square input images, not {h}×{w}")
    return model, h
