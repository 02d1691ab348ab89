"""A training run as one value: ``RunConfig``, every option of a run, validated, saved as JSON/TOML.

A ``RunConfig`` is frozen and flat: one field per option, grouped below as the chapter introduces
them (the data, the network, the optimiser and its schedule, regularisation, augmentation,
distillation, the component head of the kanji model, how many epochs, the run itself). It is
checked when it is made, and an error names the parameter and says what it got
(``eta must be > 0, got -1``). ``runner.run(config)`` turns it into a trained ``Model``; the command
line maps its flags onto these fields; presets (``presets.py``) are named configs; every model file
records the config of its run, so a run can be read back (``read_config``) and run again.

``to_dict``/``from_dict`` and ``to_json``/``from_json`` round-trip exactly, and so do
``to_toml``/``from_toml`` (read with the standard library's ``tomllib``; written here, since a
flat table of numbers, strings and lists needs no library). ``None`` means "not set": TOML has no
null, so a field that is None is left out of the TOML and reads back as its default — which is
why every field that may be None has None as its default.

Non-goals: options of the command line's own (``--progress``) and of other commands.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data.directions import FEATURES
from .engines import ENGINES
from .model_schema import MAX_LAYER_SIZE, MAX_LAYERS
from .nn.activations import ACTIVATIONS
from .nn.costs import COSTS
from .nn.init import INITIALISERS
from .nn.optim import OPTIMIZERS
from .nn.schedules import SCHEDULES

__all__ = ["ConfigError", "RunConfig", "read_config"]


class ConfigError(ValueError):
    """A run configuration that cannot be: the message names the parameter and what it got."""


@dataclass(frozen=True)
class RunConfig:
    """Every option of a training run; the defaults are the chapter's recipe (preset chapter)."""

    preset: str = "chapter"  # the named recipe this config started from (a label only)
    # ------------------------------------------------------------------ data
    dataset: str = "mnist"  # a registered dataset (`mojinet datasets`) or folder:PATH
    dataset_options: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"size": 48}
    data_dir: str | None = None  # folder with the dataset's files (None: bundled/cache)
    limit: int = 0  # use only the first N training (and test) images; 0: all
    validation: int = 0  # hold out N training images for the per-epoch checks; 0: check on test
    features: str = "pixels"  # input neurons: data/directions.py FEATURES (pixels, …+directions)
    direction_pool: int = 4  # pixels+directions: planes pooled over blocks of N × N pixels
    # ------------------------------------------------------------------ network
    hidden: tuple[int, ...] = (16, 16)  # hidden layer sizes
    activation: str = "sigmoid"  # of every hidden layer
    output_activation: str = "sigmoid"
    activations: tuple[str, ...] | None = None  # one per layer after the input (overrides both)
    cost: str = "quadratic"
    init: str = "xavier"  # normal = the chapter's N(0, 1)
    # ------------------------------------------------------------------ optimiser and schedule
    optimizer: str = "sgd"
    eta: float = 3.0  # learning rate η
    batch_size: int = 10  # mini-batch size (the training-set size: full-batch descent)
    momentum: float = 0.0  # SGD momentum μ
    nesterov: bool = False
    weight_decay: float = 3e-5  # L2 λ (weights only)
    l2_sp: float = 0.0  # fine-tune: L2-SP α, (α/2)‖w − w₀‖² towards the start w₀; 0: off
    schedule: str = "cosine"  # how η changes over the epochs
    step_size: int = 10  # step schedule: epochs between drops of η
    gamma: float = 0.5  # step schedule: factor at each drop
    warmup: int = 0  # epochs of linear warm-up of η
    # ------------------------------------------------------------------ regularisation
    dropout: tuple[float, float] = (0.0, 0.0)  # drop probabilities (input, hidden)
    max_norm: float = 0.0  # limit each neuron's incoming weight vector to this length; 0: off
    # ------------------------------------------------------------------ augmentation
    rotate: float = 0.0  # degrees
    scale: float = 0.0  # fraction
    shift: float = 0.0  # pixels
    elastic_alpha: float = 0.0  # elastic distortion strength α (Simard et al. 2003: 34)
    elastic_sigma: float = 4.0  # its smoothness σ in pixels
    # ------------------------------------------------------------------ distillation
    teacher: str | None = None  # model file whose answers the network also learns from
    teacher_weight: float = 0.7  # share of the teacher's answers in the wanted outputs
    temperature: float = 2.0  # softening of the teacher's answers
    # ------------------------------------------------------------------ kanji component head
    radical_lambda: float = 0.0  # weight λ of the component (radical) cost; 0: no such head
    radical_min_kanji: int = 2  # the head predicts components found in this many classes
    # ------------------------------------------------------------------ epochs
    epochs: int = 40
    early_stopping: int = 0  # stop after N epochs without a validation gain; 0: off
    best: bool = False  # keep the epoch with the best validation accuracy
    # ------------------------------------------------------------------ the run
    seed: int = 0
    engine: str = "auto"  # auto | reference | blas | compiled (mojinet.engines)
    finetune: str | None = None  # start from this model's weights (same layer sizes)
    replay: int | None = None  # fine-tune: images a class in the replay mix (None: adapt.py's)
    out: str | None = None  # the model file, saved after every epoch; None: not saved

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = _coerce(f.name, getattr(self, f.name), f.type)
            object.__setattr__(self, f.name, value)
        for check in _CHECKS:
            check(self)

    def __hash__(self) -> int:  # dataset_options is a dict: hash the canonical text instead
        return hash(self.to_json())

    # ------------------------------------------------------------------ derived
    @property
    def layer_activations(self) -> tuple[str, ...]:
        """One activation name per layer after the input."""
        if self.activations is not None:
            return self.activations
        return (self.activation,) * len(self.hidden) + (self.output_activation,)

    def replace(self, **changes) -> RunConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ dict and JSON
    def to_dict(self) -> dict:
        """Plain JSON data: tuples become lists, None stays None."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping) -> RunConfig:
        """The config of ``data``; missing fields take their defaults, unknown ones are an error."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a run configuration is a table of options, got "
                              f"{type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown option(s) {', '.join(unknown)}; a run configuration "
                              f"has: {', '.join(sorted(known))}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        return cls.from_dict(_parse_json(text))

    # ------------------------------------------------------------------ TOML
    def to_toml(self) -> str:
        """The config as TOML: one ``name = value`` line per field that is set, in field order,
        then the ``[dataset_options]`` table."""
        lines = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and f.name != "dataset_options":
                lines.append(f"{f.name} = {_toml_value(value)}")
        lines.append("")
        lines.append("[dataset_options]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in self.dataset_options.items()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str) -> RunConfig:
        return cls.from_dict(_parse_toml(text))

    def __str__(self) -> str:
        return self.to_toml()


def read_config(path: str | os.PathLike) -> RunConfig:
    """A ``RunConfig`` from a ``.json`` or ``.toml`` file, or the recorded run of a model file.

    A config file may leave options out: they take the values of the preset it names
    (``preset = "nielsen"``), or the chapter's recipe when it names none (or an unknown one).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config or model file")
    if path.suffix == ".npz":
        from .io import load_model

        recorded = load_model(path).training.get("config")
        try:
            return RunConfig.from_dict(recorded)
        except ConfigError as e:
            raise ConfigError(f"{path}: its recorded run cannot be read as a run configuration "
                              f"(made by an older mojinet?): {e}") from e
    reader = {".json": _parse_json, ".toml": _parse_toml}.get(path.suffix)
    if reader is None:
        raise ConfigError(f"{path}: a config file ends in .json or .toml (or give a model .npz)")
    try:
        data = reader(path.read_text(encoding="utf-8"))
        return RunConfig.from_dict({**_preset_of(data).to_dict(), **data})
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e


def _preset_of(data) -> RunConfig:
    """The config of the preset a config file names (the defaults of the options it leaves out)."""
    from .presets import PRESETS  # presets are RunConfigs: they import this module

    if not isinstance(data, Mapping):
        raise ConfigError(f"a run configuration is a table of options, got {type(data).__name__}")
    preset = PRESETS.get(data.get("preset"))
    return preset.config if preset is not None else RunConfig()


def _parse_json(text: str):
    try:
        return json.loads(text)
    except ValueError as e:
        raise ConfigError(f"not valid JSON ({e})") from e


def _parse_toml(text: str):
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML ({e})") from e


# ----------------------------------------------------------------------------- types
def _coerce(name: str, value, hint: str):
    """``value`` as the type the field's annotation ``hint`` names (ints become floats, lists
    tuples), or a ConfigError naming the field."""
    if value is None and hint.endswith("| None"):
        return None
    base = hint.removesuffix(" | None")
    if base == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be a whole number, got {value!r}")
        return value
    if base == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
        return float(value)
    if base == "str":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
        return value
    if base.startswith("tuple["):
        return _coerce_tuple(name, value, base)
    return _coerce_options(name, value)


def _coerce_tuple(name: str, value, hint: str) -> tuple:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{name} must be a list, got {value!r}")
    item = hint[len("tuple["):].split(",")[0].strip()
    if not hint.endswith(", ...]") and len(value) != hint.count(",") + 1:
        raise ConfigError(f"{name} must be a list of {hint.count(',') + 1}, got {list(value)}")
    return tuple(_coerce(f"{name}[{i}]", v, item) for i, v in enumerate(value))


def _coerce_options(name: str, value) -> dict:
    """A table of loader options: text keys, values that are JSON/TOML scalars or lists of them."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a table of options, got {value!r}")
    scalar = (str, int, float, bool)
    out = {}
    for k, v in value.items():
        if not isinstance(k, str) or not k:
            raise ConfigError(f"{name}: option names must be text, got {k!r}")
        if isinstance(v, (list, tuple)) and all(isinstance(e, scalar) for e in v):
            v = list(v)
        elif not isinstance(v, scalar):
            raise ConfigError(f"{name}.{k} must be a number, text, true/false or a list of "
                              f"them, got {v!r}")
        out[k] = v
    return out


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # floats always show a "." or an exponent, as TOML wants
    if isinstance(value, str):  # JSON's escapes are TOML's basic string's; TOML also escapes DEL
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else _toml_value(key)


# ----------------------------------------------------------------------------- checks
def _need(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _one_of(name: str, value: str, choices) -> None:
    _need(value in choices, f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_data(c: RunConfig) -> None:
    _need(c.limit >= 0, f"limit must be >= 0 (0: all images), got {c.limit}")
    _need(c.validation >= 0, f"validation must be >= 0 (0: none), got {c.validation}")
    _need(not c.limit or c.validation < c.limit,
          f"validation must be < limit ({c.limit}) to leave images to train on, "
          f"got {c.validation}")
    _one_of("features", c.features, FEATURES)
    _need(1 <= c.direction_pool <= 64,
          f"direction_pool must be from 1 to 64 pixels (the side of the blocks the direction "
          f"planes are pooled over; 1: not pooled), got {c.direction_pool}")


def _check_network(c: RunConfig) -> None:
    _need(all(1 <= h <= MAX_LAYER_SIZE for h in c.hidden),
          f"hidden layer sizes must be from 1 to {MAX_LAYER_SIZE:,}, got {list(c.hidden)}")
    _need(len(c.hidden) <= MAX_LAYERS - 2,
          f"hidden must list at most {MAX_LAYERS - 2} layers, got {len(c.hidden)}")
    hidden_choices = [a for a in ACTIVATIONS if a != "softmax"]
    _one_of("activation", c.activation, hidden_choices)
    _one_of("output_activation", c.output_activation, list(ACTIVATIONS))
    if c.activations is not None:
        _need(len(c.activations) == len(c.hidden) + 1,
              f"activations must name one activation per layer after the input "
              f"({len(c.hidden) + 1}), got {list(c.activations)}")
        for a in c.activations[:-1]:
            _one_of("activations (hidden layers)", a, hidden_choices)
        _one_of("activations (output layer)", c.activations[-1], list(ACTIVATIONS))
    _one_of("cost", c.cost, list(COSTS))
    try:
        COSTS[c.cost].check_output(ACTIVATIONS[c.layer_activations[-1]])
    except ValueError as e:
        raise ConfigError(f"cost: {e}") from None
    _one_of("init", c.init, INITIALISERS)


def _check_optimizer(c: RunConfig) -> None:
    _one_of("optimizer", c.optimizer, OPTIMIZERS)
    _need(c.eta > 0, f"eta must be > 0, got {c.eta:g}")
    _need(c.batch_size >= 1, f"batch_size must be >= 1, got {c.batch_size}")
    _need(0 <= c.momentum < 1, f"momentum must be in [0, 1), got {c.momentum:g}")
    _need(not c.nesterov or c.momentum > 0,
          "Nesterov momentum needs a momentum > 0 (e.g. momentum 0.9)")
    _need(c.optimizer == "sgd" or not (c.momentum or c.nesterov),
          f"momentum and nesterov belong to SGD; {c.optimizer} has its own running means")
    _need(c.weight_decay >= 0, f"weight_decay must be >= 0, got {c.weight_decay:g}")
    _need(c.l2_sp >= 0, f"l2_sp must be >= 0 (0: off), got {c.l2_sp:g}")
    _need(not c.l2_sp or c.finetune is not None,
          "l2_sp pulls the weights towards those a fine-tune starts from: give finetune MODEL "
          "(--finetune MODEL), or l2_sp 0")
    _one_of("schedule", c.schedule, SCHEDULES)
    _need(c.step_size >= 1, f"step_size must be >= 1 epoch, got {c.step_size}")
    _need(0 < c.gamma <= 1, f"gamma must be in (0, 1], got {c.gamma:g}")
    _need(c.warmup >= 0, f"warmup must be >= 0 epochs, got {c.warmup}")
    _need(not (c.schedule == "onecycle" and c.warmup),
          f"the onecycle schedule has its own warm-up; set warmup 0 (got {c.warmup}) or choose "
          f"another schedule")


def _check_regularisation(c: RunConfig) -> None:
    for part, p in zip(("input", "hidden"), c.dropout):
        _need(0 <= p < 1, f"dropout ({part}) must be a dropout probability in [0, 1), got {p:g}")
    _need(c.max_norm >= 0, f"max_norm must be >= 0 (0: off), got {c.max_norm:g}")
    for name in ("rotate", "scale", "shift", "elastic_alpha"):
        _need(getattr(c, name) >= 0, f"{name} must be >= 0 (0: off), got {getattr(c, name):g}")
    _need(c.elastic_sigma > 0, f"elastic_sigma must be > 0, got {c.elastic_sigma:g}")


def _check_heads_and_epochs(c: RunConfig) -> None:
    _need(0 <= c.teacher_weight <= 1, f"teacher_weight must be in [0, 1], got {c.teacher_weight:g}")
    _need(c.temperature > 0, f"temperature must be > 0, got {c.temperature:g}")
    _need(c.radical_lambda >= 0, f"radical_lambda must be >= 0 (0: no component head), got "
                                 f"{c.radical_lambda:g}")
    _need(c.radical_min_kanji >= 1, f"radical_min_kanji must be >= 1, got {c.radical_min_kanji}")
    _need(not c.radical_lambda or c.hidden,
          "the component head reads the last hidden layer: give at least one hidden layer")
    _need(c.epochs >= 1, f"epochs must be >= 1, got {c.epochs}")
    _need(c.early_stopping >= 0, f"early_stopping must be >= 0 (0: off), got {c.early_stopping}")
    _need(not (c.early_stopping or c.best) or c.validation,
          "early_stopping and best choose epochs by validation accuracy; hold out a validation "
          "split (validation N, on the command line --validation N, e.g. 10000)")


def _check_run(c: RunConfig) -> None:
    _need(c.seed >= 0, f"seed must be >= 0, got {c.seed}")
    _need(c.replay is None or c.replay >= 0, f"replay must be >= 0 (0: none), got {c.replay}")
    _one_of("engine", c.engine, ENGINES)


_CHECKS = (_check_data, _check_network, _check_optimizer, _check_regularisation,
           _check_heads_and_epochs, _check_run)
