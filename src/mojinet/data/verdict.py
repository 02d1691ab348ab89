"""Is this a character at all? Blank paper, noise and photos of nothing are said so.

A network names one of its classes for any input, so a picture of nothing would be "read" as
a digit. ``judge`` looks at what the preprocessing found before trusting the network:

- ``coverage``: the share of the picture that is ink (ink > 0 after the noise floor). A
  character's strokes cover a small part of the page; noise, stretched to full contrast, covers
  most of it;
- ``components``: connected pieces of ink (8-connected) holding at least ``PIECE`` of the ink.
  A character is a few strokes (a digit 1–3 pieces, a kanji rarely over 20); grain, noise and
  texture break into many;
- ``confidence``: the network's own top share (``scores.candidates``), compared with chance
  (1 / number of classes): an input it cannot place spreads its output.

The thresholds were chosen on validation data only (``benchmarks/verdict_thresholds.py``: MNIST
training-split digits, Tomoe's real strokes, and generated noise, paper and photos of nothing;
never the test split or the real writers the checks use), each with a margin between the 1st
percentile of the characters and the 99th of the nothings (400 of each kind: docs/images.md).
The confidence ratio: no top share under 1.5× chance on the last 10,000 MNIST training digits
for the chapter network or a 784-30-10 one. Blank pictures never get this far: ``images``
refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import lazy_import
from .images import InkFacts, ink_box

ndimage = lazy_import("scipy.ndimage")  # ~0.25 s, only when a function here needs it

#: How many of the largest connected pieces of ink a character may have.
PIECES = 25
#: Thresholds, chosen on validation data (see the module): a character has ink over at most
#: this share of the picture, at most this share of its ink in specks, at least this share in
#: dark pixels, and at least this contrast with the paper.
MAX_COVERAGE = 0.5
MAX_SCATTERED = 0.1
MIN_SOLID = 0.5
MIN_CONTRAST = 0.3
#: … and is smoother than this from one pixel to the next (``neighbour_correlation``).
MIN_SMOOTH = 0.5
#: A top share under this many times chance: the network cannot place the input.
MIN_CONFIDENCE_RATIO = 1.5


@dataclass(frozen=True)
class Verdict:
    """``character``: True when the input reads as a character; ``reason`` says why not."""

    character: bool
    reason: str
    features: Features
    confidence: float | None

    def to_dict(self) -> dict:
        return {"character": self.character, "reason": self.reason,
                **{k: round(v, 4) for k, v in vars(self.features).items()},  # its fields
                "confidence": None if self.confidence is None else round(self.confidence, 4)}


@dataclass(frozen=True)
class Features:
    """What ``judge`` measures on a picture's ink map (see the module)."""

    coverage: float  # share of the picture in ink
    scattered: float  # share of the ink outside its ``PIECES`` largest connected pieces
    solid: float  # share of the ink in pixels at least half as dark as the darkest
    contrast: float  # the ink's peak minus the paper's level, before stretching
    smooth: float  # the ink's correlation with itself one pixel over (best of 4 directions)


def features(ink: np.ndarray, contrast: float = 1.0, facts: InkFacts | None = None) -> Features:
    """(h, w) ink map (1 = ink) and its contrast → ``Features``.

    Measured on the ink's bounding box: outside it there is no ink, which adds nothing to
    any sum, so only the counts are the whole picture's. ``facts``: the ink's box, pixels and
    pieces counted already (``images.InkFacts``, a fast read's), so not again."""
    if facts is None:
        mask = ink > 0
        box = ink_box(mask)
        if box is None:
            return Features(0.0, 0.0, 0.0, contrast, 0.0)
        inked = mask[box]  # (bh, bw)
        n_inked, pieces = int(np.count_nonzero(inked)), None
    else:
        box, n_inked, pieces, inked = facts.box, facts.n, facts.pieces, None
    crop = ink[box]  # (bh, bw)
    total = float(crop.sum())
    if pieces is not None and pieces <= PIECES:
        spread = 0.0  # as ``scattered`` finds it, without labelling the pieces again
    else:
        spread = scattered(crop, crop > 0 if inked is None else inked, total)
    return Features(coverage=float(n_inked / ink.size), scattered=spread,
                    solid=float(crop[crop >= 0.5].sum() / total), contrast=float(contrast),
                    smooth=neighbour_correlation(crop, ink.shape, sides=(
                        box[0].start == 0, box[0].stop == ink.shape[0], box[1].start == 0,
                        box[1].stop == ink.shape[1])))


def scattered(crop: np.ndarray, inked: np.ndarray, total: float) -> float:
    """The share of the ink ``crop`` (whose pixels > 0 are ``inked``, summing to ``total``)
    outside its ``PIECES`` heaviest 8-connected pieces: 0.0 when there are no more pieces than
    that (the sum of no masses), without weighing each piece (the larger part of the work)."""
    labels, n = ndimage.label(inked, structure=np.ones((3, 3)))
    if n <= PIECES:
        return 0.0
    mass = np.sort(ndimage.sum_labels(crop, labels, index=np.arange(1, n + 1)))[::-1]  # (n,)
    return float(mass[PIECES:].sum() / total)


def neighbour_correlation(a: np.ndarray, shape: tuple[int, int] | None = None,
                          sides: tuple[bool, bool, bool, bool] = (True,) * 4) -> float:
    """max over the shifts (0, 1), (1, 0), (1, 1), (1, −1) of corr(a, a shifted): ~0 for
    independent noise, near 1 along any stroke (even a 1-pixel line).

    ``shape``: the whole picture's, when ``a`` is a box of it that holds all its ink;
    ``sides``: which of the box's sides (top, bottom, left, right) lie on the picture's. The
    correlation is then the whole picture's.
    For each shift it is cov(u, v) / (σ(u) σ(v)) over the pairs (u, v) of pixels one shift
    apart, from the sums Σu, Σv, Σuv, Σu², Σv², to which paper adds nothing. Inside the
    picture, every pixel of the box is in each shift's u and in its v, so Σu = Σv = Σa and
    Σu² = Σv² = Σa², and only Σuv is summed for each shift."""
    if shape is None:  # a picture of its own
        shape, sides = a.shape, (True,) * 4
    h, w = shape
    inside = not any(sides)
    framed = np.zeros((a.shape[0] + 2, a.shape[1] + 2), a.dtype)  # the box framed by paper: every
    framed[1:-1, 1:-1] = a  # pair is in it (np.pad(a, 1)'s array, without its generality)
    a = framed
    for side, edge in zip(sides, (a[0], a[-1], a[:, 0], a[:, -1]), strict=True):
        if side:  # this side of the frame lies outside the picture: its pairs are not pairs
            edge[:] = np.nan
    total = square = 0.0
    if inside:
        total, square = float(a.sum()), float(np.vdot(a, a))
    best = 0.0
    for (u, v), pairs in (((a[:, :-1], a[:, 1:]), h * (w - 1)), ((a[:-1], a[1:]), (h - 1) * w),
                          ((a[:-1, :-1], a[1:, 1:]), (h - 1) * (w - 1)),
                          ((a[:-1, 1:], a[1:, :-1]), (h - 1) * (w - 1))):
        if pairs == 0:
            continue
        if inside:
            su = sv = total
            uu = vv = square
            uv = float(np.einsum("ij,ij->", u, v))
        else:
            both = ~(np.isnan(u) | np.isnan(v))  # the pairs inside the picture
            u, v = u[both], v[both]
            su, sv = float(u.sum()), float(v.sum())
            uu, vv, uv = float(np.vdot(u, u)), float(np.vdot(v, v)), float(np.vdot(u, v))
        var_u, var_v = max(uu - su * su / pairs, 0.0), max(vv - sv * sv / pairs, 0.0)
        den = float(np.sqrt(var_u * var_v))
        if den > 1e-12 * pairs:
            best = max(best, (uv - su * sv / pairs) / den)
    return best


def judge(ink: np.ndarray, contrast: float = 1.0, top_share: float | None = None,
          n_classes: int | None = None, facts: InkFacts | None = None) -> Verdict:
    """The verdict on one picture's ink map, with the network's top share if known
    (``facts``: ``features``')."""
    f = features(ink, contrast, facts)
    reason = ""
    if f.coverage == 0:
        reason = "there is no ink in it: it is blank"
    elif f.coverage > MAX_COVERAGE:
        reason = (f"ink covers {f.coverage:.0%} of the picture (a character covers at most "
                  f"{MAX_COVERAGE:.0%}): it looks like noise or texture, not writing")
    elif f.scattered > MAX_SCATTERED:
        reason = (f"{f.scattered:.0%} of the ink is in specks outside the {PIECES} largest "
                  f"pieces: it looks like grain, dust or noise, not writing")
    elif f.solid < MIN_SOLID:
        reason = ("nothing in it is as dark as pen or pencil strokes against the rest: it looks "
                  "like paper texture or shading, not writing")
    elif f.smooth < MIN_SMOOTH:
        reason = ("the ink changes from pixel to pixel like noise (no stroke is smooth over "
                  "even two pixels): it looks like noise, not writing")
    elif f.contrast < MIN_CONTRAST:
        reason = (f"the darkest marks differ from the paper by only {f.contrast:.0%}: too faint "
                  f"for writing (a shadow or a crease?)")
    elif top_share is not None and n_classes:
        chance = 1.0 / n_classes
        if top_share < MIN_CONFIDENCE_RATIO * chance:
            reason = (f"the network cannot place it (its best guess has {top_share:.0%}, close "
                      f"to chance, {chance:.0%})")
    return Verdict(not reason, reason, f, None if top_share is None else float(top_share))
