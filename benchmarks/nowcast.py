"""The nowcast's costs: a particle copy at 600 cliques (target <= 50 ms), how long a thread
running Python stalls while another runs the compiled days (target: under half the days'
wall time, the kernels release the GIL), a 1,000-particle bootstrap filter
from 2010-01-01 to 2016-07-14 (target <= 120 s on 2 cores), and the main job (filter and
the three 2016-letter branches to 2017-12-31, default particles; target <= 60 s after the
first compile). Wall and CPU time, with the machine's load beside them (the filter
advances particles in threads: CPU / wall shows how many cores it really had).

    .venv/bin/python benchmarks/nowcast.py [--particles 1000] [--main-particles 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def gil_stall(p, timeline, record) -> None:
    """While a worker thread runs the compiled days, this thread keeps running Python:
    its longest stall beside the worker's wall time (about 1 if the GIL were held)."""
    import threading

    worker = threading.Thread(target=p.advance, args=(timeline.days, record))
    started = time.perf_counter()
    last, gap = started, 0.0
    worker.start()
    while worker.is_alive():
        now = time.perf_counter()
        gap, last = max(gap, now - last), now
    worker.join()
    wall = time.perf_counter() - started
    print(f"longest stall of a Python thread while another runs {timeline.days} days: "
          f"{gap * 1e3:.1f} ms of {wall * 1e3:.0f} ms (ratio {gap / wall:.2f}; target < 0.5)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--particles", type=int, default=1000)
    ap.add_argument("--main-particles", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from trucesim.calibration.nowcast import read_posterior, run_filter
    from trucesim.core.particle import Particle, new_record
    from trucesim.core.timeline import compile_timeline
    from trucesim.scenario.load import load_scenario

    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    sc = load_scenario("el-salvador-2010-2016")
    tl = compile_timeline(sc)
    rec = new_record(sc.world.burn_in_days + tl.days, len(sc.gang_names))
    t = time.perf_counter()
    p = Particle.start(sc, np.random.default_rng(1), tl, rec)  # compiles on first use
    print(f"first particle (compile if not cached): {time.perf_counter() - t:.1f} s")
    p.advance(2000, rec)
    t = time.perf_counter()
    for _ in range(1000):
        p.copy()
    per_copy = (time.perf_counter() - t) / 1000
    print(f"particle copy at {sc.world.cliques} cliques: {per_copy * 1e6:.0f} us per copy "
          f"(target <= 50,000 us; ratio {per_copy / 0.05:.4f})")
    gil_stall(Particle.start(sc, np.random.default_rng(2), tl, rec), tl, rec)

    posterior = read_posterior(None)
    for workers in sorted({1, args.workers}) if args.particles <= 200 else [args.workers]:
        t, c = time.perf_counter(), time.process_time()
        r = run_filter(args.particles, posterior=posterior, workers=workers)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        last = r.table.iloc[-1]
        print(f"filter, {args.particles} particles, {workers} thread(s), 2010-01-01..2016-07-14:"
              f" {wall:.1f} s wall, {cpu:.1f} s CPU (start {r.seconds['start']} s, periods "
              f"{r.seconds['filter']} s); 2016-07-01..14 filtered {last['filtered_mean']:.2f}"
              f"/day (5-95% {last['filtered_p05']:.1f}-{last['filtered_p95']:.1f}), record 14;"
              f" load average {os.getloadavg()[0]:.2f}")

    from trucesim.cli.nowcast import main_job

    with tempfile.TemporaryDirectory() as tmp:
        t, c = time.perf_counter(), time.process_time()
        main_job(args.main_particles, None, Path(tmp) / "main", workers=args.workers)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"\nmain job, {args.main_particles} particles, {args.workers} thread(s): {wall:.1f} s "
          f"wall, {cpu:.1f} s CPU; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
