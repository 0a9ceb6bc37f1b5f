"""Validation statistics and the stylised-fact checklist on hand-made daily tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trucesim.calibration.observed import load_observed
from trucesim.calibration.validation import validate
from trucesim.calibration.validation.facts import stylised_facts
from trucesim.calibration.validation.parameters import parameter_table
from trucesim.calibration.validation.stats import (
    KATZ_RATE_RATIO,
    annual_table,
    observed_rate_ratio,
    rate_ratio,
)
from trucesim.scenario.load import load_scenario

ROWS = load_observed()


def _history(pre=12.0, truce=6.0, after=20.0, police=(0.01, 0.05), reps=3, shift=0.0,
             conceal=0.0):
    """2010-2016 daily tables: a level before and during the truce and after 2014."""
    dates = pd.date_range("2010-01-01", "2016-12-31", freq="D")
    t = dates >= "2012-03-08"
    late = dates >= "2014-06-01"
    frames = []
    for r in range(reps):
        hom = np.where(late, after, np.where(t, truce, pre)) + shift * r
        frames.append(pd.DataFrame({
            "replicate": r, "date": dates, "homicides": hom,
            "phase": np.where(late, "hardline", np.where(t, "truce", "pre-truce")),
            "regime": np.where(late, "hardline", np.where(t, "truce", "baseline")),
            "police_killed": np.where(late, police[1], police[0]),
            "gang_killed_by_police": np.where(late, 0.3, 0.05),
            "attacks_on_police": np.where(late, 1.0, 0.4),
            "disappearances": np.where(t & ~late, conceal, 0.0),
            "members": 60_000.0, "prisoners": 9_000.0,
        }))
    return pd.concat(frames, ignore_index=True)


def _honduras(ratio=0.95):
    dates = pd.date_range("2012-01-01", "2014-12-31", freq="D")
    truce = (dates >= "2013-05-28") & (dates < "2014-01-27")
    return pd.DataFrame({
        "replicate": 0, "date": dates, "homicides": np.where(truce, 10.0 * ratio, 10.0),
        "phase": np.where(truce, "truce", np.where(dates < "2013-05-28", "pre-truce", "after")),
        "regime": np.where(truce, "truce", "hardline"),
    })


def test_rate_ratio_of_a_step_history():
    ratios = rate_ratio(_history(pre=12.0, truce=6.0))
    # March 2012-Dec 2013 includes 7 pre-transfer days of March at the old level.
    truce_days = (dt.date(2013, 12, 31) - dt.date(2012, 3, 1)).days + 1
    expected = (7 * 12.0 + (truce_days - 7) * 6.0) / truce_days / 12.0
    assert ratios == pytest.approx(np.full(3, expected))


def test_observed_rate_ratio_is_within_katz_and_colleagues_range():
    ratio = observed_rate_ratio(ROWS)
    assert 0.5 < ratio < 0.65
    assert KATZ_RATE_RATIO == (0.55, 0.61)


def test_annual_table_splits_fit_and_validation_years():
    table = annual_table(_history(pre=12.0, truce=6.0, after=20.0, shift=0.5), ROWS)
    assert list(table["sample"]) == ["in (fitted)"] * 4 + ["out"] * 3
    row_2015 = table.set_index("year").loc[2015]
    assert row_2015["observed"] == 6657
    assert row_2015["p05"] < row_2015["simulated"] < row_2015["p95"]
    assert row_2015["simulated"] == pytest.approx(365 * 20.5)


def test_stylised_facts_pass_on_a_history_with_every_fact():
    facts = stylised_facts(_history(conceal=1.5), _honduras(0.95), ROWS, baseline=4.0)
    assert [f.passed for f in facts] == [True] * 6


def test_stylised_facts_fail_where_the_history_lacks_them():
    flat = _history(pre=10.0, truce=10.0, after=9.0, police=(0.05, 0.01))
    facts = {f.name.split(" ")[0]: f for f in stylised_facts(flat, _honduras(0.5), ROWS, 4.0)}
    assert not facts["Drop"].passed
    assert not facts["Truce"].passed
    assert not facts["Surge"].passed
    assert not facts["Police"].passed
    assert not facts["Disappearances"].passed
    assert not facts["A"].passed  # the Honduras-like truce halves violence here


def test_parameter_table_marks_fitted_values_and_sources():
    scenario = load_scenario("el-salvador-2010-2016", calibrated=False)
    cal = {"overrides": {"violence.mu": 0.0042},
           "fit": {"intervals": {"violence.mu": [0.004, 0.0045]}}}
    table = parameter_table(scenario.with_overrides({"violence.mu": 0.0042}), cal).set_index(
        "parameter")
    assert table.loc["violence.mu", "value"] == "0.0042"
    assert table.loc["violence.mu", "interval"] == "0.004 to 0.0045"
    assert "fitted" in table.loc["violence.mu", "source"]
    assert table.loc["violence.omega", "source"] == "assumption"
    assert "EFE" in table.loc["world.cliques", "source"]


def _fake_ablation(scenario, replicates, seed, pool, folder, workers=None):
    from trucesim.calibration.validation.outofsample import Ablation

    table = pd.DataFrame({"outcome": ["surge (2015 / pre-truce)"], "mechanism": ["leaders"],
                          "shapley": [0.1], "p05": [0.05], "p95": [0.15], "all_on": [1.0],
                          "all_off": [0.9], "replicates": [replicates]})
    return Ablation(table, ["leaders"], replicates, 0.1)


def test_run_validation_writes_the_report_it_prints(tmp_path, monkeypatch, capsys):
    """The folder from hand-made histories: one report, written and printed, no pool
    for one worker."""
    import json

    calls = []

    def fake_replicates(scenario, replicates, root_seed, pool, bar=None):
        calls.append((scenario.name, replicates, root_seed, pool))
        if bar is not None:
            bar.update(replicates)
        history = _history(conceal=1.5, reps=replicates) if not calls[1:] else \
            _honduras(0.95)
        return history.assign(restraint_share=0.0)

    reports = []

    def counted_report(ctx):
        reports.append(ctx)
        return report(ctx)

    report = validate.report
    monkeypatch.setattr(validate, "simulate_replicates", fake_replicates)
    monkeypatch.setattr(validate, "ablation", _fake_ablation)
    monkeypatch.setattr(validate, "report", counted_report)
    out = tmp_path / "validation"
    assert validate.run_validation(replicates=3, seed=5, workers=1, out=out) == 0
    assert [(c[1], c[2], c[3]) for c in calls] == [(3, 5, None)] * 2
    assert calls[1][0] != calls[0][0]  # the Honduras-like scenario
    assert len(reports) == 1
    text = (out / "validation.md").read_text()
    printed = capsys.readouterr().out
    assert text.split("## Parameters")[0] not in printed  # a summary and the path instead
    assert f"report: {out / 'validation.md'}" in printed
    assert "stylised facts reproduced: " in printed
    assert "| PASS |" in text and "WARNING" not in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "validation" and manifest["root_seed"] == 5
    assert all(f["passed"] for f in manifest["facts"])
    assert "### The surge: 2015 over the pre-truce level" in text
    assert "simulated 1.67 [90%: 1.67, 1.67], observed 1.5" in text  # 20 / 12 a day
    assert "### Responses to the communiques after 2013" in text
    assert "| 2016-03-26 | Unilateral ceasefire | restraint |" in text
    assert "### The Honduras-like truce" in text and "-5% [90%: -5%, -5%]" in text
    assert "| surge (2015 / pre-truce) | leaders | 0.100 |" in text
    assert "surge, 2015 over pre-truce: 1.67 [1.67, 1.67]" in printed
    assert manifest["ablation_replicates"] == 3
    for name in ("trajectory.png", "annual.png", "facts.png", "annual.csv", "in_sample.csv",
                 "communiques.csv", "deaths_per_year.csv", "ablation.csv"):
        assert (out / name).exists(), name
    # Member stocks are compared as levels; rows without a simulated metric (clique
    # counts) and rows marked "nowcast window only" are not in the table.
    in_sample = pd.read_csv(out / "in_sample.csv").set_index("row")
    assert in_sample.loc["gang_members:2012-01-01:2012-12-31", "simulated"] == 60_000
    assert in_sample.loc["gang_members_in_prison:2013-05-01:2013-05-31", "observed"] == 9553
    assert not any(i.startswith("cliques") for i in in_sample.index)
    assert "attacks_on_police:2013-01-01:2013-12-31" in in_sample.index
    assert in_sample.index.str.contains(":2014-|:2016-").sum() == 0


def test_report_warns_when_the_calibration_used_later_data(tmp_path, monkeypatch):
    monkeypatch.setattr(validate, "simulate_replicates",
                        lambda scenario, n, seed, pool, bar=None: (
                            _history(conceal=1.5, reps=n) if "salvador" in scenario.name.lower()
                            else _honduras()).assign(restraint_share=0.0))
    monkeypatch.setattr(validate, "ablation", _fake_ablation)
    monkeypatch.setattr(validate, "calibration_of",
                        lambda scenario: (None, {"fit": {"data_until": dt.date(2016, 7, 14)}}))
    assert validate.run_validation(replicates=2, workers=1, out=tmp_path / "v") == 0
    first = (tmp_path / "v" / "validation.md").read_text().splitlines()[0]
    assert first == ("**WARNING: the calibration used data after 2013-12-31 (its data_until "
                     "is 2016-07-14); 2014-2016 are NOT out of sample.**")


@pytest.mark.parametrize(("fit", "future"), [
    ({}, False), ({"data_until": dt.date(2013, 12, 31)}, False),
    ({"data_until": dt.date(2012, 6, 30)}, False), ({"data_until": dt.date(2014, 1, 1)}, True),
    ({"data_until": "2016-07-14"}, True),
    # The old flag, still in older calibration files, no longer decides anything.
    ({"data_until": dt.date(2013, 12, 31), "allow_future_data": True}, False),
])
def test_future_data_is_read_from_the_fit_data_until(fit, future):
    assert validate.used_future_data(fit) is future


# ---------------------------------------------------------------------- out of sample
def _row(start, end, value, quantity="homicides", unit="count", source="PNC"):
    from trucesim.calibration.observed import ObservedRow

    return ObservedRow(dt.date.fromisoformat(start), dt.date.fromisoformat(end), quantity,
                       float(value), unit, source)


def test_surge_ratio_of_a_step_history_and_of_the_record():
    from trucesim.calibration.validation.outofsample import observed_surge_ratio, surge_ratio

    # 12 a day before the truce, 20 a day from June 2014: 2015 is 20 / 12.
    assert surge_ratio(_history(pre=12.0, truce=6.0, after=20.0)) == pytest.approx(
        np.full(3, 20 / 12))
    # The record: 2015 total / 365 over (2010 + 2011 totals + 60 days of early 2012).
    by_id = {r.id: r for r in ROWS}
    pre = (3985 + 4371 + 60 * by_id["homicides_per_day:2012-01-01:2012-03-08"].per_day) / 790
    assert observed_surge_ratio(ROWS) == pytest.approx(6657 / 365 / pre)
    assert 1.5 < observed_surge_ratio(ROWS) < 1.65


def test_observed_window_mean_needs_rows_tiling_the_window():
    from trucesim.calibration.validation.outofsample import observed_window_mean

    rows = [_row("2016-02-01", "2016-02-29", 290), _row("2016-03-01", "2016-03-31", 310),
            _row("2016-03-01", "2016-03-10", 5.0, "homicides_per_day", "per_day")]
    # February and March tile 1 Feb-31 Mar: 600 killings in 60 days.
    assert observed_window_mean(rows, dt.date(2016, 2, 1), dt.date(2016, 3, 31)) == 10.0
    assert observed_window_mean(rows, dt.date(2016, 3, 1), dt.date(2016, 3, 10)) == 5.0
    assert observed_window_mean(rows, dt.date(2016, 2, 15), dt.date(2016, 3, 14)) is None
    assert observed_window_mean(rows, dt.date(2016, 1, 1), dt.date(2016, 3, 31)) is None


def test_communique_responses_on_a_hand_made_history():
    from types import SimpleNamespace

    from trucesim.calibration.validation.outofsample import communique_responses

    dates = pd.date_range("2016-01-01", "2016-03-31", freq="D")
    d = dt.date(2016, 3, 1)
    # 10 a day before 1 March; 5 a day for the first 7 days, 8 a day after that.
    frames = []
    for r, scale in enumerate((1.0, 2.0)):  # replicate 1 doubles everything: same change
        hom = np.where(dates < "2016-03-01", 10.0, np.where(dates < "2016-03-08", 5.0, 8.0))
        frames.append(pd.DataFrame({"replicate": r, "date": dates, "homicides": hom * scale}))
    daily = pd.concat(frames, ignore_index=True)
    event = SimpleNamespace(date=d, label="ceasefire", stance="restraint", gangs=["MS13"])
    # Observed: 300 in the 30 days before, 42 in the 7 after, 210 in the 30 after.
    rows = [_row("2016-01-31", "2016-02-29", 300), _row("2016-03-01", "2016-03-07", 42),
            _row("2016-03-08", "2016-03-30", 168)]
    t = communique_responses(daily, [event], rows).set_index("window")
    week = t.loc["7 days after vs 30 before"]
    assert week["simulated"] == pytest.approx(-0.5)
    assert week["p05"] == pytest.approx(-0.5) and week["p95"] == pytest.approx(-0.5)
    assert week["observed"] == pytest.approx(42 / 7 / 10 - 1)
    month = t.loc["30 days after vs 30 before"]
    assert month["simulated"] == pytest.approx((7 * 5 + 23 * 8) / 30 / 10 - 1)
    assert month["observed"] == pytest.approx(210 / 30 / 10 - 1)
    assert month["observed_note"] == "record"
    # Without the record's windows, the change is NaN and the note says so.
    bare = communique_responses(daily, [event], rows[:1])
    assert bare["observed"].isna().all()
    assert bare["observed_note"].str.startswith("no comparable window in the record").all()


def test_communique_events_after_2013_of_the_scenario():
    from trucesim.calibration.validation.outofsample import communique_events

    events = communique_events(load_scenario("el-salvador-2010-2016", calibrated=False))
    assert [str(e.date) for e in events][:1] == ["2015-01-17"]
    assert "2016-03-26" in [str(e.date) for e in events]
    assert all(e.kind == "communique" and e.date.year >= 2014 for e in events)


def test_deaths_per_year_counts_and_the_record_rows():
    from trucesim.calibration.validation.outofsample import deaths_per_year

    t = deaths_per_year(_history(police=(0.01, 0.05)), ROWS).set_index(["quantity", "year"])
    # 0.05 police a day from June 2014: 2015 has 365 * 0.05 = 18.25.
    assert t.loc[("police_killed", 2015), "simulated"] == pytest.approx(18.25)
    assert t.loc[("police_killed", 2015), "sample"] == "out"
    assert np.isnan(t.loc[("police_killed", 2015), "observed"])
    assert t.loc[("police_killed", 2013), "observed"] == 12
    assert t.loc[("gang_killed_by_police", 2013), "observed"] == 27
    # 0.05 a day in 2013: 18.25 killed by police, outside 27; 365 * 0.01 police killed.
    assert t.loc[("gang_killed_by_police", 2013), "simulated"] == pytest.approx(18.25)
    assert t.loc[("police_killed", 2013), "simulated"] == pytest.approx(3.65)
    assert t.loc[("police_killed", 2013), "inside_90"] is False


def test_truce_change_over_28_days():
    from trucesim.calibration.validation.outofsample import truce_change

    start, change = truce_change(_honduras(0.75))
    assert start == dt.date(2013, 5, 28)
    assert change == pytest.approx(np.array([-0.25]))


def test_ablation_table_on_a_fake_sweep(monkeypatch):
    """The surge is derived from two runner outcomes; Shapley sums to all on - all off."""
    from types import SimpleNamespace

    from trucesim.calibration.validation import outofsample
    from trucesim.runner import attribution

    scenario = load_scenario("el-salvador-2010-2016", calibrated=False)
    plan = attribution.plan_attribution(scenario, "truce_rate_ratio", replicates=2, seed=1,
                                        extra_outcomes=[outofsample.ABLATION_2015,
                                                        outofsample.ABLATION_PRE])
    assert plan.experiment.outcomes.summary == [
        "truce_rate_ratio", "year.2015.homicides", "phase.pre_truce.homicides"]
    k = len(plan.mechanisms)
    rows = []
    for mask, name in enumerate(plan.combinations):
        for rep in range(2):
            # mechanism 0 adds 0.2 to the surge and takes 0.4 off the drop; the rest: 0.
            on0 = bool(mask & 1)
            rows.append({"variant": name, "replicate": rep, "status": "ok",
                         "truce_rate_ratio": 1.0 - 0.4 * on0,
                         "year.2015.homicides": 10.0 * (1.0 + 0.2 * on0),
                         "phase.pre_truce.homicides": 10.0})
    fake = SimpleNamespace(runs=pd.DataFrame(rows),
                           report=SimpleNamespace(failed=0, aborted=None))
    monkeypatch.setattr("trucesim.runner.run_experiment", lambda *a, **kw: fake)
    abl = outofsample.ablation(scenario, 2, 1, None, None)
    t = abl.table.set_index(["outcome", "mechanism"])
    first = plan.mechanisms[0]
    assert t.loc[("surge (2015 / pre-truce)", first), "shapley"] == pytest.approx(0.2)
    assert t.loc[("2012 drop (truce rate ratio)", first), "shapley"] == pytest.approx(-0.4)
    assert t.xs("surge (2015 / pre-truce)")["shapley"].sum() == pytest.approx(0.2)
    assert len(t) == 2 * k and abl.replicates == 2


@pytest.mark.slow
def test_validate_cli_smoke_with_two_replicates(tmp_path, capsys):
    """The real command end to end: every new section, the ablation through the sweep
    runner, and a short printed summary (what a new user reads: the facts, the truce
    rate ratio and where the report is, not the Markdown report itself)."""
    from trucesim.cli.main import main

    out = tmp_path / "v"
    assert main(["validate", "-n", "2", "--ablation-replicates", "1", "--workers", "1",
                 "--out", str(out)]) == 0
    text = (out / "validation.md").read_text()
    for section in ("### The surge", "### Responses to the communiques after 2013",
                    "### Police killed and gang members killed by police, per year",
                    "### The Honduras-like truce", "### Ablation"):
        assert section in text, section
    abl = pd.read_csv(out / "ablation.csv")
    assert set(abl["outcome"]) == {"surge (2015 / pre-truce)", "2012 drop (truce rate ratio)"}
    for _, group in abl.groupby("outcome"):  # efficiency: contributions sum to on - off
        assert group["shapley"].sum() == pytest.approx(group["all_on"].iloc[0]
                                                       - group["all_off"].iloc[0])
    com = pd.read_csv(out / "communiques.csv")
    assert com["date"].min() == "2015-01-17" and len(com) % 2 == 0
    printed = capsys.readouterr().out
    assert len(printed.strip().splitlines()) <= 8
    assert f"report: {out / 'validation.md'}" in printed
    assert "stylised facts reproduced:" in printed and "truce rate ratio:" in printed
    assert "## " not in printed and "|---" not in printed
    assert text.startswith("#")
    assert main(["validate", "--ablation-replicates", "-1", "--out", str(tmp_path / "x")]) == 2


def test_honduras_keeps_the_values_its_scenario_file_sets_over_posterior_draws(
        tmp_path, monkeypatch):
    """A value written in the Honduras scenario file wins over the posterior draw, as in
    any run with a posterior (ParameterDraws.held), not only in El Salvador's."""
    from trucesim.scenario.files import ALLOW_ABSOLUTE_ENV
    from trucesim.scenario.load import bundled_dir

    monkeypatch.setenv(ALLOW_ABSOLUTE_ENV, "1")
    text = (bundled_dir() / "honduras-like-2013.toml").read_text().replace(
        'calibration = "calibrated/el-salvador.toml"',
        f'calibration = "{bundled_dir() / "calibrated" / "el-salvador.toml"}"')
    honduras = tmp_path / "honduras.toml"
    honduras.write_text(text + "\n[violence]\nconcealment = 0.3\n")
    monkeypatch.setattr(validate, "HONDURAS", str(honduras))
    seen = {}

    def fake_replicates(scenario, n, seed, pool, bar=None, draws=None):
        seen[scenario.name] = draws
        return (_history(conceal=1.5, reps=n) if "salvador" in scenario.name.lower()
                else _honduras()).assign(restraint_share=0.0)

    monkeypatch.setattr(validate, "simulate_replicates", fake_replicates)
    monkeypatch.setattr(validate, "ablation", _fake_ablation)
    assert validate.run_validation(replicates=2, workers=1, out=tmp_path / "v",
                                   posterior=True) == 0
    hon = seen["honduras-like-2013"]
    assert hon.held == ("violence.concealment",)
    assert "violence.concealment" not in hon.overrides(0)
    assert "violence.mu" in hon.overrides(0)
    assert seen["el-salvador-2010-2016"].held == ()
