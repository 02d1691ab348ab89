"""``mojinet predict``: classify image files (photos, scans, drawings) of characters."""

from __future__ import annotations

from .. import engines, scores
from ..data.dictionary import CREDIT as DICTIONARY_CREDIT
from ..data.dictionary import CREDIT_URL as DICTIONARY_CREDIT_URL
from ..data.dictionary import lookup_all
from ..data.images import ImageError, load_images
from .common import load_square_model
from .models import add_model_option, chosen_model
from .printer import CLIError, say, say_json, warn


def cmd_predict(args) -> int:
    if args.top < 1:
        raise CLIError(f"--top must be at least 1 (how many candidates to show), got {args.top}")
    if args.model_name is None:  # MODEL IMAGE…: the first is the model
        if len(args.paths) < 2:
            raise CLIError("give a model and at least one image: mojinet predict MODEL IMAGE… "
                           "(or --model NAME IMAGE…)")
        args.model, images = args.paths[0], args.paths[1:]
    else:
        args.model, images = None, args.paths
    model, h = load_square_model(chosen_model(args), "predict")
    box = model.preprocessing.get("user_images", {}).get("box")
    entries = lookup_all(model.classes)  # readings/meanings of kana and kanji labels
    results = []
    status = 0
    for image in images:
        try:
            X = load_images([image], size=h, box=box)
        except (ImageError, FileNotFoundError) as e:
            warn(f"{image}: error: {e}")
            status = 1
            continue
        top = scores.candidates(model, engines.feedforward(model.network, X)[0], args.top)
        results.append({"image": str(image), "output": scores.output_kind(model.network), "top": [
            c | ({"dictionary": entries[c["label"]].to_dict()} if c["label"] in entries else {})
            for c in top]})
        if not args.json:
            kind = scores.output_kind(model.network)
            say(f"{image}: " + "  ".join(scores.describe(c, kind) for c in top))
            if top[0]["label"] in entries:
                say(f"  {top[0]['label']}: {entries[top[0]['label']].summary()}")
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
    r.add_argument("--json", action="store_true", help="print JSON instead of text")
    r.set_defaults(func=cmd_predict)
