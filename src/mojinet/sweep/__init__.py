"""Experiments on Optuna: ``mojinet sweep`` chooses run options by validation accuracy.

A sweep is many runs of ``runner.run``: a base ``RunConfig`` and a search space (``space.py``)
over its fields; an Optuna study (``study.py``: a local journal file or a database shared by
many machines) keeps the trials; workers (``trials.py``) train them, reporting each epoch's
validation accuracy so a pruner can stop the poor ones; ``report.py`` scores the test set once
for the chosen trials and writes the table, trials.csv, best.toml and the figures
(``plots.py``). ``run_sweep`` (``driver.py``) does it all.

Needs the ``sweep`` extra (``pip install 'mojinet[sweep]'``: optuna, SQLAlchemy, psycopg).
"""

from .driver import run_sweep
from .space import Choice, Range, Space, parse_space, read_space
from .trials import Sweep, SweepError

__all__ = ["Choice", "Range", "Space", "Sweep", "SweepError", "parse_space", "read_space",
           "run_sweep"]
