"""The development check behind learn my hand's defaults (docs/kanji.md), kept apart from the
benchmark's test data: for each tegaki-lab writer, adapt to the writer's sittings 1-2 (sorted
names, as the benchmark sorts them), then read that writer's sittings 3-4 (for the benchmark's
k = 4 these are training sittings, never its test one) and the model's own test writers
(synthetic seed 1, 20 a class; the benchmark uses seed 3). The other tegaki-lab writer is not
read (the benchmark scores all of them), nor are the benchmark's synthetic writers.

    python benchmarks/learn_my_hand_dev.py MODEL [REPLAY,ETA,EPOCHS[,L2SP] …]  # e.g. 30,0.003,4

Prints one line per writer and variant (top-1 with n and a 95 % Wilson interval, the share of
the test writers' errors that went into the taught classes, the adaptation's wall time) and,
per variant, the two writers' mean gain on their sittings 3-4 and mean change on the test
writers (points against the unadapted model).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mojinet.adapt import adapt_config
from mojinet.data.kanji import synthetic_dataset
from mojinet.data.strokes import read_strokes, write_jsonl
from mojinet.io import load_model
from mojinet.real_eval import evaluate_real, wilson_interval
from mojinet.runner import run

HW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "handwriting"


def cell(hits: int, n: int) -> str:
    lo, hi = wilson_interval(hits, n)
    return f"{hits / n:.1%} [{lo:.1%}, {hi:.1%}] (n {n:,})"


def split(tegaki, writer: str):
    """(the writer's sittings 1-2, the writer's sittings 3-4), sittings sorted by name."""
    mine = [s for s in tegaki if s.writer == writer]
    sittings = sorted({s.session for s in mine})
    return ([s for s in mine if s.session in sittings[:2]],
            [s for s in mine if s.session in sittings[2:4]])


def scores(model, dev, check, taught) -> dict:
    """Top-1 hits on the writer's dev sittings and the test writers, and where errors went."""
    predicted = model.probabilities(check.X).argmax(axis=1)
    wrong = predicted != check.y
    score = evaluate_real(model, dev)["all"]
    return {"dev": (score.top1, score.n), "test": (int(np.sum(~wrong)), len(check.y)),
            "into": float(np.isin(predicted[wrong], taught).mean())}


def line(name: str, s: dict, seconds: float | None = None) -> str:
    took = "" if seconds is None else f"  ({seconds:.0f} s)"
    return (f"{name:34s} sittings 3-4 {cell(*s['dev'])}  test writers {cell(*s['test'])}  "
            f"errors into taught {s['into']:.2f}{took}")


def points(after: tuple, before: tuple) -> float:
    return 100 * (after[0] / after[1] - before[0] / before[1])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path, variants = Path(argv[0]), argv[1:] or ["30,0.003,4"]
    model = load_model(path)
    tegaki = read_strokes(HW / "tegaki" / "tegaki-lab-japanese.tar.gz")
    check = synthetic_dataset("".join(model.classes), 20, model.image_shape[0], 1)
    taught = [model.classes.index(c) for c in {s.label for s in tegaki}]
    writers = sorted({s.writer for s in tegaki})
    parts = {w: split(tegaki, w) for w in writers}
    before = {w: scores(model, parts[w][1], check, taught) for w in writers}
    for w in writers:
        print(line(f"before, {w}", before[w]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for w in writers:
            folder = Path(tmp) / w
            folder.mkdir()
            write_jsonl(parts[w][0], folder / "mine.jsonl")
        for v in variants:
            replay, eta, epochs, *rest = v.split(",")
            options = dict(eta=float(eta), epochs=int(epochs), replay=int(replay))
            if rest:
                options["l2_sp"] = float(rest[0])
            gains, changes = [], []
            for w in writers:
                started = time.perf_counter()
                adapted = run(adapt_config(path, Path(tmp) / w, out=Path(tmp) / "dev.npz",
                                           **options))
                seconds = time.perf_counter() - started
                after = scores(adapted, parts[w][1], check, taught)
                print(line(f"{v}, {w}", after, seconds), flush=True)
                gains.append(points(after["dev"], before[w]["dev"]))
                changes.append(points(after["test"], before[w]["test"]))
            print(f"{v:34s} mean gain on sittings 3-4 {np.mean(gains):+.1f} points "
                  f"({', '.join(f'{g:+.1f}' for g in gains)}); test writers "
                  f"{np.mean(changes):+.2f} ({', '.join(f'{c:+.2f}' for c in changes)})",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
