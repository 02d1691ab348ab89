"""``mojinet real-eval``: a model on real handwriting next to fresh synthetic writers.

For a model trained on kana or kanji, and files of real pen strokes (any format
``data.strokes`` reads), it reports per writer and in all: top-1 and top-k accuracy with n and a
95 % Wilson confidence interval; the same on fresh synthetic writers of the same classes (a seed
no training run uses); which characters are confused most; and which real samples are outside
the model's classes (counted and listed, never silently dropped). The real strokes are drawn by
the synthetic writer's code (``render.py``) with the style's pen and no distortion, at the
model's input size, through the same normalisation (ink box into 20/28 of the field, centre of
mass).

Held out: a writer is held out unless the model's training data was a ``strokes:`` set holding
that writer (the KanjiVG recipes train on synthetic writers only: every real writer is held
out).

Registered in the command line by one ``add_parser(sub)`` line; ``kanji-eval --real`` uses
``evaluate_real`` too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .data.handwriting import STYLES, toward_square
from .data.kanji import synthetic_dataset
from .data.kanjivg import BOX
from .data.strokes import CREDITS, Sample, read_strokes
from .data.strokeset import label_index, parse_strokes_name, read_named, render_samples, sample_key

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile


def wilson_interval(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion hits/n (95 % by default; (0, 1) for n = 0):
    centre (p̂ + z²/2n) / (1 + z²/n), half-width z/(1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²)."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if hits == 0 else max(0.0, centre - half)  # exact at the ends (p̂ = 0 or 1)
    hi = 1.0 if hits == n else min(1.0, centre + half)
    return lo, hi


def true_ranks(model, X: np.ndarray, y: np.ndarray, batch_size: int = 4096):
    """(rank of the true class among the outputs, 0 = best; the predicted class) per row."""
    ranks, preds = [], []
    for i in range(0, len(X), batch_size):
        P = model.probabilities(X[i : i + batch_size])  # (batch, n_classes)
        truth = P[np.arange(len(P)), y[i : i + batch_size]]  # (batch,)
        ranks.append((P > truth[:, None]).sum(axis=1))
        preds.append(P.argmax(axis=1))
    return np.concatenate(ranks), np.concatenate(preds)


@dataclass
class Score:
    """Top-1 and top-k of n samples, with their 95 % Wilson intervals."""

    n: int
    top1: int
    topk: int
    k: int

    @classmethod
    def of(cls, ranks: np.ndarray, k: int) -> Score:
        return cls(len(ranks), int((ranks == 0).sum()), int((ranks < k).sum()), k)

    def to_dict(self) -> dict:
        return {"n": self.n, "top1": self.top1 / max(self.n, 1),
                "top1_ci": wilson_interval(self.top1, self.n), f"top{self.k}":
                self.topk / max(self.n, 1), f"top{self.k}_ci": wilson_interval(self.topk, self.n)}

    def line(self) -> str:
        (a, b), (c, d) = wilson_interval(self.top1, self.n), wilson_interval(self.topk, self.n)
        n = max(self.n, 1)
        return (f"n {self.n:>5}  top-1 {self.top1 / n:7.2%} [{a:6.1%}, {b:6.1%}]  "
                f"top-{self.k} {self.topk / n:7.2%} [{c:6.1%}, {d:6.1%}]")


def writer_key(s: Sample) -> str:
    return f"{s.source}/{s.writer}"


# Sources that are one source (mostly the same strokes, README of ../shared/data/handwriting):
# a model trained on one of them is never checked on the other.
SAME_SOURCE = {"tomoe_data": "tomoe", "tomoe": "tomoe"}


def source_family(key: str) -> str:
    """A ``writer_key``'s source family: "tomoe" for both Tomoe files, else the key itself."""
    source = key.partition("/")[0]
    return SAME_SOURCE.get(source, key)


def trained_writers(model) -> set[str] | None:
    """Writers of real strokes the model was trained on (a ``strokes:`` training set), as
    ``writer_key``s; None when the training data is not known."""
    config = model.training.get("config", {})
    dataset = str(config.get("dataset", ""))
    if dataset.startswith("kanjivg"):
        real = (config.get("dataset_options") or {}).get("strokes")
        if not real:
            return set()  # the synthetic writer only (mojinet train and train-radical name it so)
        try:  # real writers added to the synthetic ones (kanjivg's strokes= option)
            return {writer_key(s) for s in read_strokes(str(real))}
        except (OSError, ValueError):
            return None
    if not dataset.startswith("strokes:"):
        return None  # unknown, or images (folder:) whose writers we cannot know
    try:
        return {writer_key(s) for s in read_strokes(parse_strokes_name(dataset[8:])[0])}
    except (OSError, ValueError):
        return None


def evaluate_real(model, samples: list[Sample], style="default", top: int = 10,
                  seed: int = 0, jitter: bool = False, shift: int = 0,
                  square: float = 0.0) -> dict:
    """Scores of ``model`` on real ``samples``, per writer and in all, with confusions and the
    labels outside its classes. ``shift`` moves the drawn images that many pixels down and to
    the right (wrapping round the empty border), to measure how much position matters.
    ``square``: stretch each sample's ink box toward a square first (``toward_square``'s λ)."""
    size = model.image_shape[0]
    keep, y, outside = label_index(samples, model.classes)
    kept = [samples[i] for i in keep]
    drawn = [squared(s, square) for s in kept] if square else kept
    result = {"outside": dict(sorted(outside.items())), "n_outside": sum(outside.values()),
              "writers": {}, "all": None, "confusions": [], "hardest": []}
    if not kept:
        return result
    keys = [sample_key(s) for s in kept]  # each sample's pen from itself, not its position
    images = np.roll(render_samples(drawn, size, seed, style, jitter, keys=keys), (shift, shift),
                     (1, 2))
    X = images.reshape(len(kept), -1).astype(np.float32) / np.float32(255)  # (n, size·size)
    ranks, pred = true_ranks(model, X, y)
    writers = np.array([writer_key(s) for s in kept])
    for w in dict.fromkeys(writers):
        result["writers"][w] = Score.of(ranks[writers == w], top)
    result["all"] = Score.of(ranks, top)
    pairs = Counter((model.classes[t], model.classes[p]) for t, p in zip(y, pred) if t != p)
    result["confusions"] = [(t, p, c) for (t, p), c in pairs.most_common()]
    wrong, seen = Counter(model.classes[t] for t, p in zip(y, pred) if t != p), Counter(
        model.classes[t] for t in y)
    result["hardest"] = [(c, wrong[c], seen[c]) for c, _ in wrong.most_common()]
    return result


def squared(sample: Sample, lam: float) -> Sample:
    """``sample`` with its ink box's width/height ratio r made r^(1 − λ) (area kept), as the
    synthetic writer's square stretch does to KanjiVG (``handwriting.toward_square``)."""
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"square must be within [0, 1] (0: as written, 1: a square box), "
                         f"got {lam}")
    points = np.concatenate(sample.strokes)  # (N, 2), the frame's units: longer side 1
    moved = toward_square(points, lam, floor=1 / BOX)
    cuts = np.cumsum([len(q) for q in sample.strokes])[:-1]
    return dataclasses.replace(sample, strokes=tuple(np.split(moved, cuts)))


def evaluate_synthetic(model, per_class: int, seed: int, style: str, top: int) -> Score:
    """Fresh synthetic writers of the model's classes (``seed`` 3 by default: neither the
    training seed 0 nor the test seed 1)."""
    h = model.image_shape[0]
    data = synthetic_dataset("".join(model.classes), per_class, h, seed, style)
    ranks, _ = true_ranks(model, data.X, data.y)
    return Score.of(ranks, top)


# ----------------------------------------------------------------------------- the command
def _print(*args):
    print(*args, flush=True)


def read_real(paths) -> tuple[list[Sample], dict[str, int]]:
    """All samples of the given strokes files/folders, and how many each path held. A path may
    end in ``,session=S`` to keep the samples of the sessions starting with S (tegaki-lab's
    ``train`` sittings for choosing between ideas, ``eval`` for the final check)."""
    samples, counts = [], {}
    for path in paths:
        got, _ = read_named(str(path))
        samples += got
        counts[str(path)] = len(got)
    return samples, counts


def held_out_note(model, samples: list[Sample]) -> tuple[dict[str, bool], str]:
    """Per writer key: held out (not trained on)? And a sentence saying so."""
    seen = trained_writers(model)
    dataset = model.training.get("config", {}).get("dataset", "unknown data")
    keys = dict.fromkeys(writer_key(s) for s in samples)
    if seen is None:
        return {k: False for k in keys}, (f"trained on {dataset}: cannot tell which real "
                                          f"writers it saw; none is marked held out")
    families = {source_family(k) for k in seen}
    held = {k: k not in seen and source_family(k) not in families for k in keys}
    if all(held.values()):
        return held, f"trained on {dataset}: no real writer here was trained on (all held out)"
    return held, (f"trained on {dataset}: writers marked 'trained on' were in the training "
                  f"data and are no check")


def held_out_score(result: dict, held: dict[str, bool]) -> Score | None:
    """The writers marked held out, together (None when there are none)."""
    scores = [sc for w, sc in result["writers"].items() if held.get(w)]
    if not scores:
        return None
    return Score(sum(sc.n for sc in scores), sum(sc.top1 for sc in scores),
                 sum(sc.topk for sc in scores), scores[0].k)


def print_real(result: dict, held: dict[str, bool], counts: dict[str, int], n_classes: int,
               confusions: int) -> None:
    for w, score in result["writers"].items():
        _print(f"  {w:<34} {score.line()}  {'held out' if held.get(w) else 'TRAINED ON'}")
    if result["all"] is not None:
        _print(f"  {'all real writers':<34} {result['all'].line()}")
    held_out = held_out_score(result, held)
    if held_out is not None and held_out.n != result["all"].n:
        _print(f"  {'all held-out writers':<34} {held_out.line()}")
    if result["n_outside"]:
        total, labels = sum(counts.values()), list(result["outside"].items())
        shown = " ".join(f"{c}×{n}" if n > 1 else c for c, n in labels[:40])
        more = f" … and {len(labels) - 40:,} more labels (--json lists all)" if len(
            labels) > 40 else ""
        _print(f"outside the model's {n_classes} classes (not scored): {result['n_outside']:,} "
               f"of {total:,} samples, {len(labels):,} labels: {shown}{more}")
    if result["confusions"]:
        _print("most confused (true → predicted ×count): " + ", ".join(
            f"{t}→{p} ×{c}" for t, p, c in result["confusions"][:confusions]))
        _print("characters most often wrong (wrong/seen): " + ", ".join(
            f"{c} {w}/{n}" for c, w, n in result["hardest"][:confusions]))


def credits(samples: list[Sample]) -> list[str]:
    return [f"{s}: {CREDITS.get(s, 'credit it under its own licence')}"
            for s in sorted({s.source for s in samples})]


def real_json(result: dict, held: dict[str, bool], confusions: int) -> dict:
    held_score = held_out_score(result, held)
    return {"writers": {w: s.to_dict() | {"held_out": held.get(w, False)}
                        for w, s in result["writers"].items()},
            "all": result["all"].to_dict() if result["all"] else None,
            "all_held_out": held_score.to_dict() if held_score else None,
            "outside": result["outside"], "n_outside": result["n_outside"],
            "confusions": [list(c) for c in result["confusions"][:confusions]],
            "hardest": [list(c) for c in result["hardest"][:confusions]]}


def report_real(model, args) -> dict:
    """Read ``args.real``, score the model on it, print the table (unless ``args.json``) and
    return the JSON form. Shared by real-eval and kanji-eval --real."""
    samples, counts = read_real(args.real)
    held, note = held_out_note(model, samples)
    result = evaluate_real(model, samples, args.pen, args.top, args.render_seed, args.jitter,
                           args.shift, args.square)
    if not args.json:
        moved = f", moved {args.shift} px down and right" if args.shift else ""
        moved += f", stretched toward a square (λ {args.square:g})" if args.square else ""
        _print(f"real strokes ({sum(counts.values()):,} samples), drawn with the {args.pen} pen"
               f"{' and distortions' if args.jitter else ', as written'}{moved}; {note}:")
        print_real(result, held, counts, len(model.classes), args.confusions)
        _print("credit: " + "; ".join(credits(samples)))
    return real_json(result, held, args.confusions) | {
        "files": counts, "held_out_note": note, "pen": args.pen, "jitter": args.jitter,
        "shift": args.shift, "square": args.square,
        "render_seed": args.render_seed, "credits": credits(samples)}


def cmd_real_eval(args) -> int:
    from .io import load_model
    from .models import model_path

    model = load_model(model_path(args.model))  # a file, or a shipped model's name
    h, w = model.image_shape
    if h != w:
        raise ValueError(f"{args.model}: needs square input images, not {h}×{w}")
    if not args.json:
        _print(f"{args.model}: {len(model.classes)} classes, {h}×{w} input")
    synthetic = {}
    for style in args.styles:
        score = evaluate_synthetic(model, args.per_class, args.seed, style, args.top)
        synthetic[style] = score.to_dict() | {"seed": args.seed, "per_class": args.per_class}
        if not args.json:
            _print(f"  {'fresh synthetic writers (' + style + ')':<34} {score.line()}  "
                   f"seed {args.seed}")
    real = report_real(model, args)
    if args.json:
        _print(json.dumps({"model": str(args.model), "classes": len(model.classes),
                           "synthetic": synthetic, "real": real}, ensure_ascii=False, indent=1))
    return 0


def add_real_options(p: argparse.ArgumentParser, required: bool) -> None:
    """The options for real strokes (shared by real-eval and kanji-eval --real)."""
    p.add_argument("--real", nargs="+", required=required, metavar="PATH",
                   help="strokes files, archives or folders (tegaki, Tomoe, JSON lines)")
    p.add_argument("--pen", default="default", choices=list(STYLES),
                   help="the style whose pen (and scan) draws the real strokes")
    p.add_argument("--jitter", action="store_true",
                   help="also apply the style's distortions to the real strokes")
    p.add_argument("--render-seed", type=int, default=0, help="seed of the pen draws")
    p.add_argument("--shift", type=int, default=0, choices=range(-3, 4), metavar="{-3..3}",
                   help="move the drawn real images this many pixels down and right")
    p.add_argument("--square", type=float, default=0.0, metavar="λ",
                   help="stretch each sample's ink box toward a square first: width/height r "
                        "becomes r^(1 − λ); 0.5 undoes half of a writer's narrow or wide hand "
                        "(docs/kanji.md, 'Aspect')")
    p.add_argument("--confusions", type=int, default=15, help="confusions to list")


def add_parser(sub) -> None:
    e = sub.add_parser("real-eval", help="accuracy on real handwriting (pen strokes) next to "
                                         "fresh synthetic writers, per writer, with 95%% CIs",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    e.add_argument("model", help="a model file, or a shipped model's name (`mojinet models`)")
    add_real_options(e, required=True)
    e.add_argument("--per-class", type=int, default=20, help="fresh synthetic samples a class")
    e.add_argument("--seed", type=int, default=3,
                   help="synthetic writers' seed (training uses 0, the named test split 1)")
    e.add_argument("--styles", nargs="+", default=["default"], choices=list(STYLES),
                   help="synthetic writers' styles")
    e.add_argument("--top", type=int, default=10)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_real_eval)
