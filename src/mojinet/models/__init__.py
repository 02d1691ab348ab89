"""Models that ship with mojinet: small trained networks, each with its recipe, its measured
accuracy and its licence, usable offline right after ``pip install``.

>>> from mojinet.models import SHIPPED, model_path
>>> model_path("chapter")        # the .npz inside the package (or a file path, as given)

``index.json`` lists them: name, file, recipe (a ``RunConfig`` as TOML beside it, so that
``mojinet train --config NAME`` — or ``--config`` of that file — rebuilds the model), what it
reads, its accuracy on the named test split with n and a 95 % Wilson interval, the licence and the
credit of its training data. ``tools/build_models.py`` trains every recipe and writes the index;
a recipe whose model has not been built yet is listed with ``built: false``.

Licences: models trained on MNIST carry MNIST's terms (Y. LeCun and C. Cortes, CC BY-SA 3.0);
models drawn from KanjiVG strokes are derived from KanjiVG and are CC BY-SA 3.0 (© Ulrich Apel and
contributors) — share them under the same licence, with that credit. The kana and grade-1 models
also owe tomoe_data ("tomoe_data by Hiroyuki Komatsu", Apache-2.0 or CC BY 4.0): the hiragana and
grade-1 models are trained on its strokes, and the ``fitted`` style is measured on them. Each
entry's ``real`` lists its top-1 on held-out real writers (n, 95 % Wilson interval).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["SHIPPED", "ShippedModel", "model_path", "recipe_path", "shipped_models"]


@dataclass(frozen=True)
class ShippedModel:
    name: str
    file: str  # the .npz in this package
    recipe: str  # the TOML RunConfig in this package
    reads: str  # what it reads, in words
    licence: str
    credit: str
    accuracy: dict | None = None  # {"split", "n", "correct", "accuracy", "ci95": [lo, hi]}
    built: bool = False
    # Top-1 on held-out real writers, one dict a set: {"set", "file", "n", "correct",
    # "accuracy", "ci95", "command"} (tools/build_models.py; empty when none is held out).
    real: tuple = ()
    real_note: str = ""  # why there is no real figure, when there is none

    def __post_init__(self):
        object.__setattr__(self, "real", tuple(self.real or ()))

    @property
    def path(self) -> Path:
        return _folder() / self.file


def _folder() -> Path:
    return Path(str(resources.files(__name__)))


def _index() -> dict:
    return json.loads((_folder() / "index.json").read_text(encoding="utf-8"))


def shipped_models() -> dict[str, ShippedModel]:
    """The shipped models by name (from ``index.json``), and their aliases (``kanji``)."""
    index = _index()
    models = {e["name"]: ShippedModel(**e) for e in index["models"]}
    return models | {alias: models[name] for alias, name in index.get("aliases", {}).items()}


SHIPPED = shipped_models()


def recipe_path(text: str | os.PathLike) -> Path:
    """A config file as given, or the recipe of the shipped model named ``text``."""
    path = Path(text)
    if path.exists() or str(text) not in SHIPPED:
        return path
    return _folder() / SHIPPED[str(text)].recipe


def model_path(text: str | os.PathLike) -> Path:
    """A model file as given, or the file of the shipped model named ``text``; an error that
    lists the shipped models when it is neither."""
    path = Path(text)
    if path.exists():
        return path
    entry = SHIPPED.get(str(text))
    if entry is None:
        names = ", ".join(n for n, m in SHIPPED.items() if m.built) or "none"
        raise FileNotFoundError(f"{text}: no such model file, and no shipped model of that name "
                                f"(shipped: {names}; `mojinet models` lists them)")
    if not entry.built or not entry.path.is_file():
        raise FileNotFoundError(f"the shipped model {entry.name} is not built in this "
                                f"installation; build it with python tools/build_models.py "
                                f"{entry.name}, or train it: mojinet train --config {entry.name}")
    return entry.path
