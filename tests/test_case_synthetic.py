"""A synthetic case end to end: a record the model writes itself from known parameters,
then calibrated, nowcast and branched as any case is; the truth must lie inside the
intervals (slow: a small ABC run, a filter and the branches, for several seeds)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trucesim.api import simulate
from trucesim.calibration.branches import run_branches
from trucesim.calibration.nowcast import read_posterior, run_filter
from trucesim.calibration.smc import run_calibration
from trucesim.cases import load_case
from trucesim.scenario.load import load_scenario
from trucesim.scenario.posterior import load_posterior

AS_OF = dt.date(2020, 12, 31)
TRUE_MU = 0.0015

SCENARIO = """
name = "synthetic"
start = 2020-01-01
end = 2021-06-30
seed = 1
counterfactual = "status-quo"

[world]
cliques = 100
burn_in_days = 60

[[phases]]
start = 2020-01-01
regime = "hardline"

[variants.status-quo]
[[variants.status-quo.phases]]
start = 2021-01-01
regime = "hardline"
label = "status quo"

[variants.truce]
[[variants.truce.phases]]
start = 2021-01-01
regime = "hardline"
label = "truce"
[[variants.truce.events]]
date = 2021-01-01
kind = "communique"
stance = "restraint"
days = 181
"""

CASE = """
name = "synthetic"
scenario = "scenario.toml"
record = "record.csv"
events = "events.csv"
as_of = 2020-12-31
[seeds]
run = 5
nowcast = 6
[posterior]
nowcast = "posterior.toml"
[branches]
scenario = "scenario.toml"
status_quo = "status-quo"
"""

CALIBRATION = """
scenario = "scenario.toml"
case = "case.toml"
seed = {seed}
protocol = "B"
[method]
population_size = 40
max_generations = 3
kernel_scaling = 2.0
[parameters."violence.mu"]
prior = "loguniform"
low = 0.0003
high = 0.006
[[targets]]
name = "monthly homicides"
quantity = "homicides"
"""


def _months(daily: pd.DataFrame) -> list[tuple[dt.date, dt.date, int]]:
    d = daily.assign(month=pd.to_datetime(daily["date"]).dt.to_period("M"))
    out = []
    for month, g in d.groupby("month"):
        out.append((month.start_time.date(), month.end_time.date(), int(g["homicides"].sum())))
    return out


def _synthetic_case(folder: Path, seed: int) -> dict:
    """Write the case: its record is the model's own run at TRUE_MU with ``seed`` (rows
    after the as-of date written too: they must never be fitted). Returns the truth."""
    folder.mkdir()
    (folder / "scenario.toml").write_text(SCENARIO)
    (folder / "events.csv").write_text("date,event,source\n")
    (folder / "case.toml").write_text(CASE)
    (folder / "calibration.toml").write_text(CALIBRATION.format(seed=seed))
    scenario = load_scenario(folder / "scenario.toml").with_overrides({"violence.mu": TRUE_MU})
    truth = {v: simulate(scenario, seed=seed, variant=v) for v in ("status-quo", "truce")}
    months = _months(truth["status-quo"])
    lines = ["period_start,period_end,quantity,value,unit,source,note"]
    lines += [f"{a},{b},homicides,{n},count,the model at violence.mu={TRUE_MU}," for a, b, n
              in months]
    (folder / "record.csv").write_text("\n".join(lines) + "\n")
    after = {v: int(d.loc[pd.to_datetime(d["date"]).dt.date > AS_OF, "homicides"].sum())
             for v, d in truth.items()}
    return {"after": after, "december": months[11][2]}


def _no_unread_outputs(monkeypatch) -> None:
    """What the calibration writes besides its posterior and that this test never reads:
    the three figures (not drawn to files; 0.3-0.5 s a calibration) and the posterior
    predictive check (2 fresh runs instead of 100; 0.6-1 s). The posterior is computed
    before either (run_calibration: posterior_of, then predictive, then _write_outputs,
    which writes it last), and the predictive runs have their own seeds, so the posterior
    file (the same bytes), the filter and the branches are the same as without this."""
    import matplotlib.pyplot as plt

    from trucesim.calibration import smc, smc_figures

    monkeypatch.setattr(smc, "PREDICTIVE_DRAWS", 2)
    monkeypatch.setattr(smc_figures, "save", lambda fig, path: plt.close(fig))


@pytest.mark.slow
def test_a_synthetic_case_recovers_its_truth(tmp_path, monkeypatch):
    _no_unread_outputs(monkeypatch)
    covered = {"mu": 0, "december": 0, "status-quo": 0, "truce": 0}
    seeds = (11, 12, 13)
    for seed in seeds:
        folder = tmp_path / f"case{seed}"
        truth = _synthetic_case(folder, seed)
        out = tmp_path / f"cal{seed}"
        assert run_calibration(folder / "calibration.toml", workers=1, out=out) == 0
        (folder / "posterior.toml").write_bytes((out / "posterior.toml").read_bytes())
        case = load_case(folder)
        posterior = read_posterior(None, case)
        assert posterior.data_until == AS_OF  # nothing after the as-of date was fitted
        lo, hi = load_posterior(folder / "posterior.toml").quantiles()["violence.mu"][::2]
        covered["mu"] += lo <= TRUE_MU <= hi
        result = run_filter(60, posterior=posterior, case=case, workers=1, keep_workers=True)
        assert result.table["end"].max() == AS_OF
        last = result.table.iloc[-1]
        covered["december"] += (last["filtered_p05"] * 31 <= truth["december"]
                                <= last["filtered_p95"] * 31)
        branches = run_branches(result, workers=1)
        totals = branches.totals("homicides")
        for b, name in enumerate(branches.names):
            lo, hi = np.quantile(totals[b], [0.05, 0.95])
            covered[name] += lo <= truth["after"][name] <= hi
    # 90% intervals: each truth inside for at least 2 of the 3 seeds
    assert all(n >= len(seeds) - 1 for n in covered.values()), covered
