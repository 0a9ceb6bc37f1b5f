"""The experiment runner: parameter sweeps with replicates, on local processes or Dask.

:func:`run_experiment` plans the runs of an experiment, skips those already done in
its results folder, executes the rest through one ``concurrent.futures.Executor``,
records every run (failures with their traceback) and returns a :class:`SweepResults`.
"""

from trucesim.runner.backends import open_backend
from trucesim.runner.results import SweepResults, open_results
from trucesim.runner.store import SweepStore, run_id
from trucesim.runner.sweep import SweepReport, run_experiment

__all__ = ["SweepReport", "SweepResults", "SweepStore", "open_backend", "open_results",
           "run_experiment", "run_id"]
