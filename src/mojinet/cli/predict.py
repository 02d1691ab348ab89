"""``mojinet predict``: classify image files (photos, scans, drawings) of characters.

Each picture gets its top candidates and a verdict (``data.verdict``): a picture of nothing
(noise, texture, a blank page in a photo) is said to be "not a character" instead of being
named as one. With ``--json`` the output is always JSON: one object per image (its result, or
``error``), or one ``{"error": …}`` object when the model itself cannot be used.
"""

from __future__ import annotations

from pathlib import Path

from .. import scores
from ..data.dictionary import CREDIT as DICTIONARY_CREDIT
from ..data.dictionary import CREDIT_URL as DICTIONARY_CREDIT_URL
from ..data.dictionary import lookup_all
from ..data.images import ImageError, read_image
from ..data.verdict import judge
from ..io import ModelFileError
from .common import load_square_model
from .models import add_model_option, chosen_model
from .printer import CLIError, say, say_json, warn


def read_one(model, image: str, h: int, box, top_k: int, entries: dict) -> dict:
    """One picture → its result: top candidates (with dictionary entries) and the verdict."""
    reading = read_image(Path(image), size=h, box=box)
    a = model.feedforward(reading.x.reshape(1, -1))[0]  # (n_classes,)
    top = scores.candidates(model, a, top_k)
    verdict = judge(reading.ink, reading.contrast, top[0]["share"], len(model.classes))
    return {"image": str(image), "output": scores.output_kind(model.network),
            "character": verdict.character, "verdict": verdict.to_dict(), "paper": reading.paper,
            "top": [c | ({"dictionary": entries[c["label"]].to_dict()}
                         if c["label"] in entries else {}) for c in top]}


def _say_result(result: dict, entries: dict) -> None:
    kind = result["output"]
    guesses = "  ".join(scores.describe(c, kind) for c in result["top"])
    if not result["character"]:
        say(f"{result['image']}: not a character: {result['verdict']['reason']} "
            f"(the network's guesses: {guesses})")
        return
    say(f"{result['image']}: {guesses}")
    best = result["top"][0]["label"]
    if best in entries:
        say(f"  {best}: {entries[best].summary()}")


def _model_and_images(args) -> tuple[str, list[str]]:
    """(the model's file, the images): from MODEL IMAGE…, or --model NAME IMAGE…."""
    if args.model_name is not None:
        args.model = None
        return chosen_model(args), args.paths
    if len(args.paths) < 2:
        raise CLIError("give a model and at least one image: mojinet predict MODEL IMAGE… "
                       "(or --model NAME IMAGE…)")
    args.model = args.paths[0]
    return chosen_model(args), args.paths[1:]


def cmd_predict(args) -> int:
    shown = args.model_name or args.paths[0]  # the model, as the user named it
    try:
        if args.top < 1:
            raise CLIError(f"--top must be at least 1 (how many candidates to show), got "
                           f"{args.top}")
        path, images = _model_and_images(args)
        model, h = load_square_model(path, "predict")
    except (ModelFileError, CLIError, FileNotFoundError, ValueError) as e:
        if not args.json:
            raise
        say_json({"error": str(e), "model": str(shown)})
        return 1
    box = model.preprocessing.get("user_images", {}).get("box")
    entries = lookup_all(model.classes)  # readings/meanings of kana and kanji labels
    results = []
    status = 0
    for image in images:
        try:
            result = read_one(model, image, h, box, args.top, entries)
        except (ImageError, FileNotFoundError) as e:
            message = str(e) if isinstance(e, ImageError) else f"no such file ({e.strerror})"
            warn(f"{image}: error: {message}")
            results.append({"image": str(image), "error": message})
            status = 1
            continue
        results.append(result)
        if not args.json:
            _say_result(result, entries)
    if args.json:
        say_json(results)
    elif any(e.kind == "kanji" for e in entries.values()) and results:
        say(f"(readings and meanings: {DICTIONARY_CREDIT}, {DICTIONARY_CREDIT_URL})")
    return status


def add_parser(sub) -> None:
    r = sub.add_parser("predict", help="classify image files (PNG, JPEG, …) of characters")
    r.add_argument("paths", nargs="+", metavar="MODEL_OR_IMAGE",
                   help="a model file (or a shipped model's name), then image files; with "
                        "--model, only image files")
    add_model_option(r)
    r.add_argument("--top", type=int, default=3, help="how many candidates to show")
    r.add_argument("--json", action="store_true",
                   help="print JSON instead of text (errors too, as {\"error\": …} objects)")
    r.set_defaults(func=cmd_predict)
