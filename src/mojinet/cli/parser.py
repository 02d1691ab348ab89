"""The one parser builder: each command module registers its subcommands with ``add_parser(sub)``
(``sub``: the main parser's subparsers). Adding a command group is one line in ``COMMANDS``.

``train`` comes first and is given the ``RunConfig`` its options default to (a preset, a config
file or the run being resumed: see ``cli.parse_args``).
"""

from __future__ import annotations

import argparse
import importlib

from .. import __version__
from ..config import RunConfig
from . import train

# The modules whose add_parser(sub) registers their subcommands, listed by ``mojinet -h`` in
# this order after train.
COMMANDS = (
    "mojinet.cli.evaluate",  # evaluate, info
    "mojinet.cli.predict",  # predict
    "mojinet.cli.datasets",  # datasets
    "mojinet.web.serve",  # serve
    "mojinet.cli.inspect",  # inspect, figures
    "mojinet.cli.kanji",  # radicals, train-radical, kanji-eval, kanji-sample
    "mojinet.real_eval",  # real-eval (issue 13)
    "mojinet.cli.export",  # export --onnx, --web (issue 16)
    "mojinet.cli.models",  # models (the shipped ones)
    "mojinet.cli.sweep",  # sweep (issue 15)
)


def build_parser(base: RunConfig | None = None) -> argparse.ArgumentParser:
    """The parser; ``base`` (default: the chapter preset) supplies the train options' defaults."""
    p = argparse.ArgumentParser(
        prog="mojinet",
        description="Read handwriting with a multilayer perceptron written in NumPy.",
    )
    p.add_argument("--version", action="version", version=f"mojinet {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train.add_parser(sub, base if base is not None else RunConfig())
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return p
