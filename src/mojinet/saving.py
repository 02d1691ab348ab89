"""Where a run saves its model, chosen so that no interruption can leave a worse model there.

- ``model_path(out)``: the file ``--out`` names (``.npz`` appended if missing), checked before
  any work: a folder, a device (``/dev/null``) or a pipe, a missing or read-only folder, a name
  too long are ``ConfigError``s that say what to give instead.
- ``checkpoint_path(path)``: where the run writes its epochs. A new file: ``path`` itself. When
  ``path`` already holds a model (trained, or an unfinished run), the epochs go *beside* it, to
  ``NAME.unfinished.npz``, and ``path`` is replaced only by the finished model — so Ctrl-C,
  ``kill -9`` or a full disk at any moment leaves the earlier model untouched. A file at
  ``path`` that is not a model, or an unfinished run already beside it, is never overwritten:
  the run refuses and says what to do.
- ``target_of(checkpoint, out)``: for a resumed run, the file its finished model goes to.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._files import name_problem
from .config import ConfigError
from .io import ModelFileError, load_model

__all__ = ["UNFINISHED", "beside", "checkpoint_path", "model_path", "target_of"]

UNFINISHED = ".unfinished"


def model_path(out: str | os.PathLike) -> Path:
    """The model file ``out`` names, checked: a regular file (or none yet) in a writable folder."""
    given = Path(out)
    for path in dict.fromkeys([given, given if given.suffix == ".npz"
                               else given.with_name(given.name + ".npz")]):
        if path.is_dir():
            raise ConfigError(f"out: {path} is a folder; give a file name, e.g. "
                              f"--out {path / 'model.npz'}")
        if path.exists() and not path.is_file():
            raise ConfigError(f"out: {path} is not a regular file (a device or pipe such as "
                              f"/dev/null); give the name of a .npz file to save the model in")
    problem = name_problem(path)
    if problem:
        raise ConfigError(f"out: {problem}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"out: the folder {parent} does not exist; create it first "
                          f"(mkdir -p {parent}) or save elsewhere")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"out: cannot write {path} (no permission in {parent}); save elsewhere")
    return path


def beside(path: Path) -> Path:
    """``NAME.unfinished.npz`` for ``NAME.npz``: where a run saves while ``path`` is taken."""
    return path.with_name(path.stem + UNFINISHED + path.suffix)


def checkpoint_path(path: Path) -> tuple[Path, str | None]:
    """(where this new run saves its epochs, a line saying so, or None when that is ``path``)."""
    if not path.exists():
        return path, None
    try:
        status = load_model(path).training.get("status", "trained")
    except ModelFileError as e:
        raise ConfigError(f"out: {path} exists and is not a model this mojinet can read ({e}); "
                          f"it is not overwritten: move it away or choose another --out") from e
    side = beside(path)
    if side.exists():
        raise ConfigError(f"out: {path} holds a model and {side} an unfinished run beside it; "
                          f"carry that run on (mojinet train --resume {side}), or delete it to "
                          f"start a new one")
    return side, (f"{path} already holds a model ({status}): this run saves its epochs to {side} "
                  f"and replaces {path} only once it has finished")


def target_of(checkpoint: Path, out: str | None) -> Path:
    """Where a resumed run's finished model goes: its recorded ``out`` when ``checkpoint`` is the
    file beside it, else the checkpoint itself."""
    if out is not None:
        target = Path(out) if Path(out).suffix == ".npz" else Path(out + ".npz")
        if beside(target).resolve() == checkpoint.resolve():
            return target
    return checkpoint
