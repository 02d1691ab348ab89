"""The kanji commands: ``radicals``, ``train-radical``, ``kanji-eval`` and ``kanji-sample``.

Thin: parse, call ``radicals`` / ``runner`` / ``data.kanji``, print. Registered in
``cli.parser.COMMANDS`` by one line.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .._files import atomic_writer
from ..data.handwriting import STYLES
from ..data.kanji import CHARSETS, TEST_SEED, synthetic_dataset
from ..inspect import topk_accuracy
from ..io import save_model
from ..nn.train import evaluate
from ..presets import PRESETS
from ..real_eval import add_real_options
from ..runner import run
from .common import (
    DefaultsHelpFormatter,
    add_draw_workers_flag,
    load_square_model,
    use_draw_workers,
    whole,
)
from .printer import say

ANALYSIS_SEED = 2  # samples for the radical analysis: neither the training (0) nor test (1) seed


# ----------------------------------------------------------------------------- radicals
def cmd_radicals(args) -> int:
    from ..radicals import analyse, figure

    model, h = load_square_model(args.model, "radicals")
    data = synthetic_dataset("".join(model.classes), args.samples, h, args.seed, args.style)
    started = time.perf_counter()
    inputs = model.inputs(data.X)  # (n, n_inputs): the pixels, and planes if it reads them
    report = analyse(model.network, model.classes, inputs, data.y, min_kanji=args.min_kanji,
                     shuffles=args.shuffles, threshold=args.threshold, seed=args.seed)
    seconds = time.perf_counter() - started
    summary = report.summary()
    rows = report.table(args.top)
    if args.json:
        say(json.dumps({"summary": summary, "best": rows}, ensure_ascii=False, indent=1))
    else:
        say(f"{args.model}: {len(model.classes)} classes, {summary['neurons']} hidden neurons, "
               f"{summary['components']} components in >= {args.min_kanji} classes, "
               f"{summary['samples']:,} held-out synthetic samples (seed {args.seed}), "
               f"{seconds:.1f} s")
        say(f"components with a neuron of AUC >= {args.threshold}: "
               f"{summary['components_with_neuron_above']} of {summary['components']}; with the "
               f"component-kanji assignment shuffled ({args.shuffles} times): mean "
               f"{summary['shuffled_above_mean']:.1f}, max {summary['shuffled_above_max']}")
        say(f"median best AUC per component: {summary['median_best_auc']:.3f} (shuffled "
               f"{summary['shuffled_median_best_auc']:.3f})")
        say("components with a neuron of AUC >= t (shuffled: mean, max): " + "; ".join(
            f"{r['threshold']:g}: {r['components']} ({r['shuffled_mean']:.1f}, "
            f"{r['shuffled_max']})" for r in summary["by_threshold"]))
        say("component  kanji  best AUC  neuron      shuffled best AUC")
        for r in rows:
            say(f"  {r['component']}        {r['kanji']:>4}   {r['best_auc']:.3f}    "
                   f"L{r['layer']} #{r['neuron']:<6}  {r['shuffled_best_auc']:.3f}")
    if args.figure:
        fig = figure(report, model.network, inputs, data.y, model.classes, (h, h),
                     top=args.figure_rows)
        with atomic_writer(args.figure) as f:
            fig.savefig(f, format=Path(args.figure).suffix.lstrip(".") or "png")
        say(f"figure: {args.figure}")
    return 0


# ----------------------------------------------------------------------------- train-radical
def cmd_train_radical(args) -> int:
    """Train a classifier with (lam > 0) or without (lam = 0) the component head, same seed: the
    ``kanji-radical`` preset with these options, run by ``runner.run``."""
    use_draw_workers(args)
    options = {"chars": args.charset, "per_class": args.per_class,
               "test_per_class": args.test_per_class, "size": args.size, "style": args.style}
    config = PRESETS["kanji-radical"].config.replace(
        dataset_options=options, radical_lambda=args.lam, radical_min_kanji=args.min_kanji,
        hidden=tuple(args.hidden), eta=args.eta, weight_decay=args.weight_decay,
        batch_size=args.batch_size, epochs=args.epochs, seed=args.seed, out=args.out)
    model = run(config, log=say)
    training = model.training
    results = {"test_accuracy": training["test_accuracy"], "seconds": training["seconds"]}
    if "component_head" in training:
        head = training["component_head"]
        results["component_head"] = {k: head[k] for k in ("per_component", "exact_set")}
    for style in args.eval_styles:  # other writers, in other styles
        held = synthetic_dataset(args.charset, args.test_per_class, args.size, TEST_SEED, style)
        inputs = model.inputs(held.X)  # (n, n_inputs)
        training[f"test_accuracy_{style}"] = evaluate(model.network, inputs, held.y)[1]
        results[f"test_accuracy_{style}"] = training[f"test_accuracy_{style}"]
    path = save_model(model, args.out)
    if args.json:
        say(json.dumps(results, ensure_ascii=False))
    else:
        _say_radical_results(results, args)
    say(f"Saved the classifier (without the component head) to {path}")
    return 0


def _say_radical_results(results: dict, args) -> None:
    """train-radical's results in words (``--json``: as JSON)."""
    say(f"test accuracy, other writers in the default style: {results['test_accuracy']:.2%} "
        f"({args.test_per_class} per class)")
    for style in args.eval_styles:
        say(f"  in style {style}: {results[f'test_accuracy_{style}']:.2%}")
    head = results.get("component_head")
    if head is not None:
        say(f"component head: {head['per_component']:.2%} of its yes/no answers right; the "
            f"exact set of components for {head['exact_set']:.2%} of the test images")
    say(f"trained in {results['seconds']:.1f} s")


# ----------------------------------------------------------------------------- kanji-eval
def cmd_kanji_eval(args) -> int:
    """Top-1 and top-k accuracy of a model on fresh synthetic samples (any seed and style)."""
    use_draw_workers(args)
    model, h = load_square_model(args.model, "kanji-eval")
    results = {}
    for style in args.styles:
        data = synthetic_dataset("".join(model.classes), args.per_class, h, args.seed, style)
        top1 = topk_accuracy(model, data.X, data.y, 1)  # the model reads the images
        topk = topk_accuracy(model, data.X, data.y, args.top)
        results[style] = {"samples": len(data), "top1": top1, f"top{args.top}": topk}
        say(f"{args.model} on {len(data):,} synthetic samples (seed {args.seed}, style "
               f"{style}): top-1 {top1:.2%}, top-{args.top} {topk:.2%}")
    if args.real:  # real pen strokes beside them (real_eval.py, issue 13)
        from ..real_eval import report_real

        results["real"] = report_real(model, args)
    if args.json:
        say(json.dumps(results, ensure_ascii=False))
    return 0


# ----------------------------------------------------------------------------- kanji-sample
def cmd_kanji_sample(args) -> int:
    """A sheet of synthetic samples, to see what the generator draws."""
    use_draw_workers(args)
    from PIL import Image

    data = synthetic_dataset(args.chars, args.n, args.size, args.seed, args.style, cache=False)
    k = data.n_classes
    imgs = data.images().reshape(args.n, k, args.size, args.size)  # sample-major
    sheet = imgs.transpose(1, 2, 0, 3).reshape(k * args.size, args.n * args.size)
    pil = Image.fromarray(np.rint(255 - sheet * 255).astype(np.uint8))
    with atomic_writer(args.out) as f:
        pil.save(f, format="PNG")
    say(f"{k} characters × {args.n} samples → {args.out}")
    return 0


def add_parser(sub) -> None:
    r = sub.add_parser("radicals", help="do hidden neurons stand for kanji components? (AUC)",
                       formatter_class=DefaultsHelpFormatter)
    r.add_argument("model", help="a model trained on KanjiVG kanji (e.g. kanjivg-grade1)")
    r.add_argument("--samples", type=whole(1), default=30, help="held-out samples per kanji")
    r.add_argument("--seed", type=whole(0), default=ANALYSIS_SEED, help="seed of those samples")
    r.add_argument("--style", default="default", choices=list(STYLES))
    r.add_argument("--min-kanji", type=whole(1), default=5,
                   help="analyse components found in at least this many of the classes")
    r.add_argument("--shuffles", type=whole(1), default=10, help="shuffled baselines to average")
    r.add_argument("--threshold", type=float, default=0.9, help="AUC that counts as a match")
    r.add_argument("--top", type=whole(1), default=20, help="rows of the table")
    r.add_argument("--figure", help="save the best neuron-component pairs here (PNG/PDF/SVG)")
    r.add_argument("--figure-rows", type=whole(1), default=6)
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_radicals)

    t = sub.add_parser("train-radical",
                       help="train a kanji classifier with an extra component (radical) head",
                       formatter_class=DefaultsHelpFormatter)
    t.add_argument("--charset", default="grade1",
                   help=f"{', '.join(CHARSETS)} or a string of characters")
    t.add_argument("--lam", type=float, default=1.0,
                   help="weight of the component cost (0 = plain classifier, same everything else)")
    t.add_argument("--min-kanji", type=whole(1), default=2, help="components the head predicts")
    t.add_argument("--size", type=whole(8, 512), default=32)
    t.add_argument("--per-class", type=whole(1), default=500)
    t.add_argument("--test-per-class", type=whole(1), default=100)
    t.add_argument("--style", nargs="+", default=["default"], choices=list(STYLES),
                   help="the generator's style(s) for training; several are mixed round-robin")
    t.add_argument("--eval-styles", nargs="*", default=["thin", "thick", "wild"],
                   choices=list(STYLES), help="held-out styles to test on")
    t.add_argument("--hidden", type=whole(1, 10_000_000), nargs="+", default=[512])
    t.add_argument("--eta", type=float, default=0.05)
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("--batch-size", type=whole(1), default=64)
    t.add_argument("--epochs", type=whole(1), default=15)
    t.add_argument("--seed", type=whole(0), default=0)
    t.add_argument("--out", default="mojinet-radical.npz", help="where to save the classifier")
    t.add_argument("--json", action="store_true", help="print the results as JSON")
    add_draw_workers_flag(t)
    t.set_defaults(func=cmd_train_radical)

    e = sub.add_parser("kanji-eval", help="top-1/top-k accuracy on fresh synthetic KanjiVG samples",
                       formatter_class=DefaultsHelpFormatter)
    e.add_argument("model")
    e.add_argument("--per-class", type=whole(1), default=20)
    e.add_argument("--seed", type=whole(0), default=3,
                   help="writers' seed (training uses 0, the named test split 1)")
    e.add_argument("--styles", nargs="+", default=["default"], choices=list(STYLES))
    e.add_argument("--top", type=whole(1), default=10)
    e.add_argument("--json", action="store_true")
    add_real_options(e, required=False)  # --real PATH …: real strokes too (see real-eval)
    add_draw_workers_flag(e)
    e.set_defaults(func=cmd_kanji_eval)

    s = sub.add_parser("kanji-sample", help="draw synthetic KanjiVG handwriting to a PNG sheet")
    s.add_argument("chars", help=f"characters, or a set: {', '.join(CHARSETS)}")
    s.add_argument("--n", type=whole(1), default=8, help="samples per character")
    s.add_argument("--size", type=whole(8, 512), default=32, choices=[28, 32, 48, 64])
    s.add_argument("--seed", type=whole(0), default=0)
    s.add_argument("--style", default="default", choices=list(STYLES))
    s.add_argument("--out", default="kanji-sample.png")
    add_draw_workers_flag(s)
    s.set_defaults(func=cmd_kanji_sample)
