"""The March 2012 evidence for command as state, old and new command layers side by side.

    .venv/bin/python benchmarks/command_ratios.py [--replicates 16]

For the bundled El Salvador scenario at its point values, with the command layer of
issue 20 (``mechanisms.command_state`` and ``mechanisms.strategic_stance``) off (the
daily lottery, pressure by rule) and on, prints the median [5-95%] over replicates of:

* the two-week ratio: mean recorded homicides 9-22 March 2012 over 1 January-7 March
  2012 (the record: 0.41);
* the truce rate ratio: March 2012-December 2013 over January 2010-February 2012
  (Katz, Hedberg and Amaya 2016: 0.55-0.61);
* the share of cliques under pressure at the end of 2017's last simulated day (orders
  that froze) and the day-50 control of MS-13 after the transfers.

Both windows are in sample for protocol A (data up to 2013-12-31).
"""

from __future__ import annotations

import argparse
import datetime as dt

import numpy as np

from trucesim.api import simulate_variants
from trucesim.scenario.load import load_scenario

TRANSFERS = dt.date(2012, 3, 8)


def mean(df, start, end, column="homicides"):
    return float(df.loc[str(start):str(end), column].mean())


def ratios(df) -> tuple[float, float, float]:
    early = mean(df, dt.date(2012, 1, 1), TRANSFERS - dt.timedelta(days=1))
    drop = mean(df, TRANSFERS + dt.timedelta(days=1), TRANSFERS + dt.timedelta(days=14)) / early
    rate = (mean(df, dt.date(2012, 3, 1), dt.date(2013, 12, 31))
            / mean(df, dt.date(2010, 1, 1), dt.date(2012, 2, 29)))
    frozen = float(df["pressure_share"].iloc[-1])
    return drop, rate, frozen


def fmt(values) -> str:
    v = np.asarray(values)
    return f"{np.median(v):.2f} [{np.quantile(v, 0.05):.2f}, {np.quantile(v, 0.95):.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=16)
    ap.add_argument("--scenario", default="el-salvador-2010-2016")
    args = ap.parse_args()
    base = load_scenario(args.scenario)
    print(f"{'layer':<34} {'two-week (0.41)':<22} {'2012-13 (0.55-0.61)':<22} "
          f"{'pressure share, last day':<22}")
    for label, on in (("old (lottery, pressure by rule)", False),
                      ("new (command as state, strategy)", True)):
        scenario = base.with_overrides({"mechanisms.command_state": on,
                                        "mechanisms.strategic_stance": on})
        runs = simulate_variants(scenario, seed=scenario.seed, replicates=args.replicates,
                                 variants=[None])
        rows = [ratios(df.set_index("date") if "date" in df else df)
                for _, df in runs.groupby("replicate")]
        drop, rate, frozen = zip(*rows, strict=True)
        print(f"{label:<34} {fmt(drop):<22} {fmt(rate):<22} {fmt(frozen):<22}")


if __name__ == "__main__":
    main()
