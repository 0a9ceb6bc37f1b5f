"""Sweep throughput and memory of ``trucesim sweep``.

Throughput (default): the same sweep of the default scenario (the base timeline and
the three 2016 branches of el-salvador-2016-letter, with common random numbers) on 1
and then 2 local worker processes, and with ``--scheduler`` also on that Dask cluster,
measured in one invocation; prints runs/minute for each and the speed-up. Wall times
include starting the worker pool (or connecting to the cluster), as a user experiences
them.

Memory (``--memory``): a 1,000-run sweep of the default scenario keeping every daily
column, on local workers or (``--scheduler``) a Dask cluster, sampling the resident
memory of the sweep process (the client) and of all its local workers; prints the peak
RSS and the wall time. Workers return each run's outputs and the client writes them as
they arrive, keeping at most a few runs per worker in flight, so the client's memory
does not grow with the number of runs.

Unreachable scheduler (``--unreachable``): how long ``trucesim sweep --backend dask`` takes
to refuse a scheduler address nothing listens on (target <= 15 s), beside the connect
timeout it is given.

Usage::

    python benchmarks/sweep_throughput.py [--runs 60] [--scheduler tcp://127.0.0.1:8786]
    python benchmarks/sweep_throughput.py --unreachable
    python benchmarks/sweep_throughput.py --memory [--runs 1000] [--workers 2]
                                          [--scheduler tcp://127.0.0.1:8786]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from trucesim.runner import run_experiment
from trucesim.runner.experiment import Experiment

SCENARIO = "el-salvador-2016-letter"


def experiment(runs: int, daily: bool) -> Experiment:
    """The scenario's base timeline and its three 2016 branches, ``runs // 4`` replicates each."""
    variants = {"base": {}} | {v: {"variant": v} for v in ("hardline", "truce", "dialogue")}
    data = {
        "name": "benchmark",
        "scenario": SCENARIO,
        "replicates": max(1, runs // len(variants)),
        "seed": 1,
        "design": {"method": "variants"},
        "variants": variants,
        "outcomes": {"daily": daily},
    }
    return Experiment.parse(data, "<benchmark>")


def rss_mb(pid: int) -> float:
    """Resident memory (MB) of a process and all its descendants."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1e6


class PeakSampler:
    """Samples the RSS of this process (alone, and with its workers) every 0.2 s."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.peak_self = self.peak_all = 0.0
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.is_set():
            own = self.me.memory_info().rss / 1e6
            self.peak_self = max(self.peak_self, own)
            self.peak_all = max(self.peak_all, rss_mb(os.getpid()))
            self.samples.append((time.perf_counter() - start, own))
            self._stop.wait(0.2)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def timed_sweep(exp: Experiment, workers: int, out: Path,
                scheduler: str | None = None) -> tuple[float, int, float]:
    """Wall time, runs done and the mean time a worker spent per run (on local worker
    processes, or on the Dask cluster at ``scheduler``)."""
    started = time.perf_counter()
    where = ({"backend": "dask", "scheduler": scheduler} if scheduler is not None
             else {"workers": workers})
    res = run_experiment(exp, out=out, progress=False, **where)
    elapsed = time.perf_counter() - started
    assert res.report.failed == 0, res.report.failures
    return elapsed, res.report.ran, float(res.runs["elapsed_s"].mean())


def throughput(runs: int, tmp: Path, scheduler: str | None = None) -> None:
    exp = experiment(runs, daily=False)
    print(f"sweep throughput: {SCENARIO}, {exp.runs} runs "
          f"({exp.replicates} replicates x 4 timelines), {os.cpu_count()} CPUs")
    rates = {}
    for workers in (1, 2):
        elapsed, ran, per_run = timed_sweep(exp, workers, tmp / f"w{workers}")
        rates[workers] = ran / elapsed * 60
        print(f"  {workers} worker{'s' if workers > 1 else ' '}: {ran} runs in {elapsed:6.1f} s "
              f"= {rates[workers]:6.1f} runs/minute (mean {per_run:.2f} s per run in a worker)")
    print(f"  speed-up 2 vs 1 workers: {rates[2] / rates[1]:.2f}x")
    if scheduler is not None:
        from distributed import Client

        with Client(scheduler, timeout="5s", set_as_default=False) as client:
            threads = sum(client.nthreads().values())
        elapsed, ran, per_run = timed_sweep(exp, 0, tmp / "cluster", scheduler)
        print(f"  Dask cluster {scheduler} ({threads} threads): {ran} runs in {elapsed:6.1f} s "
              f"= {ran / elapsed * 60:6.1f} runs/minute (mean {per_run:.2f} s per run in a "
              "worker)")
    print(f"  load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
          "(other jobs on the machine lower the speed-up)")


def memory(runs: int, workers: int, tmp: Path, scheduler: str | None = None) -> None:
    exp = experiment(runs, daily=True)
    out = tmp / "memory"
    with PeakSampler() as sampler:
        elapsed, ran, _ = timed_sweep(exp, workers, out, scheduler)
    parts = list((out / "daily").glob("*.parquet"))
    size = sum(p.stat().st_size for p in parts) / 1e6
    early = [rss for t, rss in sampler.samples if t < elapsed * 0.2]
    late = [rss for t, rss in sampler.samples if t > elapsed * 0.8]
    where = f"the Dask cluster {scheduler}" if scheduler else f"{workers} local workers"
    print(f"memory: {SCENARIO}, {ran} runs on {where}, every daily column kept")
    print(f"  wall time {elapsed:.1f} s ({ran / elapsed * 60:.1f} runs/minute)")
    print(f"  peak RSS: sweep process (client) {sampler.peak_self:.0f} MB; "
          f"with its local workers {sampler.peak_all:.0f} MB")
    if early and late:
        print(f"  sweep process RSS: max {max(early):.0f} MB in the first fifth, "
              f"{max(late):.0f} MB in the last fifth (bounded: no growth with runs)")
    print(f"  daily parts on disk: {len(parts)} files, {size:.1f} MB")


def unreachable(tmp: Path) -> None:
    """Time the refusal of a scheduler address nothing listens on."""
    from trucesim.cli.main import main as cli
    from trucesim.runner.backends import CONNECT_TIMEOUT_S

    exp = tmp / "exp.toml"
    exp.write_text(f'name = "unreachable"\nscenario = "{SCENARIO}"\nreplicates = 1\nseed = 1\n'
                   '[design]\nmethod = "variants"\n[variants.base]\n')
    started = time.perf_counter()
    code = cli(["sweep", str(exp), "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9",
                "--out", str(tmp / "out")])
    elapsed = time.perf_counter() - started
    target = 15.0
    print(f"unreachable scheduler: refused (exit {code}) after {elapsed:.1f} s; connect "
          f"timeout {CONNECT_TIMEOUT_S} s; target <= {target:.0f} s (ratio "
          f"{elapsed / target:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=None,
                    help="runs per sweep (default: 60; with --memory: 1000)")
    ap.add_argument("--memory", action="store_true", help="the 1,000-run memory benchmark")
    ap.add_argument("--unreachable", action="store_true",
                    help="time the refusal of an unreachable Dask scheduler")
    ap.add_argument("--workers", type=int, default=2, help="--memory: worker processes")
    ap.add_argument("--scheduler", default=None,
                    help="also (throughput) or only (--memory) run on this Dask scheduler")
    ap.add_argument("--keep", type=Path, default=None, help="keep results in this folder")
    args = ap.parse_args()
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="trucesim-bench-"))
    try:
        if args.unreachable:
            unreachable(tmp)
        elif args.memory:
            memory(args.runs or 1000, args.workers, tmp, args.scheduler)
        else:
            throughput(args.runs or 60, tmp, args.scheduler)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
