"""Choose "this is not a character" thresholds (mojinet.data.verdict) on validation data.

Characters: MNIST *training-split* digits (the last 10,000, never the test split), as MNIST-style
28×28 files, drawn on white paper (JPEG) and photographed (tests/photos.py); Tomoe's real strokes
(tomoe_data, one writer, not a writer any check uses) drawn and photographed. Not characters:
uniform and Gaussian noise, salt and pepper, paper texture, ruled paper, photos of nothing.
Prints each feature's distribution and what the current thresholds accept and refuse (n, 95 %
Wilson interval).

    python benchmarks/verdict_thresholds.py --n 300
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import SHARED_DATA as SHARED  # noqa: E402
from drawn import drawn_digit  # noqa: E402
from mojinet import load_dataset  # noqa: E402
from mojinet.data.images import ImageError, read_image  # noqa: E402
from mojinet.data.strokes import read_strokes  # noqa: E402
from mojinet.data.verdict import features, judge  # noqa: E402
from mojinet.real_eval import wilson_interval as wilson  # noqa: E402
from nothing import NOTHING  # noqa: E402
from photos import CONDITIONS, photo, place, strokes_ink  # noqa: E402


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def characters(n: int, rng) -> dict[str, list[bytes]]:
    train = load_dataset("mnist", "train")
    idx = rng.choice(np.arange(len(train) - 10_000, len(train)), n, replace=False)
    digits = [train.images()[i] for i in idx]
    tomoe = read_strokes(SHARED / "handwriting" / "tomoe_data" / "all.tdic")
    picks = [tomoe[i] for i in rng.choice(len(tomoe), n, replace=False)]
    lights = list(CONDITIONS.values())
    return {
        "MNIST-train 28×28": [_png(d) for d in digits],
        "MNIST-train drawn JPEG": [drawn_digit(d, rng) for d in digits],
        "MNIST-train photo": [photo(place(d, rng), rng, lights[i % len(lights)])
                              for i, d in enumerate(digits)],
        "Tomoe drawn": [_png(strokes_ink(s.strokes)) for s in picks],
        "Tomoe photo": [photo(place(strokes_ink(s.strokes), rng), rng, lights[i % len(lights)])
                        for i, s in enumerate(picks)],
    }


def measure(files: list[bytes]) -> tuple[dict[str, np.ndarray], list[bool]]:
    """Each feature's values (NaN where the picture was refused as blank), and the verdicts."""
    rows, ok = [], []
    for b in files:
        try:
            r = read_image(b)
        except ImageError:
            rows.append([np.nan] * 5), ok.append(False)
            continue
        f = features(r.ink, r.contrast)
        rows.append([f.coverage, f.scattered, f.solid, f.contrast, f.smooth])
        ok.append(judge(r.ink, r.contrast).character)
    a = np.array(rows)
    names = ["coverage", "scattered", "solid", "contrast", "smooth"]
    return {k: a[:, j] for j, k in enumerate(names)}, ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300, help="pictures of each kind")
    p.add_argument("--seed", type=int, default=2024)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    groups = characters(args.n, rng) | {
        f"nothing: {name}": [make(rng) for _ in range(args.n)] for name, make in NOTHING.items()}
    print(f"{'set':26s} {'n':>4s} {'accepted':>8s} {'95% CI':>16s}  feature p1/p50/p99 "
          f"(coverage, scattered, solid, contrast, smooth)")
    for name, files in groups.items():
        values, ok = measure(files)
        k, n = int(sum(ok)), len(ok)
        lo, hi = wilson(k, n)
        qs = []
        for v in values.values():
            v = v[~np.isnan(v)]
            qs.append("/".join(f"{q:.2f}" for q in np.percentile(v, [1, 50, 99])) if v.size
                      else "-")
        print(f"{name:26s} {n:4d} {k / n:8.1%} [{lo:6.1%}, {hi:6.1%}]  " + "  ".join(qs))


if __name__ == "__main__":
    main()
