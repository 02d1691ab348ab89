"""``mojinet models``: the models that ship with mojinet (``mojinet.models``), and ``--model NAME``
for the commands that read a model."""

from __future__ import annotations

from ..models import SHIPPED, model_path
from .printer import CLIError, say


def chosen_model(args) -> str:
    """The model a command reads: ``--model NAME`` or its MODEL argument (a file or a name)."""
    given = [m for m in (getattr(args, "model", None), getattr(args, "model_name", None)) if m]
    if len(given) > 1:
        raise CLIError(f"give the model once: as MODEL or as --model, not both ({given[0]!r}, "
                       f"{given[1]!r})")
    if not given:
        raise CLIError("which model? Give a model file or --model NAME (`mojinet models` lists "
                       "the shipped ones)")
    return str(model_path(given[0]))


def add_model_option(p) -> None:
    p.add_argument("--model", dest="model_name", metavar="NAME",
                   help="a model that ships with mojinet (`mojinet models`), e.g. chapter, "
                        "hiragana, kanji")


def cmd_models(args) -> int:
    aliases = {}
    for name, entry in SHIPPED.items():
        if name != entry.name:
            aliases.setdefault(entry.name, []).append(name)
    for entry in {e.name: e for e in SHIPPED.values()}.values():
        also = f" (also: {', '.join(aliases[entry.name])})" if entry.name in aliases else ""
        say(f"{entry.name}{also}: {entry.reads}")
        acc = entry.accuracy
        if entry.built and acc:
            lo, hi = acc["ci95"]
            say(f"  {acc['accuracy']:.2%} on {acc['split']} ({acc['correct']:,} of {acc['n']:,}; "
                f"95% CI {lo:.2%}–{hi:.2%}); rebuild: mojinet train --config {entry.name}")
            for r in entry.real:
                lo, hi = r["ci95"]
                say(f"  {r['accuracy']:.2%} on real handwriting, {r['set']} ({r['correct']:,} "
                    f"of {r['n']:,}; 95% CI {lo:.2%}–{hi:.2%}; never trained on)")
            if entry.real_note:
                say(f"  real handwriting: {entry.real_note}")
        else:
            say(f"  not built in this installation (python tools/build_models.py {entry.name}, or "
                f"mojinet train --config {entry.name})")
        say(f"  licence: {entry.licence}")
    return 0


def add_parser(sub) -> None:
    m = sub.add_parser("models", help="the trained models that ship with mojinet")
    m.set_defaults(func=cmd_models)
