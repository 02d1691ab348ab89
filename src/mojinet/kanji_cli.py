"""The kanji commands: ``radicals``, ``train-radical``, ``kanji-eval`` and ``kanji-sample``.

Thin: parse, call ``radicals`` / ``nn.twohead`` / ``data.kanji``, print. Registered in
``cli.build_parser`` by one ``add_parser(sub)`` line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from . import __version__
from .data.handwriting import STYLES
from .data.kanji import CHARSETS, TEST_SEED, synthetic_dataset
from .data.kanjivg import CREDIT
from .real_eval import add_real_options

ANALYSIS_SEED = 2  # samples for the radical analysis: neither the training (0) nor test (1) seed


def _print(*args, **kwargs):
    print(*args, **kwargs, flush=True)


# ----------------------------------------------------------------------------- radicals
def cmd_radicals(args) -> int:
    from .io import load_model
    from .radicals import analyse, figure

    model = load_model(args.model)
    h, w = model.image_shape
    if h != w:
        raise ValueError(f"{args.model}: radicals needs square input images, not {h}×{w}")
    data = synthetic_dataset("".join(model.classes), args.samples, h, args.seed, args.style)
    started = time.perf_counter()
    report = analyse(model.network, model.classes, data.X, data.y, min_kanji=args.min_kanji,
                     shuffles=args.shuffles, threshold=args.threshold, seed=args.seed)
    seconds = time.perf_counter() - started
    summary = report.summary()
    rows = report.table(args.top)
    if args.json:
        _print(json.dumps({"summary": summary, "best": rows}, ensure_ascii=False, indent=1))
    else:
        _print(f"{args.model}: {len(model.classes)} classes, {summary['neurons']} hidden neurons, "
               f"{summary['components']} components in >= {args.min_kanji} classes, "
               f"{summary['samples']:,} held-out synthetic samples (seed {args.seed}), "
               f"{seconds:.1f} s")
        _print(f"components with a neuron of AUC >= {args.threshold}: "
               f"{summary['components_with_neuron_above']} of {summary['components']}; with the "
               f"component-kanji assignment shuffled ({args.shuffles} times): mean "
               f"{summary['shuffled_above_mean']:.1f}, max {summary['shuffled_above_max']}")
        _print(f"median best AUC per component: {summary['median_best_auc']:.3f} (shuffled "
               f"{summary['shuffled_median_best_auc']:.3f})")
        _print("components with a neuron of AUC >= t (shuffled: mean, max): " + "; ".join(
            f"{r['threshold']:g}: {r['components']} ({r['shuffled_mean']:.1f}, "
            f"{r['shuffled_max']})" for r in summary["by_threshold"]))
        _print("component  kanji  best AUC  neuron      shuffled best AUC")
        for r in rows:
            _print(f"  {r['component']}        {r['kanji']:>4}   {r['best_auc']:.3f}    "
                   f"L{r['layer']} #{r['neuron']:<6}  {r['shuffled_best_auc']:.3f}")
    if args.figure:
        from ._files import atomic_writer

        fig = figure(report, model.network, data.X, data.y, model.classes, (h, w),
                     top=args.figure_rows)
        with atomic_writer(args.figure) as f:
            fig.savefig(f, format=Path(args.figure).suffix.lstrip(".") or "png")
        _print(f"figure: {args.figure}")
    return 0


# ----------------------------------------------------------------------------- train-radical
def cmd_train_radical(args) -> int:
    """Train a classifier with (lam > 0) or without (lam = 0) the component head, same seed."""
    from .io import Model, save_model
    from .nn.network import Network
    from .nn.optim import SGD
    from .nn.schedules import make_schedule
    from .nn.train import evaluate, train
    from .nn.twohead import TwoHeadNetwork, component_accuracy
    from .radicals import component_table

    chars = args.charset
    train_set = synthetic_dataset(chars, args.per_class, args.size, 0, args.style)
    # The test writers always use the default style; --eval-styles adds the others.
    test_set = synthetic_dataset(chars, args.test_per_class, args.size, TEST_SEED, "default")
    components, M = component_table(train_set.classes, args.min_kanji)
    if not components:
        raise ValueError(f"no component is in {args.min_kanji} or more of these characters")
    sizes = [train_set.n_features, *args.hidden, train_set.n_classes]
    trunk = Network(sizes, ["relu"] * len(args.hidden) + ["softmax"], "cross-entropy",
                    init="he", seed=args.seed)
    net = TwoHeadNetwork(trunk, M, lam=args.lam, seed=args.seed)
    optimizer = SGD(args.eta, momentum=0.9, weight_decay=args.weight_decay)
    _print(f"Training {'-'.join(map(str, sizes))} + component head ({len(components)} "
           f"components, lambda {args.lam:g}) on {len(train_set):,} images")
    started = time.perf_counter()
    history = train(
        net, train_set.X, train_set.y, optimizer=optimizer, epochs=args.epochs,
        batch_size=args.batch_size, rng=np.random.default_rng(args.seed),
        eval_data=(test_set.X, test_set.y), schedule=make_schedule("cosine", args.eta, args.epochs),
        on_epoch_end=lambda n, r: _print(f"epoch {r.epoch:>3}/{args.epochs}  cost "
                                         f"{r.train_cost:.4f}  test accuracy "
                                         f"{r.eval_accuracy:.2%}  ({r.seconds:.1f} s)"),
    )
    seconds = time.perf_counter() - started
    _, acc = evaluate(trunk, test_set.X, test_set.y)
    comp = component_accuracy(net, test_set.X, test_set.y)
    results = {"test_accuracy": acc, "seconds": round(seconds, 1), "component_head": comp}
    for style in args.eval_styles:
        held = synthetic_dataset(chars, args.test_per_class, args.size, TEST_SEED, style)
        results[f"test_accuracy_{style}"] = evaluate(trunk, held.X, held.y)[1]
    h, w = train_set.image_shape
    training = {
        "config": {"dataset": f"kanjivg:{chars}", "per_class": args.per_class,
                   "hidden": args.hidden, "eta": args.eta, "epochs": args.epochs,
                   "batch_size": args.batch_size, "seed": args.seed, "style": args.style,
                   "radical_head": {"lambda": args.lam, "components": components}},
        "status": "finished", "history": history.to_dict(), "seconds": round(seconds, 2),
        "mojinet_version": __version__, **results, "credit": CREDIT,
    }
    preprocessing = {"image_shape": [h, w],
                     "input": "pixel / 255, 1 = ink, 0 = background, rows flattened in C order",
                     "user_images": {"method": "crop to ink, fit box, centre of mass", "size": h,
                                     "box": round(h * 20 / 28)}}
    path = save_model(Model(trunk, train_set.classes, preprocessing, training), args.out)
    _print(json.dumps(results))
    _print(f"Saved the classifier (without the component head) to {path}")
    return 0


# ----------------------------------------------------------------------------- kanji-eval
def topk_accuracy(network, X, y, k: int, batch_size: int = 4096) -> float:
    """Share of samples whose class is among the k most active outputs."""
    hits = 0
    for i in range(0, len(X), batch_size):
        A = network.feedforward(X[i : i + batch_size])  # (batch, n_out)
        k_ = min(k, A.shape[1])
        top = np.argpartition(-A, k_ - 1, axis=1)[:, :k_]  # (batch, k)
        hits += int((top == y[i : i + batch_size, None]).any(axis=1).sum())
    return hits / len(X)


def cmd_kanji_eval(args) -> int:
    """Top-1 and top-k accuracy of a model on fresh synthetic samples (any seed and style)."""
    from .io import load_model

    model = load_model(args.model)
    h, w = model.image_shape
    if h != w:
        raise ValueError(f"{args.model}: needs square input images, not {h}×{w}")
    results = {}
    for style in args.styles:
        data = synthetic_dataset("".join(model.classes), args.per_class, h, args.seed, style)
        top1 = topk_accuracy(model.network, data.X, data.y, 1)
        topk = topk_accuracy(model.network, data.X, data.y, args.top)
        results[style] = {"samples": len(data), "top1": top1, f"top{args.top}": topk}
        _print(f"{args.model} on {len(data):,} synthetic samples (seed {args.seed}, style "
               f"{style}): top-1 {top1:.2%}, top-{args.top} {topk:.2%}")
    if args.real:  # real pen strokes beside them (real_eval.py, issue 13)
        from .real_eval import report_real

        results["real"] = report_real(model, args)
    if args.json:
        _print(json.dumps(results, ensure_ascii=False))
    return 0


# ----------------------------------------------------------------------------- kanji-sample
def cmd_kanji_sample(args) -> int:
    """A sheet of synthetic samples, to see what the generator draws."""
    from PIL import Image

    from ._files import atomic_writer

    data = synthetic_dataset(args.chars, args.n, args.size, args.seed, args.style, cache=False)
    k = data.n_classes
    imgs = data.images().reshape(args.n, k, args.size, args.size)  # sample-major
    sheet = imgs.transpose(1, 2, 0, 3).reshape(k * args.size, args.n * args.size)
    pil = Image.fromarray(np.rint(255 - sheet * 255).astype(np.uint8))
    with atomic_writer(args.out) as f:
        pil.save(f, format="PNG")
    _print(f"{k} characters × {args.n} samples → {args.out}")
    return 0


def add_parser(sub) -> None:
    r = sub.add_parser("radicals", help="do hidden neurons stand for kanji components? (AUC)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    r.add_argument("model", help="a model trained on KanjiVG kanji (e.g. kanjivg-grade1)")
    r.add_argument("--samples", type=int, default=30, help="held-out samples per kanji")
    r.add_argument("--seed", type=int, default=ANALYSIS_SEED, help="seed of those samples")
    r.add_argument("--style", default="default", choices=list(STYLES))
    r.add_argument("--min-kanji", type=int, default=5,
                   help="analyse components found in at least this many of the classes")
    r.add_argument("--shuffles", type=int, default=10, help="shuffled baselines to average")
    r.add_argument("--threshold", type=float, default=0.9, help="AUC that counts as a match")
    r.add_argument("--top", type=int, default=20, help="rows of the table")
    r.add_argument("--figure", help="save the best neuron-component pairs here (PNG/PDF/SVG)")
    r.add_argument("--figure-rows", type=int, default=6)
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_radicals)

    t = sub.add_parser("train-radical",
                       help="train a kanji classifier with an extra component (radical) head",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--charset", default="grade1",
                   help=f"{', '.join(CHARSETS)} or a string of characters")
    t.add_argument("--lam", type=float, default=1.0,
                   help="weight of the component cost (0 = plain classifier, same everything else)")
    t.add_argument("--min-kanji", type=int, default=2, help="components the head predicts")
    t.add_argument("--size", type=int, default=32)
    t.add_argument("--per-class", type=int, default=500)
    t.add_argument("--test-per-class", type=int, default=100)
    t.add_argument("--style", nargs="+", default=["default"], choices=list(STYLES),
                   help="the generator's style(s) for training; several are mixed round-robin")
    t.add_argument("--eval-styles", nargs="*", default=["thin", "thick", "wild"],
                   choices=list(STYLES), help="held-out styles to test on")
    t.add_argument("--hidden", type=int, nargs="+", default=[512])
    t.add_argument("--eta", type=float, default=0.05)
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--epochs", type=int, default=15)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default="mojinet-radical.npz")
    t.set_defaults(func=cmd_train_radical)

    e = sub.add_parser("kanji-eval", help="top-1/top-k accuracy on fresh synthetic KanjiVG samples",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    e.add_argument("model")
    e.add_argument("--per-class", type=int, default=20)
    e.add_argument("--seed", type=int, default=3,
                   help="writers' seed (training uses 0, the named test split 1)")
    e.add_argument("--styles", nargs="+", default=["default"], choices=list(STYLES))
    e.add_argument("--top", type=int, default=10)
    e.add_argument("--json", action="store_true")
    add_real_options(e, required=False)  # --real PATH …: real strokes too (see real-eval)
    e.set_defaults(func=cmd_kanji_eval)

    s = sub.add_parser("kanji-sample", help="draw synthetic KanjiVG handwriting to a PNG sheet")
    s.add_argument("chars", help=f"characters, or a set: {', '.join(CHARSETS)}")
    s.add_argument("--n", type=int, default=8, help="samples per character")
    s.add_argument("--size", type=int, default=32, choices=[28, 32, 48, 64])
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--style", default="default", choices=list(STYLES))
    s.add_argument("--out", default="kanji-sample.png")
    s.set_defaults(func=cmd_kanji_sample)
