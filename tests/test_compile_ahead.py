"""Compiling ahead (``trucesim.cli.warm``): the kernels a run calls are noted with their
argument types without compiling anything, and two processes compiling the same kernels
compile each one once (a lock per kernel, ``trucesim.numerics.jit``)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numba
import pytest

from trucesim.cli import warm
from trucesim.numerics import jit

PACKAGE = {
    "__init__.py": "",
    "c.py": "from trucesim.numerics.jit import kernel\n\n\n@kernel\ndef scale(x):\n"
            "    return 2.0 * x\n",
    "a.py": "from lockpkg import c\nfrom trucesim.numerics.jit import kernel\n\n\n"
            "@kernel(inline=True)\ndef offset(x):\n    return x + 1.0\n\n\n"
            "@kernel\ndef total(x, n):\n    return c.scale(x) + offset(x) * n\n",
}
CALL_TOTAL = """
import json, sys
print("ready", flush=True)
from lockpkg import a, c
value = a.total(1.5, 2)
print(json.dumps({"value": value, "scale": sum(c.scale.callee.stats.cache_misses.values()),
                  "total": sum(a.total.stats.cache_misses.values())}))
"""


@pytest.fixture
def lockpkg(tmp_path, monkeypatch):
    """A small kernel package (``a.total`` calls ``c.scale`` and inlines ``a.offset``),
    importable here and in a subprocess, cached beside its sources."""
    package = tmp_path / "lockpkg"
    package.mkdir()
    for name, text in PACKAGE.items():
        (package / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] == "lockpkg"]:
        monkeypatch.delitem(sys.modules, name)
    a, c = importlib.import_module("lockpkg.a"), importlib.import_module("lockpkg.c")
    return tmp_path, a, c


def test_record_calls_notes_each_kernel_and_its_types_without_compiling(lockpkg):
    _, a, c = lockpkg
    total, scale = a.total, c.scale
    calls = jit.record_calls([a, c], lambda: a.total(1.5, 2))
    assert calls == [(total, (numba.float64, numba.int64)), (scale, (numba.float64,))]
    assert not total.overloads and not scale.overloads  # ran as Python: nothing compiled
    assert a.total is total and c.scale is scale and a.offset.py_func  # restored
    for kernel, sig in reversed(calls):  # what compiling ahead does: as kernels call them
        kernel.callee.compile(sig)
    assert not scale.overloads  # called only from a kernel: no code with Python's wrapper
    assert total(1.5, 2) == 2 * 1.5 + 2.5 * 2
    assert sum(scale.callee.stats.cache_misses.values()) == 1  # not again for total


def test_compile_ahead_compiles_the_code_kernels_call(lockpkg, monkeypatch):
    """Compiling ahead compiles each kernel the day calls as kernels call it (its twin
    without Python's wrapper), which the command then links instead of compiling."""
    _, a, c = lockpkg
    calls = jit.record_calls([a, c], lambda: a.total(1.5, 2))
    monkeypatch.setattr(warm, "day_calls", lambda: calls)
    assert warm.compile_ahead() == 2
    assert not c.scale.overloads and c.scale.callee.overloads
    assert a.total(1.5, 2) == 2 * 1.5 + 2.5 * 2
    assert sum(c.scale.callee.stats.cache_misses.values()) == 1  # not again for total


def _opens(process: subprocess.Popen, path: str) -> bool:
    """Wait until ``process`` has the file ``path`` open (it has reached the lock);
    False where /proc does not show a process's open files."""
    fds = Path(f"/proc/{process.pid}/fd")
    if not fds.is_dir():
        return False
    target = os.path.realpath(path)
    deadline = time.monotonic() + 30  # a safety bound: it reaches the lock in about 1 s
    while process.poll() is None and time.monotonic() < deadline:
        for fd in fds.iterdir():
            try:
                if os.path.realpath(fd) == target:
                    return True
            except OSError:  # closed meanwhile
                pass
        time.sleep(0.02)
    return True  # ended or past the bound: the assertion after the wait reports it


def test_a_kernel_another_process_is_compiling_is_loaded_not_compiled_again(lockpkg):
    """This process holds ``c.scale``'s lock (as a process compiling it would): the other
    process, calling ``a.total``, cannot finish before the lock is released, then loads
    ``c.scale`` from the cache instead of compiling it a second time."""
    root, a, c = lockpkg
    lock = c.scale.callee._cache._cache_file._index_path + ".lock"
    Path(lock).parent.mkdir(parents=True, exist_ok=True)
    jit._acquire(lock)
    try:
        other = subprocess.Popen(
            [sys.executable, "-c", CALL_TOTAL], stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path]),
                 "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", "")})
        assert other.stdout.readline().strip() == "ready"
        if not _opens(other, lock):  # no /proc: give it time to reach the lock
            with pytest.raises(subprocess.TimeoutExpired):
                other.wait(timeout=3)  # it waits for the lock (it would finish in about 1 s)
        assert other.poll() is None  # at the lock (or past it, were it not held): waiting
        c.scale.callee.compile((numba.float64,))  # this process compiles and saves it
    finally:
        jit._release(lock)
    out, _ = other.communicate(timeout=120)
    result = json.loads(out.splitlines()[-1])
    assert result == {"value": 8.0, "scale": 0, "total": 1}


def test_compile_ahead_is_off_when_switched_off_busy_cached_or_not_compiling(monkeypatch):
    monkeypatch.setattr(jit, "kernel_cached", lambda kernel: False)  # an empty cache
    monkeypatch.setattr(warm.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(warm, "busy_cores", lambda cpus: 0.1)
    monkeypatch.setenv(warm.SWITCH, "1")
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    assert warm.enabled()
    monkeypatch.setenv(warm.SWITCH, "0")
    assert not warm.enabled() and warm.start() is None
    monkeypatch.setenv(warm.SWITCH, "1")
    monkeypatch.setattr(warm, "busy_cores", lambda cpus: 0.6)  # the other core busy
    assert not warm.enabled()
    monkeypatch.setattr(warm, "busy_cores", lambda cpus: 0.1)
    monkeypatch.setattr(warm.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert not warm.enabled()  # one core
    monkeypatch.setattr(warm.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert warm.enabled()
    monkeypatch.setattr(jit, "kernel_cached", lambda kernel: True)
    assert not warm.enabled()  # the day is cached
    monkeypatch.setattr(jit, "kernel_cached", lambda kernel: False)
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "1")
    assert not warm.enabled()


def test_busy_cores_is_what_other_processes_use_now_not_the_last_minute(monkeypatch):
    """Busy ticks over all ticks of the cores this process may run on, while it sleeps,
    times their number; the load average (less this process) only where the system does
    not count ticks."""
    if os.path.exists("/proc/stat"):  # the real counters: busy ticks among all of them
        busy, total = warm.cpu_times()
        assert 0 < busy < total
        one = warm.cpu_times({0})
        assert one is not None and one[1] < total  # one core's ticks, not every core's
    ticks = iter([(100, 1000), (150, 1100)])  # half of each core busy in the sample
    monkeypatch.setattr(warm, "SAMPLE_S", 0.0)
    monkeypatch.setattr(warm, "cpu_times", lambda cpus: next(ticks))
    monkeypatch.setattr(warm.os, "getloadavg", lambda: (3.0, 3.0, 3.0))  # lagging
    assert warm.busy_cores({0, 1}) == pytest.approx(1.0)
    monkeypatch.setattr(warm, "cpu_times", lambda cpus: None)
    assert warm.busy_cores({0, 1}) == pytest.approx(2.0)


def test_the_day_calls_the_kernels_it_is_built_from():
    """The day's calls, noted as Python: the mechanisms' kernels, nothing compiled."""
    from trucesim.core.day import record, simulate_days

    before = {k: len(k.overloads) for k in (record, simulate_days)}
    calls = warm.day_calls()
    names = {f"{k.py_func.__module__}.{k.py_func.__name__}" for k, _ in calls}
    assert {"trucesim.core.day.simulate_days", "trucesim.mechanisms.violence.front_killings",
            "trucesim.mechanisms.policing.act", "trucesim.core.day.apply_events"} <= names
    assert {simulate_days, record} <= {k for k, _ in calls}
    assert {k: len(k.overloads) for k in (record, simulate_days)} == before
    assert all(isinstance(t, numba.types.Type) for _, sig in calls for t in sig)


def test_the_helper_imports_the_kernels_packages_only():
    """Compiling ahead imports every module of the kernels' packages and nothing of the
    application (the calibration's pandas-heavy validation, the plots): the helper starts
    compiling sooner. In a fresh interpreter."""
    code = ("import json, sys\nfrom trucesim.cli import warm\n"
            "names = [m.__name__ for m in warm.kernel_modules()]\n"
            "others = [n for n in sys.modules if n.startswith(('trucesim.calibration',"
            " 'trucesim.plots', 'matplotlib.pyplot'))]\n"
            "print(json.dumps([names, others]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    names, others = json.loads(out)
    names = set(names)
    assert {"trucesim.core", "trucesim.core.day", "trucesim.core.world",
            "trucesim.mechanisms", "trucesim.mechanisms.violence",
            "trucesim.mechanisms.sampling"} <= names
    assert all(n.startswith(warm.KERNEL_PACKAGES) for n in names)
    assert others == []


def test_kernel_digests_do_not_depend_on_the_order_they_are_computed():
    """A kernel's cache key is the same whichever kernel's digest a process computes
    first (the command from the day down, compiling ahead from its end up): an attribute
    name (``events[i].day``) is no global read (the kernel ``day``), which made a false
    cycle and a key that depended on the order."""
    dispatchers = [k for module in warm.kernel_modules() for k in vars(module).values()
                   if isinstance(k, numba.core.dispatcher.Dispatcher)
                   and k.py_func.__module__ == module.__name__]
    assert len(dispatchers) > 30
    try:
        jit.kernel_digest.cache_clear()
        forward = {k: jit.kernel_digest(k.py_func) for k in dispatchers}
        jit.kernel_digest.cache_clear()
        backward = {k: jit.kernel_digest(k.py_func) for k in reversed(dispatchers)}
    finally:
        jit.kernel_digest.cache_clear()
    assert forward == backward
