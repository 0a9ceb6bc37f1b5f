"""The rolling-origin backtest of a case: origins, targets and horizons, the posterior
that serves each origin, the rule that nothing later than the origin is an input
(baselines and the case-wired model), resuming after a kill, the report, and bad
arguments refused in one line.

The command runs end to end on a small case written here (a 60-clique world in 2020, a
hindcast cutoff and two posteriors made by hand); the rule is checked on El Salvador's
case with a small world."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import small
from trucesim.calibration import forward
from trucesim.calibration.nowcast import nowcast_scenario
from trucesim.calibration.observed import ObservedRow, load_observed
from trucesim.cases import load_case
from trucesim.cli.main import main
from trucesim.core.particle import Particle
from trucesim.forecast.backtest import (
    Task,
    default_origins,
    forecast_origin,
    horizon,
    quarterly_origins,
    run_backtest,
    target_rows,
)
from trucesim.forecast.baselines import FlatBaseline, NegBinBaseline
from trucesim.forecast.model import ModelForecaster, frozen_scenario
from trucesim.forecast.report import losses, relative_table
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.posterior import Posterior, posterior_toml
from trucesim.scenario.schema import Scenario

CASE = load_case("el-salvador-2016")
AS_OF = CASE.as_of
RECORD = CASE.rows_until()
BASELINES = {"flat": FlatBaseline(seed=3, draws=400), "negbin": NegBinBaseline(seed=3, draws=400)}


def later_changed(record, origin: dt.date):
    """Every row that ends on or after ``origin`` with another value and note."""
    return [dataclasses.replace(r, value=r.value * 3 + 1, note="changed")
            if r.end >= origin else r for r in record]


# ---------------------------------------------------------------------------- a small case
SCENARIO = """
name = "bt"
start = 2020-01-01
end = 2021-06-30
seed = 1
counterfactual = "status-quo"

[world]
cliques = 60
burn_in_days = 20

[[phases]]
start = 2020-01-01
regime = "hardline"

[[events]]
date = 2020-08-15
kind = "communique"
stance = "restraint"
days = 60
label = "a truce announced (events.csv line 2)"

[variants.status-quo]
[[variants.status-quo.phases]]
start = 2021-01-01
regime = "hardline"
label = "status quo"
"""

CASE_TOML = """
name = "bt"
scenario = "scenario.toml"
record = "record.csv"
events = "events.csv"
as_of = 2020-12-31
hindcast_cutoff = 2020-06-30

[seeds]
run = 1
nowcast = 2

[posterior]
hindcast = "posterior-A.toml"
nowcast = "posterior-B.toml"

[branches]
scenario = "scenario.toml"
status_quo = "status-quo"
"""


def toy_posterior(protocol: str, until: dt.date, seed: int = 1) -> Posterior:
    values = np.linspace(0.2, 2.0, 20)
    return Posterior(names=("violence.background_rate",), values=values[:, None],
                     weights=np.full(20, 1 / 20), protocol=protocol, data_until=until,
                     seed=seed, scenario="bt", description="made by hand for the tests")


def small_case(folder: Path, hindcast: bool = True, rows: int = 12) -> Path:
    """A case folder: monthly counts in 2020 (``rows`` months), a hindcast cutoff on
    2020-06-30 with its posterior (``hindcast``) and a nowcast posterior to 2020-12-31."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(SCENARIO)
    case = CASE_TOML if hindcast else CASE_TOML.replace("hindcast_cutoff = 2020-06-30\n", "") \
        .replace('hindcast = "posterior-A.toml"\n', "")
    (folder / "case.toml").write_text(case)
    lines = ["period_start,period_end,quantity,value,unit,source,note"]
    for m in range(1, rows + 1):
        end = (dt.date(2020 + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1))
        lines.append(f"2020-{m:02d}-01,{end},homicides,{40 + 3 * m},count,made up,")
    (folder / "record.csv").write_text("\n".join(lines) + "\n")
    (folder / "events.csv").write_text("date,event,source\n2020-08-15,a truce announced,"
                                       "made up\n")
    (folder / "posterior-A.toml").write_text(posterior_toml(toy_posterior(
        "A", dt.date(2020, 6, 30))))
    (folder / "posterior-B.toml").write_text(posterior_toml(toy_posterior(
        "B", dt.date(2020, 12, 31))))
    return folder


# ---------------------------------------------------------------------------- origins
def test_default_origins_targets_and_horizons():
    origins = default_origins(CASE.as_of, CASE.spec.hindcast_cutoff)
    assert len(origins) == 11
    assert origins[0] == dt.date(2014, 1, 1) and origins[-1] == dt.date(2016, 7, 1)
    # a cutoff that is not a quarter's end: the day after it, then every later quarter
    assert quarterly_origins(dt.date(2019, 11, 16), dt.date(2020, 7, 1)) == [
        dt.date(2019, 11, 16), dt.date(2020, 1, 1), dt.date(2020, 4, 1), dt.date(2020, 7, 1)]
    # without a hindcast cutoff: the day after the as-of date alone
    assert default_origins(dt.date(2013, 5, 31), None) == [dt.date(2013, 6, 1)]
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


def test_each_origin_is_served_by_the_posterior_fitted_on_the_most_earlier_data(tmp_path):
    case = load_case(small_case(tmp_path / "bt"))
    model = ModelForecaster(case, 10, workers=1)
    assert [p.protocol for p in model.posteriors] == ["A", "B"]
    assert model.posterior_for(dt.date(2020, 7, 1)).protocol == "A"
    assert model.posterior_for(dt.date(2020, 12, 31)).protocol == "A"
    # the day after the as-of date: the nowcast posterior (data to the as-of date)
    assert model.posterior_for(dt.date(2021, 1, 1)).protocol == "B"
    with pytest.raises(ConfigError, match=r"case.toml: posterior: no posterior of case bt was "
                       r"fitted on data ending before the origin 2020-06-30 "
                       r"\(posterior-A.toml: protocol A, data to 2020-06-30; "):
        model.posterior_for(dt.date(2020, 6, 30))
    assert model.seed == case.spec.seeds.nowcast


# ---------------------------------------------------------------------------- the rule
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
def small_world():
    return small(nowcast_scenario(CASE), cliques=60, burn_in=20)


def test_the_case_model_sees_nothing_later_than_the_origin(small_world):
    origin = dt.date(2015, 1, 1)
    targets = target_rows(RECORD, origin, AS_OF)
    runs = []
    # every row ending on or after the origin changed, in the rows given to the driver
    # and in the case itself (its whole record, rows after the as-of date too)
    for case in (CASE, dataclasses.replace(CASE, record=later_changed(CASE.record, origin))):
        record = case.rows_until()
        model = ModelForecaster(case, 3, seed=9, workers=1, scenario=small_world)
        frame, _ = forecast_origin(origin, record, target_rows(record, origin, AS_OF),
                                   {"trucesim": model})
        runs.append(frame)
    assert model.seconds[origin]["posterior"].endswith("el-salvador-A.toml")
    np.testing.assert_array_equal(runs[0]["value"].to_numpy(), runs[1]["value"].to_numpy())
    assert not np.array_equal(runs[0]["observed"].to_numpy(), runs[1]["observed"].to_numpy())
    # ... and a row known at the origin does change them (the test can fail)
    earlier = [dataclasses.replace(r, value=r.value * 2) if r.id ==
               "homicides:2014-01-01:2014-06-30" else r for r in RECORD]
    model = ModelForecaster(CASE, 3, seed=9, workers=1, scenario=small_world)
    moved, _ = forecast_origin(origin, earlier, targets, {"trucesim": model})
    assert not np.array_equal(moved["value"].to_numpy(), runs[0]["value"].to_numpy())


def test_status_quo_sees_no_event_after_the_origin(small_world):
    origin = dt.date(2015, 1, 1)
    frozen = frozen_scenario(small_world, origin)
    assert all(p.start < origin for p in frozen.phases)
    assert all(e.date < origin for e in frozen.events)
    # a transfer of the leaders in 2015 that did not happen: status-quo forecasts ignore
    # it, policy-known forecasts follow it
    data = small_world.to_data()
    data["events"] = sorted([*data["events"], {"date": dt.date(2015, 2, 1), "kind": "transfer",
                                               "isolation": 0.0, "label": "test"}],
                            key=lambda e: e["date"])
    other = Scenario.parse(data, small_world.source)
    targets = target_rows(RECORD, origin, AS_OF)
    out = {}
    for name, sc in (("real", small_world), ("other", other)):
        model = ModelForecaster(CASE, 3, seed=9, workers=1, scenario=sc)
        out[name], _ = forecast_origin(origin, RECORD, targets, {"trucesim": model})
    sq = [f[f["mode"] == "status-quo"]["value"].to_numpy() for f in out.values()]
    pk = [f[f["mode"] == "policy-known"]["value"].to_numpy() for f in out.values()]
    np.testing.assert_array_equal(sq[0], sq[1])
    assert not np.array_equal(pk[0], pk[1])


@pytest.mark.parametrize("drift", ["off", "reverting"])
def test_the_drift_goes_on_past_the_origin(tmp_path, monkeypatch, drift):
    """Under the reverting drift each particle's parameters move every 30 days of the
    forecast (as in the case's branches), the same path in both modes; off, they stay."""
    case = load_case(small_case(tmp_path / "bt"))
    model = ModelForecaster(case, 4, seed=5, workers=1, drift=drift)
    origin = dt.date(2020, 7, 1)
    record = case.rows_until()
    targets = tuple(target_rows(record, origin, case.as_of))
    task = Task(origin, "policy-known", tuple(r for r in record if r.end < origin), targets)
    model.filtered(task)
    used: dict[str, list] = {}
    real = Particle.advance

    def spy(self, until, record):
        # the particle itself, not its id: holding it keeps ids from being reused
        used.setdefault(task.mode, []).append((self, until, self.params))
        return real(self, until, record)

    monkeypatch.setattr(Particle, "advance", spy)
    for mode in ("policy-known", "status-quo"):
        task = dataclasses.replace(task, mode=mode)
        model(task)
    for calls in used.values():
        per_particle: dict[int, list] = {}
        for particle, _, params in calls:
            per_particle.setdefault(id(particle), []).append(params)
        assert len(per_particle) == 4
        # 2020-07-01 to 2020-12-31: 184 days, 7 chunks of 30 days (the last shorter)
        counts = {len({id(p) for p in ps}) for ps in per_particle.values()}
        assert counts == ({7} if drift == "reverting" else {1})
    values = [[p.violence.background_rate for _, _, p in calls] for calls in used.values()]
    assert values[0] == values[1]


def test_the_state_noise_goes_on_past_the_origin(tmp_path, monkeypatch):
    """With state noise on (the default, as in the main job) each particle's latent state
    takes a step of the noise every 30 days of the forecast, from its own generator, the
    same shocks in both modes (paired); off draws nothing and the forecasts differ."""
    case = load_case(small_case(tmp_path / "bt"))
    origin = dt.date(2020, 7, 1)
    record = case.rows_until()
    targets = tuple(target_rows(record, origin, case.as_of))
    known = tuple(r for r in record if r.end < origin)
    real = forward.perturb
    seen: list[tuple] = []

    def spy(state, offsets, days, variables, rng):
        seen.append((days, rng.bit_generator.state["state"]["state"]))
        return real(state, offsets, days, variables, rng)

    monkeypatch.setattr(forward, "perturb", spy)
    values = {}
    for noise in ("on", "off"):
        model = ModelForecaster(case, 4, seed=5, workers=1, state_noise=noise)
        assert (model.filtered(Task(origin, "policy-known", known, targets)).ensemble.offsets
                is None) == (noise == "off")
        seen.clear()
        runs = [model(Task(origin, mode, known, targets))
                for mode in ("policy-known", "status-quo")]
        values[noise] = runs
        if noise == "off":
            assert seen == []
            continue
        # 2020-07-01 to 2020-12-31: 184 days, 7 chunks, a step before each but the first
        assert len(seen) == 2 * 4 * 6 and {d for d, _ in seen} == {30}
        by_mode = [seen[:24], seen[24:]]
        assert [r for _, r in by_mode[0]] == [r for _, r in by_mode[1]]  # paired modes
        assert len({r for _, r in by_mode[0]}) == 24  # every particle its own shocks
    assert not np.array_equal(values["on"][0], values["off"][0])


def test_a_state_noise_setting_the_forecaster_does_not_know_is_refused(tmp_path):
    case = load_case(small_case(tmp_path / "bt"))
    with pytest.raises(ValueError, match="'loud' is not a state-noise setting"):
        ModelForecaster(case, 4, state_noise="loud")


# ---------------------------------------------------------------------------- resuming
KILLER = textwrap.dedent("""
    import datetime as dt, os, signal, sys
    from trucesim.cases import load_case
    from trucesim.forecast.backtest import run_backtest
    from trucesim.forecast.baselines import FlatBaseline, NegBinBaseline
    case = load_case("el-salvador-2016")
    flat = FlatBaseline(seed=3, draws=400)
    def killed_at_the_second(task):
        if task.origin == dt.date(2015, 1, 1):
            os.kill(os.getpid(), signal.SIGKILL)
        return flat(task)
    run_backtest(case.rows_until(), [dt.date(2014, 1, 1), dt.date(2015, 1, 1),
                 dt.date(2016, 1, 1)],
                 {"flat": killed_at_the_second, "negbin": NegBinBaseline(seed=3, draws=400)},
                 as_of=case.as_of, out=sys.argv[1], settings={}, progress=False)
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


# ---------------------------------------------------------------------------- the command
@pytest.mark.parametrize(("args", "reason"), [
    (["--origins", "2014-13-01"], "backtest: --origins: '2014-13-01' is not a date"),
    (["--origins", "2016-08-01"], "2016-08-01 is after the as-of date 2016-07-14 (the latest "
     "origin is the day after it, 2016-07-15)"),
    (["--origins", "2014-01-01,2014-01-01"], "given twice"),
    (["--origins", "2013-07-01"], "case.toml: posterior: no posterior of case "
     "el-salvador-2016 was fitted on data ending before the origin 2013-07-01"),
    (["--particles", "5"], "--particles: 5 is below 10"),
    (["--particles", "many"], "--particles: 'many' is not an integer"),
    (["--seed", "-1"], "--seed: -1 is outside"),
    (["--workers", "0"], "--workers: 0 is outside 1 to 64"),
    (["--drift", "sideways"], "--drift: 'sideways' is not a drift setting"),
    (["--state-noise", "loud"], "--state-noise: 'loud' is not a state-noise setting"),
    (["--score-against", "missing.csv"], "missing.csv"),
    (["--score-against", "BAD"], "missing columns"),
    (["no-such-case"], "no-such-case: no such case"),
])
def test_bad_arguments_are_refused_in_one_line(tmp_path, capsys, args, reason):
    bad = tmp_path / "bad.csv"
    bad.write_text("start,end\n2014-01-01,2014-12-31\n")
    args = [str(bad) if a == "BAD" else str(tmp_path / a) if a == "missing.csv" else a
            for a in args]
    out = tmp_path / "out"
    assert main(["backtest", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    lines = [ln for ln in err.splitlines() if not ln.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], err
    assert not out.exists()


def test_a_case_without_a_hindcast_says_in_one_line_that_nothing_can_be_scored(tmp_path,
                                                                                capsys):
    # Honduras: no hindcast cutoff, its one posterior fitted on data to its as-of date
    # 2013-05-31, three rows up to that day and none after it.
    folder = load_case("honduras-2013").path.parent
    out = tmp_path / "out"
    assert main(["backtest", "honduras-2013", "--out", str(out)]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("note: ")]
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {folder / 'case.toml'}: origins: no origin of case "
                             "honduras-2013 can be scored (it has no hindcast cutoff")
    assert "at 2013-06-01 no homicide row of its record ends on or after the origin and by " \
           "its as-of date 2013-05-31; a later record (--score-against FILE) could score " \
           "it" in err[0]
    assert not out.exists()
    # the small case without a hindcast: the same (with a later record it runs, below)
    case = small_case(tmp_path / "bt", hindcast=False)
    assert main(["backtest", str(case), "--out", str(out)]) == 2
    assert "no origin of case bt can be scored" in capsys.readouterr().err
    assert not out.exists()


def test_backtest_command_end_to_end_and_rerun(tmp_path, capsys):
    case = small_case(tmp_path / "bt")
    out = tmp_path / "out"
    argv = ["backtest", str(case), "--particles", "10", "--out", str(out)]
    assert main(argv) == 0
    for name in ("forecasts.parquet", "scores.parquet", "report.md", "fan-policy-known.png",
                 "fan-status-quo.png", "horizon.png", "manifest.json"):
        assert (out / name).is_file(), name
    f = pd.read_parquet(out / "forecasts.parquet")
    assert set(f["model"]) == {"trucesim", "flat", "negbin"}
    assert set(f["mode"]) == {"policy-known", "status-quo"}
    # default origins 2020-07-01 (July-December) and 2020-10-01 (October-December)
    assert sorted(f["origin"].dt.date.unique()) == [dt.date(2020, 7, 1), dt.date(2020, 10, 1)]
    assert len(f) == 23 * 3 * 2 * (6 + 3)
    report = (out / "report.md").read_text()
    assert "## Where the model loses" in report and "vs flat" in report
    assert "drift reverting, state noise on" in report
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["state_noise"] == "on" and manifest["drift"] == "reverting"
    assert "Case: bt" in report and "`posterior-A.toml` (protocol A, data to 2020-06-30): " \
        "origins 2020-07-01, 2020-10-01" in report
    assert "- 2020-08-15: a truce announced" in report
    first = pd.read_parquet(out / "scores.parquet")
    assert main(argv) == 0  # same settings: every origin read back
    pd.testing.assert_frame_equal(pd.read_parquet(out / "scores.parquet"), first)
    assert "2 origins read back" in (out / "report.md").read_text()
    capsys.readouterr()
    # other settings need --force: another seed, drift, or a posterior refitted in place
    assert main([*argv, "--seed", "5"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*argv, "--drift", "off"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*argv, "--state-noise", "off"]) == 2
    assert "--force" in capsys.readouterr().err
    (case / "posterior-A.toml").write_text(posterior_toml(toy_posterior(
        "A", dt.date(2020, 6, 30), seed=2)))
    assert main(argv) == 2
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


def test_the_day_after_the_as_of_date_is_scored_against_a_later_record(tmp_path):
    """A case without a hindcast: its forecast from the day after its as-of date, from
    its nowcast posterior, scored against a record that came out later."""
    case = small_case(tmp_path / "bt", hindcast=False)
    later = tmp_path / "later.csv"
    later.write_text("period_start,period_end,quantity,value,unit,source,note\n"
                     "2021-01-01,2021-01-31,homicides,60,count,later,\n"
                     "2021-02-01,2021-02-28,homicides,58,count,later,\n")
    out = tmp_path / "out"
    assert main(["backtest", str(case), "--particles", "10", "--score-against", str(later),
                 "--out", str(out)]) == 0
    s = pd.read_parquet(out / "scores.parquet")
    assert sorted(s["origin"].dt.date.unique()) == [dt.date(2021, 1, 1)]
    assert sorted(s["period_end"].dt.date.unique()) == [dt.date(2021, 1, 31),
                                                         dt.date(2021, 2, 28)]
    assert "`posterior-B.toml` (protocol B, data to 2020-12-31): origins 2021-01-01" in \
        (out / "report.md").read_text()
