"""``EpochLog``: the per-epoch numbers of a run written as they come, as CSV or JSON lines.

>>> mojinet.run(config, callbacks=[EpochLog("run.csv")])     # or: mojinet train --log run.csv

One row per epoch — epoch, training cost, the check's cost and accuracy, η, seconds — appended
and flushed after every epoch, so that a run that is stopped keeps the epochs it finished and a
resumed run carries on in the same file. ``.csv`` (a header line first, when the file is new or
empty) or ``.jsonl``/``.json`` (one JSON object a line); other endings are refused.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path

from .nn.train import EpochRecord

__all__ = ["EpochLog", "LOG_FORMATS"]

LOG_FORMATS = {".csv": "csv", ".jsonl": "json", ".json": "json"}
FIELDS = [f.name for f in dataclasses.fields(EpochRecord)]


class EpochLog:
    """A callback ``f(net, record)`` (``run(callbacks=…)``, ``train(on_epoch_end=…)``) that
    appends each epoch's record to ``path``; never stops the run."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.format = LOG_FORMATS.get(self.path.suffix.lower())
        if self.format is None:
            raise ValueError(f"{self.path}: an epoch log ends in .csv, .jsonl or .json")
        if self.path.is_dir():
            raise ValueError(f"{self.path} is a folder; give a file name for the epoch log")
        if not self.path.parent.is_dir():
            raise ValueError(f"{self.path}: the folder {self.path.parent} does not exist")

    def __call__(self, net, record: EpochRecord) -> bool:
        row = dataclasses.asdict(record)
        new = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", encoding="utf-8", newline="") as f:
            if self.format == "csv":
                writer = csv.DictWriter(f, fieldnames=FIELDS)
                if new:
                    writer.writeheader()
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
            else:
                f.write(json.dumps(row) + "\n")
        return False


def read_log(path: str | os.PathLike) -> list[dict]:
    """The rows of an epoch log (CSV values as numbers; empty cells as None)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if LOG_FORMATS.get(path.suffix.lower()) == "json":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    rows = list(csv.DictReader(text.splitlines()))
    return [{k: (None if v == "" else float(v) if k != "epoch" else int(v))
             for k, v in row.items()} for row in rows]
