"""The ``mojinet`` command: train, evaluate, predict, info. Thin: parse, call the library, print."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__, datasets_cli, kanji_cli, real_eval
from .data.augment import Augment
from .data.augment import describe as describe_augment
from .data.dataset import Dataset
from .data.dictionary import CREDIT as DICTIONARY_CREDIT
from .data.dictionary import CREDIT_URL as DICTIONARY_CREDIT_URL
from .data.dictionary import lookup_all
from .data.images import ImageError, load_images
from .data.registry import DATA_DIR_ENV, available_datasets, dataset_name, get_spec, load_dataset
from .io import Model, ModelFileError, load_model, save_model
from .nn import fast
from .nn.activations import ACTIVATIONS
from .nn.callbacks import BestCheckpoint, EarlyStopping, chain
from .nn.costs import COSTS
from .nn.distill import soft_targets
from .nn.init import INITIALISERS
from .nn.network import Network
from .nn.optim import OPTIMIZERS, make_optimizer
from .nn.regularize import MaxNorm, parse_dropout
from .nn.schedules import SCHEDULES, make_schedule
from .nn.train import EpochRecord, History, TrainingDiverged, evaluate, train
from .presets import DEFAULT as DEFAULT_PRESET
from .presets import PRESETS
from .web import serve as web_serve

# The chapter's network and the training settings that take it past 95% (see README): the
# ``chapter`` preset (presets.py).
CHAPTER_DEFAULTS = PRESETS["chapter"].options


class CLIError(Exception):
    """An error to show the user as one line, without a traceback."""


def _print(*args, **kwargs):
    print(*args, **kwargs, flush=True)


def describe(net: Network) -> str:
    """A parameter summary with exact counts per layer."""
    lines = [f"Network {'-'.join(map(str, net.sizes))}: activations "
             f"{', '.join(a.name for a in net.activations)}; cost {net.cost.name}"]
    for l, W in enumerate(net.weights, start=1):
        fan_in, fan_out = W.shape
        lines.append(f"  layer {l}: {fan_in:>5} → {fan_out:<5} {W.size:>10,} weights + "
                     f"{fan_out:,} biases")
    lines.append(f"  total: {net.n_weights:,} weights + {net.n_biases:,} biases = "
                 f"{net.n_params:,} parameters")
    return "\n".join(lines)


def _preprocessing(data: Dataset) -> dict:
    h, w = data.image_shape
    return {
        "image_shape": [h, w],
        "input": "pixel / 255, 1 = ink, 0 = background, rows flattened in C order",
        "user_images": {"method": "crop to ink, fit box, centre of mass", "size": h,
                        "box": round(h * 20 / 28)},
    }


# ----------------------------------------------------------------------------- train
def _dataset_options(name: str, image_size: int | None) -> dict:
    """Loader options from the command line (only datasets that take them, e.g. folders)."""
    if image_size is None:
        return {}
    if "size" not in get_spec(name).options:
        raise CLIError(f"--image-size applies to image folders; {name} has a fixed size")
    return {"size": image_size}


def cmd_train(args) -> int:
    options = _dataset_options(args.dataset, args.image_size)
    train_set = load_dataset(args.dataset, "train", args.data_dir, **options)
    test_set = load_dataset(args.dataset, "test", args.data_dir, **options)
    if args.limit:
        train_set = train_set.subset(args.limit)
        test_set = test_set.subset(min(args.limit, len(test_set)))
    eval_set, eval_name = test_set, "test"
    if args.validation:
        train_set, eval_set = train_set.split(args.validation, seed=args.seed)
        eval_name = "validation"
    hidden = args.hidden
    activations = args.activations or [args.activation] * len(hidden) + [args.output_activation]
    sizes = [train_set.n_features, *hidden, train_set.n_classes]
    net = Network(sizes, activations, args.cost, init=args.init, seed=args.seed)
    optimizer = make_optimizer(args.optimizer, args.eta, momentum=args.momentum,
                               nesterov=args.nesterov, weight_decay=args.weight_decay)
    schedule = make_schedule(args.schedule, args.eta, args.epochs, args.step_size,
                             gamma=args.gamma, warmup=args.warmup)
    dropout = parse_dropout(args.dropout)
    constraint = MaxNorm(args.max_norm) if args.max_norm else None
    augment = Augment(train_set.image_shape, rotate=args.rotate, scale=args.scale,
                      shift=args.shift, elastic_alpha=args.elastic_alpha,
                      elastic_sigma=args.elastic_sigma)
    if (args.early_stopping or args.best) and not args.validation:
        raise CLIError("--early-stopping and --best choose epochs by validation accuracy; "
                       "hold out a validation split with --validation N (e.g. 10000)")
    stopper = EarlyStopping(args.early_stopping) if args.early_stopping else None
    best = BestCheckpoint() if args.best else None
    targets = None
    if PRESETS[args.preset].needs_teacher and not args.teacher:
        raise CLIError(f"the {args.preset} preset learns from a trained teacher network: train one "
                       f"first (mojinet train --preset best-cpu --out best-cpu.npz) and add "
                       f"--teacher best-cpu.npz")
    if args.teacher:
        teacher = load_model(args.teacher).network
        if teacher.sizes[0] != sizes[0] or teacher.sizes[-1] != sizes[-1]:
            raise CLIError(f"the teacher {args.teacher} has {teacher.sizes[0]} inputs and "
                           f"{teacher.sizes[-1]} outputs; this network needs {sizes[0]} and "
                           f"{sizes[-1]}")
        targets = soft_targets(teacher, train_set.X, train_set.y, weight=args.teacher_weight,
                               temperature=args.temperature)
        _print(f"Learning from the teacher {args.teacher} ({'-'.join(map(str, teacher.sizes))}): "
               f"weight {args.teacher_weight:g}, temperature {args.temperature:g}")
    _print(describe(net))
    _print(f"Training on {len(train_set):,} images ({train_set.name}), checking on "
           f"{len(eval_set):,} {eval_name} images each epoch: preset {args.preset}, "
           f"{args.optimizer}, batch {args.batch_size}, eta {args.eta:g} ({args.schedule}"
           f"{f', warm-up {args.warmup}' if args.warmup else ''}), momentum {args.momentum:g}"
           f"{' (Nesterov)' if args.nesterov else ''}, L2 {args.weight_decay:g}, "
           f"dropout {dropout.input:g}/{dropout.hidden:g}, max-norm {args.max_norm:g}, "
           f"augmentation: {describe_augment(augment)}, {args.epochs} epochs, seed {args.seed}")
    out = Path(args.out)
    config = {
        "preset": args.preset, "dataset": args.dataset, "n_train": len(train_set),
        "eval": eval_name, "init": args.init, "optimizer": optimizer.config(),
        "batch_size": args.batch_size, "eta": args.eta, "schedule": args.schedule,
        "step_size": args.step_size, "gamma": args.gamma, "warmup": args.warmup,
        "momentum": args.momentum, "nesterov": args.nesterov,
        "weight_decay": args.weight_decay, "dropout": [dropout.input, dropout.hidden],
        "max_norm": args.max_norm, "augment": augment.config() if augment else None,
        "early_stopping": args.early_stopping, "best": args.best,
        "teacher": ({"file": str(args.teacher), "weight": args.teacher_weight,
                     "temperature": args.temperature} if args.teacher else None),
        "epochs": args.epochs, "seed": args.seed,
    }
    started = time.perf_counter()
    cpu_started = time.process_time()  # CPU time: what wall time would be on an idle machine

    def model_now(status: str, history) -> Model:
        training = {"config": config, "status": status, "history": history.to_dict(),
                    "seconds": round(time.perf_counter() - started, 2),
                    "cpu_seconds": round(time.process_time() - cpu_started, 2),
                    "mojinet_version": __version__}
        return Model(net, train_set.classes, _preprocessing(train_set), training)

    history = History()  # filled in by train(); saved with the model after every epoch

    def report(net_, record: EpochRecord):
        aug = (f", {record.augment_seconds:.1f} s distorting"
               if record.augment_seconds is not None else "")
        _print(f"epoch {record.epoch:>3}/{args.epochs}  cost {record.train_cost:.4f}  "
               f"{eval_name} cost {record.eval_cost:.4f}  {eval_name} accuracy "
               f"{record.eval_accuracy:.2%}  ({record.seconds:.1f} s{aug})")
        # Save after every epoch (atomically): a killed run keeps what it had learned.
        save_model(model_now("running", history), out)

    on_epoch_end = chain(best, report, stopper)

    try:
        train(
            net, train_set.X, train_set.y, optimizer=optimizer, epochs=args.epochs,
            batch_size=args.batch_size, rng=np.random.default_rng(args.seed),
            eval_data=(eval_set.X, eval_set.y), schedule=schedule, progress=args.progress,
            on_epoch_end=on_epoch_end, history=history,
            augment=augment if augment else None, dropout=dropout, constraint=constraint,
            targets=targets,
        )
    except KeyboardInterrupt:
        path = save_model(model_now("interrupted", history), out)
        _print(f"\nInterrupted; the network after {len(history.epochs)} epochs is in {path}")
        return 130
    except TrainingDiverged as e:
        path = save_model(model_now("diverged", history), out)
        raise CLIError(f"{e}\nThe last good network is in {path}") from e
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    if stopper is not None and len(history.epochs) < args.epochs:
        _print(f"Stopped early: no gain in {eval_name} accuracy for {args.early_stopping} epochs")
    if best is not None:
        best.restore(net)
        _print(f"Restored the network of epoch {best.best_epoch} ({eval_name} accuracy "
               f"{best.best_accuracy:.2%})")
    test_cost, test_acc = evaluate(net, test_set.X, test_set.y)
    model = model_now("finished", history)
    if best is not None:
        model.training["best_epoch"] = best.best_epoch
    model.training["test_accuracy"] = test_acc
    model.training["test_cost"] = test_cost
    path = save_model(model, out)
    _print(f"Test accuracy {test_acc:.2%} ({round(test_acc * len(test_set)):,} of "
           f"{len(test_set):,}) after {len(history.epochs)} epochs in {seconds:.1f} s "
           f"({cpu_seconds:.1f} s of CPU time)")
    _print(f"Saved the model to {path}")
    return 0


# ----------------------------------------------------------------------------- evaluate
def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: rows = true class, columns = predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def format_confusion(cm: np.ndarray, classes) -> str:
    width = max(5, len(str(cm.max())) + 1, *(len(c) + 1 for c in classes))
    head = "true\\pred".ljust(10) + "".join(c.rjust(width) for c in classes)
    rows = [c.ljust(10) + "".join(str(v).rjust(width) for v in row)
            for c, row in zip(classes, cm)]
    return "\n".join([head, *rows])


def cmd_evaluate(args) -> int:
    model = load_model(args.model)
    # Image folders are read at the model's input size, as predict would.
    size = model.image_shape[0] if "size" in get_spec(args.dataset).options else None
    data = load_dataset(args.dataset, args.split, args.data_dir,
                        **_dataset_options(args.dataset, size))
    if data.n_features != model.network.sizes[0] or data.n_classes != len(model.classes):
        raise CLIError(
            f"{args.model} expects {model.network.sizes[0]} inputs and {len(model.classes)} "
            f"classes, but {data.name} has {data.n_features} and {data.n_classes}"
        )
    pred = np.concatenate([fast.predict(model.network, data.X[i:i + 10_000])
                           for i in range(0, len(data), 10_000)])
    cm = confusion_matrix(data.y, pred, data.n_classes)
    acc = np.trace(cm) / cm.sum()
    _print(f"{args.model}: accuracy {acc:.2%} ({np.trace(cm):,} of {cm.sum():,} {data.name})")
    _print("per-class accuracy:")
    for c, row in zip(model.classes, cm):
        _print(f"  {c}: {row.sum() and np.diag(cm)[model.classes.index(c)] / row.sum():.2%} "
               f"of {row.sum():,}")
    _print("confusion matrix (rows = true, columns = predicted):")
    _print(format_confusion(cm, model.classes))
    return 0


# ----------------------------------------------------------------------------- predict
def cmd_predict(args) -> int:
    model = load_model(args.model)
    h, w = model.image_shape
    if h != w:
        raise CLIError(f"{args.model}: predict supports square inputs, not {h}×{w}")
    box = model.preprocessing.get("user_images", {}).get("box")
    entries = lookup_all(model.classes)  # readings/meanings of kana and kanji labels
    results = []
    status = 0
    for image in args.images:
        try:
            X = load_images([image], size=h, box=box)
        except (ImageError, FileNotFoundError) as e:
            _print(f"{image}: error: {e}", file=sys.stderr)
            status = 1
            continue
        top = model.top(X, args.top)[0]
        results.append({"image": str(image), "top": [
            {"label": c, "probability": p} | ({"dictionary": entries[c].to_dict()}
                                              if c in entries else {}) for c, p in top]})
        if not args.json:
            _print(f"{image}: " + "  ".join(f"{c} {p:.1%}" for c, p in top))
            if top[0][0] in entries:
                _print(f"  {top[0][0]}: {entries[top[0][0]].summary()}")
    if args.json:
        _print(json.dumps(results, ensure_ascii=False, indent=1))
    elif any(e.kind == "kanji" for e in entries.values()) and results:
        _print(f"(readings and meanings: {DICTIONARY_CREDIT}, {DICTIONARY_CREDIT_URL})")
    return status


# ----------------------------------------------------------------------------- info
def cmd_info(args) -> int:
    model = load_model(args.model)
    _print(f"{args.model}: mojinet model")
    _print(describe(model.network))
    classes = model.classes
    _print(f"classes ({len(classes)}): {' '.join(classes[:50])}{' …' if len(classes) > 50 else ''}")
    _print(f"input image: {model.image_shape[0]}×{model.image_shape[1]}")
    t = model.training
    if t:
        cfg = t.get("config", {})
        if cfg:
            _print("training: " + ", ".join(f"{k} {v}" for k, v in cfg.items()))
        hist = t.get("history", [])
        _print(f"status: {t.get('status', '?')}, {len(hist)} epochs, {t.get('seconds', '?')} s")
        if "test_accuracy" in t:
            _print(f"test accuracy: {t['test_accuracy']:.2%}")
    return 0


# ----------------------------------------------------------------------------- parser
def build_parser(preset: str = DEFAULT_PRESET) -> argparse.ArgumentParser:
    """The parser; ``preset`` supplies the defaults of the train options."""
    p = argparse.ArgumentParser(
        prog="mojinet",
        description="Read handwriting with a multilayer perceptron written in NumPy.",
    )
    p.add_argument("--version", action="version", version=f"mojinet {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = PRESETS[preset].options
    t = sub.add_parser("train", help="train a network (default: the chapter's 784-16-16-10)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       epilog="presets: " + "; ".join(f"{q.name}: {q.summary}"
                                                      for q in PRESETS.values()))
    t.add_argument("--preset", default=preset, choices=list(PRESETS),
                   help="a named recipe (docs/results.md) supplying the defaults below; "
                        "options you give still override it")
    dataset_help = (f"one of {', '.join(available_datasets())} (see `mojinet datasets`), or "
                    f"folder:PATH for your own images, one subfolder per class")
    t.add_argument("--dataset", default="mnist", type=dataset_name, metavar="NAME",
                   help=dataset_help)
    t.add_argument("--data-dir", help=f"folder with the dataset's files (or ${DATA_DIR_ENV})")
    t.add_argument("--image-size", type=int, metavar="N",
                   help="side of the input images for image folders (default 28)")
    t.add_argument("--hidden", type=int, nargs="*", default=d["hidden"],
                   help="hidden layer sizes, e.g. --hidden 16 16 (none: no hidden layer)")
    t.add_argument("--activation", default=d["activation"], choices=[
        a for a in ACTIVATIONS if a != "softmax"], help="activation of every hidden layer")
    t.add_argument("--output-activation", default=d["output_activation"], choices=list(ACTIVATIONS))
    t.add_argument("--activations", nargs="+", choices=list(ACTIVATIONS), default=d["activations"],
                   help="one activation per layer after the input (overrides the two above)")
    t.add_argument("--cost", default=d["cost"], choices=list(COSTS))
    t.add_argument("--init", default=d["init"], choices=INITIALISERS,
                   help="normal = the chapter's N(0, 1)")
    t.add_argument("--batch-size", type=int, default=d["batch_size"],
                   help="mini-batch size (the training-set size gives full-batch descent)")
    t.add_argument("--optimizer", default=d["optimizer"], choices=OPTIMIZERS)
    t.add_argument("--eta", type=float, default=d["eta"], help="learning rate η")
    t.add_argument("--schedule", default=d["schedule"], choices=SCHEDULES,
                   help="how η changes over the epochs")
    t.add_argument("--step-size", type=int, default=d["step_size"],
                   help="step schedule: epochs between drops of η")
    t.add_argument("--gamma", type=float, default=d["gamma"],
                   help="step schedule: factor applied to η at each drop")
    t.add_argument("--warmup", type=int, default=d["warmup"],
                   help="epochs of linear warm-up of η before the schedule")
    t.add_argument("--momentum", type=float, default=d["momentum"], help="SGD momentum μ")
    t.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=d["nesterov"],
                   help="Nesterov momentum (SGD)")
    t.add_argument("--weight-decay", type=float, default=d["weight_decay"],
                   help="L2 regularisation strength λ (weights only)")
    t.add_argument("--dropout", type=float, nargs="*", default=d["dropout"],
                   metavar="P", help="dropout: P_HIDDEN, or P_INPUT P_HIDDEN")
    t.add_argument("--max-norm", type=float, default=d["max_norm"], metavar="C",
                   help="limit each neuron's incoming weight vector to length C (0: off)")
    g = t.add_argument_group("augmentation (fresh random distortions of every training image "
                             "in every epoch; all 0 = off)")
    g.add_argument("--rotate", type=float, default=d["rotate"], metavar="DEG")
    g.add_argument("--scale", type=float, default=d["scale"], metavar="FRACTION")
    g.add_argument("--shift", type=float, default=d["shift"], metavar="PIXELS")
    g.add_argument("--elastic-alpha", type=float, default=d["elastic_alpha"], metavar="ALPHA",
                   help="elastic distortion strength α (Simard et al. 2003: 34)")
    g.add_argument("--elastic-sigma", type=float, default=d["elastic_sigma"], metavar="SIGMA",
                   help="elastic distortion smoothness σ in pixels (Simard et al. 2003: 4)")
    t.add_argument("--teacher", metavar="MODEL", help="distillation: also learn from this "
                   "trained model's answers on the training images (nn/distill.py)")
    t.add_argument("--teacher-weight", type=float, default=d["teacher_weight"], metavar="W",
                   help="distillation: share of the teacher's answers in the wanted outputs")
    t.add_argument("--temperature", type=float, default=d["temperature"], metavar="T",
                   help="distillation: softening of the teacher's answers")
    t.add_argument("--epochs", type=int, default=d["epochs"])
    t.add_argument("--early-stopping", type=int, default=0, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a validation gain (needs --validation)")
    t.add_argument("--best", action="store_true",
                   help="keep the epoch with the best validation accuracy (needs --validation)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--validation", type=int, default=0, metavar="N",
                   help="hold out N training images for per-epoch checks (e.g. 10000)")
    t.add_argument("--limit", type=int, default=0, metavar="N",
                   help="use only the first N training (and test) images, for quick trials")
    t.add_argument("--out", default="mojinet-mnist.npz", help="where to save the model")
    t.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar per epoch (default: only on a terminal)")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix")
    e.add_argument("model")
    e.add_argument("--dataset", default="mnist", type=dataset_name, metavar="NAME",
                   help=dataset_help)
    e.add_argument("--split", default="test", help="train, test (or all, where offered)")
    e.add_argument("--data-dir")
    e.set_defaults(func=cmd_evaluate)

    r = sub.add_parser("predict", help="classify image files (PNG, JPEG, …) of characters")
    r.add_argument("model")
    r.add_argument("images", nargs="+", metavar="IMAGE")
    r.add_argument("--top", type=int, default=3, help="how many candidates to show")
    r.add_argument("--json", action="store_true", help="print JSON instead of text")
    r.set_defaults(func=cmd_predict)

    i = sub.add_parser("info", help="what a model file holds")
    i.add_argument("model")
    i.set_defaults(func=cmd_info)

    datasets_cli.add_parser(sub)
    web_serve.add_parser(sub)
    from .inspect_cli import add_parser as add_inspect_parsers  # inspect, figures
    add_inspect_parsers(sub)
    kanji_cli.add_parser(sub)  # radicals, train-radical, kanji-eval, kanji-sample (issue 7)
    real_eval.add_parser(sub)  # real-eval (issue 13)
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line; ``train --preset NAME`` takes its defaults from that preset.

    The preset is found first, so that the parser (and ``--help``) shows its defaults; the
    options given on the command line then override them.
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--preset", default=DEFAULT_PRESET)
    preset = pre.parse_known_args(argv)[0].preset
    return build_parser(preset if preset in PRESETS else DEFAULT_PRESET).parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, ModelFileError, ImageError, FileNotFoundError, ValueError) as e:
        _print(f"mojinet {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. a full disk while saving: the earlier file is untouched
        _print(f"mojinet {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
