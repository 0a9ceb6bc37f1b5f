"""ns per clique-day at 100,000 cliques with ``mechanisms.leaderless_retaliation`` off and
on (docs/model.md, mechanism 5), side by side, on the calibrated El Salvador world of
``benchmarks/run.py`` (half pre-truce, half truce; construction excluded; CPU time).

    .venv/bin/python benchmarks/leaderless.py [--cliques 100000] [--days 365] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import bench_scenario  # noqa: E402

from trucesim.core.model import TruceModel  # noqa: E402


def measure(cliques: int, days: int, on: bool, repeats: int) -> float:
    scenario = bench_scenario(cliques, days).with_overrides(
        {"mechanisms.leaderless_retaliation": on})
    best = float("inf")
    for r in range(repeats):
        model = TruceModel(scenario, rng=r, agents=False)
        c = time.process_time()
        model.run()
        best = min(best, time.process_time() - c)
    return best / (cliques * days) * 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cliques", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    TruceModel(bench_scenario(50, 10), rng=0, agents=False).run()  # load compiled kernels
    for on in (False, True, False, True):
        ns = measure(a.cliques, a.days, on, a.repeats)
        print(f"leaderless_retaliation={str(on).lower():5}  {ns:6.1f} ns per clique-day "
              f"({a.cliques:,} cliques, {a.days} days, best of {a.repeats})", flush=True)


if __name__ == "__main__":
    main()
