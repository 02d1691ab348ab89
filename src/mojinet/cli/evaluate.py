"""``mojinet evaluate`` (accuracy, per class, confusion matrix) and ``mojinet info``."""

from __future__ import annotations

import numpy as np

from ..config import ConfigError, RunConfig
from ..data.registry import dataset_name
from ..inspect import confusion_matrix
from ..io import load_model
from ..runner import model_split
from .models import add_model_option, chosen_model
from .printer import CLIError, format_confusion, say


def cmd_evaluate(args) -> int:
    args.model = chosen_model(args)
    model = load_model(args.model)
    data = model_split(model, args.split, args.dataset, args.data_dir)
    n_pixels = model.features.n_pixels
    if data.n_features != n_pixels or data.n_classes != len(model.classes):
        raise CLIError(
            f"{args.model} expects {n_pixels} inputs and {len(model.classes)} "
            f"classes, but {data.name} has {data.n_features} and {data.n_classes}"
        )
    pred = np.concatenate([model.predict(data.X[i:i + 10_000])
                           for i in range(0, len(data), 10_000)])
    cm = confusion_matrix(data.y, pred, data.n_classes)
    right = np.diag(cm)
    say(f"{args.model}: accuracy {right.sum() / cm.sum():.2%} ({right.sum():,} of {cm.sum():,} "
        f"{data.name})")
    say("per-class accuracy:")
    for c, row, k in zip(model.classes, cm, right):
        say(f"  {c}: {row.sum() and k / row.sum():.2%} of {row.sum():,}")
    say("confusion matrix (rows = true, columns = predicted):")
    say(format_confusion(cm, model.classes))
    return 0


def cmd_info(args) -> int:
    args.model = chosen_model(args)
    model = load_model(args.model)
    say(f"{args.model}: mojinet model")
    say(model.network.summary())
    classes = model.classes
    say(f"classes ({len(classes)}): {' '.join(classes[:50])}{' …' if len(classes) > 50 else ''}")
    say(f"input image: {model.image_shape[0]}×{model.image_shape[1]}")
    features = model.features
    if features.planes:
        say(f"inputs: {features.name} ({features.n_pixels:,} pixels and "
            f"{features.n_inputs - features.n_pixels:,} direction-plane cells, pool "
            f"{features.pool})")
    elif features.name != "pixels":
        say(f"inputs: {features.name} ({features.n_pixels:,} pixels)")
    say(f"identity: {model.identity} (SHA-256 of the layer sizes and parameters)")
    t = model.training
    if t:
        cfg = t.get("config", {})
        try:  # the recorded run, as the config file that reruns it (mojinet train --config)
            say("run:\n  " + RunConfig.from_dict(cfg).to_toml().strip().replace("\n", "\n  "))
        except ConfigError:  # made by an older mojinet, or in Python without run()
            if cfg:
                say("training options:")
                for k, v in cfg.items():
                    say(f"  {k}: {_readable(v)}")
        hist = t.get("history", [])
        say(f"status: {t.get('status', '?')}, {len(hist)} epochs, {t.get('seconds', '?')} s"
            + (f", {t['n_train']:,} training images" if isinstance(t.get("n_train"), int) else "")
            + (f", engine {t['engine']}" if "engine" in t else ""))
        if "test_accuracy" in t:
            say(f"test accuracy: {t['test_accuracy']:.2%}")
        head = t.get("component_head")
        if isinstance(head, dict) and "components" in head:
            say(f"component head (training only): {len(head['components'])} components, "
                f"λ {head.get('lambda', '?')}: {' '.join(map(str, head['components'][:30]))}")
        if t.get("credit"):
            say(f"data credit: {t['credit']}")
    return 0


def _readable(value) -> str:
    """A recorded option as text: lists as their items, tables as key=value pairs."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_readable(v)}" for k, v in value.items()) or "(none)"
    if isinstance(value, (list, tuple)):
        return " ".join(_readable(v) for v in value) or "(none)"
    return "(not set)" if value is None else str(value)


def add_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix")
    e.add_argument("model", nargs="?", help="a model file, or a shipped model's name")
    add_model_option(e)
    e.add_argument("--dataset", type=dataset_name, metavar="NAME",
                   help="the dataset to check on (default: the one the model was trained on; "
                        "see `mojinet datasets`), or folder:PATH")
    e.add_argument("--split", default="test", help="train, test (or all, where offered)")
    e.add_argument("--data-dir")
    e.set_defaults(func=cmd_evaluate)

    i = sub.add_parser("info", help="what a model file holds")
    i.add_argument("model", nargs="?", help="a model file, or a shipped model's name")
    add_model_option(i)
    i.set_defaults(func=cmd_info)
