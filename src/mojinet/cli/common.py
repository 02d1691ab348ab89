"""What several commands do the same way: read a model whose inputs are square images; the
processes that draw synthetic handwriting."""

from __future__ import annotations

import os

from ..io import Model, load_model
from .printer import CLIError

DRAW_WORKERS_ENV = "MOJINET_DRAW_WORKERS"  # kanji.WORKERS_ENV, read where sets are drawn


def add_draw_workers_flag(parser) -> None:
    parser.add_argument("--draw-workers", type=int, metavar="N", default=None,
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


def load_square_model(path: str, command: str) -> tuple[Model, int]:
    """(the model in ``path``, the side of its square input images); ``command`` names who asks
    when the inputs are not square."""
    model = load_model(path)
    h, w = model.image_shape
    if h != w:
        raise CLIError(f"{path}: {command} needs square input images, not {h}×{w}")
    return model, h
