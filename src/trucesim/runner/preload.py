"""The module the local process pool's fork server imports before it forks any worker
(:func:`trucesim.runner.backends.open_backend`): the run's code, and the day's kernels.

Importing this module runs :func:`load_kernels` once, in the importing process: the
pool's fork server, and the test session's controller, which imports it to compile the
kernels before its workers start. A pool's worker is a fork of the fork server, so it
starts with the kernels' machine code in memory instead of loading it from numba's cache
itself (about 0.7 s a worker: a second sweep of 8 tiny runs on 2 workers in one process
took 0.88-0.94 s, and 0.14-0.21 s with the kernels loaded in the fork server,
2026-12-08). From an empty cache the fork server compiles them, once, where each worker
would have waited for one of them to; the pool's first run waits for that.

A failure here does not stop the fork server (each worker then loads the kernels
itself, and a real error shows in the runs' own records): it is kept in :data:`FAILED`
and said in one line on stderr.
"""

from __future__ import annotations

import datetime as dt
import sys

import trucesim.runner.tasks  # noqa: F401  (the code every run needs)
from trucesim.api import simulate
from trucesim.scenario.schema import Scenario

#: Why loading the kernels at import failed (None: it did not).
FAILED: str | None = None


def load_kernels() -> None:
    """Run two days of a three-clique world: every kernel of the day is then loaded
    (from numba's cache, or compiled) in this process."""
    simulate(Scenario.parse({"name": "warm-up", "start": dt.date(2020, 1, 1),
                             "end": dt.date(2020, 1, 2), "world": {"cliques": 3},
                             "phases": [{"start": dt.date(2020, 1, 1),
                                         "regime": "baseline"}]}, "warm-up"))


try:
    load_kernels()
except Exception as exc:  # noqa: BLE001 - the fork server must start all the same
    FAILED = f"{type(exc).__name__}: {exc}"
    print(f"trucesim: could not load the kernels ahead of the workers ({FAILED}); "
          "each worker loads them itself", file=sys.stderr)
