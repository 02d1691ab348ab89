"""The search space of a sweep: which run-configuration fields vary, and over what.

On the command line, one ``NAME=VALUES`` item per field, separated by spaces::

    hidden=16..1024:log layers=1..3 eta=0.01..5:log activation=relu,tanh batch_size=16,32,64

``LOW..HIGH`` is a range (whole numbers when both ends are, else real numbers; ``:log`` samples it
on a log scale), ``A,B,C`` a list of choices (numbers, true/false or names), a single value fixes
the field. In a TOML file (``--space FILE.toml``) the same items are the keys of a ``[space]``
table (or of the file itself): ``hidden = "16..1024:log"``, ``activation = ["relu", "tanh"]``,
``eta = {low = 0.01, high = 5, log = true}``.

NAME is a field of ``RunConfig`` (``-`` and ``_`` alike) that holds one number, name or
true/false, or one of three that stand for parts of the network: ``hidden`` (the size of every
hidden layer), ``layers`` (how many hidden layers) and ``dropout`` (the hidden layers' dropout).
``suggest(trial, space, base)`` asks an Optuna trial for a value of each and returns the changes
to the base config; ``grid(space)`` is the search space of Optuna's grid sampler.

Non-goals: conditional spaces (a size per layer, choices that depend on other choices).
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError, RunConfig

__all__ = ["Choice", "Range", "Space", "grid", "parse_space", "read_space", "suggest"]

# Names that are not RunConfig fields but parts of one: hidden = (size,) * layers, dropout[1].
NETWORK_NAMES = ("hidden", "layers", "dropout")
_SCALAR_TYPES = {"int": int, "float": float, "str": str, "bool": bool}
_FIELD_TYPES = {f.name: f.type.removesuffix(" | None") for f in dataclasses.fields(RunConfig)}
SCALAR_FIELDS = sorted(n for n, t in _FIELD_TYPES.items() if t in _SCALAR_TYPES
                       and n not in ("preset", "out", "data_dir", "finetune", "teacher",
                                     "validation"))  # validation: the split that chooses
_KINDS = {**{n: _FIELD_TYPES[n] for n in SCALAR_FIELDS},
          "hidden": "int", "layers": "int", "dropout": "float"}


@dataclass(frozen=True)
class Range:
    """A range of numbers LOW..HIGH (both ends included), on a log scale when ``log``."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __str__(self) -> str:
        return f"{self.low:g}..{self.high:g}{':log' if self.log else ''}"


@dataclass(frozen=True)
class Choice:
    """A list of values to choose from (one value: the field is fixed)."""

    values: tuple

    def __str__(self) -> str:
        return ",".join(json.dumps(v) if isinstance(v, bool) else str(v) for v in self.values)


@dataclass(frozen=True)
class Space:
    """The dimensions of a sweep, by name (a RunConfig field or hidden/layers/dropout)."""

    dimensions: Mapping[str, Range | Choice]

    def __str__(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.dimensions.items())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.dimensions)


def parse_space(text: str) -> Space:
    """The space of ``"NAME=VALUES NAME=VALUES …"`` (see the module's docstring)."""
    items = []
    for item in text.split():
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise ConfigError(f"space: {item!r} is not NAME=VALUES (e.g. eta=0.01..5:log, "
                              f"hidden=16..1024:log, activation=relu,tanh)")
        items.append((name, values))
    return _space(items)


def read_space(path: str | Path) -> Space:
    """The space in a TOML file: a ``[space]`` table, or the file's own keys."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from e
    data = data.get("space", data)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: [space] must be a table of NAME = VALUES")
    try:
        return _space(list(data.items()))
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e


def _space(items: list[tuple]) -> Space:
    dims = {}
    for raw, values in items:
        name = _name(raw)
        if name in dims:
            raise ConfigError(f"space: {name} is given twice")
        dims[name] = _dimension(name, values)
    if not dims:
        raise ConfigError("space: nothing to search over; give e.g. --space "
                          "\"hidden=16..1024:log layers=1..3 eta=0.01..5:log\"")
    return Space(dims)


def _name(raw: str) -> str:
    name = str(raw).replace("-", "_")
    if name not in _KINDS:
        raise ConfigError(f"space: {raw!r} is not a field the sweep can vary; choose from "
                          f"{', '.join(sorted(_KINDS))}")
    return name


def _dimension(name: str, values) -> Range | Choice:
    """One dimension from text (``1..3``, ``a,b``), a TOML list, or a TOML table low/high/log."""
    if isinstance(values, Mapping):
        unknown = set(values) - {"low", "high", "log"}
        if unknown or not {"low", "high"} <= set(values):
            raise ConfigError(f"space: {name} as a table has low, high and optionally log; "
                              f"got {', '.join(map(str, values))}")
        return _range(name, values["low"], values["high"], bool(values.get("log", False)))
    if isinstance(values, list):
        return _choice(name, values)
    if not isinstance(values, str):
        return _choice(name, [values])
    text, log = (values[:-4], True) if values.endswith(":log") else (values, False)
    if ".." in text:
        low, _, high = text.partition("..")
        return _range(name, _value(low), _value(high), log)
    if log:
        raise ConfigError(f"space: {name}={values}: ':log' belongs to a range LOW..HIGH")
    return _choice(name, [_value(v) for v in text.split(",")])


def _value(text: str):
    """A number, true/false or a name, from its text."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _range(name: str, low, high, log: bool) -> Range:
    kind = _KINDS[name]
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if kind not in ("int", "float") or not numbers:
        raise ConfigError(f"space: {name} takes a list of choices, not a range "
                          f"{low}..{high}" if kind not in ("int", "float") else
                          f"space: {name}'s range needs two numbers, got {low!r}..{high!r}")
    integer = kind == "int"
    if integer and not all(float(v).is_integer() for v in (low, high)):
        raise ConfigError(f"space: {name} is a whole number, got the range {low}..{high}")
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ConfigError(f"space: {name}'s range must run from low to a higher high, got "
                          f"{low}..{high}")
    if log and low <= 0:
        raise ConfigError(f"space: {name}'s log range must start above 0, got {low}")
    return Range(int(low) if integer else float(low), int(high) if integer else float(high),
                 log, integer)


def _choice(name: str, values: list) -> Choice:
    kind = _SCALAR_TYPES[_KINDS[name]]
    out = []
    for v in values:
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if type(v) is not kind:
            raise ConfigError(f"space: {name} takes {_KINDS[name]} values, got {v!r}")
        out.append(v)
    if len(set(out)) != len(out):
        raise ConfigError(f"space: {name} lists a value twice: {values}")
    return Choice(tuple(out))


def suggest(trial, space: Space, base: RunConfig) -> dict:
    """The changes to ``base`` that ``trial`` (an Optuna trial) picks from ``space``."""
    picked = {}
    for name, dim in space.dimensions.items():
        if isinstance(dim, Choice):
            picked[name] = trial.suggest_categorical(name, list(dim.values))
        elif dim.integer:
            picked[name] = trial.suggest_int(name, dim.low, dim.high, log=dim.log)
        else:
            picked[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
    return changes(picked, base)


def changes(picked: Mapping, base: RunConfig) -> dict:
    """The RunConfig changes of the values ``picked`` per space name (hidden/layers/dropout
    become the fields ``hidden`` and ``dropout``)."""
    out = {k: v for k, v in picked.items() if k not in NETWORK_NAMES}
    if "hidden" in picked or "layers" in picked:
        size = picked.get("hidden", base.hidden[0] if base.hidden else 16)
        layers = picked.get("layers", len(base.hidden))
        out["hidden"] = (size,) * layers
    if "dropout" in picked:
        out["dropout"] = (base.dropout[0], picked["dropout"])
    return out


def grid(space: Space) -> dict[str, list]:
    """The search space of Optuna's grid sampler: every dimension must be a list of values."""
    ranges = [f"{k}={v}" for k, v in space.dimensions.items() if isinstance(v, Range)]
    if ranges:
        raise ConfigError(f"the grid sampler tries every combination of listed values; give "
                          f"lists instead of the range(s) {' '.join(ranges)} (e.g. "
                          f"hidden=16,64,256)")
    return {k: list(v.values) for k, v in space.dimensions.items()}
