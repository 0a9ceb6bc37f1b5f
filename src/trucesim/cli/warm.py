"""Compile ahead on the other core, the first time the model runs on a machine.

numba compiles the kernels one after another in the process that first runs the day: the
day (:func:`~trucesim.core.day.simulate_days`) first types and compiles each kernel it
calls, in the order of the day. A simulating command that finds no cached machine code
starts this module in a second process (:func:`start`), which notes the kernels the day
calls and their argument types (:func:`~trucesim.numerics.jit.record_calls`, a few days
of a small world run as plain Python) and compiles them in the reverse order, into the
same cache. Each kernel is compiled by one process only (a lock per kernel,
:mod:`trucesim.numerics.jit`): the command loads what this process saved, and the two
meet in the middle. Nothing changes but the time: the cached machine code is the same.

Off with ``TRUCESIM_COMPILE_AHEAD=0``, on one core, on a machine busy with other jobs, once
the day is cached, and with ``NUMBA_DISABLE_JIT=1`` (:func:`enabled`).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pkgutil
import subprocess
import sys
import time
import types

#: The environment variable that turns compiling ahead off (``0``).
SWITCH = "TRUCESIM_COMPILE_AHEAD"
#: The kernels' packages.
KERNEL_PACKAGES = ("trucesim.core", "trucesim.mechanisms")


def kernel_modules() -> list[types.ModuleType]:
    """Every module of the kernels' packages, imported (only those: walking the whole
    package imports every subpackage, the calibration's with pandas and matplotlib,
    about 1.5 s before the helper could start compiling)."""
    modules = []
    for name in KERNEL_PACKAGES:
        package = importlib.import_module(name)
        modules.append(package)
        modules += [importlib.import_module(info.name)
                    for info in pkgutil.walk_packages(package.__path__, name + ".")]
    return modules


#: The switches others sit under (a mechanism of the leaders or the police): kept on
#: where the others are flipped, so that their branches run.
PARENT_SWITCHES = ("leaders", "police", "other_killings")


def day_calls() -> list:
    """The kernels the day calls (with their numba argument types), in the order of first
    call, as plain Python for three days on 30 cliques: the main case's scenario, then
    the day's other branches (every switch but the parents flipped under the conditional
    regime; every switch on under focused deterrence; every switch off)."""
    from trucesim.core import day
    from trucesim.core.model import TruceModel
    from trucesim.numerics.jit import record_calls
    from trucesim.scenario.load import load_scenario
    from trucesim.scenario.maincase import main_case_file
    from trucesim.scenario.regimes import PRESETS
    from trucesim.scenario.schema import Scenario

    scenario = load_scenario(main_case_file("scenario")).with_overrides(
        {"world.cliques": 30, "world.burn_in_days": 0})
    conditional = next(name for name, r in PRESETS.items() if r.conditional)

    def variant(regime: str, switch) -> Scenario:
        data = scenario.with_overrides(
            {f"mechanisms.{name}": switch(name, on) for name, on in scenario.mechanisms}
        ).to_data()
        data["phases"] = [{"start": scenario.start, "regime": regime}]
        return Scenario.parse(data, scenario.source)

    runs = [scenario,
            variant(conditional, lambda name, on: name in PARENT_SWITCHES or not on),
            variant("focused_deterrence", lambda name, on: True),
            variant("baseline", lambda name, on: False)]

    def run():
        for s in runs:
            model = TruceModel(s, rng=1, agents=False)
            day.simulate_days(model.rng, 0, 3, model.state, model.params,
                              model.timeline.schedule, model.daily, model.gang_daily)

    return record_calls(kernel_modules(), run)


def compile_ahead() -> int:
    """Compile the kernels the day calls, the last called first, as kernels call them
    (:attr:`~trucesim.numerics.jit.Kernel.callee`); returns how many. Stops when the
    process that started it is gone."""
    from trucesim.core.day import simulate_days

    parent = os.getppid()
    calls = [(k, sig) for k, sig in day_calls() if k is not simulate_days]
    for n, (kernel, sig) in enumerate(reversed(calls)):
        if os.getppid() != parent:
            return n
        kernel.callee.compile(sig)
    return len(calls)


#: How long :func:`busy_cores` watches the machine (seconds).
SAMPLE_S = 0.2


def cpu_times(cpus: set[int] | None = None) -> tuple[int, int] | None:
    """(busy, all) clock ticks since boot of the cores ``cpus`` (every core: None), from
    ``/proc/stat`` (None where there is none: not Linux)."""
    busy = total = 0
    try:
        with open("/proc/stat") as f:
            for line in f:
                name, *values = line.split()
                if not name.startswith("cpu") or name == "cpu":
                    continue
                if cpus is not None and int(name[3:]) not in cpus:
                    continue
                fields = [int(v) for v in values]
                idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle, I/O wait
                busy, total = busy + sum(fields) - idle, total + sum(fields)
    except (OSError, ValueError, IndexError):
        return None
    return (busy, total) if total else None


def busy_cores(cpus: set[int]) -> float:
    """How many of the cores ``cpus`` (those this process may run on) other processes
    keep busy now: their busy share over :data:`SAMPLE_S` seconds while this process
    sleeps, times their number; where the system gives no such figure, the last
    minute's load average less this process's one (it lags: it still reads busy for a
    minute after other work ends)."""
    cores = len(cpus)
    before = cpu_times(cpus)
    if before is not None:
        time.sleep(SAMPLE_S)
        after = cpu_times(cpus)
        if after is not None and after[1] > before[1]:
            return cores * (after[0] - before[0]) / (after[1] - before[1])
    try:
        return max(os.getloadavg()[0] - 1.0, 0.0)
    except (AttributeError, OSError):  # no load average on this system either
        return 0.0


def enabled() -> bool:
    """Whether to compile ahead: not switched off, compiling, the day not cached yet, and
    a second core that is idle (other processes keep less than half a core busy,
    :func:`busy_cores`: on a machine busy with other jobs the second process only
    competes with the first, and the first use took longer, 51-55 s against 37-40 s, at
    load 4 on 2 cores)."""
    from trucesim.core.day import simulate_days
    from trucesim.numerics.jit import first_use_note

    cpus = (os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity")
            else set(range(os.cpu_count() or 1)))
    if os.environ.get(SWITCH, "1") == "0" or len(cpus) < 2:
        return False
    if first_use_note(simulate_days) is None:  # cached, or no JIT
        return False
    return busy_cores(cpus) < 0.5


def start() -> subprocess.Popen | None:
    """Start compiling ahead in a second process (stopped when this one exits), or None
    when :func:`enabled` says no."""
    if not enabled():
        return None
    process = subprocess.Popen([sys.executable, "-m", "trucesim.cli.warm"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)

    def stop():
        with contextlib.suppress(OSError):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    atexit.register(stop)
    return process


if __name__ == "__main__":
    compile_ahead()
