"""``run(config) -> Model``: the one place where the options of a run become a trained network.

The command line (``mojinet train``, ``train-radical``), the web server's default model and the
Python API all come here. A run loads its data (``load_data``), builds the network, optimiser,
schedule, regularisers, augmentation, teacher targets and component head the config asks for,
trains (``nn.train.train``) and returns a ``Model`` that records the config and the history.

With ``config.out`` set, the model file is written (atomically) after every epoch together with
everything the next epoch depends on: the optimiser's velocities or moments, the random
generator's state (``bit_generator.state``, JSON), the best epoch so far and the early-stopping
count. ``resume(path)`` reads that back and carries on, ending with the same weights as a run
that was never stopped. A finished model keeps only its config and record (``read_config`` gives
the config back; running it again gives the same weights bit for bit on the same machine).

Non-goals: several runs at once (the sweep builds on this), training on more than one machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__, engines
from ._files import DiskFullError
from .config import ConfigError, RunConfig, read_config
from .data.augment import Augment
from .data.augment import describe as describe_augment
from .data.dataset import Dataset
from .data.directions import InputFeatures
from .data.registry import get_spec, load_dataset
from .io import Model, load_model, save_model
from .nn.callbacks import BestCheckpoint, EarlyStopping, chain
from .nn.distill import soft_targets
from .nn.network import Network
from .nn.optim import make_optimizer
from .nn.regularize import Dropout, MaxNorm
from .nn.schedules import make_schedule
from .nn.train import EpochRecord, History, TrainingDiverged, evaluate, train
from .presets import PRESETS
from .run_memory import check as check_memory
from .run_memory import estimate as estimate_memory
from .saving import checkpoint_path, model_path, target_of

__all__ = ["RunData", "RunInterrupted", "features_of", "load_data", "model_dataset",
           "model_split", "network_of", "optimizer_of", "preprocessing", "resume", "run",
           "schedule_of"]

Callback = Callable[[Network, EpochRecord], "bool | None"]
Log = Callable[[str], None]


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; the message says where the last whole epoch is saved (or that
    nothing was written) and how to carry on."""


def _quiet(text: str) -> None:
    """The default log: say nothing (the command line passes its printer)."""


@dataclass(frozen=True)
class RunData:
    """The splits of a run: ``train`` to learn from, ``eval`` checked after every epoch (the
    validation split, or else the test split), ``test`` for the final accuracy."""

    train: Dataset
    eval: Dataset
    eval_name: str  # "validation" or "test"
    test: Dataset


def load_data(config: RunConfig) -> RunData:
    """The training, per-epoch and test splits of ``config.dataset`` (limited and split as the
    config says; the validation split is drawn with the run's seed). A fine-tune with replay
    (``adapt``) trains on the given samples mixed with replayed ones of the model's original
    distribution and checks on a held-out part of that distribution."""
    from .adapt import adaptation_data, is_adaptation

    if is_adaptation(config):
        train_set, check = adaptation_data(config)
        return RunData(train_set, check, "test", check)
    options = dict(config.dataset_options)
    try:
        # the limit reaches the loaders: a drawn dataset draws only the images it needs
        train_set = load_dataset(config.dataset, "train", config.data_dir, limit=config.limit,
                                 **options)
        test_set = load_dataset(config.dataset, "test", config.data_dir, limit=config.limit,
                                **options)
    except TypeError as e:  # an option the dataset's loader does not take
        raise ConfigError(f"dataset_options: {e}") from e
    if not config.validation:
        return RunData(train_set, test_set, "test", test_set)
    train_set, eval_set = train_set.split(config.validation, seed=config.seed)
    return RunData(train_set, eval_set, "validation", test_set)


def preprocessing(image_shape: tuple[int, int],
                  features: InputFeatures | None = None) -> dict:
    """What a model needs to read a user's picture the way its training images were made (and,
    for features other than the pixels, what it makes of the picture: ``Model.inputs``)."""
    h, w = image_shape
    out = {
        "image_shape": [h, w],
        "input": "pixel / 255, 1 = ink, 0 = background, rows flattened in C order",
        "user_images": {"method": "crop to ink, fit box, centre of mass", "size": h,
                        "box": round(h * 20 / 28)},
    }
    if features is not None and features.name != "pixels":
        out["features"] = features.record()
        out["input"] += f", then {features.name} (mojinet.data.directions)"
    return out


def features_of(config: RunConfig, data: Dataset) -> InputFeatures:
    """The input features ``config`` asks for, for images like ``data``'s."""
    shape = data.image_shape or (1, data.n_features)
    if config.features != "pixels" and data.image_shape is None:
        raise ConfigError(f"features {config.features!r} reads images; {data.name} has no image "
                          f"shape (use features pixels)")
    return InputFeatures(config.features, tuple(shape), config.direction_pool)


def model_dataset(model: Model) -> tuple[str, dict, str | None] | None:
    """(dataset, loader options, data folder) a model was trained on, from its recorded run; None
    when the model does not say (e.g. made in Python without ``run``)."""
    recorded = model.training.get("config") or {}
    name = recorded.get("dataset")
    if not isinstance(name, str):
        return None
    options = recorded.get("dataset_options") or {}
    return name, dict(options) if isinstance(options, dict) else {}, recorded.get("data_dir")


def model_split(model: Model, split: str = "test", dataset: str | None = None,
                data_dir: str | None = None) -> Dataset:
    """A split of the dataset ``model`` was trained on (or of ``dataset``; MNIST for a model that
    does not say), read at the model's input size where the dataset can be read at any size."""
    recorded = model_dataset(model)
    options: dict = {}
    if dataset is None and recorded is not None:
        dataset, options, recorded_dir = recorded
        data_dir = data_dir if data_dir is not None else recorded_dir
    dataset = dataset or "mnist"
    if "size" in get_spec(dataset).options:
        options["size"] = model.image_shape[0]
    return load_dataset(dataset, split, data_dir, **options)


def run(config: RunConfig, *, callbacks: Sequence[Callback] = (), log: Log = _quiet,
        progress: bool | None = False, verbose: bool = False, score_test: bool = True) -> Model:
    """Train the network ``config`` describes and return it as a ``Model``.

    ``callbacks``: functions ``f(net, record)`` called after every epoch (after the model file is
    saved); one returning True stops the run (``EpochLog`` writes each epoch to a CSV or JSON
    lines file). ``log`` receives the lines the command line prints. ``progress``: a progress bar
    per epoch (None: only on a terminal). ``verbose``: both, in a notebook too — the lines
    printed (unless ``log`` is given) and tqdm's bar (a widget in Jupyter). ``score_test=False``:
    do not look at the test set at all (a sweep's trials, chosen on validation, are scored later).
    """
    if verbose:
        log = print if log is _quiet else log
        progress = True
    session = _Run(config, callbacks, log, progress)
    session.score_test = score_test
    return session.execute()


def resume(path: str | Path, *, callbacks: Sequence[Callback] = (), log: Log = _quiet,
           progress: bool | None = False) -> Model:
    """Carry on the run saved in the model file ``path`` from its last saved epoch; it goes on
    saving to the same file. The result has the weights the run would have had unstopped."""
    model = load_model(path)
    status = model.training.get("status")
    if status not in ("running", "interrupted") or "resume" not in model.training:
        hint = {"finished": "it has finished (train on from it with finetune, --finetune MODEL)",
                "diverged": "it diverged (rerun it with a smaller eta: --config MODEL --eta …)"}
        raise ConfigError(f"{path}: cannot resume this run: "
                          f"{hint.get(status, 'the file does not hold a resumable run')}")
    recorded = read_config(path)
    target = target_of(Path(path), recorded.out)
    session = _Run(recorded.replace(out=str(target)), callbacks, log, progress,
                   checkpoint=Path(path))
    session.restore(model)
    log(f"Resuming {path} after epoch {len(session.history.epochs)} of {recorded.epochs}")
    return session.execute()


class _Run:
    """One run: what ``run`` builds from the config, trains, saves and returns."""

    def __init__(self, config: RunConfig, callbacks, log: Log, progress,
                 checkpoint: Path | None = None):
        self.config, self.callbacks = config, tuple(callbacks)
        self.log, self.progress = log, progress
        self.path = None if config.out is None else model_path(config.out)  # the finished model
        self.checkpoint = checkpoint  # where the epochs go: the path, or the file beside it
        if self.path is not None and checkpoint is None:
            self.checkpoint, note = checkpoint_path(self.path)
            if note:
                log(note)
        self.data = load_data(config)
        train = self.data.train
        self.features = features_of(config, train)
        check_memory(estimate_memory(config, len(train), self.features.n_inputs, train.n_classes,
                                     max(len(self.data.eval), len(self.data.test))))
        self.trunk = _network(config, self.data.train, self.features)
        self.net, self.head_record = _with_head(config, self.trunk, self.data.train)
        # L2-SP's anchor w₀: the weights the fine-tune starts from (before a resume's restore)
        anchor = [W.copy() for W in self.net.weights] if config.l2_sp else None
        self.optimizer = optimizer_of(config, anchor)
        self.rng = np.random.default_rng(config.seed)
        self.history = History()
        self.best = BestCheckpoint() if config.best else None
        self.stopper = EarlyStopping(config.early_stopping) if config.early_stopping else None
        self.saved = False  # whether this run has written its model file yet
        self.saved_epoch = 0  # the last epoch in that file
        self.score_test = True  # score the test set at the end
        self.engine = "reference"  # the engine doing the steps (chosen in execute)
        self.seconds = self.cpu_seconds = 0.0  # from earlier sessions of a resumed run
        self.started, self.cpu_started = time.perf_counter(), time.process_time()

    # ------------------------------------------------------------------ training
    def execute(self) -> Model:
        c, data, features = self.config, self.data, self.features
        targets = _teacher_targets(c, self.trunk, data.train, self.log)
        augment = _augment(c, data.train)
        X = data.train.X
        if augment is not None and features.name != "pixels":  # distort the images, then read
            augment = _Features(augment, features)
        elif features.name != "pixels":
            X = features(X)  # (n, n_inputs), once
        dropout, constraint = Dropout(*c.dropout), MaxNorm(c.max_norm) if c.max_norm else None
        batch_size = min(c.batch_size, len(data.train))  # the same batches, smaller buffers
        steps = engines.select(c.engine, self.net, self.optimizer, batch_size,
                               dropout=dropout, constraint=constraint)  # chosen once, here
        self.engine = "reference" if steps is None else steps.engine
        self.log(self.trunk.summary())
        self.log(f"{_describe(c, data)}, engine {self.engine}")
        remaining = c.epochs - len(self.history.epochs)
        if self.stopper is not None and self.stopper.waited >= self.stopper.patience:
            remaining = 0  # stopped early just before the process was killed
        try:
            train(self.net, X, data.train.y, optimizer=self.optimizer,
                  epochs=remaining, batch_size=batch_size, rng=self.rng,
                  eval_data=(features(data.eval.X), data.eval.y), progress=self.progress,
                  schedule=schedule_of(c),
                  on_epoch_end=chain(self.best, self.stopper, self.after_epoch, *self.callbacks),
                  history=self.history, augment=augment, dropout=dropout,
                  constraint=constraint, targets=targets, steps=steps)
        except KeyboardInterrupt as e:
            self.mark("interrupted")
            raise RunInterrupted(self.where("Interrupted")) from e
        except TrainingDiverged as e:
            self.mark("diverged")
            where = f"; the last good network is in {self.checkpoint}" if self.saved else ""
            raise TrainingDiverged(f"{e}{where}") from e
        except DiskFullError as e:
            raise DiskFullError(e.errno, f"{e.strerror}. {self.where('The run stopped')}") from e
        return self.finish()

    def where(self, what: str) -> str:
        """``what``, then where the last whole epoch is and how to carry on from it."""
        if self.path is None:
            return f"{what}; the run was not being saved (no out)"
        if not self.saved:
            kept = f"{self.path} is as it was" if self.path.exists() else "nothing was saved"
            return f"{what} before the first epoch ended: {kept}"
        return (f"{what}; the network after epoch {self.saved_epoch} is in "
                f"{self.checkpoint} (carry on with mojinet train --resume {self.checkpoint})")

    def after_epoch(self, net, record: EpochRecord) -> None:
        """Save (everything the next epoch needs), then say how the epoch went."""
        if self.path is not None:
            save_model(self.model("running", with_state=True), self.checkpoint, compress=False)
            self.saved, self.saved_epoch = True, record.epoch
        aug = (f", {record.augment_seconds:.1f} s distorting"
               if record.augment_seconds is not None else "")
        name = self.data.eval_name
        self.log(f"epoch {record.epoch:>3}/{self.config.epochs}  cost {record.train_cost:.4f}  "
                 f"{name} cost {record.eval_cost:.4f}  {name} accuracy "
                 f"{record.eval_accuracy:.2%}  ({record.seconds:.1f} s{aug})")

    def finish(self) -> Model:
        c, name, test = self.config, self.data.eval_name, self.data.test
        if self.stopper is not None and len(self.history.epochs) < c.epochs:
            self.log(f"Stopped early: no gain in {name} accuracy for {c.early_stopping} epochs")
        if self.best is not None:
            self.best.restore(self.net)
            self.log(f"Restored the network of epoch {self.best.best_epoch} ({name} accuracy "
                     f"{self.best.best_accuracy:.2%})")
        model = self.model("finished")
        if self.best is not None:
            model.training["best_epoch"] = self.best.best_epoch
        if not self.score_test:
            return self.save_final(model)
        test_X = self.features(test.X)  # (n, n_inputs)
        test_cost, test_acc = evaluate(self.trunk, test_X, test.y)
        model.training.update(test_accuracy=test_acc, test_cost=test_cost)
        if self.head_record is not None:
            from .nn.twohead import component_accuracy

            self.head_record.update(component_accuracy(self.net, test_X, test.y))
        self.log(f"Test accuracy {test_acc:.2%} ({round(test_acc * len(test)):,} of "
                 f"{len(test):,}) after {len(self.history.epochs)} epochs in "
                 f"{model.training['seconds']:.1f} s ({model.training['cpu_seconds']:.1f} s of "
                 f"CPU time)")
        return self.save_final(model)

    def save_final(self, model: Model) -> Model:
        if self.path is not None:
            self.save_finished(model)
        return model

    def save_finished(self, model: Model) -> None:
        """Write the finished model to its path; then the file beside it has done its work."""
        try:
            save_model(model, self.path)
        except DiskFullError as e:
            kept = (f"the last epoch is in {self.checkpoint} (mojinet train --resume "
                    f"{self.checkpoint} saves it once there is space)" if self.saved else "")
            raise DiskFullError(e.errno, f"{e.strerror}. {kept}") from e
        if self.checkpoint != self.path:
            self.checkpoint.unlink(missing_ok=True)
        self.log(f"Saved the model to {self.path}")

    # ------------------------------------------------------------------ the model and its file
    def model(self, status: str, with_state: bool = False) -> Model:
        """The trunk as a ``Model`` with the run's record (and, while running, its state)."""
        training = {
            "config": self.config.to_dict(), "status": status, "history": self.history.to_dict(),
            "n_train": len(self.data.train), "eval": self.data.eval_name, "engine": self.engine,
            "seconds": round(self.seconds + time.perf_counter() - self.started, 2),
            "cpu_seconds": round(self.cpu_seconds + time.process_time() - self.cpu_started, 2),
            "mojinet_version": __version__, "credit": get_spec(self.config.dataset).credit,
        }
        if self.head_record is not None:
            training["component_head"] = self.head_record
        model = Model(self.trunk, self.data.train.classes,
                      preprocessing(self.data.train.image_shape, self.features), training)
        if with_state:
            training["resume"], model.state = _pack_state(self)
        return model

    def mark(self, status: str) -> None:
        """Mark the model file saved after the last whole epoch as ``status`` (its weights are a
        consistent checkpoint; those of the epoch cut short are not)."""
        if self.saved:
            model = load_model(self.checkpoint)
            model.training["status"] = status
            try:
                save_model(model, self.checkpoint)
            except OSError:  # a full disk: the file stays marked "running", as good to resume
                pass

    def restore(self, model: Model) -> None:
        """Take over the state a saved run left in ``model`` (see ``_pack_state``)."""
        for p, q in zip(self.trunk.parameters(), model.network.parameters()):
            p[...] = q
        training = model.training
        try:
            self.history = History.from_dict(training.get("history", []))
        except TypeError as e:  # epoch records of another mojinet version
            raise ConfigError(f"cannot resume: its epoch records do not fit this mojinet "
                              f"({e})") from e
        self.seconds = float(training.get("seconds", 0))
        self.cpu_seconds = float(training.get("cpu_seconds", 0))
        _unpack_state(self, training["resume"], model.state)
        self.saved, self.saved_epoch = True, len(self.history.epochs)


# ----------------------------------------------------------------------------- building
def network_of(config: RunConfig, n_in: int, n_out: int, dtype=np.float32) -> Network:
    """The network ``config`` describes for ``n_in`` inputs and ``n_out`` classes: its hidden
    layers, activations and cost, weights drawn by ``init`` with the seed."""
    sizes = [n_in, *config.hidden, n_out]
    return Network(sizes, list(config.layer_activations), config.cost, init=config.init,
                   seed=config.seed, dtype=dtype)


def optimizer_of(config: RunConfig, anchor=None):
    """The optimiser ``config`` describes (η, momentum, Nesterov, weight decay, L2-SP towards
    ``anchor``: the starting weights [W¹, …] of a fine-tune, needed when ``l2_sp`` > 0)."""
    if config.l2_sp and anchor is None:
        raise ConfigError("l2_sp needs the weights the fine-tune starts from (anchor)")
    return make_optimizer(config.optimizer, config.eta, momentum=config.momentum,
                          nesterov=config.nesterov, weight_decay=config.weight_decay,
                          l2_sp=config.l2_sp, anchor=anchor if config.l2_sp else None)


def schedule_of(config: RunConfig):
    """η for each 0-based epoch, as ``config`` says (``nn.schedules``)."""
    return make_schedule(config.schedule, config.eta, config.epochs, config.step_size,
                         gamma=config.gamma, warmup=config.warmup)


def _network(config: RunConfig, train_set: Dataset, features: InputFeatures) -> Network:
    """The network for these data: sizes from the features and ``hidden``; weights drawn with
    the seed, or taken from ``config.finetune``."""
    net = network_of(config, features.n_inputs, train_set.n_classes)
    sizes = net.sizes
    if config.finetune is None:
        return net
    start = load_model(config.finetune)
    if start.features != features:
        raise ConfigError(f"finetune: {config.finetune} reads {start.features.name} "
                          f"(pool {start.features.pool}), this run {features.name} (pool "
                          f"{features.pool}): give the same --features and --direction-pool")
    if start.network.sizes != sizes:
        raise ConfigError(f"finetune: {config.finetune} has layers "
                          f"{'-'.join(map(str, start.network.sizes))}, this run needs "
                          f"{'-'.join(map(str, sizes))} (same hidden layers and data)")
    if start.classes != train_set.classes:
        raise ConfigError(f"finetune: {config.finetune} reads the classes "
                          f"{' '.join(start.classes[:20])}, {train_set.name} has "
                          f"{' '.join(train_set.classes[:20])}: the outputs would mean "
                          f"other characters")
    for p, q in zip(net.parameters(), start.network.parameters()):
        p[...] = q
    return net


def _with_head(config: RunConfig, trunk: Network, train_set: Dataset):
    """(the network to train, the component head's record): the trunk itself, or the trunk with
    a component (radical) head when ``radical_lambda`` > 0."""
    if not config.radical_lambda:
        return trunk, None
    from .nn.twohead import TwoHeadNetwork
    from .radicals import component_table

    components, M = component_table(train_set.classes, config.radical_min_kanji)
    if not components:
        raise ConfigError(f"radical_min_kanji: no component is in {config.radical_min_kanji} "
                          f"or more of these characters")
    net = TwoHeadNetwork(trunk, M, lam=config.radical_lambda, seed=config.seed)
    return net, {"lambda": config.radical_lambda, "components": components}


def _augment(config: RunConfig, train_set: Dataset) -> Augment | None:
    augment = Augment(train_set.image_shape, rotate=config.rotate, scale=config.scale,
                      shift=config.shift, elastic_alpha=config.elastic_alpha,
                      elastic_sigma=config.elastic_sigma)
    return augment if augment else None


class _Features:
    """Distort a chunk of images (``augment``), then make the network's inputs of them."""

    def __init__(self, augment: Augment, features: InputFeatures):
        self.augment, self.features = augment, features

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.features(self.augment(X, rng))  # (chunk, n_inputs)


def _teacher_targets(config: RunConfig, net: Network, train_set: Dataset, log: Log):
    """Soft targets from ``config.teacher`` (distillation), or None."""
    preset = PRESETS.get(config.preset)
    if config.teacher is None:
        if preset is not None and preset.needs_teacher:
            raise ConfigError(f"the {preset.name} preset learns from a trained teacher network: "
                              f"train one first (mojinet train --preset best-cpu --out "
                              f"best-cpu.npz) and add --teacher best-cpu.npz")
        return None
    teacher_model = load_model(config.teacher)
    teacher = teacher_model.network
    n_pixels = teacher_model.features.n_pixels  # it reads images: its own features of them
    if n_pixels != train_set.n_features or teacher.sizes[-1] != net.sizes[-1]:
        raise ConfigError(f"teacher: {config.teacher} has {n_pixels} inputs and "
                          f"{teacher.sizes[-1]} outputs; this network needs "
                          f"{train_set.n_features} and {net.sizes[-1]}")
    log(f"Learning from the teacher {config.teacher} ({'-'.join(map(str, teacher.sizes))}): "
        f"weight {config.teacher_weight:g}, temperature {config.temperature:g}")
    return soft_targets(teacher, teacher_model.inputs(train_set.X), train_set.y,
                        weight=config.teacher_weight, temperature=config.temperature)


def _describe(c: RunConfig, data: RunData) -> str:
    """The one line that says what this run does."""
    train_set, aug = data.train, _augment(c, data.train)
    return (f"Training on {len(train_set):,} images ({train_set.name}), checking on "
            f"{len(data.eval):,} {data.eval_name} images each epoch: preset {c.preset}, "
            f"{c.optimizer}, batch {c.batch_size}, eta {c.eta:g} ({c.schedule}"
            f"{f', warm-up {c.warmup}' if c.warmup else ''}), momentum {c.momentum:g}"
            f"{' (Nesterov)' if c.nesterov else ''}, L2 {c.weight_decay:g}, "
            f"{f'L2-SP {c.l2_sp:g}, ' if c.l2_sp else ''}"
            f"dropout {c.dropout[0]:g}/{c.dropout[1]:g}, max-norm {c.max_norm:g}, "
            f"augmentation: {describe_augment(aug) if aug else 'none'}, {c.epochs} epochs, "
            f"seed {c.seed}")


# ----------------------------------------------------------------------------- saved state
def _pack_state(session: _Run) -> tuple[dict, dict[str, np.ndarray]]:
    """(JSON, arrays): everything the next epoch depends on besides the trunk's parameters."""
    info: dict = {"rng": session.rng.bit_generator.state}
    arrays: dict[str, np.ndarray] = {}
    counts, values = {}, {}  # the optimiser's lists of arrays (how many), its other numbers
    for key, value in session.optimizer.state().items():
        if isinstance(value, list):
            arrays.update({f"optimizer.{key}.{i}": a for i, a in enumerate(value)})
            counts[key] = len(value)
        else:
            values[key] = value
    info["optimizer"] = {"arrays": counts, "values": values}
    net = session.net
    if net is not session.trunk:  # the component head: V and c
        arrays["head.V"], arrays["head.c"] = net.V, net.c
    best = session.best
    if best is not None and best.params is not None:
        info["best"] = {"epoch": best.best_epoch, "accuracy": best.best_accuracy}
        arrays.update({f"best.{i}": p for i, p in enumerate(best.params)})
    if session.stopper is not None and session.stopper.best_accuracy > -np.inf:
        info["early_stopping"] = {"best_accuracy": session.stopper.best_accuracy,
                                  "waited": session.stopper.waited}
    return info, arrays


def _unpack_state(session: _Run, info: dict, arrays: dict[str, np.ndarray]) -> None:
    """The inverse of ``_pack_state``, into a freshly built run."""
    rng_state = info.get("rng", {})
    if rng_state.get("bit_generator") != type(session.rng.bit_generator).__name__:
        raise ConfigError(f"the saved random generator {rng_state.get('bit_generator')!r} is not "
                          f"{type(session.rng.bit_generator).__name__}")
    try:
        session.rng.bit_generator.state = rng_state
    except (TypeError, ValueError, KeyError) as e:
        raise ConfigError(f"the saved random generator state cannot be restored ({e})") from e
    saved = info.get("optimizer", {})
    state = dict(saved.get("values", {}))
    shapes = [p.shape for p in session.net.parameters()]
    for key, count in saved.get("arrays", {}).items():
        missing = [i for i in range(count) if f"optimizer.{key}.{i}" not in arrays]
        if missing:
            raise ConfigError(f"the saved optimiser state {key!r} lacks array {missing[0]}")
        state[key] = [arrays[f"optimizer.{key}.{i}"] for i in range(count)]
        if [a.shape for a in state[key]] != shapes:
            raise ConfigError(f"the saved optimiser state {key!r} does not fit the network")
    session.optimizer.load_state(state)
    if session.net is not session.trunk:
        session.net.V[...], session.net.c[...] = arrays["head.V"], arrays["head.c"]
    if "best" in info and session.best is not None:
        session.best.best_epoch = info["best"]["epoch"]
        session.best.best_accuracy = info["best"]["accuracy"]
        session.best.params = [arrays[f"best.{i}"] for i in range(len(session.net.parameters()))]
    if "early_stopping" in info and session.stopper is not None:
        session.stopper.best_accuracy = info["early_stopping"]["best_accuracy"]
        session.stopper.waited = info["early_stopping"]["waited"]
