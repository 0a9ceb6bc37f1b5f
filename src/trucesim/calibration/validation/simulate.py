"""The simulated side of validation: replicates of a scenario's daily table."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

import numpy as np
import pandas as pd
from tqdm import tqdm

from trucesim.scenario.schema import Scenario
from trucesim.uncertainty import ParameterDraws

#: The daily columns validation uses.
COLUMNS = ("date", "phase", "regime", "homicides", "police_killed", "gang_killed_by_police",
           "attacks_on_police",
           "disappearances", "restraint_share", "members", "prisoners")


@contextmanager
def executor(backend: str = "process", workers: int | None = None,
             scheduler: str | None = None) -> Iterator[Executor | None]:
    """The sweeps' executor (:func:`trucesim.runner.backends.open_backend`).

    One local worker means no pool at all (``None``: simulate in this process).
    """
    if backend == "process" and workers == 1 and scheduler is None:
        yield None
        return
    from trucesim.runner.backends import open_backend

    with open_backend(backend, workers, scheduler) as b:
        yield b.executor


def simulate_daily(scenario: Scenario, root_seed: int, replicate: int,
                   overrides: dict[str, float] | None = None) -> pd.DataFrame:
    """One replicate's daily table (the columns validation uses), seeded as in ``run``;
    ``overrides``: the replicate's posterior draw (dotted path -> value), if any."""
    from trucesim.api import simulate

    if overrides:
        scenario = scenario.with_overrides(overrides)
    daily = simulate(scenario, np.random.SeedSequence(root_seed, spawn_key=(replicate,)))
    daily = daily[list(COLUMNS)].copy()
    daily.insert(0, "replicate", replicate)
    return daily


def simulate_replicates(scenario: Scenario, replicates: int, root_seed: int, pool,
                        bar: tqdm | None = None,
                        draws: ParameterDraws | None = None) -> pd.DataFrame:
    """``replicates`` runs of ``scenario`` stacked (in parallel when ``pool`` is given).

    With ``draws``, replicate r runs posterior draw r (its values travel with the task).
    """
    def values(r: int) -> dict[str, float] | None:
        return None if draws is None else draws.overrides(r)

    if pool is None:
        results = (simulate_daily(scenario, root_seed, r, values(r)) for r in range(replicates))
    else:
        futures = [pool.submit(simulate_daily, scenario, root_seed, r, values(r))
                   for r in range(replicates)]
        results = (f.result() for f in futures)
    frames = []
    for daily in results:
        frames.append(daily)
        if bar is not None:
            bar.update()
    return pd.concat(frames, ignore_index=True)
