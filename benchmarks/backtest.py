"""A case's backtest cost per origin, at a small particle count, and its extrapolation to
the target setting (the main case's default origins, about 11, x 200 particles, target
<= 15 minutes on 2 cores).

Runs ``trucesim backtest``'s work (the model's filter and both modes, and the two
baselines) at every origin into a temporary folder and prints, per origin, the model's
filter and forecast seconds and the baselines' seconds, then wall and CPU time with the
machine's load beside them. The model's cost grows linearly with the particles (each
particle is advanced over the same days), the baselines' does not: the extrapolation is
``baselines + model * target_particles / particles`` in wall time at the load measured,
and the CPU time times ``target_particles / particles``, over 2 cores, for an idle
machine (an upper bound: fixed costs are scaled too).

    .venv/bin/python benchmarks/backtest.py [CASE] [--particles 20] [--origins D1,D2,...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 15 * 60
TARGET_PARTICLES = 200


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", nargs="?", default=None)
    ap.add_argument("--particles", type=int, default=20)
    ap.add_argument("--origins", default=None)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from trucesim.cli.backtest import parse_origins
    from trucesim.cli.nowcast import get_case
    from trucesim.forecast.backtest import run_backtest
    from trucesim.forecast.baselines import FlatBaseline, NegBinBaseline
    from trucesim.forecast.model import ModelForecaster

    case = get_case(args.case)
    origins = parse_origins(args.origins, case)
    target_origins = len(parse_origins(None, case))  # the case's default origins
    as_of = case.as_of
    record = case.rows_until()
    model = ModelForecaster(case, args.particles, workers=args.workers)
    print(f"case {case.name}; cores: {os.cpu_count()}, load average before: "
          f"{os.getloadavg()[0]:.2f}; {len(origins)} origins, {args.particles} particles, "
          f"{args.workers} threads")
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
        * target_origins
    print(f"total {wall:.1f} s wall, {cpu:.1f} s CPU (CPU/wall {cpu / wall:.2f}); model "
          f"{per_origin:.1f} s wall per origin at {args.particles} particles; "
          f"{cpu / len(per):.1f} s CPU per origin (all models); load average after "
          f"{os.getloadavg()[0]:.2f}")
    print(f"projected {target_origins} origins x {TARGET_PARTICLES} particles: "
          f"{projected:.0f} s wall at this load; target {TARGET_SECONDS} s; ratio "
          f"{projected / TARGET_SECONDS:.2f}")
    # On a shared machine wall time counts the other jobs; the CPU time scaled the same
    # way (everything, fixed costs included, times the particle ratio: an upper bound)
    # and spread over the 2 cores the threads use is what the run costs on an idle one.
    idle = cpu * TARGET_PARTICLES / args.particles * target_origins / len(per) / 2
    print(f"projected from CPU time on 2 idle cores: {idle:.0f} s; target {TARGET_SECONDS} s;"
          f" ratio {idle / TARGET_SECONDS:.2f}")


if __name__ == "__main__":
    main()
