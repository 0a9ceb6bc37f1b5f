"""ABC-SMC throughput of ``trucesim calibrate``: simulations per second.

Runs pyabc's ABC-SMC on calibration/el-salvador-2013.toml (protocol A: the scenario is
simulated from 2010-01-01, after its burn-in year, to 2013-12-31) with a small
population for a few generations on ``--workers`` local processes (pyabc's multicore
sampler, as ``trucesim calibrate --workers N`` uses), and prints the simulations per
second: every simulation pyabc made (the prior sample that sets the first tolerance
and each generation's proposals, accepted or not) over the wall time of the
generations, after one warm-up simulation that compiles or loads the kernels. Target:
>= 20 simulations per second on 2 cores.

Usage::

    python benchmarks/abc.py [--workers 2] [--population 100] [--generations 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calibration", type=Path, default=ROOT / "calibration" /
                   "el-salvador-2013.toml")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--population", type=int, default=100)
    p.add_argument("--generations", type=int, default=3)
    args = p.parse_args()

    from trucesim.calibration.problem import CalibrationProblem, load_calibration
    from trucesim.calibration.smc import Simulator, make_abc, open_sampler

    base = load_calibration(args.calibration)
    spec = base.spec.model_copy(update={"method": base.spec.method.model_copy(
        update={"population_size": args.population, "max_generations": args.generations})})
    problem = CalibrationProblem(spec, args.calibration.parent)
    sc = problem.scenario
    np.random.seed(spec.seed % 2**32)
    warm = Simulator(sc, problem.priors, problem.stats, spec.seed)
    t0 = time.perf_counter()
    warm.run({n: pr.quantile(0.5) for n, pr in problem.priors.items()},
             np.random.SeedSequence(0))
    print(f"warm-up (compile or load kernels): {time.perf_counter() - t0:.1f} s")
    one = time.perf_counter()
    for k in range(5):
        warm.run({n: pr.quantile(0.5) for n, pr in problem.priors.items()},
                 np.random.SeedSequence(k))
    single = 5 / (time.perf_counter() - one)
    with tempfile.TemporaryDirectory() as tmp, open_sampler("process", args.workers) as sampler:
        abc = make_abc(problem, sampler)
        abc.new(f"sqlite:///{Path(tmp) / 'history.db'}",
                {"s": np.array([s.observed for s in problem.stats])},
                meta_info={"trucesim_digest": problem.digest()})
        start = time.perf_counter()
        history = abc.run(max_nr_populations=args.generations)
        wall = time.perf_counter() - start
        pops = history.get_all_populations()
        sims = int(pops["samples"].sum())  # includes the prior sample (t = -1)
    print(f"scenario {sc.name} {sc.start} to {sc.end}, {sc.world.cliques} cliques, burn-in "
          f"{sc.world.burn_in_days} days; {len(problem.stats)} statistics")
    print(f"one process, simulations alone: {single:.1f} sims/s")
    print(f"ABC-SMC, {args.workers} workers, population {args.population}, "
          f"{args.generations} generations: {sims} simulations in {wall:.1f} s = "
          f"{sims / wall:.1f} sims/s")


if __name__ == "__main__":
    import logging

    logging.getLogger("ABC").setLevel(logging.WARNING)
    main()
