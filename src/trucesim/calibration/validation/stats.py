"""Validation statistics on stacked daily tables: intervals, span means, rate ratios,
the annual and in-sample comparison tables."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from trucesim.calibration.observed import ObservedRow, annual_homicides
from trucesim.scenario.maincase import main_case_date
from trucesim.stats import interval

#: Katz, Hedberg and Amaya (2016, Bulletin of the WHO): truce rate ratio range.
KATZ_RATE_RATIO = (0.55, 0.61)
#: The main case's hindcast cutoff: the last day of data the validated fit may use.
FIT_CUTOFF = main_case_date("hindcast_cutoff")
PRE_TRUCE = (dt.date(2010, 1, 1), dt.date(2012, 2, 29))
TRUCE = (dt.date(2012, 3, 1), dt.date(2013, 12, 31))
TRANSFERS = dt.date(2012, 3, 8)


def span_means(daily: pd.DataFrame, metric: str, start: dt.date, end: dt.date) -> np.ndarray:
    """Per replicate, the mean per day of ``metric`` from ``start`` to ``end`` (included)."""
    d = daily[(daily["date"] >= pd.Timestamp(start)) & (daily["date"] <= pd.Timestamp(end))]
    if d.empty:
        return np.array([math.nan])
    return d.groupby("replicate")[metric].mean().to_numpy(dtype=float)


def disappearance_baseline(rows: list[ObservedRow]) -> float:
    """Non-gang missing-person reports per day: the January-June 2011 rate (no restraint,
    nothing concealed in the model)."""
    for r in rows:
        if r.id == "disappearance_reports:2011-01-01:2011-06-30":
            return r.per_day
    return 0.0


def annual_table(daily: pd.DataFrame, rows: list[ObservedRow]) -> pd.DataFrame:
    """Observed and simulated annual homicide totals, with the simulated 90% interval."""
    obs = annual_homicides(rows)
    years = sorted(set(daily["date"].dt.year))
    totals = daily.groupby([daily["date"].dt.year.rename("year"), "replicate"])["homicides"].sum()
    out = []
    for y in years:
        med, lo, hi = interval(totals.xs(y, level="year").to_numpy(dtype=float))
        o = float(obs.get(y, math.nan))
        out.append({
            "year": y, "sample": "in (fitted)" if dt.date(y, 12, 31) <= FIT_CUTOFF else "out",
            "observed": o, "simulated": med, "p05": lo, "p95": hi,
            "inside_90": bool(lo <= o <= hi) if math.isfinite(o) else None,
            "error": (med / o - 1.0) if math.isfinite(o) and o else math.nan,
        })
    return pd.DataFrame(out)


def in_sample_table(daily: pd.DataFrame, rows: list[ObservedRow], start: dt.date,
                    baseline: float) -> pd.DataFrame:
    """Every observed row with a simulated counterpart inside ``start``..2013-12-31."""
    out = []
    for r in rows:
        if r.metric is None or r.start < start or r.end > FIT_CUTOFF:
            continue
        add = baseline if r.metric == "disappearances" else 0.0
        med, lo, hi = interval(span_means(daily, r.metric, r.start, r.end) + add)
        out.append({"row": r.id, "metric": r.metric + (" + baseline" if add else ""),
                    "observed": r.per_day, "simulated": med, "p05": lo, "p95": hi,
                    "inside_90": bool(lo <= r.per_day <= hi), "source": r.source})
    return pd.DataFrame(out)


def observed_rate_ratio(rows: list[ObservedRow]) -> float:
    """The record's truce rate ratio (Mar 2012-Dec 2013 over Jan 2010-Feb 2012).

    From the annual totals, with January-February 2012 taken at the observed
    1 January-8 March 2012 mean per day.
    """
    by_id = {r.id: r for r in rows}
    annual = annual_homicides(rows)
    early = by_id["homicides_per_day:2012-01-01:2012-03-08"].per_day * 60  # Jan + Feb 2012
    pre = (annual[2010] + annual[2011] + early) / ((PRE_TRUCE[1] - PRE_TRUCE[0]).days + 1)
    truce = (annual[2012] - early + annual[2013]) / ((TRUCE[1] - TRUCE[0]).days + 1)
    return float(truce / pre)


def rate_ratio(daily: pd.DataFrame) -> np.ndarray:
    """Per replicate, mean homicides Mar 2012-Dec 2013 over Jan 2010-Feb 2012."""
    return span_means(daily, "homicides", *TRUCE) / span_means(daily, "homicides", *PRE_TRUCE)


def phase_rate_ratio(daily: pd.DataFrame) -> np.ndarray:
    """Per replicate, mean homicides in the first truce phase over the phase before it."""
    one = daily[daily["replicate"] == daily["replicate"].min()]
    regime = one["regime"].astype(str).to_numpy()
    phase = one["phase"].astype(str).to_numpy()
    first = int(np.argmax(regime == "truce"))
    dates = one["date"].to_numpy()
    before = dates[phase == phase[first - 1]]
    during = dates[phase == phase[first]]
    day = lambda x: pd.Timestamp(x).date()  # noqa: E731
    pre = span_means(daily, "homicides", day(before[0]), day(before[-1]))
    tru = span_means(daily, "homicides", day(during[0]), day(during[-1]))
    return tru / pre


def format_interval(x: np.ndarray, digits: int = 2) -> str:
    """``median [p05, p95]`` of ``x`` with ``digits`` decimals."""
    med, lo, hi = interval(x)
    return f"{med:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
