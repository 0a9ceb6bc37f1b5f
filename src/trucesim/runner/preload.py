"""Imported by the local process pool's fork server before it forks any worker
(:func:`trucesim.runner.backends.open_backend`): the run's code, and the day's kernels.

Importing this module runs :func:`load_kernels` once, in the fork server. A worker is a
fork of it, so it starts with the kernels' machine code in memory instead of loading it
from numba's cache itself (about 0.7 s a worker: a second sweep of 8 tiny runs on 2
workers in one process took 0.88-0.94 s, and 0.16-0.21 s with the kernels loaded in the
fork server, 2026-12-08). From an empty cache the fork server compiles them, once, where
each worker would have waited for one of them to.
"""

from __future__ import annotations

import datetime as dt

import trucesim.runner.tasks  # noqa: F401  (the code every run needs)


def load_kernels() -> None:
    """Run two days of a three-clique world: every kernel of the day is then loaded
    (from numba's cache, or compiled) in this process."""
    from trucesim.api import simulate
    from trucesim.scenario.schema import Scenario

    simulate(Scenario.parse({"name": "warm-up", "start": dt.date(2020, 1, 1),
                             "end": dt.date(2020, 1, 2), "world": {"cliques": 3},
                             "phases": [{"start": dt.date(2020, 1, 1),
                                         "regime": "baseline"}]}, "warm-up"))


try:
    load_kernels()
except Exception:  # noqa: BLE001 - the fork server must start: each worker loads them then
    pass
