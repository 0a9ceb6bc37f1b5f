"""The kernels run compiled by numba or, with NUMBA_DISABLE_JIT=1, as plain Python (the
same code); the cache of compiled kernels follows every source of the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from trucesim.numerics import jit

PACKAGE = Path(jit.__file__).resolve().parent.parent
RUN_SMALL = """
import sys
from trucesim import simulate
from trucesim.scenario.schema import Scenario
s = Scenario.parse({"name": "t", "start": "2020-01-01", "end": "2020-03-31",
    "world": {"cliques": 40, "burn_in_days": 10},
    "mechanisms": {"police_gang_retaliation": sys.argv[2] == "on"},
    "events": [{"date": "2020-02-01", "kind": "split", "gang": "MS13", "faction": "F",
                "share": 0.5}],
    "phases": [{"start": "2020-01-01", "regime": "baseline"},
               {"start": "2020-02-15", "regime": "truce"}]}, "t")
simulate(s, seed=5).to_parquet(sys.argv[1])
"""


def _run(code: str, *args: str, env: dict | None = None, path: Path | None = None):
    environment = {**os.environ, **(env or {})}
    if path is not None:
        environment["PYTHONPATH"] = str(path)
    return subprocess.run([sys.executable, "-c", code, *args], env=environment,
                          capture_output=True, text=True, check=True)


@pytest.mark.parametrize("retaliation", ["off", "on"])
def test_pure_python_path_gives_the_compiled_table(tmp_path, retaliation):
    """The same kernels as plain Python: the same table for a seed (numba's generator
    draws the same numbers as numpy's)."""
    _run(RUN_SMALL, str(tmp_path / "python.parquet"), retaliation,
         env={"NUMBA_DISABLE_JIT": "1"})
    _run(RUN_SMALL, str(tmp_path / "numba.parquet"), retaliation)
    python = pd.read_parquet(tmp_path / "python.parquet")
    compiled = pd.read_parquet(tmp_path / "numba.parquet")
    assert python["homicides"].sum() > 0
    pd.testing.assert_frame_equal(python, compiled)


def test_refresh_cache_follows_every_kernel_source(tmp_path):
    package = tmp_path / "pkg"
    for sub in ("core", "scenario", "cli"):
        (package / sub / "__pycache__").mkdir(parents=True)
    (package / "core" / "a.py").write_text("X = 1\n")
    (package / "scenario" / "b.py").write_text("Y = 2\n")
    (package / "cli" / "c.py").write_text("Z = 3\n")
    cached = [package / "core" / "__pycache__" / f"a.k-1.py312.{s}" for s in ("nbi", "nbc")]

    def fill():
        for f in cached:
            f.write_text("machine code")

    fill()
    assert jit.refresh_cache(package)  # no stamp yet: the cache is dropped
    assert not any(f.exists() for f in cached)
    fill()
    assert not jit.refresh_cache(package)  # sources unchanged: kept
    (package / "cli" / "c.py").write_text("Z = 4\n")  # not a kernel source: kept
    assert not jit.refresh_cache(package)
    assert all(f.exists() for f in cached)
    (package / "scenario" / "b.py").write_text("Y = 3\n")  # another module than the kernel's
    assert jit.refresh_cache(package)
    assert not any(f.exists() for f in cached)


def test_refresh_cache_follows_numba_cache_dir(tmp_path, monkeypatch):
    """With NUMBA_CACHE_DIR, numba keeps the kernels in a folder named after the source
    folder and a hash of its path: those are dropped too."""
    package = tmp_path / "pkg"
    (package / "core").mkdir(parents=True)
    (package / "core" / "a.py").write_text("X = 1\n")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    folder = jit.numba_cache_folder(package / "core" / "a.py", tmp_path / "cache")
    assert folder.parent == tmp_path / "cache" and folder.name.startswith("core_")
    folder.mkdir(parents=True)
    cached = folder / "a.k-1.py312.nbi"
    cached.write_text("machine code")
    jit.refresh_cache(package)
    cached.write_text("machine code")
    (package / "core" / "a.py").write_text("X = 2\n")
    assert jit.refresh_cache(package)
    assert not cached.exists()


def test_refresh_cache_deletes_nothing_where_it_cannot_stamp(tmp_path, monkeypatch):
    """A read-only install keeps its cache (numba's own per-file checks remain)."""
    package = tmp_path / "pkg"
    (package / "core" / "__pycache__").mkdir(parents=True)
    (package / "core" / "a.py").write_text("X = 1\n")
    cached = package / "core" / "__pycache__" / "a.k-1.py312.nbi"
    cached.write_text("machine code")

    def refuse(self, *args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(type(package), "write_text", refuse)
    assert not jit.refresh_cache(package)
    assert cached.exists()


ACTIVE_FRONTS = """
import numpy as np
from trucesim.core.day import record
from trucesim.core.model import TruceModel
from trucesim.scenario.schema import Scenario
s = Scenario.parse({"name": "t", "start": "2020-01-01", "end": "2020-03-31",
    "world": {"cliques": 40, "burn_in_days": 0},
    "phases": [{"start": "2020-01-01", "regime": "baseline"}]}, "t")
model = TruceModel(s, rng=1, agents=False)  # no day simulated: only the kernels used below
fronts = model.state.fronts
count = fronts.count[0]
fronts.last_killing[:count] = np.where(np.arange(count) % 2, 25, 0)  # half killed today
record(model.daily[25], model.gang_daily[25], 25, model.state, False, False)
print(count, model.daily[25].active_fronts)
"""


def test_a_changed_constant_is_applied_by_the_cached_kernels(tmp_path):
    """Change a constant that a cached kernel imports from another module (the active
    window of ``core/metrics.py``, read by ``core/day.py``'s ``record``): the next run
    applies it. numba alone checks only ``day.py`` and would load the stale kernel."""
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "trucesim",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {"NUMBA_CACHE_DIR": ""}  # numba's cache beside the copy's sources
    first = _run(ACTIVE_FRONTS, path=copy, env=env).stdout.split()
    again = _run(ACTIVE_FRONTS, path=copy, env=env).stdout.split()
    metrics = copy / "trucesim" / "core" / "metrics.py"
    metrics.write_text(metrics.read_text().replace("ACTIVE_WINDOW = 30", "ACTIVE_WINDOW = 1"))
    changed = _run(ACTIVE_FRONTS, path=copy, env=env).stdout.split()
    count = int(first[0])
    assert count > 10
    assert int(first[1]) == int(again[1]) == count  # window 30: every front is active
    assert int(changed[1]) == count // 2  # window 1: only those with a killing today
