"""The stylised-fact checklist: each fact's criterion, observed and simulated figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trucesim.calibration.observed import ObservedRow, annual_homicides
from trucesim.calibration.validation.outofsample import observed_surge_ratio, surge_ratio
from trucesim.calibration.validation.stats import (
    TRANSFERS,
    format_interval,
    phase_rate_ratio,
    span_means,
)

D = dt.timedelta


@dataclass(frozen=True)
class Fact:
    """One stylised fact: what it says, the criterion, observed and simulated figures."""

    name: str
    criterion: str
    observed: str
    simulated: str
    share: float
    passed: bool


def _max_rolling(daily: pd.DataFrame, start: dt.date, end: dt.date, days: int = 30) -> np.ndarray:
    d = daily[(daily["date"] >= pd.Timestamp(start)) & (daily["date"] <= pd.Timestamp(end))]
    return d.groupby("replicate")["homicides"].apply(
        lambda s: s.rolling(days).mean().max()).to_numpy(dtype=float)


def stylised_facts(daily: pd.DataFrame, honduras: pd.DataFrame, rows: list[ObservedRow],
                   baseline: float) -> list[Fact]:
    """The checklist: each fact's simulated figure (median [90% interval]) and pass/fail.

    A fact passes when its criterion holds for the median over replicates; ``share`` is
    the fraction of replicates in which it holds.
    """
    by_id = {r.id: r for r in rows}
    annual = annual_homicides(rows)
    pre_span = (dt.date(2010, 1, 1), TRANSFERS - D(days=1))
    pre = span_means(daily, "homicides", *pre_span)
    early_days = (pre_span[1] - dt.date(2012, 1, 1)).days + 1
    obs_pre = (
        annual[2010] + annual[2011]
        + by_id["homicides_per_day:2012-01-01:2012-03-08"].per_day * early_days
    ) / ((pre_span[1] - pre_span[0]).days + 1)
    facts = []

    early = span_means(daily, "homicides", dt.date(2012, 1, 1), TRANSFERS - D(days=1))
    drop = span_means(daily, "homicides", TRANSFERS + D(days=1), TRANSFERS + D(days=14)) / early
    obs_drop = (by_id["homicides:2012-03-09:2012-03-22"].per_day
                / by_id["homicides_per_day:2012-01-01:2012-03-08"].per_day)
    facts.append(Fact(
        "Drop within 14 days of the 2012-03-08 transfers",
        "mean 9-22 March 2012 / mean 1 January-7 March 2012 <= 0.75",
        f"{obs_drop:.2f}", format_interval(drop), float(np.mean(drop <= 0.75)),
        bool(np.median(drop) <= 0.75)))

    plateau_span = (dt.date(2012, 4, 1), dt.date(2013, 4, 30))
    level = span_means(daily, "homicides", *plateau_span) / pre
    peak = _max_rolling(daily, *plateau_span) / pre
    inside = [r for r in rows if r.quantity in ("homicides", "homicides_per_day")
              and plateau_span[0] <= r.start and r.end <= plateau_span[1] and r.source != "IML"
              or r.id == "homicides_per_day:2012-06-01:2012-06-18"]
    obs_level = sum(r.per_day * r.days for r in inside) / sum(r.days for r in inside) / obs_pre
    ok = (level <= 0.75) & (peak <= 0.9)
    facts.append(Fact(
        "Truce plateau (April 2012-April 2013)",
        "mean / pre-truce mean <= 0.75 and no 30-day mean above 0.9 x pre-truce",
        f"{obs_level:.2f} (months and spans in the data)",
        f"{format_interval(level)}; highest 30-day {format_interval(peak)}", float(np.mean(ok)),
        bool(np.median(level) <= 0.75 and np.median(peak) <= 0.9)))

    y2015 = surge_ratio(daily)  # the same figure as the report's surge section
    obs_2015 = observed_surge_ratio(rows)
    facts.append(Fact(
        "Surge above the pre-truce level after the collapse",
        "mean 2015 / pre-truce mean (Jan 2010-Feb 2012) > 1",
        f"{obs_2015:.2f}", format_interval(y2015), float(np.mean(y2015 > 1)),
        bool(np.median(y2015) > 1)))

    truce_span = (TRANSFERS, dt.date(2014, 5, 31))
    hard_span = (dt.date(2014, 6, 1), dt.date(2016, 12, 31))
    per_year = {}
    for metric in ("police_killed", "gang_killed_by_police"):
        per_year[metric] = (span_means(daily, metric, *truce_span) * 365.25,
                            span_means(daily, metric, *hard_span) * 365.25)
    pk_t, pk_h = per_year["police_killed"]
    gk_t, gk_h = per_year["gang_killed_by_police"]
    both = (pk_h > pk_t) & (gk_h > gk_t)
    facts.append(Fact(
        "Police killed and gang members killed by police rising together under hardline",
        "per year, hardline (Jun 2014-2016) > truce (Mar 2012-May 2014) for both",
        "police killed 6 (2012), 12 (2013); killed by police 27 (2013); later years not "
        "in the data file",
        f"police killed {format_interval(pk_t, 1)} -> {format_interval(pk_h, 1)}; killed by police "
        f"{format_interval(gk_t, 1)} -> {format_interval(gk_h, 1)} a year", float(np.mean(both)),
        bool(np.median(pk_h) > np.median(pk_t) and np.median(gk_h) > np.median(gk_t))))

    h1_2011 = span_means(daily, "disappearances", dt.date(2011, 1, 1), dt.date(2011, 6, 30))
    h1_2013 = span_means(daily, "disappearances", dt.date(2013, 1, 1), dt.date(2013, 6, 30))
    reports = (h1_2013 + baseline) / (h1_2011 + baseline)
    obs_rep = (by_id["disappearance_reports:2013-01-01:2013-06-30"].per_day
               / by_id["disappearance_reports:2011-01-01:2011-06-30"].per_day)
    facts.append(Fact(
        "Disappearances rising during the truce",
        "missing-person reports Jan-Jun 2013 / Jan-Jun 2011 > 1 (simulated: baseline "
        f"{baseline:.2f}/day + concealed killings)",
        f"{obs_rep:.2f}", format_interval(reports), float(np.mean(reports > 1)),
        bool(np.median(reports) > 1)))

    hon = phase_rate_ratio(honduras)
    es = phase_rate_ratio(daily)
    facts.append(Fact(
        "A truce among low-cohesion gangs (Honduras-like scenario) does little",
        "truce-phase / pre-truce-phase mean >= 0.85 (El Salvador's same ratio for contrast)",
        "Honduras 2013: little change reported",
        f"Honduras {format_interval(hon)}; El Salvador {format_interval(es)}",
        float(np.mean(hon >= 0.85)),
        bool(np.median(hon) >= 0.85)))
    return facts
