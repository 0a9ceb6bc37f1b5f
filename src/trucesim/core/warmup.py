"""The model's first compile on two cores: a helper process compiles half the kernels.

On a machine's first use every kernel compiles (:mod:`trucesim.numerics.jit`), one at a
time in one process: numba holds a lock while it compiles. :func:`start`, called when
the first model state is built, starts a helper process that runs a small copy of the
scenario, its timeline compressed into days, as plain Python, noting the argument types
of every kernel call (:class:`~trucesim.numerics.jit.Recording`), then compiles those
calls into numba's cache from the last called to the first
(:func:`~trucesim.numerics.jit.compile_calls`). The main process meanwhile compiles the
day from the first call on; each loads from the cache what the other has saved by the
time it reaches it. The helper only fills the cache: what the main process runs, and
its results, are the same with or without it.

Off unless :data:`HELPER_ENV` is 1: measured on the shared 2-core machine (load 7-8
from other processes), the main process's compile CPU fell from 56.7 to 42.4 s, but the
two processes compiled many kernels twice (a kernel one is compiling, the other compiles
too), the total CPU rose from 54 to 77 s and the wall time did not fall (205 s with the
helper, 190 s for main's serial compile; ``benchmarks/run.py``, workloads ``compile``
and ``compile_helper``). Whether it pays on an idle machine is not measured yet. It is
not started when the day is already cached, when numba is disabled or on one core; the
main process ends it at exit if it still runs.
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import tempfile
from typing import Any

from trucesim.numerics.jit import CALLS, RECORD_ENV, compile_calls, jit_disabled, kernel_cached

#: Set to 1 to start the helper (off by default: see the module's docstring).
HELPER_ENV = "TRUCESIM_COMPILE_HELPER"
#: The small copy the helper runs: at most this many cliques and burn-in days, and this
#: many days after its last phase or event.
CLIQUES, BURN_IN, DAYS = 40, 2, 5

_helper: subprocess.Popen | None = None
_decided = False


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def start(cfg: Any) -> None:
    """Start the helper for scenario ``cfg`` (a :class:`~trucesim.scenario.schema.Scenario`)
    if the day is not cached yet; at most once per process, and never in the helper."""
    global _helper, _decided
    if _decided:
        return
    _decided = True
    from trucesim.core.day import simulate_days

    if (jit_disabled() or os.environ.get(RECORD_ENV) == "1"
            or os.environ.get(HELPER_ENV) != "1" or _cores() < 2
            or kernel_cached(simulate_days)):
        return
    fd, path = tempfile.mkstemp(prefix="trucesim-warmup-", suffix=".pickle")
    with os.fdopen(fd, "wb") as fh:
        pickle.dump(cfg, fh)
    _helper = subprocess.Popen(
        [sys.executable, "-m", "trucesim.core.warmup", path],
        env={**os.environ, RECORD_ENV: "1"}, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(stop)


def stop() -> None:
    """End the helper if it still runs (the cache keeps what it has saved)."""
    if _helper is not None and _helper.poll() is None:
        _helper.terminate()
        try:
            _helper.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _helper.kill()


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
