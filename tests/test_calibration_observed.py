"""The observed-data loader: rows, statistics on hand-made daily tables, the future guard."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trucesim.calibration.observed import (
    FIT_CUTOFF,
    ObservedRow,
    Statistic,
    annual_homicides,
    load_observed,
    log_ratio_distance,
    select_rows,
    simulated_statistics,
    statistics_for,
)
from trucesim.scenario.errors import ConfigError


def _row(start, end, quantity="homicides", value=10.0, unit="count"):
    return ObservedRow(dt.date.fromisoformat(start), dt.date.fromisoformat(end), quantity,
                       value, unit, "test")


def _daily(start="2012-01-01", days=60, **cols):
    dates = pd.date_range(start, periods=days, freq="D")
    data = {"date": dates}
    for name, values in cols.items():
        data[name] = np.asarray(values, dtype=float) if np.ndim(values) else np.full(days, values)
    return pd.DataFrame(data)


def test_bundled_record_loads_with_sources():
    rows = load_observed()
    ids = {r.id for r in rows}
    assert "homicides:2012-03-09:2012-03-22" in ids
    assert all(r.source for r in rows)
    annual = annual_homicides(rows)
    assert annual[2015] == 6657 and annual[2012] == 2576
    assert {r.future for r in rows if r.start.year >= 2014} == {True}


def test_row_per_day_for_counts_and_daily_means():
    two_weeks = _row("2012-03-09", "2012-03-22", value=79)
    assert two_weeks.days == 14
    assert two_weeks.per_day == pytest.approx(79 / 14)
    mean = _row("2012-01-01", "2012-03-08", quantity="homicides_per_day", value=13.62,
                unit="per_day")
    assert mean.per_day == 13.62 and mean.metric == "homicides"
    assert _row("2013-01-01", "2013-06-30", "disappearance_reports").metric == "disappearances"
    assert _row("2013-01-01", "2013-12-31", "gang_members_killed_by_police").metric == \
        "gang_killed_by_police"


def test_statistics_are_means_over_each_rows_span():
    # 10 a day in January, 4 a day in February: January's mean is 10, the span 25 Jan-3 Feb
    # is (7 * 10 + 3 * 4) / 10.
    homicides = np.r_[np.full(31, 10.0), np.full(29, 4.0)]
    daily = _daily(homicides=homicides, disappearances=1.0)
    stats = [
        Statistic(_row("2012-01-01", "2012-01-31"), "homicides"),
        Statistic(_row("2012-01-25", "2012-02-03"), "homicides"),
        Statistic(_row("2012-02-01", "2012-02-29", "disappearance_reports"), "disappearances",
                  baseline=3.0),
        Statistic(_row("2011-12-01", "2012-01-31"), "homicides"),  # not covered
    ]
    got = simulated_statistics(daily, stats)
    assert got[0] == pytest.approx(10.0)
    assert got[1] == pytest.approx((7 * 10 + 3 * 4) / 10)
    assert got[2] == pytest.approx(4.0)
    assert np.isnan(got[3])


def test_statistics_average_over_stacked_replicates():
    a = _daily(homicides=2.0).assign(replicate=0)
    b = _daily(homicides=6.0).assign(replicate=1)
    stat = Statistic(_row("2012-01-10", "2012-01-20"), "homicides")
    assert simulated_statistics(pd.concat([a, b]), [stat])[0] == pytest.approx(4.0)


def test_log_ratio_distance_is_zero_on_a_match_and_symmetric_in_log():
    stats = [Statistic(_row("2012-01-01", "2012-01-10", value=100.0), "homicides")]
    assert log_ratio_distance(np.array([10.0]), stats)[0] == pytest.approx(0.0)
    high = log_ratio_distance(np.array([20.0]), stats)[0]
    low = log_ratio_distance(np.array([5.0]), stats)[0]
    assert high > 0 and low > 0
    assert high == pytest.approx(np.log(200.5 / 100.5) ** 2)


def test_rows_after_the_cutoff_cannot_be_selected_by_default():
    rows = load_observed()
    with pytest.raises(ConfigError, match="validation only"):
        select_rows(rows, ids=["homicides:2015-01-01:2015-12-31"])
    with pytest.raises(ConfigError, match="allow_future_data"):
        select_rows(rows, quantity="homicides", window=(dt.date(2010, 1, 1), dt.date(2015, 12, 31)))
    # Without a window, later rows are silently out of reach.
    chosen = select_rows(rows, quantity="homicides", min_days=365)
    assert chosen and max(r.end for r in chosen) <= FIT_CUTOFF
    # Explicitly allowed, they are selectable.
    allowed = select_rows(rows, ids=["homicides:2015-01-01:2015-12-31"], allow_future_data=True)
    assert allowed[0].value == 6657


def test_future_rows_errors_name_the_row_window_and_key():
    rows = load_observed()
    past = "homicides:2013-01-01:2013-12-31"
    with pytest.raises(ConfigError) as exc:
        select_rows(rows, ids=[past, "homicides:2015-01-01:2015-12-31"], source="c.toml",
                    key="targets[0]")
    assert str(exc.value) == (
        "c.toml: targets[0].rows: row homicides:2015-01-01:2015-12-31 ends after 2013-12-31: "
        "data after 2013-12-31 are for validation only (set allow_future_data = true to "
        "override)")
    with pytest.raises(ConfigError) as exc:
        select_rows(rows, ids=[past], quantity="homicides", source="c.toml",
                    window=(dt.date(2013, 1, 1), dt.date(2014, 1, 1)))
    assert "targets.window: the fitting window ends 2014-01-01, after 2013-12-31" in str(exc.value)
    assert [r.id for r in select_rows(rows, ids=[past])] == [past]


def test_quantity_selection_reaches_later_rows_only_when_allowed():
    rows = load_observed()
    years = [r for r in rows if r.quantity == "homicides" and r.days >= 365]
    assert any(r.future for r in years) and not all(r.future for r in years)
    past = select_rows(rows, quantity="homicides", min_days=365)
    assert past == [r for r in years if not r.future]
    assert select_rows(rows, quantity="homicides", min_days=365, allow_future_data=True) == years
    window = (dt.date(2012, 1, 1), dt.date(2016, 12, 31))
    inside = select_rows(rows, quantity="homicides", min_days=365, window=window,
                         allow_future_data=True)
    assert inside == [r for r in years if r.start.year >= 2012]
    # Only later rows of the quantity: nothing to select.
    with pytest.raises(ConfigError, match="selects no data row"):
        select_rows(rows, quantity="homicides", min_days=365,
                    window=(dt.date(2013, 6, 1), dt.date(2013, 12, 31)))
    later = [r for r in rows if r.start.year >= 2014]
    with pytest.raises(ConfigError, match="selects no data row"):
        select_rows(later, quantity="homicides")


def test_unknown_rows_quantities_and_statistics_are_errors():
    rows = load_observed()
    with pytest.raises(ConfigError, match="unknown data row"):
        select_rows(rows, ids=["homicides:2012-01-01:2012-01-31"])
    with pytest.raises(ConfigError, match="unknown quantity"):
        select_rows(rows, quantity="robberies")
    with pytest.raises(ConfigError, match="unknown statistic"):
        statistics_for(rows[:1], metric="robberies")
    cliques = [r for r in rows if r.quantity == "gang_members"]
    with pytest.raises(ConfigError, match="not a daily-table statistic"):
        statistics_for(cliques)


def test_malformed_data_file_is_a_config_error(tmp_path):
    bad = tmp_path / "obs.csv"
    bad.write_text("period_start,period_end,quantity,value,unit,source\n"
                   "2012-01-01,2011-12-31,homicides,5,count,x\n")
    with pytest.raises(ConfigError, match="before period_start"):
        load_observed(bad)
