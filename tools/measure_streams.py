"""Measure the composition of killings and the prison stock on the bundled El Salvador
scenario (point values, no posterior), over replicates (issue 20, items 3 and 4).

    python tools/measure_streams.py [--replicates 16] [--off]

Prints, as means over replicates (and the 5-95% range over replicates where it says so):

* killings per day by stream before the truce (2011): civilian, non-gang floor,
  gang-on-gang, gang members killed by police, police killed;
* the share of recorded victims who are gang members, 2014-01-01 to 2015-09-15
  (the statistic of :mod:`trucesim.calibration.observed`; needs the ``gang_member_victims``
  column, so only where the model records it);
* gang members in prison in May 2013, on 30 April 2015 and on 31 December 2017 (the
  scenario extended to the end of 2017 under the extraordinary measures), and arrests
  per day January-April 2016;
* how much a sustained rise of police deterrence (every phase's ``deterrence`` + 0.5
  from 2010) lowers recorded homicides in 2011 (paired replicates).

``--off`` turns off the switches of issue 20 items 3 and 4 (the model before them).
"""

from __future__ import annotations

import argparse

import numpy as np

from trucesim.api import simulate
from trucesim.scenario.load import load_scenario
from trucesim.scenario.params import Mechanisms

NEW_SWITCHES = [m for m in ("extortion_killings", "deterrence_all_streams", "prison_terms")
                if m in Mechanisms.model_fields]


def main() -> None:
    """Run the measurement and print it."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=16)
    ap.add_argument("--off", action="store_true", help="switches of items 3 and 4 off")
    args = ap.parse_args()

    base = load_scenario("el-salvador-2010-2016")
    overrides: dict = {"end": "2017-12-31"}
    if args.off:
        overrides.update({f"mechanisms.{m}": False for m in NEW_SWITCHES})
    scen = base.with_overrides(overrides)
    deterred = scen.with_overrides({
        f"phases.{i}.overrides.deterrence": p.resolved_regime().deterrence + 0.5
        for i, p in enumerate(scen.phases)})

    streams = ["gang_on_civilian", "background", "gang_on_gang", "gang_killed_by_police",
               "police_killed"]
    rows = {k: [] for k in [*streams, "homicides", "share", "p2013", "p2015", "p2017",
                            "growth2017", "level2017",
                            "arrests2016", "deterrence_effect"]}
    for r in range(args.replicates):
        seed = np.random.SeedSequence(2024).spawn(args.replicates)[r]
        df = simulate(scen, seed=seed).set_index("date")
        y11 = df.loc["2011-01-01":"2011-12-31"]
        for k in streams:
            rows[k].append(y11[k].mean())
        rows["homicides"].append(y11["homicides"].mean())
        w = df.loc["2014-01-01":"2015-09-15"]
        if "gang_member_victims" in df and getattr(scen.mechanisms, "extortion_killings", False):
            rows["share"].append(w["gang_member_victims"].sum() / w["homicides"].sum())
        else:  # before the column: every gang-member death counted as recorded
            rows["share"].append((w["gang_on_gang"] + w["gang_killed_by_police"]).sum()
                                 / w["homicides"].sum())
        rows["p2013"].append(df.loc["2013-05-01":"2013-05-31", "prisoners"].mean())
        rows["p2015"].append(df.loc["2015-04-30", "prisoners"])
        rows["p2017"].append(df.loc["2017-12-31", "prisoners"])
        rows["growth2017"].append(df.loc["2017-12-31", "prisoners"]
                                  - df.loc["2016-12-31", "prisoners"])
        # The level the stock tends to at 2017's arrests (end-of-day stock, Little's law):
        # inflow held * arrests, mean stay in end-of-day counts 1 / release rate - 1.
        a2017 = df.loc["2017-01-01":"2017-12-31", "arrests"].mean()
        regime = scen.phases[-1].resolved_regime()
        if getattr(scen.mechanisms, "prison_terms", False):
            held = min(scen.demography.custody_share * regime.custody_factor, 1.0)
            stay = regime.sentence_days
        else:
            held, stay = 1.0, 1.0 / scen.demography.release_rate
        rows["level2017"].append(held * a2017 * (stay - 1.0))
        rows["arrests2016"].append(df.loc["2016-01-01":"2016-04-30", "arrests"].mean())
        dd = simulate(deterred, seed=seed).set_index("date")
        rows["deterrence_effect"].append(
            dd.loc["2011-01-01":"2011-12-31", "homicides"].mean() / y11["homicides"].mean())

    print(f"switches {'off' if args.off else 'on'}: {', '.join(NEW_SWITCHES) or '(none)'}; "
          f"{args.replicates} replicates, bundled point values")
    print("2011 per day: " + ", ".join(f"{k} {np.mean(rows[k]):.2f}"
                                         for k in [*streams, "homicides"]))
    if rows["share"]:
        lo, hi = np.quantile(rows["share"], [0.05, 0.95])
        split = getattr(scen.mechanisms, "extortion_killings", False)
        how = ("gang_member_victims / homicides" if split else
               "(gang_on_gang + gang_killed_by_police) / homicides, concealment not split")
        print(f"gang members among recorded victims 2014-01-01..2015-09-15 ({how}): "
              f"{np.mean(rows['share']):.3f} [{lo:.3f}, {hi:.3f}] (record 0.32)")
    for k, label in (("p2013", "prisoners May 2013 (record 9553)"),
                     ("p2015", "prisoners 2015-04-30 (record 12851)"),
                     ("p2017", "prisoners 2017-12-31")):
        lo, hi = np.quantile(rows[k], [0.05, 0.95])
        print(f"{label}: {np.mean(rows[k]):.0f} [{lo:.0f}, {hi:.0f}]")
    print(f"prisoners' growth during 2017: {np.mean(rows['growth2017']):.0f}; the level "
          f"they tend to at 2017's arrests: {np.mean(rows['level2017']):.0f}")
    print(f"arrests per day Jan-Apr 2016: {np.mean(rows['arrests2016']):.1f} "
          f"(record 10646 / 121 = 88.0)")
    lo, hi = np.quantile(rows["deterrence_effect"], [0.05, 0.95])
    print(f"2011 homicides with deterrence +0.5 / without: "
          f"{np.mean(rows['deterrence_effect']):.3f} [{lo:.3f}, {hi:.3f}]")


if __name__ == "__main__":
    main()
