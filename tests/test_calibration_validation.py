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
from trucesim.scenario.schema import load_scenario

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
    for name in ("trajectory.png", "annual.png", "facts.png", "annual.csv", "in_sample.csv"):
        assert (out / name).exists(), name
    # Member stocks are compared as levels; rows without a simulated metric (attacks on
    # police, clique counts) and rows marked "nowcast window only" are not in the table.
    in_sample = pd.read_csv(out / "in_sample.csv").set_index("row")
    assert in_sample.loc["gang_members:2012-01-01:2012-12-31", "simulated"] == 60_000
    assert in_sample.loc["gang_members_in_prison:2013-05-01:2013-05-31", "observed"] == 9553
    assert not any(i.startswith(("attacks_on_police", "cliques")) for i in in_sample.index)
    assert in_sample.index.str.contains(":2014-|:2016-").sum() == 0


def test_report_warns_when_the_calibration_used_later_data(tmp_path, monkeypatch):
    monkeypatch.setattr(validate, "simulate_replicates",
                        lambda scenario, n, seed, pool, bar=None: (
                            _history(conceal=1.5, reps=n) if "salvador" in scenario.name.lower()
                            else _honduras()).assign(restraint_share=0.0))
    monkeypatch.setattr(validate, "calibration_of",
                        lambda scenario: (None, {"fit": {"allow_future_data": True}}))
    assert validate.run_validation(replicates=2, workers=1, out=tmp_path / "v") == 0
    first = (tmp_path / "v" / "validation.md").read_text().splitlines()[0]
    assert first == ("**WARNING: the calibration used data after 2013-12-31 "
                     "(allow_future_data = true); 2014-2016 are NOT out of sample.**")
