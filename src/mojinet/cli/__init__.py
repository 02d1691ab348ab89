"""The ``mojinet`` command. Thin: parse, call the library, print.

``parser.py`` builds the one parser from the command modules (``train``, ``evaluate``/``info``,
``predict``, ``datasets``, ``inspect``/``figures``, the kanji commands, ``serve``); ``printer.py``
prints. ``main(argv)`` runs a command and turns the errors a user can fix into one line on stderr
(status 2; 1 for a failed write, e.g. a full disk — the earlier file is left as it was).
"""

from __future__ import annotations

import argparse
import sys

from ..config import ConfigError
from ..data.images import ImageError
from ..io import ModelFileError
from . import train
from .parser import build_parser
from .printer import CLIError, warn

__all__ = ["CLIError", "build_parser", "main", "parse_args"]

# What a command may raise that is the user's to fix: shown as one line, without a traceback.
USER_ERRORS = (CLIError, ConfigError, ModelFileError, ImageError, FileNotFoundError, ValueError)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line. ``train``'s defaults are found first (``--preset``, ``--config``,
    ``--resume``), so that the parser and ``--help`` show them; the options given override them."""
    argv = sys.argv[1:] if argv is None else list(argv)
    base = train.base_config(argv) if argv[:1] == ["train"] else None
    return build_parser(base).parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parse_args(argv)
    except USER_ERRORS as e:  # a --config or --resume file that cannot be read
        warn(f"mojinet {argv[0]}: error: {e}")
        return 2
    except KeyboardInterrupt:  # Ctrl-C while starting: no traceback
        warn("mojinet: interrupted")
        return 130
    try:
        return args.func(args)
    except KeyboardInterrupt:
        warn(f"mojinet {args.command}: interrupted")
        return 130
    except USER_ERRORS as e:
        warn(f"mojinet {args.command}: error: {e}")
        return 2
    except OSError as e:  # e.g. a full disk while saving: the earlier file is untouched
        warn(f"mojinet {args.command}: error: {e}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
