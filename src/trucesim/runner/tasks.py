"""One run of an experiment, as executed on a worker.

A :class:`RunTask` carries everything a run needs (the base scenario, the design
point, the seed), so that a worker process, local or on a Dask cluster, needs no
shared state. A worker writes nothing: :func:`execute_run` returns the run's record,
with its kept daily columns as compact Arrow IPC bytes, and the client alone writes the
results folder (:mod:`trucesim.runner.store`). So workers need not see the client's disk.
:func:`execute_run` never raises: a run that fails returns a record with status
``failed`` and the traceback, so the sweep goes on.
"""

from __future__ import annotations

import functools
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trucesim.api import simulate
from trucesim.outcomes import run_summary
from trucesim.runner.store import CODE, DAILY, code_fingerprint, encode_daily
from trucesim.seeds import replicate_seed

if TYPE_CHECKING:
    from trucesim.runner.experiment import Point
    from trucesim.scenario.schema import Scenario


@dataclass(frozen=True)
class RunTask:
    """A (design point, replicate) pair and which of its outputs to keep."""

    run_id: str
    point: Point
    replicate: int
    base: Scenario
    root_seed: int
    outcomes: tuple[str, ...]
    daily_columns: tuple[str, ...] | None = None
    #: Posterior draw of this replicate (None without a posterior) and its values,
    #: carried in the task: a worker reads no posterior file.
    draw: int | None = None
    parameters: tuple[tuple[str, float], ...] = ()

    @property
    def seed_sequence(self) -> np.random.SeedSequence:
        """:func:`~trucesim.seeds.replicate_seed`: the same at every design point."""
        return replicate_seed(self.root_seed, self.replicate)

    def scenario(self) -> Scenario:
        """The scenario of this run: base, then the posterior draw's values, then the
        point's overrides, then its variant."""
        base = self.base.with_overrides(dict(self.parameters)) if self.parameters else self.base
        return self.point.scenario(base)


def simulate_run(task: RunTask) -> pd.DataFrame:
    """Simulate the run and return its daily table (deterministic in the task)."""
    return simulate(task.scenario(), seed=task.seed_sequence)


@functools.cache
def running_code() -> str:
    """Fingerprint of the trucesim code in this process (computed once per process);
    every record carries it, so a sweep refuses workers running other code."""
    return code_fingerprint()


def execute_run(task: RunTask) -> dict[str, Any]:
    """Run one task; return its record (status, error, timing, kept summary outcomes).

    Writes no file. The record holds the fingerprint of the code that ran it under
    :data:`~trucesim.runner.store.CODE` and, when the task keeps daily columns and the
    run finished, those columns under :data:`~trucesim.runner.store.DAILY` (encoded by
    :func:`~trucesim.runner.store.encode_daily`).
    """
    from trucesim.runner.experiment import keep_outcomes

    started = time.perf_counter()
    record: dict[str, Any] = {"run_id": task.run_id, "status": "ok", "error": None,
                              CODE: running_code()}
    try:
        daily = simulate_run(task)
        record["outcomes"] = keep_outcomes(run_summary(daily), list(task.outcomes))
        if task.daily_columns is not None:
            record[DAILY] = encode_daily(daily_part(daily, task.run_id, task.daily_columns))
    except Exception:  # noqa: BLE001 - any failure of a run is recorded, not raised
        record.update(status="failed", error=traceback.format_exc(), outcomes={})
        record.pop(DAILY, None)
    record["elapsed_s"] = round(time.perf_counter() - started, 4)
    return record


def daily_part(daily: pd.DataFrame, run_id: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """The stored daily columns of one run, with a leading ``run_id`` column.

    Categorical columns become plain strings so that parts of runs with different
    phases read back as one table.
    """
    part = daily[[c for c in columns if c in daily.columns]].copy()
    for col in part.columns:
        if isinstance(part[col].dtype, pd.CategoricalDtype):
            part[col] = part[col].astype(str)
    part.insert(0, "run_id", run_id)
    return part

