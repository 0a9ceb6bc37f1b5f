"""One run of an experiment, as executed on a worker.

A :class:`RunTask` carries everything a run needs (the base scenario, the design
point, the seed), so that a worker process, local or on a Dask cluster, needs no
shared state. :func:`execute_run` never raises: a run that fails returns a record with
status ``failed`` and the traceback, so the sweep goes on.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trucesim.api import simulate
from trucesim.atomic import write_parquet
from trucesim.outcomes import run_summary

if TYPE_CHECKING:
    from trucesim.runner.experiment import Point
    from trucesim.scenario.schema import Scenario


@dataclass(frozen=True)
class RunTask:
    """A (design point, replicate) pair and how to store its results."""

    run_id: str
    point: Point
    replicate: int
    base: Scenario
    root_seed: int
    outcomes: tuple[str, ...]
    daily_columns: tuple[str, ...] | None = None
    daily_dir: str | None = None

    @property
    def seed_sequence(self) -> np.random.SeedSequence:
        """``SeedSequence(root_seed).spawn(R)[replicate]``: the same at every design point."""
        return np.random.SeedSequence(self.root_seed, spawn_key=(self.replicate,))

    def scenario(self) -> Scenario:
        """The scenario of this run: base, then the point's overrides, then its variant."""
        return self.point.scenario(self.base)


def simulate_run(task: RunTask) -> pd.DataFrame:
    """Simulate the run and return its daily table (deterministic in the task)."""
    return simulate(task.scenario(), seed=task.seed_sequence)


def execute_run(task: RunTask) -> dict[str, Any]:
    """Run one task; return its record (status, error, timing, kept summary outcomes).

    The daily part, if asked for, is written atomically before the record is returned,
    so a run recorded as finished always has its daily part on disk.
    """
    from trucesim.runner.experiment import keep_outcomes

    started = time.perf_counter()
    record: dict[str, Any] = {"run_id": task.run_id, "status": "ok", "error": None}
    try:
        daily = simulate_run(task)
        record["outcomes"] = keep_outcomes(run_summary(daily), list(task.outcomes))
        if task.daily_dir is not None and task.daily_columns is not None:
            write_parquet(Path(task.daily_dir) / f"{task.run_id}.parquet",
                          daily_part(daily, task.run_id, task.daily_columns))
    except Exception:  # noqa: BLE001 - any failure of a run is recorded, not raised
        record.update(status="failed", error=traceback.format_exc(), outcomes={})
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
