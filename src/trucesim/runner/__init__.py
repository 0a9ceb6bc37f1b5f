"""The experiment runner: parameter sweeps with replicates, on local processes or Dask.

:func:`run_experiment` plans the runs of an experiment, skips those already done in
its results folder, executes the rest through one ``concurrent.futures.Executor``,
records every run (failures with their traceback) and returns a :class:`SweepResults`.
"""

from .backends import open_backend
from .results import SweepResults, open_results
from .store import SweepStore, run_id
from .sweep import SweepReport, run_experiment

__all__ = ["SweepReport", "SweepResults", "SweepStore", "open_backend", "open_results",
           "run_experiment", "run_id"]
