"""Real handwriting photographed: how well `mojinet predict` reads a person's strokes written on
paper and photographed or scanned, per condition, beside the same strokes drawn clean.

Each real sample (any strokes file `mojinet real-eval` reads) is drawn as ink on a large page
with a pen of the given width (a fraction of the character's box: a fine pencil ≈ 0.02, a
ballpoint ≈ 0.035), placed at a random size and place on a 240 × 240 page, photographed by
``tests/photos.py`` (lighting gradient, shadow, grey paper, ruled lines, pencil, blur, JPEG), and
read by `mojinet predict`'s own preprocessing (``images.to_input``) at the model's input size.
"clean" is the same page as a PNG with black ink on white; "pencil scan" is what a flatbed
scanner gives (even light, off-white grainy paper, soft pencil, a little blur, JPEG), also on
ruled paper. Top-1 and top-5 with n and 95 %
Wilson intervals, per condition and pen.

    python benchmarks/real_photos.py katakana --real $H/tegaki/writer1-katakana.charcol.gz
    python benchmarks/real_photos.py hiragana --real $H/tegaki/writer1-hiragana.charcol.gz \\
        --pens 0.02 0.035 --seed 0

The ink is real; only the paper, the light and the pen's width are synthetic. This stands in for
scans we do not have (issue 13: pencil-written hiragana); it is a check, never a training set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from mojinet import load_model  # noqa: E402
from mojinet.data.images import ImageError, to_input  # noqa: E402
from mojinet.data.render import draw  # noqa: E402
from mojinet.models import model_path  # noqa: E402
from mojinet.real_eval import read_real, wilson_interval  # noqa: E402
from photos import CONDITIONS, Light, photo, place  # noqa: E402

INK_SIZE = 112  # the side of the drawn character before it is placed on the page
CLEAN = Light()  # black ink on white paper, PNG
#: Scans, as a flatbed gives them: even light, off-white paper with grain, soft pencil, blur.
SCANS = {"pencil scan": Light(grey=0.1, texture=0.01, pencil=0.5, blur=0.8, jpeg=75),
         "pencil scan, ruled": Light(grey=0.1, texture=0.01, pencil=0.5, blur=0.8, rules=6,
                                     jpeg=75)}


def ink(strokes: list[np.ndarray], pen_frac: float) -> np.ndarray:
    """Real strokes → (INK_SIZE, INK_SIZE) ink, the pen ``pen_frac`` of the character's box."""
    box = round(INK_SIZE * 0.8)
    return draw(strokes, INK_SIZE, pen=max(1.0, pen_frac * box), box=box)


def read(model, files: list[bytes]) -> np.ndarray:
    """Picture bytes → (n, classes) the model's outputs; a picture refused as blank reads zeros."""
    size = model.image_shape[0]
    rows = []
    for b in files:
        try:
            rows.append(to_input(b, size).reshape(-1))
        except ImageError:
            rows.append(np.zeros(size * size, np.float32))
    return model.feedforward(np.stack(rows))


def _acc(hits: np.ndarray) -> str:
    k, n = int(hits.sum()), hits.size
    lo, hi = wilson_interval(k, n)
    return f"{k / n:6.1%} [{lo:5.1%}, {hi:5.1%}]"


def score(model, samples, pen_frac: float, light: Light, rng) -> tuple[np.ndarray, np.ndarray]:
    """(top-1 hits, top-5 hits) over ``samples`` photographed under ``light``."""
    y = np.array([model.classes.index(s.label) for s in samples])  # (n,)
    files = [photo(place(ink(s.strokes, pen_frac), rng), rng, light) for s in samples]
    out = read(model, files)  # (n, classes)
    top5 = np.argsort(-out, axis=1)[:, :5]
    return top5[:, 0] == y, (top5 == y[:, None]).any(axis=1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a model file or a shipped model's name")
    p.add_argument("--real", nargs="+", required=True,
                   help="strokes files (tegaki, Tomoe, …), as real-eval takes them (,session=S)")
    p.add_argument("--pens", nargs="+", type=float, default=[0.02, 0.035],
                   help="pen widths as fractions of the character's box")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    model = load_model(model_path(args.model))
    samples = [s for s in read_real(args.real)[0] if s.label in model.classes]
    if not samples:
        raise SystemExit("no sample of the model's classes in --real")
    print(f"{args.model}: {len(samples)} real samples within its {len(model.classes)} classes "
          f"({', '.join(args.real)}); seed {args.seed}")
    print(f"{'pen':>5s}  {'condition':14s}  {'top-1 [95 % CI]':24s}  {'top-5 [95 % CI]':24s}")
    for pen_frac in args.pens:
        for name, light in {"clean": CLEAN, **CONDITIONS, **SCANS}.items():
            rng = np.random.default_rng([args.seed, round(pen_frac * 1000)])
            top1, top5 = score(model, samples, pen_frac, light, rng)
            print(f"{pen_frac:5.3f}  {name:14s}  {_acc(top1):24s}  {_acc(top5):24s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
