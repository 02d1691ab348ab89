"""Learn my hand: fine-tune a trained model on one person's samples without forgetting the rest.

A person's own samples (pen strokes, e.g. what the draw page saves, read as ``strokes:DIR``)
are few — one to a few per character — so training on them alone would teach the network
those characters and make it forget every other writer. ``run`` therefore trains, from the
model's current weights, on a **mix**:

- the user's samples, each drawn several times by the synthetic writer's code with its pen
  and distortions (``strokeset``: every draw a slightly different image of the same strokes);
- **replayed** samples of the original distribution: for a KanjiVG model (kana, kanji) fresh
  synthetic writers of its classes (seed ``REPLAY_SEED``, neither the training, test nor
  evaluation writers); for any other model (MNIST) a seeded subset of the dataset it was
  trained on;
- **class-balanced**: every class has ``replay`` images in the mix; in a class the user wrote,
  about half are the user's draws and the rest replayed. (A mix where the taught classes have
  more images than the others shifts the network's priors towards them: other writers' samples
  of other classes then get read as taught ones.)

for a few epochs at a small η. Each epoch is checked on a held-out set of the original
distribution (``CHECK_PER_CLASS`` a class: the model's test writers), so a fine-tune that
forgets shows in its own log.

One implementation for both ways in: ``mojinet train --finetune MODEL --dataset strokes:DIR``
(``finetune_base`` gives its defaults, ``runner.load_data`` calls ``adaptation_data``) and the
draw page's "learn my hand" button (``web/learn.py`` builds the same ``RunConfig`` with
``adapt_config`` and calls ``runner.run``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import ConfigError, RunConfig, read_config
from .data.dataset import Dataset
from .data.registry import get_spec, load_dataset
from .io import Model, load_model

__all__ = ["ADAPT_DEFAULTS", "CHECK_PER_CLASS", "DEFAULT_REPEAT", "DEFAULT_REPLAY", "MAX_REPEAT",
           "MIN_REPLAY", "REPLAY_SEED", "USER_SHARE", "adapt_config", "adaptation_data",
           "finetune_base", "is_adaptation", "mix", "original", "replay_per_class", "replay_sets",
           "user_repeat", "user_samples"]

#: Images per class in the mix (when fine-tuning on strokes), and in all at least
#: ``MIN_REPLAY`` (so a model of few classes still takes enough steps).
DEFAULT_REPLAY, MIN_REPLAY = 90, 1500
#: The user's share of the images of a class they wrote; draws per user sample at most
#: ``MAX_REPEAT`` (``DEFAULT_REPEAT`` without replay).
USER_SHARE, DEFAULT_REPEAT, MAX_REPEAT = 0.5, 8, 100
#: Held-out images of the original distribution per class, checked after every epoch.
CHECK_PER_CLASS = 5
#: The synthetic writers replayed (training draws seed 0, tests seed 1, kanji-eval seed 3).
REPLAY_SEED = 4
#: The run a fine-tune on a user's samples makes unless told otherwise: a few epochs at a
#: small constant η, no warm-up, no validation split, no extra heads or teacher, no L2-SP
#: (``l2_sp``: on the development check α ≤ 0.003 changed nothing measurable and α ≥ 0.01 cost
#: the writer's gain; the replay mix already keeps the rest — docs/kanji.md).
ADAPT_DEFAULTS = dict(epochs=4, eta=0.003, schedule="constant", warmup=0, momentum=0.9,
                      nesterov=False, batch_size=32, validation=0, early_stopping=0, best=False,
                      limit=0, radical_lambda=0.0, teacher=None, dropout=(0.0, 0.0),
                      optimizer="sgd", l2_sp=0.0)


# ----------------------------------------------------------------------------- the run
def finetune_base(model_path: str | Path) -> RunConfig:
    """The config a fine-tune of ``model_path`` starts from: the model's recorded network
    (layers, activations, cost, data) with ``ADAPT_DEFAULTS`` and ``finetune`` set to it. A
    model without a recorded run gets its network's shape."""
    model = load_model(model_path)
    try:
        base = read_config(model_path) if model.training.get("config") else None
    except ConfigError:
        base = None
    if base is None:
        net = model.network
        base = RunConfig(hidden=tuple(net.sizes[1:-1]), cost=net.cost.name,
                         activations=tuple(a.name for a in net.activations),
                         dataset="mnist" if model.classes == tuple("0123456789") else "kanjivg")
    return base.replace(finetune=str(model_path), out=None, **ADAPT_DEFAULTS)


def adapt_config(model_path: str | Path, samples: str | Path, out: str | Path | None = None,
                 **changes) -> RunConfig:
    """The run that adapts ``model_path`` to the strokes in ``samples`` (a folder or file),
    saving to ``out``: what ``mojinet train --finetune MODEL --dataset strokes:DIR`` runs."""
    return finetune_base(model_path).replace(
        dataset=f"strokes:{samples}", dataset_options={}, data_dir=None,
        out=None if out is None else str(out), **changes)


def is_adaptation(config: RunConfig) -> bool:
    """Whether ``config`` is a fine-tune that ``adaptation_data`` prepares: on strokes (a
    person's samples), or with replay asked for."""
    on_strokes = config.dataset.split(":", 1)[0] == "strokes"
    return config.finetune is not None and (on_strokes or bool(config.replay))


def replay_per_class(config: RunConfig, n_classes: int = 1) -> int:
    """Images a class in this run's mix: ``config.replay``, or by default (when fine-tuning on
    strokes; else 0) ``DEFAULT_REPLAY``, more for models of few classes so that the mix holds
    at least ``MIN_REPLAY``."""
    if config.replay is not None:
        return config.replay
    if config.finetune is None or config.dataset.split(":", 1)[0] != "strokes":
        return 0
    return max(DEFAULT_REPLAY, -(-MIN_REPLAY // max(n_classes, 1)))


def adaptation_data(config: RunConfig) -> tuple[Dataset, Dataset]:
    """(training set, check set) of a fine-tune with replay: the user's samples and replayed
    ones in a class-balanced mix of ``replay_per_class(config)`` images a class (``mix``); the
    check set is held out from the original distribution (``CHECK_PER_CLASS`` a class)."""
    if config.finetune is None:
        raise ConfigError("replay mixes replayed samples into a fine-tune: give finetune MODEL "
                          "(--finetune MODEL), or replay 0")
    start = load_model(config.finetune)
    per_class = replay_per_class(config, len(start.classes))
    replay, check = replay_sets(start, per_class, CHECK_PER_CLASS, config.seed)
    counts = np.bincount(user_samples(config, start, plain=True).y, minlength=len(start.classes))
    user = user_samples(config, start, repeat=user_repeat(counts, per_class))
    return mix(user, replay), check


# ----------------------------------------------------------------------------- the parts
def user_samples(config: RunConfig, model: Model, plain: bool = False,
                 repeat: int = DEFAULT_REPEAT) -> Dataset:
    """The user's samples of ``config.dataset`` for ``model``: a strokes set gets the model's
    classes and input size and, unless the config says, ``repeat`` draws of each with the
    writer's distortions (``plain``: each sample once, as written)."""
    options = dict(config.dataset_options)
    is_strokes = config.dataset.split(":", 1)[0] == "strokes"
    split = "train"
    if is_strokes:
        split = "all"  # a person's few samples: every one is for learning
        options.setdefault("classes", list(model.classes))
        options["size"] = model.image_shape[0]
        if plain:
            options.update(repeat=1, jitter=False)
        else:
            options.setdefault("jitter", True)
            options.setdefault("repeat", repeat)
    elif "size" in get_spec(config.dataset).options:
        options["size"] = model.image_shape[0]
    data = load_dataset(config.dataset, split, config.data_dir, **options)
    if data.classes != model.classes:
        raise ConfigError(f"{config.dataset}: its classes ({' '.join(data.classes[:20])}) are "
                          f"not the model's ({' '.join(model.classes[:20])}); give "
                          f"classes= the model's characters")
    return data


def user_repeat(counts: np.ndarray, per_class: int) -> int:
    """Draws per user sample so that, in a class the user wrote (``counts``: samples a class),
    the user's images are about ``USER_SHARE`` of the class's ``per_class`` (1 to
    ``MAX_REPEAT``; ``DEFAULT_REPEAT`` without replay)."""
    taught = counts[counts > 0]
    if not per_class or not len(taught):
        return DEFAULT_REPEAT
    wanted = USER_SHARE * per_class / taught.mean()
    return int(min(MAX_REPEAT, max(1, np.ceil(wanted))))


def original(model: Model, max_steps: int = 100) -> Model:
    """The model whose data ``model`` was first trained on: itself, or — for an adapted model,
    recorded as fine-tuned on strokes — the model it was fine-tuned from, and so on back."""
    for _ in range(max_steps):
        recorded = model.training.get("config") or {}
        dataset, start = recorded.get("dataset"), recorded.get("finetune")
        if not (isinstance(dataset, str) and dataset.startswith("strokes:") and start):
            return model
        try:
            model = load_model(start)
        except (OSError, ValueError) as e:
            raise ConfigError(f"the model was adapted from {start}, which cannot be read ({e}); "
                              f"its original data are not known: fine-tune with replay 0 "
                              f"(--replay 0)") from e
    raise ConfigError(f"more than {max_steps} adaptations in a row; fine-tune from the "
                      f"original model")


def _is_kanjivg(model: Model) -> bool:
    """Whether the model reads KanjiVG characters (kana, kanji), so the synthetic writer can
    draw its classes: recorded as trained on a kanjivg set, or every class one non-ASCII char."""
    recorded = (model.training.get("config") or {}).get("dataset")
    if isinstance(recorded, str) and recorded.startswith("kanjivg"):
        return True
    return all(len(c) == 1 and not c.isascii() for c in model.classes)


def replay_sets(model: Model, per_class: int, check_per_class: int,
                seed: int = 0) -> tuple[Dataset | None, Dataset]:
    """(replay set or None when ``per_class`` is 0, check set) of ``model``'s original
    distribution, at its input size and with its classes."""
    from .runner import model_split

    size, first = model.image_shape[0], original(model)
    if _is_kanjivg(first):
        from .data.kanji import TEST_SEED, synthetic_dataset

        chars = "".join(model.classes)
        replay = (synthetic_dataset(chars, per_class, size, REPLAY_SEED, name="replay")
                  if per_class else None)
        return replay, synthetic_dataset(chars, check_per_class, size, TEST_SEED, name="check")
    replay = _per_class(model_split(first, "train"), per_class, seed) if per_class else None
    check = _per_class(model_split(first, "test"), check_per_class, seed)
    for part in (replay, check):
        if part is not None and part.classes != model.classes:
            raise ConfigError(f"the model's recorded dataset ({part.name}) has other classes "
                              f"than the model; fine-tune with replay 0 (--replay 0)")
    return replay, check


def _per_class(data: Dataset, n: int, seed: int) -> Dataset:
    """A seeded pick of up to ``n`` samples of every class, in the data's order."""
    rng = np.random.default_rng([seed, REPLAY_SEED])
    picks = [rng.permutation(np.flatnonzero(data.y == k))[:n] for k in range(data.n_classes)]
    return data.subset(np.sort(np.concatenate(picks)))


def mix(user: Dataset, replay: Dataset | None) -> Dataset:
    """The user's images and the replayed ones in one class-balanced training set (shuffled by
    the run): a class keeps as many replayed images as the replay set has a class, less the
    user's images of it (none when the user has that many)."""
    if replay is None:
        return user
    if replay.classes != user.classes or replay.image_shape != user.image_shape:
        raise ConfigError("the replayed samples do not match the user's (classes or size)")
    mine = np.bincount(user.y, minlength=user.n_classes)  # (n_classes,) the user's images
    keep = np.concatenate([np.flatnonzero(replay.y == k)[mine[k]:]
                           for k in range(replay.n_classes)])
    replay = replay.subset(np.sort(keep))
    X = np.concatenate([user.X, replay.X])  # (n_user + n_replay, h·w)
    y = np.concatenate([user.y, replay.y])
    return Dataset(X, y, user.classes, user.image_shape,
                   name=f"{user.name} + {len(replay):,} replayed")
