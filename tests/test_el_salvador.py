"""The bundled El Salvador scenario, with default parameters, shows the record's shape:
a clear drop within two weeks of the 2012-03-08 transfers and a rise after the truce
collapses."""

from __future__ import annotations

import numpy as np
import pytest

from trucesim import simulate_variants
from trucesim.scenario.schema import load_scenario

from .conftest import SCENARIOS


@pytest.mark.slow
def test_drop_after_transfers_and_rise_after_collapse():
    # Default parameters (the model issue's claim), not the fitted El Salvador values.
    scenario = load_scenario(SCENARIOS / "el-salvador-2010-2016.toml", calibrated=False)
    daily = simulate_variants(scenario, seed=2012, replicates=4)
    by_run = daily.set_index("date").groupby("replicate")
    before = by_run.apply(lambda d: d.loc["2012-01-01":"2012-03-07", "homicides"].mean())
    two_weeks = by_run.apply(lambda d: d.loc["2012-03-09":"2012-03-22", "homicides"].mean())
    truce = by_run.apply(lambda d: d.loc["2012-04-01":"2013-04-30", "homicides"].mean())
    after = by_run.apply(lambda d: d.loc["2014-06-01":"2015-12-31", "homicides"].mean())
    drop = (two_weeks / before).to_numpy()
    rise = (after / truce).to_numpy()
    print(f"two weeks after / before: {drop.round(2)}; after collapse / truce: {rise.round(2)}")
    # Model version 3 (command as state: a share of cliques complies, after a relay
    # latency) puts single replicates at the old per-replicate bound (0.75 once in 4):
    # the claim is checked on the mean, tighter than that bound, and no replicate may
    # be far from a drop.
    assert drop.mean() < 0.70
    assert np.all(drop < 0.80)
    assert np.all(rise > 1.4)


def _record_dates():
    import csv
    import datetime as dt

    from trucesim.calibration.observed import data_dir

    with open(data_dir() / "el_salvador_events.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["source"].strip() for r in rows)
    return {dt.date.fromisoformat(r["date"]) for r in rows}


@pytest.mark.parametrize("name", ["el-salvador-2010-2016.toml", "el-salvador-2016-letter.toml"])
def test_dated_events_are_those_of_the_record(name):
    import datetime as dt

    scenario = load_scenario(SCENARIOS / name, calibrated=False)
    record = _record_dates()
    # Every past event and every phase after the first is dated by a line of the events
    # file (the 2013-05-01 rollback phase is older than the record's 23 May date, kept as
    # fitted; see docs/calibration.md).
    # Events on the first day state what the world already had (the letter scenario's
    # street tier and B18R split, dated in 2012 and 2014).
    assert {e.date for e in scenario.events
            if e.kind != "split" and e.date != scenario.start} <= record
    assert {p.start for p in scenario.phases[1:]} - record <= {dt.date(2013, 5, 1)}
    # One event per date, except the government's refusal of talks (bargaining_violence)
    # on the day of the gangs' declaration that sought them.
    by_date = {e.date: e for e in scenario.events if e.kind != "refusal"}
    # 17 January 2015 was the gangs' truce declaration, not the leaders' return, which
    # was 19 February (top leaders; the 12 February mid-level leaders are a marker).
    assert by_date[dt.date(2015, 1, 17)].kind == "communique"
    assert by_date[dt.date(2015, 1, 17)].stance == "restraint"
    assert by_date[dt.date(2015, 2, 12)].kind == "marker"
    returned = by_date[dt.date(2015, 2, 19)]
    assert returned.kind == "transfer" and returned.isolation == 0.9
    assert [e.date for e in scenario.events if e.kind == "transfer"] == [dt.date(2015, 2, 19)]
    # The record (events.csv) dates no internal split: the two splits are the model's
    # (docs/model.md, mechanism 5), dated approximately; the letter scenario, from 2015,
    # starts with the first already made.
    splits = [(e.date, e.gang, e.faction) for e in scenario.events if e.kind == "split"]
    first = scenario.start if name != "el-salvador-2010-2016.toml" else dt.date(2014, 1, 1)
    assert splits == [(first, "B18R", "B18R_dissidents"), (dt.date(2016, 1, 1), "MS13", "MS503")]


def test_the_letter_scenario_has_the_events_of_the_main_timeline():
    """el-salvador-2016-letter starts in 2015: its events after its first day are those of
    el-salvador-2010-2016 (kinds, dates, gangs and values; labels may differ), and on its
    first day it has what the world already had (the street tier, the B18R split)."""
    import datetime as dt

    def events(name, after):
        sc = load_scenario(name)
        return sorted(
            (e.date, e.kind, tuple(e.gangs or ()), tuple(sorted(
                (k, str(v)) for k, v in e.model_dump().items()
                if k not in ("date", "kind", "gangs", "label") and v is not None)))
            for e in sc.events if e.date > after)

    start = load_scenario("el-salvador-2016-letter").start
    assert events("el-salvador-2016-letter", start) == \
        events("el-salvador-2010-2016", start)
    first = [(e.kind, e.faction) for e in load_scenario("el-salvador-2016-letter").events
             if e.date == start]
    assert ("street_tier", None) in first and ("split", "B18R_dissidents") in first
    assert start == dt.date(2015, 1, 1)
