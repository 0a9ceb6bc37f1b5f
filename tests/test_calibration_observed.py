"""The observed-data loader: rows, statistics on hand-made daily tables, the future guard."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trucesim.calibration.observed import (
    CONTEXT_QUANTITIES,
    QUANTITY_METRICS,
    ObservedRow,
    Statistic,
    annual_homicides,
    load_observed,
    log_ratio_distance,
    observed_frame,
    select_rows,
    simulated_statistics,
    statistics_for,
)
from trucesim.scenario.errors import ConfigError

#: The main case's dates (bundled/cases/el-salvador-2016/case.toml): protocol A's
#: hindcast cutoff and protocol B's as-of date.
FIT_CUTOFF = dt.date(2013, 12, 31)
NOWCAST_CUTOFF = dt.date(2016, 7, 14)


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
    assert {r.end > FIT_CUTOFF for r in rows if r.start.year >= 2014} == {True}


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


def test_rows_after_the_cutoff_cannot_be_selected_under_protocol_a():
    rows = load_observed()
    with pytest.raises(ConfigError, match="ends after 2013-12-31"):
        select_rows(rows, ids=["homicides:2015-01-01:2015-12-31"], protocol="A")
    with pytest.raises(ConfigError, match="the fitting window ends 2015-12-31, after 2013-12-31"):
        select_rows(rows, quantity="homicides", window=(dt.date(2010, 1, 1), dt.date(2015, 12, 31)),
                    protocol="A")
    # Without a window, later rows are silently out of reach.
    chosen = select_rows(rows, quantity="homicides", min_days=365, protocol="A")
    assert chosen and max(r.end for r in chosen) <= FIT_CUTOFF
    # With a later data_until (protocol B), they are selectable.
    allowed = select_rows(rows, ids=["homicides:2015-01-01:2015-12-31"], protocol="B",
                          cutoff=dt.date(2015, 12, 31))
    assert allowed[0].value == 6657


def test_future_rows_errors_name_the_row_window_and_key():
    rows = load_observed()
    past = "homicides:2013-01-01:2013-12-31"
    with pytest.raises(ConfigError) as exc:
        select_rows(rows, ids=[past, "homicides:2015-01-01:2015-12-31"], source="c.toml",
                    key="targets[0]", protocol="A")
    assert str(exc.value) == (
        "c.toml: targets[0].rows: row homicides:2015-01-01:2015-12-31 ends after 2013-12-31: "
        "the calibration's data_until is 2013-12-31 (protocol A; nothing after it may be "
        "fitted)")
    with pytest.raises(ConfigError) as exc:
        select_rows(rows, ids=[past], quantity="homicides", source="c.toml", protocol="A",
                    window=(dt.date(2013, 1, 1), dt.date(2014, 1, 1)))
    assert "targets.window: the fitting window ends 2014-01-01, after 2013-12-31" in str(exc.value)
    assert [r.id for r in select_rows(rows, ids=[past], protocol="A")] == [past]
    # The cutoff is the calibration's data_until, not only the protocol's.
    with pytest.raises(ConfigError, match="row homicides:2013-01-01:2013-12-31 ends after "
                       "2012-12-31: the calibration's data_until is 2012-12-31"):
        select_rows(rows, ids=[past], protocol="A", cutoff=dt.date(2012, 12, 31))


def test_quantity_selection_reaches_later_rows_only_up_to_the_cutoff():
    rows = load_observed()
    years = [r for r in rows if r.quantity == "homicides" and r.days >= 365]
    assert any(r.end > FIT_CUTOFF for r in years) and not all(r.end > FIT_CUTOFF for r in years)
    past = select_rows(rows, quantity="homicides", min_days=365, protocol="A")
    assert past == [r for r in years if r.end <= FIT_CUTOFF]
    nowcast = select_rows(rows, quantity="homicides", min_days=365, protocol="B")
    assert nowcast == [r for r in years if r.end <= NOWCAST_CUTOFF] != past
    window = (dt.date(2012, 1, 1), dt.date(2015, 12, 31))
    inside = select_rows(rows, quantity="homicides", min_days=365, window=window, protocol="B")
    assert [r.start.year for r in inside] == [2012, 2013, 2014, 2015]
    # Only later rows of the quantity: nothing to select.
    with pytest.raises(ConfigError, match="selects no data row up to 2013-12-31"):
        select_rows(rows, quantity="homicides", min_days=365, protocol="A",
                    window=(dt.date(2013, 6, 1), dt.date(2013, 12, 31)))
    later = [r for r in rows if r.start.year >= 2014]
    with pytest.raises(ConfigError, match="selects no data row"):
        select_rows(later, quantity="homicides", protocol="A")


def test_unknown_rows_quantities_and_statistics_are_errors():
    rows = load_observed()
    with pytest.raises(ConfigError, match="unknown data row"):
        select_rows(rows, ids=["homicides:2012-01-01:2012-01-31"], protocol="A")
    with pytest.raises(ConfigError, match="unknown quantity"):
        select_rows(rows, quantity="robberies", protocol="A")
    with pytest.raises(ConfigError, match="unknown statistic"):
        statistics_for(rows[:1], metric="robberies")
    cliques = [r for r in rows if r.quantity == "cliques"]
    with pytest.raises(ConfigError, match=r"not a daily-table statistic \(the number of cliques"):
        statistics_for(cliques)


def test_malformed_data_file_is_a_config_error(tmp_path):
    bad = tmp_path / "obs.csv"
    bad.write_text("period_start,period_end,quantity,value,unit,source\n"
                   "2012-01-01,2011-12-31,homicides,5,count,x\n")
    with pytest.raises(ConfigError, match="before period_start"):
        load_observed(bad)


NOWCAST_IDS = [
    "homicides:2014-01-01:2014-03-31", "homicides:2014-01-01:2014-06-30",
    *(f"homicides:2016-{m:02d}-01:2016-{m:02d}-{d}"
      for m, d in ((1, 31), (2, 29), (3, 31), (4, 30), (5, 31), (6, 30))),
    "homicides_per_day:2016-07-01:2016-07-14",
    "gang_member_victim_share:2014-01-01:2015-09-15",
    "gang_member_victims:2015-01-01:2015-05-31",
    "gang_members_in_prison:2015-04-30:2015-04-30",
    "gang_arrests:2016-01-01:2016-04-30",
]


def test_every_bundled_quantity_is_simulated_or_has_a_reason():
    rows = load_observed()
    for r in rows:
        assert r.source, r.id
        assert r.quantity in QUANTITY_METRICS or r.quantity in CONTEXT_QUANTITIES, r.quantity
        assert (r.metric is None) == (r.use(FIT_CUTOFF) == "context")
        assert bool(r.context_reason) == (r.metric is None)
    by_id = {r.id: r for r in rows}
    assert by_id["police_killed:2013-01-01:2013-12-31"].metric == "police_killed"
    assert by_id["attacks_on_police:2013-01-01:2013-12-31"].metric == "attacks_on_police"
    assert by_id["cliques:2013-05-01:2013-05-31"].use(FIT_CUTOFF) == "context"
    assert by_id["cliques:2013-05-01:2013-05-31"].value == 1955


def test_member_counts_are_stocks_compared_with_the_daily_level():
    rows = {r.id: r for r in load_observed()}
    members = rows["gang_members:2012-01-01:2012-12-31"]
    prison = rows["gang_members_in_prison:2013-05-01:2013-05-31"]
    assert members.stock and members.metric == "members" and members.per_day == 60000
    assert prison.stock and prison.metric == "prisoners" and prison.per_day == 9553
    assert not rows["police_killed:2013-01-01:2013-12-31"].stock
    # The simulated statistic is the mean end-of-day level over the span.
    daily = _daily("2013-05-01", days=31, prisoners=np.linspace(9000, 9600, 31))
    (stat,) = statistics_for([prison])
    assert simulated_statistics(daily, [stat])[0] == pytest.approx(9300)
    assert log_ratio_distance(np.array([9553.0]), [stat])[0] == pytest.approx(0.0)
    chosen = select_rows(list(rows.values()), quantity="gang_members_in_prison", protocol="A")
    assert chosen == [prison]


def test_nowcast_rows_are_marked_loadable_and_displayed():
    rows = load_observed()
    marked = [r.id for r in rows if r.nowcast_only]
    assert marked == NOWCAST_IDS
    assert all(r.use(FIT_CUTOFF) == "nowcast only" for r in rows if r.nowcast_only)
    frame = observed_frame(rows)
    assert frame.loc[frame["nowcast_only"], "id"].tolist() == NOWCAST_IDS
    assert frame.loc[frame["id"] == "homicides:2016-04-01:2016-04-30", "value"].item() == 334
    # The 2016 annual total is validation data, not nowcast-only.
    year = {r.id: r for r in rows}["homicides:2016-01-01:2016-12-31"]
    assert year.use(FIT_CUTOFF) == "validation"


@pytest.mark.parametrize("row_id", NOWCAST_IDS)
@pytest.mark.parametrize("cutoff", [None, NOWCAST_CUTOFF])
def test_nowcast_rows_are_never_fitted_under_protocol_a(row_id, cutoff):
    rows = load_observed()
    past = "homicides:2013-01-01:2013-12-31"
    with pytest.raises(ConfigError) as exc:
        select_rows(rows, ids=[past, row_id], protocol="A", cutoff=cutoff,
                    source="cal.toml", key="targets.2")
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"cal.toml: targets.2.rows: row {row_id} (el_salvador_observed.csv "
                          "line ")
    assert msg.endswith("is marked 'nowcast window only': it may inform only a nowcast: "
                        'set protocol = "B" (data_until at most the case\'s as-of date)')
    # A nowcast (protocol B) may use them.
    assert [r.id for r in select_rows(rows, ids=[past, row_id], protocol="B")] == [past, row_id]


def test_quantity_selections_reaching_nowcast_rows_are_refused():
    rows = load_observed()
    window = (dt.date(2010, 1, 1), NOWCAST_CUTOFF)
    with pytest.raises(ConfigError) as exc:
        select_rows(rows, quantity="homicides", window=window, min_days=28, max_days=31,
                    protocol="A", cutoff=NOWCAST_CUTOFF, source="cal.toml", key="targets.1")
    assert str(exc.value).startswith(
        "cal.toml: targets.1.quantity: row homicides:2016-01-01:2016-01-31 ")
    with pytest.raises(ConfigError, match="nowcast window only"):
        select_rows(rows, quantity="homicides_per_day", protocol="A", cutoff=NOWCAST_CUTOFF)
    monthly = select_rows(rows, quantity="homicides", window=window, min_days=28, max_days=31,
                          protocol="B")
    assert "homicides:2016-01-01:2016-01-31" in [r.id for r in monthly]
    # With protocol A's own cutoff they are out of reach like every row after it, and a
    # selection that does not reach them is unaffected.
    assert all(not r.nowcast_only for r in select_rows(rows, quantity="homicides", protocol="A"))
    annual = select_rows(rows, quantity="homicides", min_days=365, window=window,
                         protocol="A", cutoff=NOWCAST_CUTOFF)
    assert [r.start.year for r in annual] == [2010, 2011, 2012, 2013, 2014, 2015]


def test_a_nowcast_mark_before_the_cutoff_is_refused_too(tmp_path):
    data = tmp_path / "obs.csv"
    data.write_text("period_start,period_end,quantity,value,unit,source,note\n"
                    "2013-01-01,2013-01-31,homicides,150,count,test,\n"
                    "2013-02-01,2013-02-28,homicides,140,count,test,Nowcast window only: test\n")
    rows = load_observed(data)
    assert [r.nowcast_only for r in rows] == [False, True]
    with pytest.raises(ConfigError, match=r"\(obs.csv line 3\) is marked 'nowcast window only'"):
        select_rows(rows, quantity="homicides", protocol="A")
    assert select_rows(rows, ids=["homicides:2013-01-01:2013-01-31"], protocol="A") == rows[:1]
    assert select_rows(rows, quantity="homicides", protocol="B") == rows


def test_victim_share_is_a_ratio_of_sums_over_the_span():
    """gang_member_victim_share: sum of gang_member_victims over the span / sum of
    homicides; its distance compares share * days as a count."""
    rows = {r.id: r for r in load_observed()}
    share = rows["gang_member_victim_share:2014-01-01:2015-09-15"]
    count = rows["gang_member_victims:2015-01-01:2015-05-31"]
    assert share.unit == "share" and share.per_day == 0.32 and not share.stock
    assert share.metric == count.metric == "gang_member_victims"
    assert rows["gang_arrests:2016-01-01:2016-04-30"].metric == "arrests"
    (stat,) = statistics_for([share])
    assert stat.denominator == "homicides"
    days = share.days
    victims = np.r_[np.full(100, 1.0), np.zeros(days - 100)]
    daily = _daily("2014-01-01", days=days, gang_member_victims=victims,
                   homicides=np.full(days, 2.0))
    assert simulated_statistics(daily, [stat])[0] == pytest.approx(100 / (2 * days))
    assert log_ratio_distance(np.array([0.32]), [stat])[0] == pytest.approx(0.0)
    assert log_ratio_distance(np.array([0.16]), [stat])[0] == pytest.approx(
        np.log((0.16 * days + 0.5) / (0.32 * days + 0.5)) ** 2)
    # The count row is a flow: its mean per day.
    (flow,) = statistics_for([count])
    assert flow.denominator is None
    daily = _daily("2015-01-01", days=count.days, gang_member_victims=3.0, homicides=9.0)
    assert simulated_statistics(daily, [flow])[0] == pytest.approx(3.0)


@pytest.mark.parametrize("line, reason", [
    ("2014-01-01,2014-12-31,gang_member_victim_share,30,count,x",
     "quantity 'gang_member_victim_share' in unit 'count': the shares"),
    ("2014-01-01,2014-12-31,homicides,0.3,share,x",
     "quantity 'homicides' in unit 'share': the shares"),
    ("2014-01-01,2014-12-31,gang_member_victim_share,1.3,share,x", "share 1.3 is outside 0..1"),
])
def test_share_rows_are_checked(tmp_path, line, reason):
    bad = tmp_path / "obs.csv"
    bad.write_text("period_start,period_end,quantity,value,unit,source\n" + line + "\n")
    with pytest.raises(ConfigError) as exc:
        load_observed(bad)
    assert str(exc.value).startswith(f"{bad}: line 2: {reason}")
