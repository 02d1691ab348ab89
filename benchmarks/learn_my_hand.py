"""Learn my hand on real writers: adapt a synthetic-only kanji model to one tegaki-lab writer.

For each of the two tegaki-lab writers (50 kanji × 5 sittings) and k = 1, 2, 4: the writer's
first k sittings of every character (sorted sitting names, fixed, not chosen) are that writer's
samples; the model is adapted to them exactly as ``mojinet train --finetune MODEL --dataset
strokes:DIR`` and the draw page's button do (``adapt.adapt_config`` + ``runner.run``: replay of
synthetic writers mixed in, a few epochs at a small η); then, before and after, top-1 with n and
a 95 % Wilson interval on

- the same writer's **other** sittings (5 − k per character: never trained on);
- everyone else: the other tegaki-lab writer, the cnn_chinese_hw writer (the characters within
  the model's classes) and fresh synthetic writers (seed 3, ``--per-class`` a class).

Real strokes are drawn as ``mojinet real-eval`` draws them (default pen, as written, render seed
0). Prints a Markdown table (docs/kanji.md records it)::

    python benchmarks/learn_my_hand.py MODEL [--hw ../shared/data/handwriting] [--k 1 2 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from mojinet.adapt import adapt_config
from mojinet.data.strokes import read_strokes, write_jsonl
from mojinet.io import load_model
from mojinet.real_eval import Score, evaluate_real, evaluate_synthetic, wilson_interval
from mojinet.runner import run

ROOT = Path(__file__).resolve().parents[1]
HW = ROOT.parent / "shared" / "data" / "handwriting"


def split_writer(samples, writer: str, k: int):
    """(the writer's first k sittings of each character, the writer's other sittings)."""
    mine = [s for s in samples if s.writer == writer]
    sittings = sorted({s.session for s in mine})
    first = set(sittings[:k])
    return [s for s in mine if s.session in first], [s for s in mine if s.session not in first]


def scores(model, groups: dict, per_class: int, known: dict | None = None) -> dict[str, Score]:
    """Top-1 (and top-10) per group of real samples, and on fresh synthetic writers; groups
    already in ``known`` (the unchanged model's scores) are taken from there."""
    known = known or {}
    out = {name: known[name] if name in known else evaluate_real(model, samples)["all"]
           for name, samples in groups.items()}
    name = "fresh synthetic writers"
    out[name] = known.get(name) or evaluate_synthetic(model, per_class, 3, "default", 10)
    return out


def cell(score: Score) -> str:
    lo, hi = wilson_interval(score.top1, score.n)
    return f"{score.top1 / score.n:.1%} [{lo:.1%}, {hi:.1%}]"


def pooled(parts) -> Score:
    parts = list(parts)
    return Score(sum(p.n for p in parts), sum(p.top1 for p in parts),
                 sum(p.topk for p in parts), 10)


def adapt(model_path: Path, samples, work: Path, name: str) -> tuple[object, float]:
    """The model adapted to ``samples`` (written as JSON lines, run as the CLI runs it)."""
    folder = work / name
    folder.mkdir()
    write_jsonl(samples, folder / "mine.jsonl")
    started = time.perf_counter()
    model = run(adapt_config(model_path, folder, out=work / f"{name}.npz"))
    return model, time.perf_counter() - started


def one_writer(model_path, model, tegaki, cnn, writer, k, per_class, work, known):
    """Adapt to ``writer``'s first k sittings; before/after scores (``known``: the unchanged
    model's scores of the groups that do not depend on k, filled in here)."""
    taught, rest = split_writer(tegaki, writer, k)
    others = {"other tegaki-lab writer": [s for s in tegaki if s.writer != writer],
              "cnn_chinese_hw": cnn}
    groups = {"this writer, other sittings": rest, **others}
    before = scores(model, groups, per_class, known)
    known.update({g: before[g] for g in before if g != "this writer, other sittings"})
    adapted, seconds = adapt(model_path, taught, work, f"{writer}-k{k}")
    after = scores(adapted, groups, per_class)
    return {"writer": writer, "k": k, "n_taught": len(taught), "seconds": seconds,
            "before": before, "after": after}


def print_table(rows) -> None:
    print("| writer adapted | k | samples taught | group | n | before top-1 [95 % CI] | "
          "after top-1 [95 % CI] | Δ points |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        groups = list(r["before"])
        everyone = [g for g in groups if g != "this writer, other sittings"]
        items = [(g, r["before"][g], r["after"][g]) for g in groups]
        items.append(("**everyone else, pooled**", pooled(r["before"][g] for g in everyone),
                      pooled(r["after"][g] for g in everyone)))
        for i, (g, b, a) in enumerate(items):
            head = (f"| {r['writer']} | {r['k']} | {r['n_taught']} ({r['seconds']:.0f} s) "
                    if i == 0 else "| | | ")
            delta = 100 * (a.top1 / a.n - b.top1 / b.n)
            print(f"{head}| {g} | {b.n:,} | {cell(b)} | {cell(a)} | {delta:+.1f} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", type=Path)
    p.add_argument("--hw", type=Path, default=HW, help="the handwriting folder of ../shared")
    p.add_argument("--k", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--per-class", type=int, default=5, help="fresh synthetic writers a class")
    p.add_argument("--json", type=Path, help="also write the numbers here")
    args = p.parse_args(argv)
    tegaki = read_strokes(args.hw / "tegaki" / "tegaki-lab-japanese.tar.gz")
    cnn = read_strokes(args.hw / "cnn_chinese_hw" / "supplemental_data.json.gz")
    model = load_model(args.model)
    writers = sorted({s.writer for s in tegaki})
    print(f"{args.model}: {'-'.join(map(str, model.network.sizes))}, {len(model.classes)} "
          f"classes; tegaki-lab writers {', '.join(writers)}", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for writer in writers:
            known = {} if not rows else {"fresh synthetic writers":
                                         rows[0]["before"]["fresh synthetic writers"]}
            for k in args.k:
                rows.append(one_writer(args.model, model, tegaki, cnn, writer, k,
                                       args.per_class, Path(tmp), known))
                print(f"done {writer} k={k}", file=sys.stderr, flush=True)
    print_table(rows)
    if args.json:
        plain = [{**r, "before": {g: s.to_dict() for g, s in r["before"].items()},
                  "after": {g: s.to_dict() for g, s in r["after"].items()}} for r in rows]
        args.json.write_text(json.dumps(plain, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
