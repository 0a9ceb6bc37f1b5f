"""A sweep killed with SIGKILL part-way, then rerun, ends as if never interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from trucesim.cli.main import main
from trucesim.runner import run_experiment
from trucesim.runner.store import TIMING_COLUMNS

from .sweep_support import write_tiny

REPLICATES = 6
RUNS = 4 * REPLICATES


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _group_running(pgid: int) -> bool:
    """Whether a process of group ``pgid`` has not exited. An exited process whose parent
    (the killed sweep) is gone stays a zombie until init reaps it, which took about 2 s
    more here: :func:`_group_alive` counts it, this does not."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


@pytest.mark.slow
def test_sigkill_then_resume_runs_everything_exactly_once(tmp_path, capsys):
    path = write_tiny(tmp_path, replicates=REPLICATES)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "trucesim.cli.main", "sweep", str(path), "--workers", "2",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / "records").glob("p*.json"))) >= 5:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)  # the sweep process only, as the OOM killer would
        proc.wait()
        # The workers notice their parent is gone and exit by themselves.
        deadline = time.monotonic() + 15
        while _group_running(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _group_running(proc.pid), "worker processes outlived the killed sweep"
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)

    done_before = len(list((out / "records").glob("p*.json")))
    assert 5 <= done_before < RUNS
    assert not (out / "runs.parquet").exists()  # only written when a session ends

    # The same command again, in this process (a new process only added its start-up).
    capsys.readouterr()
    code = main(cmd[3:])
    rerun = capsys.readouterr()
    assert code == 0, rerun.err
    assert f"skipped {done_before} already done" in rerun.out

    runs = pd.read_parquet(out / "runs.parquet")
    assert runs["run_id"].is_unique and len(runs) == RUNS
    assert (runs["status"] == "ok").all() and (runs["attempts"] == 1).all()
    parts = sorted(p.stem for p in (out / "daily").glob("*.parquet"))
    assert parts == sorted(runs["run_id"])
    assert not [p for p in out.rglob(".*.tmp")]  # no temporary files left
    assert not list(tmp_path.glob(".*.lock"))  # the stale lock was taken over and released

    with ThreadPoolExecutor(2) as pool:
        run_experiment(path, pool, out=tmp_path / "clean", progress=False)
    clean = pd.read_parquet(tmp_path / "clean" / "runs.parquet")
    pd.testing.assert_frame_equal(runs.drop(columns=list(TIMING_COLUMNS)),
                                  clean.drop(columns=list(TIMING_COLUMNS)))
    for rid in ("p00000-r0000", runs["run_id"].iloc[-1]):
        pd.testing.assert_frame_equal(pd.read_parquet(out / "daily" / f"{rid}.parquet"),
                                      pd.read_parquet(tmp_path / "clean" / "daily" /
                                                      f"{rid}.parquet"))
