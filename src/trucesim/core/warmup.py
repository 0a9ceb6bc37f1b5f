"""The model's first compile on two cores: a helper process compiles half the kernels.

On a machine's first use every kernel compiles (:mod:`trucesim.numerics.jit`), one at a
time in one process: numba holds a lock while it compiles. :func:`start`, called when
the first model state is built, starts a helper process
(:mod:`trucesim.core.compile_helper`) that runs a small copy of the
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

from trucesim.numerics.jit import RECORD_ENV, jit_disabled, kernel_cached

#: Set to 1 to start the helper (off by default: see the module's docstring).
HELPER_ENV = "TRUCESIM_COMPILE_HELPER"
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
        [sys.executable, "-m", "trucesim.core.compile_helper", path],
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
