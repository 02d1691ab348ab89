"""Learn my hand on the draw page: save a corrected drawing, adapt the model to the saved ones.

- ``POST /api/samples``: a drawing the network misread, with the right label — its strokes
  (the page's pad coordinates and times) and its bitmap (PNG). The label must be one of the
  model's classes. The strokes are written as one mojinet JSON line (``data/strokes.py`` reads
  it back) and the bitmap as a PNG (decoded and encoded again here, never stored as sent),
  under file names this server makes (a time stamp and a counter), in the user's samples folder
  for this model's class set (``samples_folder``).
- ``GET /api/samples``: how many samples the folder holds, per label.
- ``POST /api/adapt``: fine-tune the current model on the folder, in the background
  (``adapt.adapt_config`` + ``runner.run``: the same run as ``mojinet train --finetune MODEL
  --dataset strokes:DIR``). When it ends, the new model is saved beside the samples (the old
  file stays where it was) and swapped in at once for every later request (``LiveModel``).
- ``GET /api/adapt``: the job's state, epoch, and the before/after accuracies.

Limits: bodies are capped by the app's body limit and the schemas (strokes, points, label,
image size); saving is rate-limited (``RateLimit``: a burst, then a steady rate; 429 with
Retry-After) and the folder holds at most ``MAX_SAMPLES``; one adaptation at a time (409).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

import numpy as np
from starlette.exceptions import HTTPException

from .._files import atomic_writer
from ..io import Model, save_model
from .schemas import AdaptStatus, SampleRequest, SampleSaved, SamplesInfo

log = logging.getLogger("mojinet.web")
#: Samples one folder may hold (a person teaching a model writes tens to a few thousand).
MAX_SAMPLES = 20_000
#: Saving: a burst of this many, then one per ``SAVE_EVERY`` seconds.
SAVE_BURST, SAVE_EVERY = 20, 1.0
#: The bitmap kept of a drawing: at most this many pixels (the page's pad is 280×280).
MAX_PNG_PIXELS = 1_000_000


def default_samples_root() -> Path:
    """Where a user's samples go by default: ``samples`` in mojinet's folder of the platform's
    user data (e.g. ``~/.local/share/mojinet/samples`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("mojinet", appauthor=False)) / "samples"


def samples_folder(root: str | Path, classes) -> Path:
    """The folder under ``root`` for models with these classes: their count and a digest of
    them (``282-classes-1f3a…``), so a kanji model's samples never mix with a digit model's."""
    digest = sha256("\n".join(classes).encode("utf-8")).hexdigest()[:12]
    return Path(root) / f"{len(classes)}-classes-{digest}"


class RateLimit:
    """A token bucket: ``burst`` at once, refilled at one per ``every`` seconds."""

    def __init__(self, burst: int = SAVE_BURST, every: float = SAVE_EVERY):
        self.burst, self.every = burst, every
        self.tokens, self.stamp = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 if one request may go now (and count it), else the seconds until one may."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) / self.every)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) * self.every


class FolderError(RuntimeError):
    """The samples folder holds a file that cannot be read (the routes answer 409)."""


class LiveModel:
    """The model the server answers with, swapped whole when an adaptation ends (a reference
    assignment: a request reads ``model`` once and uses that one throughout)."""

    def __init__(self, model: Model, path: str | Path | None = None):
        self.model, self.path = model, None if path is None else Path(path)
        self.swaps = 0

    def swap(self, model: Model, path: Path) -> None:
        self.model, self.path = model, path
        self.swaps += 1


# ----------------------------------------------------------------------------- the folder
class SampleStore:
    """The user's samples for one class set: ``NAME.jsonl`` (strokes) + ``NAME.png`` each."""

    def __init__(self, folder: str | Path, classes):
        self.folder, self.classes = Path(folder), tuple(classes)
        self.lock = threading.Lock()
        self.counter = itertools.count()
        self.known: Counter | None = None  # samples per label, read from the files once

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.jsonl")) if self.folder.is_dir() else []

    def counts(self) -> Counter:
        """Samples per label (read from the folder's files the first time, then kept)."""
        from ..data.strokes import read_strokes

        with self.lock:
            if self.known is None and self.files():
                try:
                    self.known = Counter(s.label for s in read_strokes(self.folder))
                except (OSError, ValueError) as e:  # a file damaged or edited by hand
                    raise FolderError(f"the samples folder has a file mojinet cannot read "
                                      f"({e}); move it out of {self.folder}") from e
            return Counter(self.known or ())

    def save(self, label: str, strokes: list, box: tuple[float, float],
             png: np.ndarray) -> str:
        """Write one sample (strokes as a JSON line, the bitmap as PNG); its name."""
        from PIL import Image

        from ..data.strokes import make_sample, write_jsonl

        timed = len(strokes[0][0]) == 3
        sample = make_sample(
            label, [[p[:2] for p in s] for s in strokes], box, "the draw page",
            source="mojinet draw page", writer=os.environ.get("USER", "") or "me",
            times=[[p[2] for p in s] for s in strokes] if timed else None,
            time=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        total = sum(self.counts().values())
        with self.lock:
            if total >= MAX_SAMPLES:
                raise OverflowError(f"the samples folder {self.folder} holds {MAX_SAMPLES:,} "
                                    f"samples, the most it may; move some elsewhere")
            self.folder.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
            name = f"{stamp}-{os.getpid()}-{next(self.counter)}"  # made here, never from input
            with atomic_writer(self.folder / f"{name}.png") as f:
                Image.fromarray(png).save(f, format="PNG")
            write_jsonl([sample], self.folder / f"{name}.jsonl")
            self.known = (self.known or Counter()) + Counter({label: 1})
        return name


def bitmap(raw: bytes) -> np.ndarray:
    """The drawing's pixels (h, w) uint8 grey on white, decoded here (through ``open_image``,
    the one door for user images) so what is stored is a clean PNG."""
    from PIL import Image

    from ..data.decode import DECODE_ERRORS, open_image

    try:
        with Image.open(io.BytesIO(raw)) as peek:  # the header only
            kind = peek.format
    except DECODE_ERRORS as e:
        raise ValueError(f"the bitmap is not a readable PNG ({e})") from e
    if kind != "PNG":
        raise ValueError(f"the bitmap must be a PNG, got {kind}")
    try:
        img = open_image(raw, max_pixels=MAX_PNG_PIXELS).convert("RGBA")
    except ValueError as e:  # ImageError: too large, damaged
        raise ValueError(f"the bitmap: {e}") from e
    paper = Image.new("RGBA", img.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(paper, img).convert("L"))


# ----------------------------------------------------------------------------- the job
@dataclass
class AdaptJob:
    """One adaptation at a time; its state is what ``GET /api/adapt`` shows."""

    state: str = "idle"  # idle | running | done | failed
    epoch: int = 0
    epochs: int = 0
    message: str = "Nothing adapted yet."
    samples: int = 0
    before: dict | None = None
    after: dict | None = None
    model: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def status(self) -> dict:
        return {k: getattr(self, k) for k in ("state", "epoch", "epochs", "message", "samples",
                                              "before", "after", "model")}


def _scores(model, user, check) -> dict:
    """The model's accuracy on the user's images and on the held-out ones (read as the model
    reads images: ``Model.inputs``)."""
    from ..nn.train import evaluate

    net = model.network
    return {"your_samples": evaluate(net, model.inputs(user.X), user.y)[1], "n_yours": len(user),
            "held_out": evaluate(net, model.inputs(check.X), check.y)[1],
            "n_held_out": len(check)}


def run_adaptation(job: AdaptJob, live: LiveModel, store: SampleStore, **changes) -> None:
    """Adapt ``live``'s model to the store's samples (on the job's thread) and swap it in."""
    from ..adapt import CHECK_PER_CLASS, adapt_config, replay_sets, user_samples
    from ..io import load_model
    from ..runner import run

    try:
        start = live.model
        models = store.folder / "models"
        models.mkdir(parents=True, exist_ok=True)
        source = live.path
        if source is None:  # a model made in memory: keep it on disk to start from
            source = save_model(start, models / "start.npz")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        out = models / f"adapted-{stamp}-{live.swaps + 1}.npz"
        config = adapt_config(source, store.folder, out=out, **changes)
        user = user_samples(config, start, plain=True)
        check = replay_sets(start, 0, CHECK_PER_CLASS)[1]
        job.samples, job.epochs = len(user), config.epochs
        job.before = _scores(start, user, check)

        def progress(net, record):
            job.epoch = record.epoch
            job.message = (f"Adapting: epoch {record.epoch} of {config.epochs} done "
                           f"(held-out accuracy {record.eval_accuracy:.1%}).")

        run(config, callbacks=[progress])
        adapted = load_model(out)
        job.after = _scores(adapted, user, check)
        live.swap(adapted, out)
        job.model, job.state = out.name, "done"
        job.message = (f"Adapted to your {len(user)} sample{'s' * (len(user) != 1)}: "
                       f"{job.before['your_samples']:.0%} → {job.after['your_samples']:.0%} "
                       f"of them read right; held-out writers {job.before['held_out']:.1%} → "
                       f"{job.after['held_out']:.1%}. Saved as {out.name}.")
    except Exception as e:  # reported on the page; the old model stays in use
        log.exception("adapting to %s failed", store.folder)
        job.state, job.message = "failed", f"Adapting failed: {e}"


# ----------------------------------------------------------------------------- the routes
def _known_label(label: str, classes: tuple[str, ...]) -> str:
    """The label as one of the classes (NFC-normalised), or a ValueError saying it is not."""
    import unicodedata

    text = unicodedata.normalize("NFC", label.strip())
    if text in classes:
        return text
    shown = " ".join(classes[:30]) + (" …" if len(classes) > 30 else "")
    if len(text) != 1:
        raise ValueError(f"label {label!r}: give one character, one of the model's "
                         f"{len(classes)} classes ({shown})")
    raise ValueError(f"{text!r} is not known to this model: it reads only its {len(classes)} "
                     f"classes ({shown}); pick one of them")


def _need(store: SampleStore | None) -> SampleStore:
    """The store, or 404 when learning is off."""
    if store is None:
        raise HTTPException(404, "learning is off on this server: start it with mojinet serve "
                            "MODEL --samples DIR (the default folder is used unless "
                            "--no-samples)")
    return store


def _limited(bucket: RateLimit) -> None:
    """429 with Retry-After when the bucket is empty."""
    wait = bucket.take()
    if wait:
        seconds = max(1, int(np.ceil(wait)))
        raise HTTPException(429, f"too many requests; try again in {seconds} s",
                            headers={"Retry-After": str(seconds)})


def _counts(folder: SampleStore) -> Counter:
    try:
        return folder.counts()
    except FolderError as e:
        raise HTTPException(409, str(e)) from e


def add_learn_routes(app, live: LiveModel, store: SampleStore | None, errors: dict,
                     json_only, changes: dict | None = None) -> None:
    """``/api/samples`` and ``/api/adapt`` (see the module's docstring). ``store`` None: the
    routes answer 404 (learning is off). ``errors``: the declared error responses of
    "samples", "adapt" and "get"; ``json_only``: the dependency that refuses bodies not sent
    as JSON; ``changes``: RunConfig fields for the adaptation (tests: fewer epochs)."""
    _sample_routes(app, live, store, errors, json_only)
    _adapt_routes(app, live, store, errors, changes or {})


def _sample_routes(app, live: LiveModel, store: SampleStore | None, errors: dict,
                   json_only) -> None:
    from fastapi import Depends
    from fastapi.concurrency import run_in_threadpool

    from .readout import DrawingError, decode_drawing

    saves = RateLimit()

    def save(req) -> dict:
        folder = _need(store)
        try:
            label = _known_label(req.label, live.model.classes)
            png = bitmap(decode_drawing(req.image))
            name = folder.save(label, req.strokes, tuple(req.box), png)
        except (ValueError, DrawingError) as e:  # StrokeFormatError is a ValueError too
            raise HTTPException(422, str(e)) from e
        except (OverflowError, FolderError) as e:
            raise HTTPException(409, str(e)) from e
        counts = _counts(folder)
        return {"name": name, "label": label, "count": counts[label],
                "total": sum(counts.values()), "folder": str(folder.folder)}

    @app.post("/api/samples", response_model=SampleSaved, summary="Save a corrected drawing",
              responses=errors["samples"], dependencies=[Depends(json_only)])
    async def post_sample(req: SampleRequest):
        """Save a drawing with its right label to your samples folder: the strokes as a
        mojinet JSON line, the bitmap as PNG. The label must be one of the model's classes."""
        _need(store)
        _limited(saves)
        return await run_in_threadpool(save, req)

    @app.get("/api/samples", response_model=SamplesInfo, responses=errors["get"],
             summary="Your saved samples")
    async def get_samples():
        folder = _need(store)
        counts = await run_in_threadpool(_counts, folder)
        return {"folder": str(folder.folder), "total": sum(counts.values()),
                "counts": dict(sorted(counts.items()))}


def _adapt_routes(app, live: LiveModel, store: SampleStore | None, errors: dict,
                  changes: dict) -> None:
    job, starts = AdaptJob(), RateLimit(burst=3, every=10.0)

    @app.post("/api/adapt", response_model=AdaptStatus, status_code=202,
              responses=errors["adapt"], summary="Adapt the model to your samples")
    async def post_adapt():
        """Start fine-tuning the current model on your samples (mixed with replayed samples
        of its original data) in the background; poll `GET /api/adapt`. When it is done the
        server answers with the adapted model; the old one stays on disk."""
        folder = _need(store)
        with job.lock:
            if job.state == "running":
                raise HTTPException(409, "an adaptation is already running; wait for it "
                                    "(GET /api/adapt)")
            if not sum(_counts(folder).values()):
                raise HTTPException(409, "no samples yet: correct a drawing first (POST "
                                    "/api/samples)")
            _limited(starts)
            job.state, job.epoch, job.after = "running", 0, None
            job.message = "Adapting: reading your samples…"
            job.thread = threading.Thread(target=run_adaptation, name="mojinet-adapt",
                                          args=(job, live, folder), kwargs=changes,
                                          daemon=True)
            job.thread.start()
            return job.status()

    @app.get("/api/adapt", response_model=AdaptStatus, responses=errors["get"],
             summary="How the adaptation goes")
    async def get_adapt():
        _need(store)
        return job.status()

    app.state.learn_job = job  # for tests
