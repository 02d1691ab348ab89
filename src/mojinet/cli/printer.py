"""The one printer of the command line: lines to stdout (flushed, so pipes see every epoch),
errors to stderr, and the text forms of results several commands show."""

from __future__ import annotations

import json
import sys

import numpy as np


class CLIError(Exception):
    """An error to show the user as one line, without a traceback."""


def say(*parts, **kwargs) -> None:
    """Print a line and flush it (training lines must reach a pipe as they happen)."""
    print(*parts, **kwargs, flush=True)


def warn(*parts) -> None:
    """Print a line to stderr."""
    say(*parts, file=sys.stderr)


def say_json(data) -> None:
    """Print JSON, keeping kana and kanji readable."""
    say(json.dumps(data, ensure_ascii=False, indent=1))


def format_confusion(cm: np.ndarray, classes) -> str:
    """A confusion matrix as a table: rows = true class, columns = predicted class."""
    width = max(5, len(str(cm.max())) + 1, *(len(c) + 1 for c in classes))
    head = "true\\pred".ljust(10) + "".join(c.rjust(width) for c in classes)
    rows = [c.ljust(10) + "".join(str(v).rjust(width) for v in row)
            for c, row in zip(classes, cm)]
    return "\n".join([head, *rows])
