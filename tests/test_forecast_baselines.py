"""The baselines: fitted on the rows known at the origin, quantiles monotone, draws
reproducible from a seed, levels as worked out by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from trucesim.calibration.observed import ObservedRow, load_observed
from trucesim.forecast.backtest import Task, hidden, known_rows, target_rows
from trucesim.forecast.baselines import FlatBaseline, NegBinBaseline, known_periods
from trucesim.forecast.scores import quantiles_of

AS_OF = dt.date(2016, 7, 14)
ORIGIN = dt.date(2014, 1, 1)


def task(origin=ORIGIN, record=None) -> Task:
    record = load_observed() if record is None else record
    targets = target_rows(record, origin, AS_OF)
    return Task(origin, "status-quo", known_rows(record, origin),
                tuple(hidden(r) for r in targets))


def test_flat_baseline_median_is_the_last_level():
    # At 2014-01-01 the last period is 2013 without January-April: the 2013 total 2513
    # minus the January-April row 694 = 1819 homicides over May-December (245 days):
    # 1819 / 245 = 7.4245 a day. The changes are symmetric, so the median is that level.
    t = task()
    last = max(known_periods(t), key=lambda p: (p.end, -p.days))
    assert last.per_day == pytest.approx(1819 / 245)
    q = quantiles_of(FlatBaseline(seed=1, draws=4000)(t))
    np.testing.assert_allclose(q[:, 11], 1819 / 245, rtol=1e-12)
    # the spread grows with the distance to the target: Q1 2014 vs the 2016 months
    widths = {(r.start, r.end): q[j, 20] - q[j, 2] for j, r in enumerate(t.targets)}
    assert widths[(dt.date(2016, 6, 1), dt.date(2016, 6, 30))] > 2 * widths[
        (dt.date(2014, 1, 1), dt.date(2014, 3, 31))]


@pytest.mark.parametrize("baseline", [FlatBaseline, NegBinBaseline])
def test_baselines_are_monotone_and_reproducible_from_a_seed(baseline):
    t = task()
    a, b, c = baseline(seed=5)(t), baseline(seed=5)(t), baseline(seed=6)(t)
    assert a.shape[0] >= 2000 and a.shape[1] == len(t.targets) and np.all(a > 0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    q = quantiles_of(a)
    assert np.all(np.diff(q, axis=1) >= 0)
    # the same draws in both modes: a baseline knows no policy
    other = Task(t.origin, "policy-known", t.known, t.targets)
    np.testing.assert_array_equal(baseline(seed=5)(other), a)


def test_negbin_baseline_extrapolates_a_trend():
    # Ten annual rows whose level doubles every year (10, 20, ..., 5120 a day): the
    # regression's trend is log 2 a year, so the next year's median is about 10240 a day.
    rows = [ObservedRow(dt.date(2000 + k, 1, 1), dt.date(2000 + k, 12, 31), "homicides",
                        10 * 2**k * 365.0, "count", "test") for k in range(10)]
    # 2000 and 2004/2008 have 366 days: count = 10 * 2^k * 365 makes the per-day level
    # 365/366 of 10 * 2^k there; the fitted trend is still log 2 to within a percent.
    target = ObservedRow(dt.date(2010, 1, 1), dt.date(2010, 12, 31), "homicides", np.nan,
                         "count", "test")
    t = Task(dt.date(2010, 1, 1), "status-quo", tuple(rows), (target,))
    res, _ = NegBinBaseline().fit(t)
    assert res.params[1] == pytest.approx(np.log(2), rel=0.01)
    median = np.median(NegBinBaseline(seed=1)(t)[:, 0])
    assert median == pytest.approx(10240, rel=0.03)


@pytest.mark.parametrize("baseline", [FlatBaseline, NegBinBaseline])
def test_baselines_refuse_too_short_a_record(baseline):
    rows = load_observed()
    with pytest.raises(ValueError, match="at least 3"):
        baseline()(task(dt.date(2010, 1, 1), [r for r in rows if r.start.year >= 2009]))


def test_negbin_without_overdispersion_is_the_poisson_fit():
    """Monthly counts exactly on a trend (less spread than Poisson's): the dispersion's
    estimate sits at its bound and the negative binomial fit fails; the Poisson
    regression, its alpha = 0 limit, is fitted instead and forecasts the trend."""
    rows = []
    for m in range(1, 13):
        end = dt.date(2020 + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)
        rows.append(ObservedRow(dt.date(2020, m, 1), end, "homicides", 40.0 + 3 * m, "count",
                                "test"))
    target = ObservedRow(dt.date(2021, 1, 1), dt.date(2021, 1, 31), "homicides", np.nan,
                         "count", "test")
    t = Task(dt.date(2021, 1, 1), "status-quo", tuple(rows), (target,))
    res, _ = NegBinBaseline().fit(t)
    assert len(res.params) == 2  # intercept and trend: no dispersion parameter
    median = np.median(NegBinBaseline(seed=1)(t)[:, 0])
    assert median == pytest.approx(79 / 31, rel=0.1)  # the trend's next month, per day


def test_a_baseline_that_cannot_fit_is_left_out_at_that_origin(tmp_path):
    """Too few known periods: the baselines make no forecast there (listed as skipped,
    also when the origin is read back), another forecaster does."""
    from trucesim.forecast.backtest import NoForecast, run_backtest

    rows = [r for r in load_observed() if r.start.year >= 2009 and r.end <= AS_OF]
    with pytest.raises(NoForecast, match="at least 3"):
        NegBinBaseline()(task(dt.date(2010, 1, 1), rows))
    origins = [dt.date(2010, 1, 1), dt.date(2014, 1, 1)]
    forecasters = {"flat": FlatBaseline(seed=1, draws=200), "negbin": NegBinBaseline(seed=1),
                   "ones": lambda task: np.ones((5, len(task.targets)))}
    for _ in range(2):  # the second run reads both origins back
        res = run_backtest(rows, origins, forecasters, as_of=AS_OF, out=tmp_path / "b",
                           settings={}, progress=False)
        assert any(s.startswith("2010-01-01: negbin: negbin baseline at 2010-01-01: 1 known")
                   for s in res.skipped), res.skipped
        models = res.forecasts.groupby(res.forecasts["origin"].dt.year)["model"].unique()
        assert any(s.startswith("2010-01-01: flat: ") for s in res.skipped)
        assert set(models[2010]) == {"ones"} and set(models[2014]) == {"flat", "negbin", "ones"}
