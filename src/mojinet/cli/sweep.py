"""``mojinet sweep``: choose run options by experiment (Optuna), on one machine or many.

The base config is a preset (``--preset``, default chapter) or a config file (``--config``);
the train options given (``--limit``, ``--epochs``, ``--activation`` …) change it; ``--space``
says which fields vary (``sweep/space.py``). The sweep chooses on a validation split: without
``--validation N`` it holds out 10,000 training images (a sixth of ``--limit`` when limited).
"""

from __future__ import annotations

import argparse

from ..config import ConfigError, RunConfig, read_config
from ..presets import DEFAULT as DEFAULT_PRESET
from ..presets import PRESETS
from . import train
from .common import use_draw_workers
from .printer import CLIError, say

DEFAULT_VALIDATION = 10_000
# sweep.study's SAMPLERS and PRUNERS, named here so that building the parser needs no Optuna
# (tests/test_sweep.py checks they agree).
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "halving", "none")


class _Unset:
    """The default of the train flags under sweep: not given (the base config's value holds)."""

    def __repr__(self) -> str:
        return "the base config's"


UNSET = _Unset()


def _config_dests() -> dict:
    """{dest: default} of the train flags of RunConfig fields."""
    p = argparse.ArgumentParser(add_help=False)
    train.add_config_flags(p, RunConfig())
    return vars(p.parse_args([]))


def base_of(args) -> RunConfig:
    """The base config: --config's or --preset's, changed by the train options given."""
    if args.config is not None and args.preset is not None:
        raise ConfigError("give --config FILE or --preset NAME, not both")
    base = (read_config(args.config) if args.config is not None
            else PRESETS[args.preset or DEFAULT_PRESET].config)
    full = {d: getattr(base, d) if hasattr(base, d) else None for d in _config_dests()}
    full["dropout"] = list(base.dropout) if any(base.dropout) else None
    given = {k: v for k, v in vars(args).items() if k in full and v is not UNSET}
    ns = argparse.Namespace(**{**full, **given}, preset=base.preset, base=base)
    # Trials are saved in the sweep's folder only: never where the base config would save.
    config = train.config_from_args(ns).replace(out=None)
    if "validation" in given:
        if not config.validation:
            raise ConfigError("a sweep chooses on a validation split, never the test set: "
                              "give --validation N with N > 0")
        return config
    if config.validation:
        return config
    n = config.limit // 6 if config.limit else DEFAULT_VALIDATION
    return config.replace(validation=max(1, n))


def cmd_sweep(args) -> int:
    import optuna

    from ..sweep import Sweep, SweepError, parse_space, read_space, run_sweep
    from ..sweep.space import grid

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the sweep prints its own lines

    base = base_of(args)
    if args.draw_workers is not UNSET:  # a train option that is not part of the config
        use_draw_workers(args)
    space = read_space(args.space) if args.space.endswith(".toml") else parse_space(args.space)
    if args.sampler == "grid":
        grid(space)  # lists only: say so before anything starts
    sweep = Sweep(base, space, args.out_dir, args.study, args.storage, args.sampler,
                  args.pruner, args.prune_from, args.trials, args.timeout, args.jobs,
                  args.sampler_seed)
    say(f"Base: preset {base.preset}, hidden {list(base.hidden)}, {base.activation}/"
        f"{base.output_activation}, {base.cost}, {base.epochs} epochs, limit {base.limit or 'none'}"
        f", choosing on {base.validation:,} validation images")
    try:
        report = run_sweep(sweep, log=say, progress=args.progress, top=args.top)
    except KeyboardInterrupt:
        where = args.storage or f"{args.out_dir}/study.journal"
        say(f"\nInterrupted; the finished trials are kept in {where}: run the same command "
            f"to carry on")
        return 130
    except SweepError as e:
        raise CLIError(str(e)) from e
    say("")
    say(report.table)
    if report.best is not None:
        say(f"Best config: {report.best} (rerun: mojinet train --config {report.best})")
    say(f"Figures and table: {args.out_dir}/index.html, trials: {args.out_dir}/trials.csv")
    return 0


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def add_parser(sub) -> None:
    s = sub.add_parser("sweep", help="choose hyperparameters by experiment (Optuna): search a "
                                     "space of run options, report the best",
                       description=__doc__.split("\n\n")[1])
    s.set_defaults(func=cmd_sweep)
    s.add_argument("--space", required=True, metavar="SPACE",
                   help='what varies: "hidden=16..1024:log layers=1..3 eta=0.01..5:log '
                        'activation=relu,tanh", or a TOML file (docs/sweeps.md)')
    s.add_argument("--out", dest="out_dir", default="sweep", metavar="DIR",
                   help="results folder (and the study's journal file)")
    s.add_argument("--study", default="mojinet", metavar="NAME", help="the study's name")
    s.add_argument("--storage", metavar="URL",
                   help="share a study between machines: postgresql://user:pw@host/db (or any "
                        "URL Optuna takes); default: the journal file DIR/study.journal")
    s.add_argument("--sampler", default="tpe", choices=SAMPLERS)
    s.add_argument("--pruner", default="median", choices=PRUNERS,
                   help="stop poor trials early on their per-epoch validation accuracy")
    s.add_argument("--prune-from", type=_positive, default=1, metavar="EPOCH",
                   help="prune no trial before this epoch (for schedules that pay off late)")
    s.add_argument("--trials", type=_positive, default=20, metavar="N",
                   help="run until the study holds N finished or pruned trials")
    s.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="start no new trial after this many seconds")
    s.add_argument("--jobs", type=_positive, default=1, metavar="N",
                   help="trials in parallel, in N processes sharing the cores")
    s.add_argument("--sampler-seed", type=int, default=0, metavar="N")
    s.add_argument("--top", type=_positive, default=5, metavar="K",
                   help="the best K trials are test-scored and tabled")
    s.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: only on a terminal)")
    train.add_base_flags(s, RunConfig())
    train.add_config_flags(s, RunConfig())
    s.set_defaults(**dict.fromkeys(_config_dests(), UNSET), preset=None)
