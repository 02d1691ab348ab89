"""The development check behind learn my hand's defaults (docs/kanji.md), kept apart from the
benchmark's test data: adapt to the tegaki-lab learner's sittings 1-2, then read the learner's
sittings 3-4 (for the benchmark's k = 4 these are training sittings, never its test one) and the
model's own test writers (synthetic seed 1, 20 a class; the benchmark uses seed 3).

    python benchmarks/learn_my_hand_dev.py MODEL [REPLAY,ETA,EPOCHS …]   # e.g. 30,0.003,4
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
from mojinet.real_eval import evaluate_real
from mojinet.runner import run

HW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "handwriting"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path, variants = Path(argv[0]), argv[1:] or ["30,0.003,4"]
    model = load_model(path)
    tegaki = read_strokes(HW / "tegaki" / "tegaki-lab-japanese.tar.gz")
    mine = [s for s in tegaki if s.writer == "japanese-learner1"]
    sittings = sorted({s.session for s in mine})
    train = [s for s in mine if s.session in sittings[:2]]
    dev = [s for s in mine if s.session in sittings[2:4]]
    check = synthetic_dataset("".join(model.classes), 20, model.image_shape[0], 1)
    taught = [model.classes.index(c) for c in {s.label for s in mine}]

    def report(name, m):
        predicted = m.probabilities(check.X).argmax(axis=1)
        wrong = predicted != check.y
        into = np.isin(predicted[wrong], taught).mean()
        score = evaluate_real(m, dev)["all"]
        print(f"{name:24s} test writers {np.mean(~wrong):.4f} (errors into the taught classes "
              f"{into:.2f})  learner's sittings 3-4 {score.top1 / score.n:.3f} (n {score.n})",
              flush=True)

    report("before", model)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "hand"
        folder.mkdir()
        write_jsonl(train, folder / "mine.jsonl")
        for v in variants:
            replay, eta, epochs = v.split(",")
            started = time.perf_counter()
            adapted = run(adapt_config(path, folder, out=Path(tmp) / "dev.npz", eta=float(eta),
                                       epochs=int(epochs), replay=int(replay)))
            report(f"{v} ({time.perf_counter() - started:.0f} s)", adapted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
