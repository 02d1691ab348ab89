"""Japanese characters for mojinet: named character sets and synthetic handwriting datasets.

* ``charset(name)``: "hiragana", "katakana" (the 46 modern gojūon each), "kana" (both),
  "grade1" … "grade6" (the kyōiku kanji taught in each school year: 80, 160, 200, 202, 193, 191),
  "kyoiku" (all 1,026), "joyo" (2,136). The lists ship in ``charsets/`` (see its README for their
  sources and licence); any string of characters works too.
* ``synthetic_dataset(chars, n_per_class, size, seed, style)``: the project's ``Dataset`` of
  KanjiVG characters written by the synthetic hand of ``handwriting`` — deterministic: sample i of
  character c under seed s is the same image whatever the rest of the request, and is cached as
  .npz under $MOJINET_CACHE (default: the OS cache folder) so it is drawn only once.
* ``components(chars)``: each character's components from KanjiVG's annotations.
* registered datasets "kanjivg-CHARSET" (e.g. ``load_dataset("kanjivg-grade1", "test",
  size=48)``; ``mojinet train --dataset kanjivg-hiragana [--image-size 48]``), and "kanjivg" for
  any characters, counts and training styles (``load_dataset("kanjivg", "train", chars="日月",
  per_class=50, style=["default", "thin"])``; the component-head model trains on it).

Stroke data: KanjiVG, CC BY-SA 3.0, Ulrich Apel and contributors (see ``kanjivg.CREDIT``).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import warnings
import zipfile
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from .._files import atomic_writer
from . import fetch
from .dataset import Dataset
from .fastwriter import render_batch
from .handwriting import Style, get_style, render
from .kanjivg import CREDIT, load_glyph

CACHE_ENV = fetch.CACHE_ENV  # MOJINET_CACHE
GENERATOR_VERSION = 5  # bump when the drawing changes, so old cache files are not reused
# (2: per-component variation, pen shape, square and crowding in the default style; 3: centre of
# mass at size/2, where predict puts it; 4: scan and pencil pages read by the photo path; 5: that
# path widens strokes thinner than 4 % of the box, images.even_strokes)
# The engines that draw: "reference" (handwriting.render, PIL at 4×, one image at a time) and
# "fast" (fastwriter.render_batch: the same strokes, an analytic rasteriser, batches). Their
# images differ within fastdraw's stated bounds, so each has its own cache files.
ENGINES = ("fast", "reference")
DEFAULT_ENGINE = "fast"
FAST_VERSION = 1  # bump when fastdraw / fastwriter change their pixels
WORKERS_ENV = "MOJINET_DRAW_WORKERS"  # processes that draw a set (default 1)
BATCH = 256  # images per batch of the fast engine (arrays that stay in the CPU's caches)
TASK = 2048  # images per task of a worker process
GRADES = tuple(f"grade{g}" for g in range(1, 7))
CHARSETS = ("hiragana", "katakana", "kana", *GRADES, "kyoiku", "joyo")
CHARSET_CREDIT = (
    "Kanji lists: MEXT 学年別漢字配当表 (2017, in force 2020) and the Cabinet's 常用漢字表 (2010), "
    "as transcribed by the kanji-lists package (MIT, Daniel Lemm)."
)


# ----------------------------------------------------------------------------- character sets
def _read_list(name: str) -> str:
    text = (resources.files("mojinet.data") / "charsets" / f"{name}.txt").read_text("utf-8")
    return text.strip()


def charset(name: str) -> str:
    """The characters of a named set, in a fixed order (kana: gojūon; kanji: by code point)."""
    if name in ("hiragana", "katakana", "joyo", *GRADES):
        return _read_list(name)
    if name == "kana":
        return _read_list("hiragana") + _read_list("katakana")
    if name == "kyoiku":
        return "".join(sorted("".join(_read_list(g) for g in GRADES)))
    raise ValueError(f"unknown character set {name!r}; choose one of: {', '.join(CHARSETS)}")


def resolve_chars(chars: str) -> str:
    """A charset name or a string of characters → the characters (each once, order kept)."""
    text = charset(chars) if chars in CHARSETS else chars
    seen = dict.fromkeys(text)
    if not seen or any(c.isspace() for c in seen):
        raise ValueError(
            f"{chars!r}: give a character set name ({', '.join(CHARSETS)}) or a string of "
            f"characters without spaces"
        )
    return "".join(seen)


def components(chars: str) -> dict[str, tuple[str, ...]]:
    """Each character → its KanjiVG components (e.g. 明 → (日, 月); kana → ())."""
    return {c: load_glyph(c).components for c in resolve_chars(chars)}


# ----------------------------------------------------------------------------- cache
def cache_dir() -> Path:
    """mojinet's cache (``$MOJINET_CACHE`` or the OS cache folder), shared with downloads."""
    return fetch.cache_dir()


def get_styles(style) -> list[Style]:
    """One style (a name, a ``Style`` or None = default) or a list of them (a mixture)."""
    if isinstance(style, (list, tuple)):
        if not style:
            raise ValueError("give at least one style")
        return [get_style(s) for s in style]
    return [get_style(style)]


@cache
def _library_versions() -> dict[str, str]:
    """The versions of what decides the pixels besides our code: NumPy (random streams and
    arithmetic), Pillow (the reference's rasteriser; blur and JPEG of scan styles) and the
    KanjiVG stroke data."""
    out = {}
    for name in ("numpy", "pillow", "kanjivg"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "none"
    return out


def _cache_path(chars: str, n_per_class: int, size: int, seed: int, styles: list[Style],
                engine: str = DEFAULT_ENGINE) -> Path:
    """The cache file of a drawn set: named by a hash of everything that changes its pixels
    (generator and engine versions, the request, every style parameter, library versions)."""
    described = styles[0].to_dict() if len(styles) == 1 else [st.to_dict() for st in styles]
    versions = [GENERATOR_VERSION, engine, FAST_VERSION if engine == "fast" else None,
                _library_versions()]
    key = json.dumps([versions, chars, n_per_class, size, seed, described],
                     ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    name = f"{len(chars)}c-{n_per_class}x-{size}px-s{seed}-{engine}-{digest}.npz"
    return cache_dir() / "kanjivg" / name


def _read_cache(path: Path, chars: str, n: int, size: int):
    """The cached (images, labels), or None (with a warning) when the file is damaged or holds
    something else: the set is then drawn again and the file replaced."""
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            images, labels, classes = f["images"], f["labels"], f["classes"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        warnings.warn(f"cache file {path} is damaged ({type(e).__name__}: {e}); drawing the "
                      f"set again", RuntimeWarning, stacklevel=3)
        return None
    if (images.shape != (n * len(chars), size, size) or images.dtype != np.uint8
            or labels.shape != (len(images),) or "".join(classes.tolist()) != chars):
        warnings.warn(f"cache file {path} does not hold the requested set; drawing it again",
                      RuntimeWarning, stacklevel=3)
        return None
    return images, labels


def draw_workers(workers: int | None = None) -> int:
    """Processes to draw with: ``workers``, else $MOJINET_DRAW_WORKERS, else 1."""
    if workers is None:
        text = os.environ.get(WORKERS_ENV, "1")
        try:
            workers = int(text)
        except ValueError:
            raise ValueError(f"${WORKERS_ENV} must be a whole number of processes, got "
                             f"{text!r}") from None
    if workers < 1:
        raise ValueError(f"draw with at least one process, got workers={workers}")
    return workers


# ----------------------------------------------------------------------------- datasets
def render_images(chars: str, n_per_class: int, size: int, seed: int,
                  style=None, progress: bool = False, engine: str = "reference",
                  workers: int | None = 1):
    """(images uint8 (n·k, size, size), labels (n·k,)): n_per_class samples of each of the k
    characters, sample-major (all characters once, then again …) so that any prefix is balanced.
    With a list of styles, round i of the samples is drawn in style i mod len(styles).
    ``engine``: "reference" (``handwriting.render``) or "fast" (``fastwriter.render_batch``,
    in batches, over ``workers`` processes; None = $MOJINET_DRAW_WORKERS or 1)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown drawing engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    styles = get_styles(style)
    k = len(chars)
    images = np.empty((n_per_class * k, size, size), dtype=np.uint8)  # (n·k, size, size)
    labels = np.tile(np.arange(k, dtype=np.int64), n_per_class)  # (n·k,)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_per_class, desc=f"drawing {k} characters", unit="round")
    if engine == "reference":
        glyphs = [load_glyph(c) for c in chars]
        for i in range(n_per_class):
            for j, g in enumerate(glyphs):
                # One generator per (seed, character, sample): independent of the rest.
                rng = np.random.default_rng([seed, ord(g.char), i])
                a = render(g, size, rng, styles[i % len(styles)])  # (size, size) in [0, 1]
                images[i * k + j] = np.rint(a * 255)
            if bar is not None:
                bar.update(1)
    else:
        _render_fast(images, chars, n_per_class, size, seed, styles, draw_workers(workers), bar)
    if bar is not None:
        bar.close()
    return images, labels


def draw_rounds(chars: str, rounds: list[int], size: int, seed: int, style: Style) -> np.ndarray:
    """The fast engine's images of the given sample rounds (all characters each): uint8
    (len(rounds)·k, size, size), each from ``default_rng([seed, ord(char), round])``."""
    glyphs = [load_glyph(c) for c in chars]
    rngs = [np.random.default_rng([seed, ord(g.char), i]) for i in rounds for g in glyphs]
    glyphs = glyphs * len(rounds)
    out = np.empty((len(glyphs), size, size), dtype=np.uint8)
    for a in range(0, len(glyphs), BATCH):
        b = slice(a, a + BATCH)
        out[b] = np.rint(render_batch(glyphs[b], size, rngs[b], style) * 255)
    return out


def _render_fast(images, chars, n_per_class, size, seed, styles, workers, bar) -> None:
    """Fill ``images`` with the fast engine: batches of rounds of one style, ~``BATCH`` images
    each, drawn here or by ``workers`` processes."""
    k = len(chars)
    per_task = max(1, TASK // k)
    tasks = []  # (rounds, style)
    for si, st in enumerate(styles):
        rounds = list(range(si, n_per_class, len(styles)))
        tasks += [(rounds[a : a + per_task], st) for a in range(0, len(rounds), per_task)]

    def store(rounds, drawn):
        for r, i in enumerate(rounds):
            images[i * k : (i + 1) * k] = drawn[r * k : (r + 1) * k]
        if bar is not None:
            bar.update(len(rounds))

    for c in chars:  # parsed once here: forked workers inherit the parsed glyphs
        load_glyph(c)
    if workers == 1 or len(tasks) == 1:
        for rounds, st in tasks:
            store(rounds, draw_rounds(chars, rounds, size, seed, st))
        return
    # fork where there is one: the workers start at once, with the glyphs already parsed
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(min(workers, len(tasks)), multiprocessing.get_context(method)) as pool:
        futures = [(rounds, pool.submit(draw_rounds, chars, rounds, size, seed, st))
                   for rounds, st in tasks]
        for rounds, f in futures:
            store(rounds, f.result())


def synthetic_dataset(chars: str = "hiragana", n_per_class: int = 100, size: int = 32,
                      seed: int = 0, style=None, cache: bool = True,
                      progress: bool | None = None, name: str | None = None,
                      engine: str = DEFAULT_ENGINE, workers: int | None = None) -> Dataset:
    """A ``Dataset`` of synthetic handwriting: ``n_per_class`` images of each character of
    ``chars`` (a charset name or a string), ``size`` × ``size`` pixels, ink = 1. ``style``: a
    name from ``handwriting.STYLES``, a ``Style``, or a list of them to mix (round-robin).
    ``engine`` and ``workers``: see ``render_images`` (the fast engine by default; the
    reference's images are cached apart)."""
    chars = resolve_chars(chars)
    if not 8 <= size <= 256:
        raise ValueError(f"size must be between 8 and 256 pixels, got {size}")
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1, got {n_per_class}")
    styles = get_styles(style)
    path = _cache_path(chars, n_per_class, size, seed, styles, engine)
    found = _read_cache(path, chars, n_per_class, size) if cache and path.exists() else None
    if found is None:
        if progress is None:  # a bar only for long draws on a terminal
            progress = n_per_class * len(chars) >= 20_000 and sys.stderr.isatty()
        images, labels = render_images(chars, n_per_class, size, seed, styles, progress,
                                       engine, workers)
        if cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_writer(path) as f:
                np.savez(f, images=images, labels=labels, classes=np.array(list(chars)))
    else:
        images, labels = found
    return Dataset.from_images(images, labels, tuple(chars), name=name or f"kanjivg-{len(chars)}")


# ----------------------------------------------------------------------------- registry entries
# Draws per class for the named datasets: ~80,000 training images, between 200 and 1,000 per
# class, within minutes of drawing on one core. Generator version 2 varies more than version 1
# and needs more: grade 1 reached 95.5 % on new writers with 500 per class, 97.4 % with 1,000.
# Test images use another seed than training ones (held-out writers).
TRAIN_SEED, TEST_SEED = 0, 1
DEFAULT_SIZE = 32


def default_counts(n_classes: int) -> tuple[int, int]:
    """(train, test) samples per class for a named dataset of n_classes characters."""
    train = int(np.clip(80_000 // n_classes, 200, 1_000))
    test = int(np.clip(10_000 // n_classes, 20, 100))
    return train, test


def load_kanjivg_dataset(name: str, split: str = "train", size: int = DEFAULT_SIZE,
                         limit: int = 0) -> Dataset:
    """The named split of a character set: "train" (seed 0) or "test" (seed 1, other writers).
    ``limit`` > 0: only the first ``limit`` images — drawn alone (⌈limit / k⌉ rounds of the k
    characters) unless the whole split is cached; the same images either way."""
    if split not in ("train", "test"):
        raise ValueError(f"kanjivg-{name} has no split {split!r}; choose train or test")
    chars = charset(name)
    n_train, n_test = default_counts(len(chars))
    n, seed = (n_train, TRAIN_SEED) if split == "train" else (n_test, TEST_SEED)
    whole_cached = _cache_path(chars, n, size, seed, get_styles(None)).exists()
    if limit and not whole_cached:
        n = min(n, -(-limit // len(chars)))  # rounds needed: images are sample-major
    data = synthetic_dataset(chars, n, size, seed, name=f"kanjivg-{name}-{split}")
    return data.subset(limit) if 0 < limit < len(data) else data


def load_synthetic_split(split: str, chars: str = "hiragana", per_class: int | None = None,
                         test_per_class: int | None = None, size: int = DEFAULT_SIZE,
                         style="default", strokes: str | None = None,
                         strokes_repeat: int = 20, fonts=None, fonts_repeat: int = 20) -> Dataset:
    """"train": ``per_class`` images of each character (seed 0) in ``style`` (a name, or a list
    mixed round-robin); "test": ``test_per_class`` images by other writers (seed 1) in the
    default style. Counts default to those of the named datasets (``default_counts``).

    ``strokes``: a file or folder of real pen strokes (``strokes.read_strokes``, e.g. Tomoe's
    tomoe_data) whose samples join the training split as more writers: each sample of one of
    ``chars`` drawn ``strokes_repeat`` times with the training style's pen *and* distortions
    (``strokeset.render_samples`` with jitter), the others counted and logged. ``fonts``: font
    files (a list, or paths joined by commas) whose glyphs of ``chars`` join the training split
    too, each drawn ``fonts_repeat`` times with the style's whole-character variation
    (``fontset.font_images``). The test split stays the synthetic writers'."""
    chars = resolve_chars(chars)
    n_train, n_test = default_counts(len(chars))
    if split == "train":
        data = synthetic_dataset(chars, per_class or n_train, size, TRAIN_SEED, style,
                                 name=f"kanjivg-{len(chars)}-train")
        if strokes is not None:
            data = with_real_writers(data, strokes, strokes_repeat, style)
        return data if fonts is None else with_font_writers(data, fonts, fonts_repeat, style)
    if split == "test":
        return synthetic_dataset(chars, test_per_class or n_test, size, TEST_SEED, "default",
                                 name=f"kanjivg-{len(chars)}-test")
    raise ValueError(f"kanjivg has no split {split!r}; choose train or test")


def with_real_writers(data: Dataset, path: str, repeat: int, style) -> Dataset:
    """``data`` (a synthetic training split) with the real strokes at ``path`` added as more
    writers: each sample whose label is one of ``data.classes`` drawn ``repeat`` times, with
    the style's pen and the writer's distortions on top (round r in style r mod k)."""
    from .strokes import read_strokes
    from .strokeset import strokes_dataset

    if not 1 <= int(repeat) <= 1000:
        raise ValueError(f"strokes_repeat must be 1-1000, got {repeat}")
    real = strokes_dataset(read_strokes(path), data.classes, data.image_shape[0],
                           seed=TRAIN_SEED, style=style, jitter=True, repeat=int(repeat),
                           name=f"strokes-{Path(path).name}")
    return Dataset(np.concatenate([data.X, real.X]), np.concatenate([data.y, real.y]),
                   data.classes, data.image_shape, f"{data.name}+real")  # (n + m, h·w), (n + m,)


def with_font_writers(data: Dataset, fonts, repeat: int, style) -> Dataset:
    """``data`` (a training split) with every class character of each font in ``fonts`` added,
    drawn ``repeat`` times (``fontset.font_images``, in the first of the training styles)."""
    from .fontset import font_images

    if not 1 <= int(repeat) <= 1000:
        raise ValueError(f"fonts_repeat must be 1-1000, got {repeat}")
    images, y, _ = font_images(fonts, data.classes, data.image_shape[0], get_styles(style)[0],
                               int(repeat), seed=TRAIN_SEED)
    X = images.reshape(len(images), -1)  # (m, h·w)
    return Dataset(np.concatenate([data.X, X.astype(data.X.dtype)]), np.concatenate([data.y, y]),
                   data.classes, data.image_shape, f"{data.name}+fonts")


def _register() -> None:
    from .registry import register_dataset

    for name in CHARSETS:
        k = len(charset(name))
        n_train, n_test = default_counts(k)

        def loader(split, data_dir=None, size: int = DEFAULT_SIZE, limit: int = 0, _name=name):
            # data_dir is not used: the images are drawn (and cached), never read from a folder.
            return load_kanjivg_dataset(_name, split, size, limit)

        def is_cached(_name=name, _n=(n_train, n_test)):
            chars = charset(_name)
            return all(_cache_path(chars, n, DEFAULT_SIZE, seed, get_styles(None)).exists()
                       for n, seed in zip(_n, (TRAIN_SEED, TEST_SEED)))

        register_dataset(
            f"kanjivg-{name}", loader, credit=f"{CREDIT} {CHARSET_CREDIT}",
            description=(f"synthetic handwriting of the {k} {name} characters, drawn from "
                         f"KanjiVG strokes ({DEFAULT_SIZE}×{DEFAULT_SIZE}; --image-size for "
                         f"others); test split = other writers"),
            image_shape=(DEFAULT_SIZE, DEFAULT_SIZE), n_classes=k,
            sizes={"train": n_train * k, "test": n_test * k}, license="CC BY-SA 3.0 (KanjiVG)",
            homepage="https://kanjivg.tagaini.net", options=("size",), is_cached=is_cached,
            replace=True,
        )

    def load_any(split, data_dir=None, chars="hiragana", per_class=None, test_per_class=None,
                 size=DEFAULT_SIZE, style="default", strokes=None, strokes_repeat=20,
                 fonts=None, fonts_repeat=20):
        return load_synthetic_split(split, chars, per_class, test_per_class, size, style,
                                    strokes, strokes_repeat, fonts, fonts_repeat)

    register_dataset(
        "kanjivg", load_any, credit=f"{CREDIT} {CHARSET_CREDIT}",
        description=("synthetic handwriting of any characters drawn from KanjiVG strokes; "
                     "options chars (a set name or the characters), per_class, test_per_class, "
                     "size, style (training writers' styles), strokes (real strokes added to the "
                     "training writers, e.g. tomoe_data), strokes_repeat (draws of each), "
                     "fonts (font files, comma-separated, whose glyphs join the training "
                     "writers) and fonts_repeat"),
        image_shape=(DEFAULT_SIZE, DEFAULT_SIZE), license="CC BY-SA 3.0 (KanjiVG)",
        homepage="https://kanjivg.tagaini.net", replace=True,
    )


_register()


__all__ = [
    "CHARSETS", "CHARSET_CREDIT", "CREDIT", "charset", "components", "synthetic_dataset",
    "load_kanjivg_dataset", "load_synthetic_split", "render_images", "cache_dir", "default_counts",
    "draw_rounds", "draw_workers", "ENGINES", "DEFAULT_ENGINE", "with_real_writers",
    "with_font_writers",
]
