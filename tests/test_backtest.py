"""The rolling-origin backtest: targets and horizons, the rule that nothing later than the
origin is an input (baselines and model), resuming after a kill, the report, and bad
arguments refused in one line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import small
from trucesim.calibration.nowcast import nowcast_scenario
from trucesim.calibration.observed import ObservedRow, load_observed, observed_path
from trucesim.cli.main import main
from trucesim.forecast.backtest import (
    Task,
    forecast_origin,
    horizon,
    quarterly_origins,
    run_backtest,
    target_rows,
)
from trucesim.forecast.baselines import FlatBaseline, NegBinBaseline
from trucesim.forecast.model import ModelForecaster, frozen_scenario
from trucesim.forecast.report import losses, relative_table
from trucesim.scenario.posterior import load_posterior
from trucesim.scenario.schema import Scenario

AS_OF = dt.date(2016, 7, 14)
RECORD = [r for r in load_observed() if r.end <= AS_OF]
BASELINES = {"flat": FlatBaseline(seed=3, draws=400), "negbin": NegBinBaseline(seed=3, draws=400)}


def later_changed(record, origin: dt.date):
    """Every row that ends on or after ``origin`` with another value and note."""
    return [dataclasses.replace(r, value=r.value * 3 + 1, note="changed")
            if r.end >= origin else r for r in record]


def test_quarterly_origins_and_horizons():
    origins = quarterly_origins(dt.date(2014, 1, 1), AS_OF)
    assert len(origins) == 11 and origins[-1] == dt.date(2016, 7, 1)
    targets = target_rows(RECORD, dt.date(2014, 4, 1), AS_OF)
    ids = [r.id for r in targets]
    # Q1 2014 ended before the origin: known, not a target; the year 2014 (a quarter gone)
    # and the half-year are targets; the 2016 year ends after the as-of date
    assert "homicides:2014-01-01:2014-03-31" not in ids
    assert "homicides:2014-01-01:2014-12-31" in ids and "homicides:2014-01-01:2014-06-30" in ids
    assert "homicides:2016-01-01:2016-12-31" not in ids
    # April 30 + May 31 + June 30 + July 31 + August 31 + September 30 + October 31
    # + November 30 + December 31 = 275 days from 2014-03-31 to 2014-12-31
    year = next(r for r in targets if r.id == "homicides:2014-01-01:2014-12-31")
    assert horizon(year, dt.date(2014, 4, 1)) == 275
    later = target_rows(RECORD, dt.date(2016, 4, 1), AS_OF, score_against=load_observed())
    assert "homicides:2016-01-01:2016-12-31" in [r.id for r in later]


def test_baselines_see_nothing_later_than_the_origin():
    seen: list[Task] = []

    def spy(task: Task) -> np.ndarray:
        seen.append(task)
        return np.ones((5, len(task.targets)))

    for origin in (dt.date(2014, 1, 1), dt.date(2015, 1, 1), dt.date(2016, 4, 1)):
        targets = target_rows(RECORD, origin, AS_OF)
        a, _ = forecast_origin(origin, RECORD, targets, {**BASELINES, "spy": spy})
        changed = later_changed(RECORD, origin)
        b, _ = forecast_origin(origin, changed, target_rows(changed, origin, AS_OF),
                               {**BASELINES, "spy": spy})
        np.testing.assert_array_equal(a["value"].to_numpy(), b["value"].to_numpy())
        assert not np.array_equal(a["observed"].to_numpy(), b["observed"].to_numpy())
    for task in seen:
        assert all(r.end < task.origin for r in task.known)
        assert all(math.isnan(r.value) and r.note == "" for r in task.targets)


@pytest.fixture(scope="module")
def small_model_setup():
    scenario = small(nowcast_scenario(), cliques=60, burn_in=20)
    posterior = load_posterior(Path(str(observed_path().parents[1] / "posterior"
                                        / "el-salvador-A.toml")))
    return scenario, posterior


def test_the_model_sees_nothing_later_than_the_origin(small_model_setup, monkeypatch):
    scenario, posterior = small_model_setup
    origin = dt.date(2015, 1, 1)
    targets = target_rows(RECORD, origin, AS_OF)
    runs = []
    for record in (RECORD, later_changed(RECORD, origin)):
        # the bundled record itself changed too, for any code that would read it directly
        every = later_changed(load_observed(), origin) if record is not RECORD else None
        if every is not None:
            for module in ("trucesim.calibration.observed", "trucesim.calibration.nowcast"):
                monkeypatch.setattr(f"{module}.load_observed", lambda path=None, e=every: list(e))
        model = ModelForecaster(posterior, 3, seed=9, workers=1, scenario=scenario)
        frame, _ = forecast_origin(origin, record, target_rows(record, origin, AS_OF),
                                   {"trucesim": model})
        runs.append(frame)
        monkeypatch.undo()
    np.testing.assert_array_equal(runs[0]["value"].to_numpy(), runs[1]["value"].to_numpy())
    # ... and a row known at the origin does change them (the test can fail)
    earlier = [dataclasses.replace(r, value=r.value * 2) if r.id ==
               "homicides:2014-01-01:2014-06-30" else r for r in RECORD]
    model = ModelForecaster(posterior, 3, seed=9, workers=1, scenario=scenario)
    moved, _ = forecast_origin(origin, earlier, targets, {"trucesim": model})
    assert not np.array_equal(moved["value"].to_numpy(), runs[0]["value"].to_numpy())


def test_status_quo_sees_no_event_after_the_origin(small_model_setup):
    scenario, posterior = small_model_setup
    origin = dt.date(2015, 1, 1)
    frozen = frozen_scenario(scenario, origin)
    assert all(p.start < origin for p in frozen.phases)
    assert all(e.date < origin for e in frozen.events)
    # a transfer of the leaders in 2015 that did not happen: status-quo forecasts ignore
    # it, policy-known forecasts follow it
    data = scenario.to_data()
    data["events"] = sorted([*data["events"], {"date": dt.date(2015, 2, 1), "kind": "transfer",
                                               "isolation": 0.0, "label": "test"}],
                            key=lambda e: e["date"])
    other = Scenario.parse(data, scenario.source)
    targets = target_rows(RECORD, origin, AS_OF)
    out = {}
    for name, sc in (("real", scenario), ("other", other)):
        model = ModelForecaster(posterior, 3, seed=9, workers=1, scenario=sc)
        out[name], _ = forecast_origin(origin, RECORD, targets, {"trucesim": model})
    sq = [f[f["mode"] == "status-quo"]["value"].to_numpy() for f in out.values()]
    pk = [f[f["mode"] == "policy-known"]["value"].to_numpy() for f in out.values()]
    np.testing.assert_array_equal(sq[0], sq[1])
    assert not np.array_equal(pk[0], pk[1])


KILLER = textwrap.dedent("""
    import datetime as dt, os, signal, sys
    from trucesim.calibration.observed import load_observed
    from trucesim.forecast.backtest import run_backtest
    from trucesim.forecast.baselines import FlatBaseline, NegBinBaseline
    record = [r for r in load_observed() if r.end <= dt.date(2016, 7, 14)]
    flat = FlatBaseline(seed=3, draws=400)
    def killed_at_the_second(task):
        if task.origin == dt.date(2015, 1, 1):
            os.kill(os.getpid(), signal.SIGKILL)
        return flat(task)
    run_backtest(record, [dt.date(2014, 1, 1), dt.date(2015, 1, 1), dt.date(2016, 1, 1)],
                 {"flat": killed_at_the_second, "negbin": NegBinBaseline(seed=3, draws=400)},
                 as_of=dt.date(2016, 7, 14), out=sys.argv[1], settings={}, progress=False)
""")


def test_a_killed_backtest_resumes_to_the_same_output(tmp_path):
    origins = [dt.date(2014, 1, 1), dt.date(2015, 1, 1), dt.date(2016, 1, 1)]
    out = tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-c", KILLER, str(out)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr
    assert (out / "origins" / "2014-01-01.parquet").is_file()
    assert not (out / "origins" / "2015-01-01.parquet").exists()
    assert not (out / "forecasts.parquet").exists()
    assert not list(out.rglob("*.tmp"))
    resumed = run_backtest(RECORD, origins, BASELINES, as_of=AS_OF, out=out, settings={},
                           progress=False)
    assert resumed.resumed == [dt.date(2014, 1, 1)]
    fresh = run_backtest(RECORD, origins, BASELINES, as_of=AS_OF, out=tmp_path / "fresh",
                         settings={}, progress=False)
    assert fresh.resumed == []
    pd.testing.assert_frame_equal(resumed.forecasts, fresh.forecasts)
    pd.testing.assert_frame_equal(resumed.scores, fresh.scores)
    for name in ("forecasts.parquet", "scores.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / name),
                                      pd.read_parquet(tmp_path / "fresh" / name))


def test_report_says_where_the_model_loses(tmp_path):
    res = run_backtest(RECORD, [dt.date(2015, 1, 1), dt.date(2016, 1, 1)], BASELINES,
                       as_of=AS_OF, out=tmp_path / "b", settings={}, progress=False,
                       modes=("status-quo",))
    table = relative_table(res.scores, "flat", ["negbin"], ("band",))
    said = losses(table, "flat", ["negbin"])
    for _, r in table.iterrows():
        if r["vs negbin"] >= 1:
            assert any(f"horizons of {r['band']}" in s and "loses" in s for s in said)
    # the relative WIS in the table is the mean-WIS ratio when both forecast every target
    s = res.scores
    ratio = s[s.model == "flat"]["wis"].mean() / s[s.model == "negbin"]["wis"].mean()
    assert relative_table(s, "flat", ["negbin"])["vs negbin"][0] == pytest.approx(ratio)


@pytest.mark.parametrize(("args", "reason"), [
    (["--origins", "2014-13-01"], "--origins: '2014-13-01' is not a date"),
    (["--origins", "2016-08-01"], "after the as-of date 2016-07-14"),
    (["--origins", "2014-01-01,2014-01-01"], "given twice"),
    (["--origins", "2013-07-01"], "data_until: 2013-12-31 is not before the origin"),
    (["--particles", "0"], "--particles: 0 is outside 1 to 20000"),
    (["--particles", "many"], "--particles: 'many' is not an integer"),
    (["--seed", "-1"], "--seed: -1 is outside"),
    (["--score-against", "missing.csv"], "missing.csv"),
    (["--score-against", "BAD"], "missing columns"),
])
def test_bad_arguments_are_refused_in_one_line(tmp_path, capsys, args, reason):
    bad = tmp_path / "bad.csv"
    bad.write_text("start,end\n2014-01-01,2014-12-31\n")
    args = [str(bad) if a == "BAD" else str(tmp_path / a) if a == "missing.csv" else a
            for a in args]
    out = tmp_path / "out"
    assert main(["backtest", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and reason in err
    assert not out.exists()


def test_backtest_command_end_to_end_and_rerun(tmp_path, capsys):
    out = tmp_path / "bt"
    argv = ["backtest", "--origins", "2016-01-01,2016-04-01", "--particles", "2",
            "--out", str(out)]
    assert main(argv) == 0
    for name in ("forecasts.parquet", "scores.parquet", "report.md", "fan-policy-known.png",
                 "fan-status-quo.png", "horizon.png", "manifest.json"):
        assert (out / name).is_file(), name
    f = pd.read_parquet(out / "forecasts.parquet")
    assert set(f["model"]) == {"trucesim", "flat", "negbin"}
    assert set(f["mode"]) == {"policy-known", "status-quo"}
    assert len(f) == 23 * 3 * 2 * (7 + 4)  # Jan-June and July 1-14; April-June and July
    report = (out / "report.md").read_text()
    assert "## Where the model loses" in report and "vs flat" in report
    first = pd.read_parquet(out / "scores.parquet")
    assert main(argv) == 0  # same settings: every origin read back
    pd.testing.assert_frame_equal(pd.read_parquet(out / "scores.parquet"), first)
    assert "2 origins read back" in (out / "report.md").read_text()
    capsys.readouterr()
    # other settings need --force
    assert main([*argv[:-2], "--seed", "5", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


def test_a_later_record_is_only_scored(tmp_path):
    # The later record has the 2016 total (ends after the as-of date) and a row in 2018,
    # after the forecasters' last day: the first is forecast and scored, the second listed.
    late = ObservedRow(dt.date(2018, 1, 1), dt.date(2018, 1, 31), "homicides", 300.0, "count",
                       "test")
    later = [*load_observed(), late]
    origin = dt.date(2016, 4, 1)
    res = run_backtest(RECORD, [origin], BASELINES, as_of=AS_OF, out=tmp_path / "s",
                       settings={}, score_against=later, last_day=dt.date(2017, 12, 31),
                       progress=False)
    year = res.scores[res.scores["period_end"] == pd.Timestamp("2016-12-31")]
    assert len(year) == 2 * 2 and year["observed"].iloc[0] == pytest.approx(5278 / 366)
    assert any("homicides:2018-01-01:2018-01-31" in s for s in res.skipped)
    # the later record's values are never an input: changing them moves only the scores
    changed = later_changed(later, origin)
    again = run_backtest(RECORD, [origin], BASELINES, as_of=AS_OF, out=tmp_path / "t",
                         settings={}, score_against=changed, last_day=dt.date(2017, 12, 31),
                         progress=False)
    np.testing.assert_array_equal(res.forecasts["value"], again.forecasts["value"])
    assert not np.array_equal(res.scores["wis"], again.scores["wis"])
