"""The El Salvador backtest's cost per origin, at a small particle count, and its
extrapolation to the target setting (11 origins x 200 particles, target <= 15 minutes
on 2 cores).

Runs ``trucesim backtest``'s work (the model's filter and both modes, and the two
baselines) at every origin into a temporary folder and prints, per origin, the model's
filter and forecast seconds and the baselines' seconds, then wall and CPU time with the
machine's load beside them. The model's cost grows linearly with the particles (each
particle is advanced over the same days), the baselines' does not: the extrapolation is
``baselines + model * target_particles / particles`` in wall time at the load measured,
and the CPU time times ``target_particles / particles``, over 2 cores, for an idle
machine (an upper bound: fixed costs are scaled too).

    .venv/bin/python benchmarks/backtest.py [--particles 20] [--origins 2014-01-01,...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 15 * 60
TARGET_PARTICLES = 200
TARGET_ORIGINS = 11


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--particles", type=int, default=20)
    ap.add_argument("--origins", default=None)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from trucesim.calibration.nowcast import NOWCAST_CUTOFF
    from trucesim.calibration.observed import load_observed
    from trucesim.cli.backtest import _posterior_path, parse_origins
    from trucesim.forecast.backtest import run_backtest
    from trucesim.forecast.baselines import FlatBaseline, NegBinBaseline
    from trucesim.forecast.model import ModelForecaster
    from trucesim.scenario.posterior import load_posterior

    origins = parse_origins(args.origins)
    as_of = NOWCAST_CUTOFF
    record = [r for r in load_observed() if r.end <= as_of]
    model = ModelForecaster(load_posterior(_posterior_path()), args.particles,
                            workers=args.workers)
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}; "
          f"{len(origins)} origins, {args.particles} particles, {args.workers} threads")
    t, c = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        res = run_backtest(record, origins, {"trucesim": model, "flat": FlatBaseline(),
                                             "negbin": NegBinBaseline()},
                           as_of=as_of, out=Path(tmp) / "bt", settings={}, progress=False)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    per = res.seconds.pivot_table(index="origin", columns="model", values="seconds")
    print(f"{'origin':12s} {'filter':>8s} {'policy-known':>13s} {'status-quo':>11s} "
          f"{'model':>7s} {'flat':>6s} {'negbin':>7s}  (seconds, wall)")
    for origin, row in per.iterrows():
        m = model.seconds.get(origin, {})
        print(f"{origin!s:12s} {m.get('filter', 0):8.1f} {m.get('policy-known', 0):13.1f} "
              f"{m.get('status-quo', 0):11.1f} {row['trucesim']:7.1f} {row['flat']:6.2f} "
              f"{row['negbin']:7.2f}")
    model_s = float(per["trucesim"].sum())
    base_s = float(per["flat"].sum() + per["negbin"].sum())
    per_origin = model_s / len(per)
    projected = (base_s / len(per) + per_origin * TARGET_PARTICLES / args.particles) \
        * TARGET_ORIGINS
    print(f"total {wall:.1f} s wall, {cpu:.1f} s CPU (CPU/wall {cpu / wall:.2f}); model "
          f"{per_origin:.1f} s per origin at {args.particles} particles; load average after "
          f"{os.getloadavg()[0]:.2f}")
    print(f"projected {TARGET_ORIGINS} origins x {TARGET_PARTICLES} particles: "
          f"{projected:.0f} s wall at this load; target {TARGET_SECONDS} s; ratio "
          f"{projected / TARGET_SECONDS:.2f}")
    # On a shared machine wall time counts the other jobs; the CPU time scaled the same
    # way (everything, fixed costs included, times the particle ratio: an upper bound)
    # and spread over the 2 cores the threads use is what the run costs on an idle one.
    idle = cpu * TARGET_PARTICLES / args.particles * TARGET_ORIGINS / len(per) / 2
    print(f"projected from CPU time on 2 idle cores: {idle:.0f} s; target {TARGET_SECONDS} s;"
          f" ratio {idle / TARGET_SECONDS:.2f}")


if __name__ == "__main__":
    main()
