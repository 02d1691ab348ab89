"""Real pen strokes as datasets: ``strokes_dataset`` and the registered ``strokes:PATH``.

Samples from ``strokes.read_strokes`` (any file, archive or folder of tegaki, Tomoe or JSON-lines
strokes) are drawn by the synthetic writer's code (``handwriting.render`` with ``jitter=False``:
the style's pen, the same normalisation; ``jitter=True`` adds the writer's distortions), at any
size, as many times as asked. Labels map to classes by their text, explicitly: with
``classes`` (a charset name, a string of characters, or a model's labels) the classes are
exactly those, in that order, and samples whose label is not among them are counted and logged
— never silently dropped. Without it the classes are the labels found, sorted.

``mojinet train/evaluate --dataset "strokes:PATH[,key=value…]"`` with the options ``size``,
``classes``, ``style`` (several joined by ``+``), ``jitter``, ``seed``, ``repeat``, ``session``
(only the samples whose session starts with it: tegaki-lab's ``train`` or ``eval``); splits
"all", or a seeded holdout of 1 in 5 samples per class ("test") and the rest ("train").
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .fastwriter import render_batch
from .handwriting import render
from .kanji import BATCH, DEFAULT_ENGINE, DEFAULT_SIZE, ENGINES, get_styles, resolve_chars
from .splits import split_indices
from .strokes import Sample, read_strokes

log = logging.getLogger(__name__)
STROKES_OPTIONS = ("size", "classes", "style", "jitter", "seed", "repeat", "session")


def label_index(samples: list[Sample], classes) -> tuple[np.ndarray, np.ndarray, Counter]:
    """Map labels to classes by their text: (indices of the samples whose label is a class,
    their class indices, a Counter of the labels that are not)."""
    position = {c: k for k, c in enumerate(classes)}
    keep = np.array([i for i, s in enumerate(samples) if s.label in position], dtype=np.int64)
    y = np.array([position[samples[i].label] for i in keep], dtype=np.int64)
    outside = Counter(s.label for s in samples if s.label not in position)
    return keep, y, outside


def sample_key(sample: Sample) -> int:
    """A 64-bit key of what ``sample`` is (its label, writer, sitting and every stroke point),
    so that a sample keyed by it is drawn alike whatever else is drawn with it."""
    h = hashlib.blake2b(digest_size=8)
    h.update("\x1f".join((sample.label, sample.writer, sample.session)).encode())
    for stroke in sample.strokes:
        h.update(np.ascontiguousarray(stroke, dtype=np.float64).tobytes() + b"\x1e")
    return int.from_bytes(h.digest(), "little")


def render_samples(samples: list[Sample], size: int = DEFAULT_SIZE, seed: int = 0, style=None,
                   jitter: bool = False, repeat: int = 1,
                   engine: str = DEFAULT_ENGINE, keys=None) -> np.ndarray:
    """(n·repeat, size, size) uint8 images of real strokes, drawn by the synthetic writer's
    code: the style's pen (and scan) and, with ``jitter``, its distortions. Round r of sample i
    draws from ``default_rng([seed, keys[i], r])``: ``keys`` defaults to the positions 0…n−1;
    ``keys=[sample_key(s) …]`` draws each sample's pen from what it is, not from where it sits
    in the list (``real-eval`` does this, so a set is read alike alone or beside others). With
    several styles round r uses style r mod k. ``engine``: "fast"
    (``fastwriter.render_batch``, as the synthetic sets are drawn by default) or "reference"
    (``handwriting.render``)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown drawing engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    styles = get_styles(style)
    glyphs = [s.to_glyph() for s in samples]
    n = len(samples)
    keys = range(n) if keys is None else list(keys)
    if len(keys) != n:
        raise ValueError(f"render_samples: {len(keys)} keys for {n} samples; give one a sample")
    images = np.empty((repeat * n, size, size), dtype=np.uint8)
    for r in range(repeat):
        st = styles[r % len(styles)]
        rngs = [np.random.default_rng([seed, k, r]) for k in keys]
        if engine == "fast":
            for a in range(0, n, BATCH):
                b = slice(a, a + BATCH)
                drawn = render_batch(glyphs[b], size, rngs[b], st, jitter=jitter)
                images[r * n + a : r * n + a + len(drawn)] = np.rint(drawn * 255)
            continue
        for i, (g, rng) in enumerate(zip(glyphs, rngs)):
            images[r * n + i] = np.rint(render(g, size, rng, st, jitter=jitter) * 255)
    return images


def strokes_classes(classes, samples: list[Sample]) -> tuple[str, ...]:
    """A charset name or string of characters, a sequence of labels, or None (the labels of
    the samples, sorted) → the class labels."""
    if isinstance(classes, str):
        return tuple(resolve_chars(classes))
    return tuple(classes or sorted({s.label for s in samples}))


def report_outside(name: str, outside: Counter, n: int, n_classes: int) -> None:
    if outside:
        labels = sorted(outside)
        more = f" … and {len(labels) - 40:,} more labels" if len(labels) > 40 else ""
        log.warning("%s: %d of %d samples have labels outside the %d classes, left out: %s%s",
                    name, sum(outside.values()), n, n_classes, " ".join(labels[:40]), more)


def strokes_dataset(samples: list[Sample], classes=None, size: int = DEFAULT_SIZE,
                    seed: int = 0, style=None, jitter: bool = False, repeat: int = 1,
                    name: str = "strokes") -> Dataset:
    """A ``Dataset`` of real strokes drawn like the synthetic writer's (see ``render_samples``).

    ``classes``: a charset name or string, or a sequence of labels (e.g. a model's classes) —
    samples whose label is not among them are left out and logged (``label_index`` counts
    them); None = the labels found, sorted. Rows are round-major (every sample once, then
    again)."""
    classes = strokes_classes(classes, samples)
    keep, y, outside = label_index(samples, classes)
    report_outside(name, outside, len(samples), len(classes))
    if not len(keep):
        raise ValueError(f"{name}: none of the {len(samples)} samples has a label among the "
                         f"{len(classes)} classes ({''.join(classes[:20])}…)")
    images = render_samples([samples[i] for i in keep], size, seed, style, jitter, repeat)
    return Dataset.from_images(images, np.tile(y, repeat), classes, name=name)


def parse_strokes_name(path: str) -> tuple[str, dict]:
    """``"PATH,classes=hiragana,size=48"`` → ``("PATH", {"classes": "hiragana", "size": 48})``:
    options are the trailing ``,key=value`` parts whose key is one of ``STROKES_OPTIONS``."""
    options: dict = {}
    while "," in path:
        head, _, tail = path.rpartition(",")
        key, eq, value = tail.partition("=")
        if not eq or key not in STROKES_OPTIONS:
            break
        options[key], path = value, head
    for key in ("size", "seed", "repeat"):
        if key in options:
            try:
                options[key] = int(options[key])
            except ValueError:
                raise ValueError(f"strokes: {key} must be a whole number, got "
                                 f"{options[key]!r}") from None
    if "jitter" in options:
        options["jitter"] = options["jitter"].lower() in ("1", "true", "yes", "on")
    if "style" in options:
        options["style"] = options["style"].split("+")  # several styles: default+pencil
    return path, options


def select_session(samples: list[Sample], session: str | None, where: str) -> list[Sample]:
    """The samples whose session starts with ``session`` (all when it is None or empty); an
    error naming the sessions found when none does."""
    if not session:
        return samples
    chosen = [s for s in samples if s.session.startswith(session)]
    if not chosen:
        found = sorted({s.session for s in samples})
        raise ValueError(f"{where}: no samples of session {session!r}; sessions found: "
                         f"{', '.join(found[:20]) or '(none recorded)'}")
    return chosen


def read_named(name: str) -> tuple[list[Sample], dict]:
    """``"PATH[,session=train,…]"`` → (the samples at PATH of that session, the other
    options), for commands that read real strokes by name (``mojinet real-eval --real``)."""
    path, options = parse_strokes_name(name)
    return select_session(read_strokes(path), options.pop("session", None), path), options


def load_strokes(split: str = "all", data_dir=None, size: int = DEFAULT_SIZE, classes=None,
                 style=None, jitter: bool = False, seed: int = 0, repeat: int = 1,
                 session: str | None = None) -> Dataset:
    """The ``strokes:PATH`` dataset: every sample in a strokes file, archive or folder (see
    ``strokes.read_strokes``), drawn at ``size``; options may also follow the path
    (``strokes:PATH,classes=hiragana,style=thin``). Splits: "all", or a seeded holdout of 1
    in 5 samples per class as "test" and the rest as "train"."""
    if data_dir is None:
        raise FileNotFoundError("the strokes dataset needs a file or folder: strokes:PATH")
    path, named = parse_strokes_name(str(data_dir))
    given = dict(size=size, classes=classes, style=style, jitter=jitter, seed=seed,
                 repeat=repeat, session=session)
    given.update(named)
    if not 8 <= given["size"] <= 256 or not 1 <= given["repeat"] <= 1000:
        raise ValueError(f"strokes: size must be 8-256 and repeat 1-1000, got {given['size']} "
                         f"and {given['repeat']}")
    samples = select_session(read_strokes(path), given.pop("session"), path)
    name = f"strokes-{Path(path).name}-{split}"
    classes = strokes_classes(given.pop("classes"), samples)
    keep, y, outside = label_index(samples, classes)
    report_outside(name, outside, len(samples), len(classes))
    keep = keep[split_indices(y, split, dataset=f"strokes:{path}")]  # per class, seeded
    if not len(keep):
        raise ValueError(f"{name}: no samples of the {len(classes)} classes in this split (a "
                         f"class needs 5 samples to have one in the test split)")
    return strokes_dataset([samples[i] for i in keep], classes, name=name, **given)


STROKES_CREDIT = (
    "Your strokes, or a published set under its own licence: tegaki (LGPL-2.1; tegaki-lab "
    "GPL-2.0+), Tomoe (tomoe_data: Apache-2.0 or CC BY 4.0, Hiroyuki Komatsu; Debian's XML: "
    "LGPL-2.1+), cnn_chinese_hw (LGPL-2.1) — see docs/kanji.md, Real handwriting."
)


def _register() -> None:
    from .registry import register_dataset

    register_dataset(
        "strokes", load_strokes, credit=STROKES_CREDIT, splits=("train", "test", "all"),
        description=("real pen strokes from a file, archive or folder (strokes:PATH; tegaki "
                     "XML/charcol, Tomoe XML/tdic, JSON lines), drawn with the synthetic "
                     "writer's pen; options size, classes, style, jitter, seed, repeat, session "
                     "(strokes:PATH,classes=hiragana)"),
        needs_data_dir=True, replace=True,
    )


_register()

__all__ = ["STROKES_CREDIT", "STROKES_OPTIONS", "label_index", "load_strokes",
           "parse_strokes_name", "read_named", "render_samples", "select_session",
           "strokes_classes", "strokes_dataset"]
