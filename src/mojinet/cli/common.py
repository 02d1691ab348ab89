"""What several commands do the same way: read a model whose inputs are square images; check
a whole-number option's range while parsing (before any work), with argparse's own message; the
processes that draw synthetic handwriting; show option defaults in --help."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from ..io import Model, load_model
from .printer import CLIError

DRAW_WORKERS_ENV = "MOJINET_DRAW_WORKERS"  # kanji.WORKERS_ENV, read where sets are drawn


def add_draw_workers_flag(parser) -> None:
    parser.add_argument("--draw-workers", type=whole(1), metavar="N", default=None,
                        help="processes that draw synthetic handwriting sets not yet cached "
                             f"(default ${DRAW_WORKERS_ENV} or 1; the images do not depend on "
                             "it)")


def use_draw_workers(args) -> None:
    """Pass ``--draw-workers`` on to every set this command draws (through the environment,
    which ``kanji.draw_workers`` reads: the option is not part of a run's configuration)."""
    n = getattr(args, "draw_workers", None)
    if n is None:
        return
    if n < 1:
        raise CLIError(f"--draw-workers must be at least 1, got {n}")
    os.environ[DRAW_WORKERS_ENV] = str(n)


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
