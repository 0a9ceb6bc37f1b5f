"""The simulated side of validation: replicates of a scenario's daily table."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

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


def simulate_replicates(scenario: Scenario, replicates: int, root_seed: int, pool,
                        bar: tqdm | None = None,
                        draws: ParameterDraws | None = None) -> pd.DataFrame:
    """``replicates`` runs of ``scenario`` stacked, with a ``replicate`` column and the
    columns validation uses (:func:`trucesim.api.run_replicates`: seeded as in ``run``,
    in parallel when ``pool`` is given; with ``draws``, replicate r runs posterior draw r).
    """
    from trucesim.api import run_replicates, stack

    def counted(runs):
        for run in runs:
            if bar is not None:
                bar.update()
            yield run

    return stack(counted(run_replicates(scenario, replicates, root_seed, draws=draws,
                                        pool=pool, columns=COLUMNS)), label=False)
