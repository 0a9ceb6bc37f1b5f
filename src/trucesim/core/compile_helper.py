"""The helper process of :mod:`trucesim.core.warmup`: run as
``python -m trucesim.core.compile_helper SCENARIO.pickle`` with
:data:`~trucesim.numerics.jit.RECORD_ENV` set, it notes the kernel calls of a small copy
of the scenario run as plain Python, then compiles them into numba's cache."""

from __future__ import annotations

import os
import pickle
import sys
from typing import Any

from trucesim.numerics.jit import CALLS, compile_calls

#: The small copy the helper runs: at most this many cliques and burn-in days, and this
#: many days after its last phase or event.
CLIQUES, BURN_IN, DAYS = 40, 2, 5


def helper(path: str) -> int:
    """The helper's work: the scenario pickled at ``path`` (deleted once read), made
    small, run for a few days as plain Python; then its kernel calls compiled. Returns
    how many calls it compiled."""
    with open(path, "rb") as fh:
        cfg = pickle.load(fh)
    os.unlink(path)
    from trucesim.core.day import simulate_days
    from trucesim.core.model import TruceModel

    small, days = _small(cfg)
    model = TruceModel(small, rng=0, agents=False)
    CALLS.clear()  # the main process compiles the state's kernels first: not noted
    for _ in range(days):
        model.step()
    return compile_calls(skip=(simulate_days,))


def _small(cfg: Any) -> tuple[Any, int]:
    """``cfg`` with at most :data:`CLIQUES` cliques and :data:`BURN_IN` burn-in days, and
    its timeline compressed: the n-th date on which a phase starts or an event happens
    moved to the n-th day, so that every phase and event comes within days (and the
    kernels each calls are noted); with how many days to run (:data:`DAYS` more). The
    argument types are those of ``cfg``: only sizes and dates differ."""
    import datetime as dt

    from trucesim.scenario.errors import ConfigError
    from trucesim.scenario.schema import Scenario

    dates = sorted({p.start for p in cfg.phases} | {e.date for e in cfg.events})
    day = {d: cfg.start + dt.timedelta(days=i) for i, d in enumerate(dates)}
    data = {**cfg.to_data(), "variants": {}, "counterfactual": None}
    data["world"]["cliques"] = min(cfg.world.cliques, CLIQUES)
    data["world"]["burn_in_days"] = min(cfg.world.burn_in_days, BURN_IN)
    short = {**data, "end": cfg.start + dt.timedelta(days=len(dates) + DAYS),
             "phases": [{**p, "start": day[p["start"]]} for p in data["phases"]],
             "events": [{**e, "date": day[e["date"]]} for e in data["events"]]}
    try:
        return Scenario.parse(short, cfg.source), len(dates) + DAYS
    except ConfigError:  # a timeline that cannot be compressed: its first days
        return Scenario.parse(data, cfg.source), min(DAYS, cfg.days)


if __name__ == "__main__":  # pragma: no cover - run by start() in its own process
    helper(sys.argv[1])
