"""``mojinet train``: its flags are the fields of ``RunConfig``; the run is ``runner.run``.

The flags' defaults come from a base config: the preset (``--preset NAME``, default chapter), a
config file or a model's recorded run (``--config FILE``), or the run being resumed
(``--resume MODEL``). Flags given on the command line override it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from ..config import ConfigError, RunConfig, read_config
from ..data.directions import FEATURES
from ..data.registry import DATA_DIR_ENV, available_datasets, dataset_name
from ..engines import ENGINES
from ..epochlog import EpochLog
from ..models import recipe_path
from ..nn.activations import ACTIVATIONS
from ..nn.costs import COSTS
from ..nn.init import INITIALISERS
from ..nn.optim import OPTIMIZERS
from ..nn.schedules import SCHEDULES
from ..nn.train import TrainingDiverged
from ..presets import DEFAULT as DEFAULT_PRESET
from ..presets import PRESETS, dataset_preset, default_out
from ..runner import RunInterrupted, resume, run
from .common import DefaultsHelpFormatter, add_draw_workers_flag, use_draw_workers, whole
from .printer import CLIError, say

FIELDS = {f.name for f in dataclasses.fields(RunConfig)}


def base_config(argv) -> RunConfig:
    """The config the train flags default to, found before the real parse (so that ``--help``
    shows the defaults that apply): ``--resume``'s, ``--config``'s, or ``--preset``'s; for
    ``--finetune MODEL --dataset strokes:…`` alone (learn my hand), the model's network with
    ``adapt.ADAPT_DEFAULTS``."""
    pre = argparse.ArgumentParser(add_help=False)
    for flag in ("--preset", "--config", "--resume", "--finetune", "--dataset"):
        pre.add_argument(flag)
    known = pre.parse_known_args(argv)[0]
    learning_a_hand = (known.finetune is not None and known.dataset is not None
                       and known.dataset.startswith("strokes:"))
    if learning_a_hand and known.resume is None and known.config is None and known.preset is None:
        from ..adapt import finetune_base

        return finetune_base(known.finetune).replace(dataset=known.dataset, dataset_options={})
    if known.resume is not None:
        if known.config is not None or known.preset is not None:
            raise ConfigError("--resume continues the recorded run: give it without --config "
                              "or --preset")
        return read_config(known.resume)
    if known.config is not None:
        if known.preset is not None:
            raise ConfigError("give --config FILE or --preset NAME, not both")
        return read_config(recipe_path(known.config))  # a file, or a shipped model's name
    if known.preset is None and known.dataset is not None:  # the dataset's own default recipe
        return PRESETS[dataset_preset(known.dataset)].config
    return PRESETS.get(known.preset or DEFAULT_PRESET, PRESETS[DEFAULT_PRESET]).config


def config_from_args(args) -> RunConfig:
    """The run the parsed flags describe (validated: a bad value is a ConfigError)."""
    values = {k: v for k, v in vars(args).items() if k in FIELDS}
    options = dict(args.base.dataset_options) if args.dataset == args.base.dataset else {}
    for item in args.dataset_option or ():
        key, _, text = item.partition("=")
        options[key] = _option_value(text)
    if args.image_size is not None:
        options["size"] = args.image_size
    values["dataset_options"] = options
    values["dropout"] = _dropout_pair(args.dropout)
    if "out" in values and values["out"] is None:  # (a sweep's base config has no out at all)
        values["out"] = default_out(values["dataset"])
    return RunConfig(**values)


def _option_value(text: str):
    """KEY=VALUE's value: JSON when it parses (numbers, true, lists), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _dropout_pair(values) -> tuple[float, float]:
    """--dropout's forms: none, P_HIDDEN, or P_INPUT P_HIDDEN."""
    if not values:
        return (0.0, 0.0)
    if len(values) == 1:
        return (0.0, values[0])
    if len(values) == 2:
        return (values[0], values[1])
    raise ConfigError(f"--dropout takes P_HIDDEN or P_INPUT P_HIDDEN, got {list(values)}")


def cmd_train(args) -> int:
    config = config_from_args(args)
    use_draw_workers(args)
    callbacks = [] if args.log is None else [EpochLog(args.log)]
    if args.resume is None and args.config is None and config.preset != DEFAULT_PRESET \
            and config.preset == dataset_preset(config.dataset):
        say(f"Preset {config.preset}: the default recipe for {config.dataset} "
            f"({PRESETS[config.preset].summary}); --preset chapter for the chapter's network")
    try:
        if args.resume is None:
            run(config, log=say, progress=args.progress, callbacks=callbacks)
            return 0
        changed = [f"{k} ({getattr(args.base, k)!r} → {getattr(config, k)!r})"
                   for k in sorted(FIELDS - {"out"}) if getattr(config, k) != getattr(args.base, k)]
        if changed:
            raise CLIError(f"--resume continues the recorded run as it was; these options differ "
                           f"from it: {', '.join(changed)}. To change them, start a new run "
                           f"from it with --config {args.resume}")
        resume(args.resume, log=say, progress=args.progress, callbacks=callbacks)
        return 0
    except RunInterrupted as e:
        say(f"\n{e}")
        return 130
    except KeyboardInterrupt:  # while the run was being set up (data, network)
        say("\nInterrupted before training began: nothing was written")
        return 130
    except TrainingDiverged as e:
        raise CLIError(str(e)) from e


def add_parser(sub, base: RunConfig) -> None:
    """Register ``train``, its flags defaulting to ``base``."""
    t = sub.add_parser("train", help="train a network (default: the chapter's 784-16-16-10)",
                       formatter_class=DefaultsHelpFormatter,
                       epilog="presets: " + "; ".join(f"{q.name}: {q.summary}"
                                                      for q in PRESETS.values()))
    t.set_defaults(func=cmd_train, base=base)
    add_base_flags(t, base)
    t.add_argument("--resume", metavar="MODEL",
                   help="carry on the interrupted or killed run saved in MODEL from its last "
                        "saved epoch (it goes on saving there)")
    t.add_argument("--out", default=base.out,
                   help="where to save the model (default: mojinet-DATASET.npz, e.g. "
                        "mojinet-mnist.npz, mojinet-kanjivg-grade1.npz)")
    t.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar per epoch (default: only on a terminal)")
    t.add_argument("--log", metavar="FILE",
                   help="also write each epoch's numbers to FILE as it ends: .csv, or .jsonl "
                        "for JSON lines (appended, so a resumed run carries on in it)")
    add_config_flags(t, base)


def add_base_flags(t, base: RunConfig) -> None:
    """--preset and --config: where the defaults of the other options come from."""
    t.add_argument("--preset", default=base.preset, choices=list(PRESETS),
                   help="a named recipe (docs/results.md) supplying the defaults below; "
                        "options you give still override it (default: chapter for MNIST-like "
                        "data, kanji for the KanjiVG, Kuzushiji and ETL sets)")
    t.add_argument("--config", metavar="FILE",
                   help="take the defaults from a run configuration (.json, .toml) or from the "
                        "recorded run of a model file (.npz): the same options train the same "
                        "weights")


def add_config_flags(t, base: RunConfig) -> None:
    """The flags of the RunConfig fields (all but ``out``), defaulting to ``base`` (also used by
    ``mojinet sweep`` for its base config)."""
    _add_run_flags(t, base)
    _add_data_flags(t, base)
    _add_network_flags(t, base)
    _add_optimizer_flags(t, base)
    _add_regularisation_flags(t, base)


def _add_run_flags(t, base: RunConfig) -> None:
    t.add_argument("--finetune", default=base.finetune, metavar="MODEL",
                   help="start from MODEL's weights instead of random ones (same layer sizes); "
                        "with --dataset strokes:DIR (and no --preset/--config): learn your hand "
                        "(MODEL's network, 4 epochs at eta 0.003, replayed samples mixed in, "
                        "no L2-SP)")
    t.add_argument("--replay", type=int, default=base.replay, metavar="N",
                   help="fine-tune: N images a class in a class-balanced mix of your samples "
                        "and replayed ones of the model's original data, so it does not forget "
                        "them (default on strokes: 90, at least 1500 in all; else 0: none)")
    t.add_argument("--engine", default=base.engine, choices=ENGINES,
                   help="how to compute: the readable reference, the NumPy/BLAS or the "
                        "compiled (Numba) fast path; auto picks the fastest that can")
    t.add_argument("--epochs", type=int, default=base.epochs,
                   help="passes over the training images")
    t.add_argument("--early-stopping", type=int, default=base.early_stopping, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a validation gain (needs --validation)")
    t.add_argument("--best", action=argparse.BooleanOptionalAction, default=base.best,
                   help="keep the epoch with the best validation accuracy (needs --validation)")
    t.add_argument("--seed", type=int, default=base.seed,
                   help="seed of the initial weights, the shuffles and the distortions (the same "
                        "seed and options train the same weights)")


def _add_data_flags(t, base: RunConfig) -> None:
    t.add_argument("--dataset", default=base.dataset, type=dataset_name, metavar="NAME",
                   help=f"one of {', '.join(available_datasets())} (see `mojinet datasets`), "
                        f"or folder:PATH for your own images, one subfolder per class")
    t.add_argument("--dataset-option", action="append", metavar="KEY=VALUE",
                   help="an option of the dataset's loader, e.g. chars=日月 for kanjivg "
                        "(repeat for several; see `mojinet datasets NAME`)")
    t.add_argument("--data-dir", default=base.data_dir,
                   help=f"folder with the dataset's files (or ${DATA_DIR_ENV})")
    t.add_argument("--image-size", type=whole(1, 1024), metavar="N",
                   help="side of the input images, for datasets drawn or read at any size "
                        "(image folders, kanjivg)")
    t.add_argument("--validation", type=int, default=base.validation, metavar="N",
                   help="hold out N training images for per-epoch checks (e.g. 10000)")
    t.add_argument("--limit", type=int, default=base.limit, metavar="N",
                   help="use only the first N training (and test) images, for quick trials")
    t.add_argument("--features", default=base.features, choices=FEATURES,
                   help="what the input neurons read: the pixels, or the pixels and four "
                        "stroke-direction planes (0°, 45°, 90°, 135°; mojinet.data.directions); "
                        "moments…: the same of the moment-normalised pixels (mojinet.data.moments)")
    t.add_argument("--direction-pool", type=int, default=base.direction_pool, metavar="N",
                   help="…+directions: pool the planes over N × N pixel blocks (1: not "
                        "pooled; 4 on 32 × 32 images: 4 planes of 8 × 8 cells)")
    add_draw_workers_flag(t)


def _add_network_flags(t, base: RunConfig) -> None:
    t.add_argument("--hidden", type=int, nargs="*", default=list(base.hidden),
                   help="hidden layer sizes, e.g. --hidden 16 16 (none: no hidden layer)")
    t.add_argument("--activation", default=base.activation,
                   choices=[a for a in ACTIVATIONS if a != "softmax"],
                   help="activation of every hidden layer")
    t.add_argument("--output-activation", default=base.output_activation,
                   choices=list(ACTIVATIONS),
                   help="activation of the output layer (softmax: probabilities that sum to 1)")
    t.add_argument("--activations", nargs="+", choices=list(ACTIVATIONS),
                   default=None if base.activations is None else list(base.activations),
                   help="one activation per layer after the input (overrides the two above)")
    t.add_argument("--cost", default=base.cost, choices=list(COSTS),
                   help="what training minimises: the chapter's quadratic cost, or cross-entropy "
                        "(with a sigmoid or softmax output)")
    t.add_argument("--init", default=base.init, choices=INITIALISERS,
                   help="normal = the chapter's N(0, 1)")
    t.add_argument("--radical-lambda", type=float, default=base.radical_lambda, metavar="LAMBDA",
                   help="kanji: weight of an extra output head that names the components "
                        "(radicals) of the character (0: no such head; see train-radical)")
    t.add_argument("--radical-min-kanji", type=int, default=base.radical_min_kanji, metavar="N",
                   help="kanji: the head predicts components found in N or more classes")


def _add_optimizer_flags(t, base: RunConfig) -> None:
    t.add_argument("--batch-size", type=int, default=base.batch_size,
                   help="mini-batch size (the training-set size gives full-batch descent)")
    t.add_argument("--optimizer", default=base.optimizer, choices=OPTIMIZERS,
                   help="how the gradients move the weights: (momentum) SGD or Adam")
    t.add_argument("--eta", type=float, default=base.eta, help="learning rate η")
    t.add_argument("--schedule", default=base.schedule, choices=SCHEDULES,
                   help="how η changes over the epochs")
    t.add_argument("--step-size", type=int, default=base.step_size,
                   help="step schedule: epochs between drops of η")
    t.add_argument("--gamma", type=float, default=base.gamma,
                   help="step schedule: factor applied to η at each drop")
    t.add_argument("--warmup", type=int, default=base.warmup,
                   help="epochs of linear warm-up of η before the schedule")
    t.add_argument("--momentum", type=float, default=base.momentum, help="SGD momentum μ")
    t.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=base.nesterov,
                   help="Nesterov momentum (SGD)")
    t.add_argument("--weight-decay", type=float, default=base.weight_decay,
                   help="L2 regularisation strength λ (weights only)")
    t.add_argument("--l2-sp", type=float, default=base.l2_sp, metavar="ALPHA",
                   help="fine-tune: L2-SP, the cost gains ALPHA/2·‖w − w0‖², pulling the weights "
                        "towards those of the --finetune model (weights only; 0: off)")


def _add_regularisation_flags(t, base: RunConfig) -> None:
    t.add_argument("--dropout", type=float, nargs="*", metavar="P",
                   default=list(base.dropout) if any(base.dropout) else None,
                   help="dropout: P_HIDDEN, or P_INPUT P_HIDDEN")
    t.add_argument("--max-norm", type=float, default=base.max_norm, metavar="C",
                   help="limit each neuron's incoming weight vector to length C (0: off)")
    g = t.add_argument_group("augmentation (fresh random distortions of every training image "
                             "in every epoch; all 0 = off)")
    g.add_argument("--rotate", type=float, default=base.rotate, metavar="DEG",
                   help="rotate each image by up to ±DEG degrees")
    g.add_argument("--scale", type=float, default=base.scale, metavar="FRACTION",
                   help="stretch or shrink each image by up to ±FRACTION (0.1: ±10%%)")
    g.add_argument("--shift", type=float, default=base.shift, metavar="PIXELS",
                   help="move each image by up to ±PIXELS in each direction")
    g.add_argument("--elastic-alpha", type=float, default=base.elastic_alpha, metavar="ALPHA",
                   help="elastic distortion strength α (Simard et al. 2003: 34)")
    g.add_argument("--elastic-sigma", type=float, default=base.elastic_sigma, metavar="SIGMA",
                   help="elastic distortion smoothness σ in pixels (Simard et al. 2003: 4)")
    d = t.add_argument_group("distillation (learning from a trained teacher's answers as well)")
    d.add_argument("--teacher", default=base.teacher, metavar="MODEL",
                   help="the teacher model (nn/distill.py)")
    d.add_argument("--teacher-weight", type=float, default=base.teacher_weight, metavar="W",
                   help="share of the teacher's answers in the wanted outputs")
    d.add_argument("--temperature", type=float, default=base.temperature, metavar="T",
                   help="softening of the teacher's answers")
