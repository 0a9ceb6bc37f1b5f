"""Out-of-sample statistics of ``trucesim validate`` (2014-2016 and the Honduras-like truce).

Each is computed on stacked daily tables (one per replicate) and reported next to the
record as it comes; nothing here is fitted or tuned:

* :func:`surge_ratio`: mean recorded homicides per day in 2015 over the pre-truce mean
  (January 2010-February 2012), and :func:`observed_surge_ratio` from the record;
* :func:`communique_responses`: for each communique dated after 2013-12-31, the change
  in recorded homicides per day over the 7 and 30 days from the communique against the
  30 days before it, with the record's change where it has figures tiling those windows;
* :func:`deaths_per_year`: police killed and gang members killed by police per year;
* :func:`truce_change`: the change over the 28 days from a truce's start against the 28
  days before (the Honduras-like scenario);
* :func:`ablation`: each mechanism switch's Shapley contribution to the surge ratio and
  to the 2012 drop, through :mod:`trucesim.runner.attribution` (the sweep runner).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from trucesim.calibration.observed import ObservedRow, annual_homicides
from trucesim.calibration.validation.stats import FIT_CUTOFF, PRE_TRUCE, span_means
from trucesim.stats import interval

D = dt.timedelta
SURGE_YEAR = 2015
#: Days after a communique compared with the 30 days before it.
RESPONSE_WINDOWS = (7, 30)
BEFORE_DAYS = 30
#: Days after and before a truce's start for the Honduras-like comparison.
TRUCE_WINDOW = 28
#: The run-summary outcomes the ablation attributes (the surge is derived from two).
ABLATION_PRE = "phase.pre_truce.homicides"
ABLATION_2015 = f"year.{SURGE_YEAR}.homicides"
ABLATION_DROP = "truce_rate_ratio"


def _mean_change(x: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, median, 5% and 95% of ``x`` (NaNs left out)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return (math.nan,) * 4
    return (float(x.mean()), *interval(x))


# ---------------------------------------------------------------------- surge
def surge_ratio(daily: pd.DataFrame, year: int = SURGE_YEAR) -> np.ndarray:
    """Per replicate, mean recorded homicides per day in ``year`` over January 2010-February
    2012 (the pre-truce mean of :data:`~.stats.PRE_TRUCE`)."""
    y = span_means(daily, "homicides", dt.date(year, 1, 1), dt.date(year, 12, 31))
    return y / span_means(daily, "homicides", *PRE_TRUCE)


def observed_pre_truce(rows: list[ObservedRow]) -> float:
    """The record's mean per day January 2010-February 2012: the 2010 and 2011 totals, and
    January-February 2012 at the observed 1 January-8 March 2012 daily mean."""
    by_id = {r.id: r for r in rows}
    annual = annual_homicides(rows)
    early = by_id["homicides_per_day:2012-01-01:2012-03-08"].per_day * (
        (PRE_TRUCE[1] - dt.date(2012, 1, 1)).days + 1)
    return float((annual[2010] + annual[2011] + early)
                 / ((PRE_TRUCE[1] - PRE_TRUCE[0]).days + 1))


def observed_surge_ratio(rows: list[ObservedRow], year: int = SURGE_YEAR) -> float:
    """The record's ``year`` mean per day over its pre-truce mean."""
    annual = annual_homicides(rows)
    days = (dt.date(year, 12, 31) - dt.date(year, 1, 1)).days + 1
    return float(annual[year] / days / observed_pre_truce(rows))


# ---------------------------------------------------------------------- communiques
def observed_window_mean(rows: list[ObservedRow], start: dt.date, end: dt.date) -> float | None:
    """The record's homicides per day over ``start``..``end`` when rows of homicides
    tile that window exactly (consecutive, no overlap, no gap), else None.

    Rows of any use are taken (validation and "nowcast window only" rows may be shown,
    never fitted); IML rows are left out where PNC rows exist (one source per window).
    """
    cand = [r for r in rows if r.quantity in ("homicides", "homicides_per_day")
            and start <= r.start and r.end <= end]
    for pick in (lambda r: r.source.startswith("PNC"), lambda r: True):
        chosen = sorted((r for r in cand if pick(r)), key=lambda r: r.start)
        day, total = start, 0.0
        for r in chosen:
            if r.start != day:
                continue  # overlapping or out of step: skip; a gap ends the walk below
            total += r.per_day * r.days
            day = r.end + D(days=1)
        if day == end + D(days=1):
            return total / ((end - start).days + 1)
    return None


def communique_events(scenario, after: dt.date = FIT_CUTOFF) -> list:
    """The scenario's communique events dated after ``after``, in date order."""
    return sorted((e for e in scenario.events if e.kind == "communique" and e.date > after),
                  key=lambda e: e.date)


def communique_responses(daily: pd.DataFrame, events: list, rows: list[ObservedRow],
                         windows: tuple[int, ...] = RESPONSE_WINDOWS,
                         before: int = BEFORE_DAYS) -> pd.DataFrame:
    """Per communique and window, the simulated and observed change in homicides per day.

    The change is ``mean over [date, date + days - 1] / mean over [date - before,
    date - 1] - 1``; simulated per replicate (mean, median and 90% interval), observed
    where :func:`observed_window_mean` finds both windows in the record (else NaN and a
    note saying so).
    """
    out = []
    for e in events:
        d = e.date
        pre_span = (d - D(days=before), d - D(days=1))
        pre = span_means(daily, "homicides", *pre_span)
        obs_pre = observed_window_mean(rows, *pre_span)
        for days in windows:
            post_span = (d, d + D(days=days - 1))
            change = span_means(daily, "homicides", *post_span) / pre - 1.0
            mean, med, lo, hi = _mean_change(change)
            obs_post = observed_window_mean(rows, *post_span)
            if obs_pre is not None and obs_post is not None and obs_pre:
                observed, note = obs_post / obs_pre - 1.0, "record"
            else:
                observed = math.nan
                note = "no comparable window in the record" + _monthly_context(rows, d)
            out.append({
                "date": d.isoformat(), "communique": e.label or "communique",
                "stance": str(e.stance), "gangs": "+".join(e.gangs or []) or "all",
                "window": f"{days} days after vs {before} before",
                "simulated_mean": mean, "simulated": med, "p05": lo, "p95": hi,
                "observed": observed, "observed_note": note,
            })
    return pd.DataFrame(out)


def _monthly_context(rows: list[ObservedRow], d: dt.date) -> str:
    """The record's month before and month after the communique's month, if it has them."""
    before_end = dt.date(d.year, d.month, 1) - D(days=1)
    before_start = dt.date(before_end.year, before_end.month, 1)
    nxt = (dt.date(d.year, d.month, 28) + D(days=4)).replace(day=1)
    after_end = (nxt + D(days=32)).replace(day=1) - D(days=1)
    a = observed_window_mean(rows, before_start, before_end)
    b = observed_window_mean(rows, nxt, after_end)
    if a is None or b is None or not a:
        return ""
    return (f" (monthly only: {nxt:%B %Y} {b:.1f}/day vs {before_start:%B %Y} {a:.1f}/day, "
            f"{b / a - 1:+.0%})")


# ---------------------------------------------------------------------- deaths per year
DEATH_METRICS = {"police_killed": "police_killed",
                 "gang_killed_by_police": "gang_members_killed_by_police"}


def deaths_per_year(daily: pd.DataFrame, rows: list[ObservedRow]) -> pd.DataFrame:
    """Per year, police killed and gang members killed by police: simulated mean, median
    and 90% interval over replicates, and the record's annual figure where it has one."""
    observed = {(q, r.start.year): r.value for r in rows for q in DEATH_METRICS.values()
                if r.quantity == q and r.unit == "count"
                and r.start == dt.date(r.start.year, 1, 1)
                and r.end == dt.date(r.start.year, 12, 31)}
    years = daily["date"].dt.year.rename("year")
    out = []
    for metric, quantity in DEATH_METRICS.items():
        totals = daily.groupby([years, "replicate"])[metric].sum()
        for y in sorted(set(years)):
            mean, med, lo, hi = _mean_change(totals.xs(y, level="year").to_numpy(float))
            obs = observed.get((quantity, y), math.nan)
            out.append({"quantity": metric, "year": int(y),
                        "sample": "fit window" if dt.date(y, 12, 31) <= FIT_CUTOFF else "out",
                        "simulated_mean": mean, "simulated": med, "p05": lo, "p95": hi,
                        "observed": obs,
                        "inside_90": bool(lo <= obs <= hi) if math.isfinite(obs) else None})
    return pd.DataFrame(out)


# ---------------------------------------------------------------------- truce change
def truce_start(daily: pd.DataFrame) -> dt.date:
    """The first day of the first truce-regime phase (of the first replicate)."""
    one = daily[daily["replicate"] == daily["replicate"].min()]
    is_truce = one["regime"].astype(str).to_numpy() == "truce"
    if not is_truce.any():
        raise ValueError("the daily table has no truce phase")
    return pd.Timestamp(one["date"].to_numpy()[int(np.argmax(is_truce))]).date()


def truce_change(daily: pd.DataFrame, days: int = TRUCE_WINDOW) -> tuple[dt.date, np.ndarray]:
    """The truce's start and, per replicate, mean homicides over the ``days`` days from it
    over the ``days`` days before it, minus 1."""
    start = truce_start(daily)
    after = span_means(daily, "homicides", start, start + D(days=days - 1))
    before = span_means(daily, "homicides", start - D(days=days), start - D(days=1))
    return start, after / before - 1.0


# ---------------------------------------------------------------------- ablation
@dataclasses.dataclass
class Ablation:
    """Shapley tables of the mechanisms for the surge ratio and the 2012 drop."""

    table: pd.DataFrame
    mechanisms: list[str]
    replicates: int
    elapsed: float


def ablation(scenario, replicates: int, seed: int, pool, folder: Path,
             workers: int | None = None) -> Ablation:
    """Each mechanism :func:`~trucesim.runner.attribution.choose_mechanisms` picks (the
    mechanism switches of docs/model.md, "Mechanisms", on in ``scenario``): its exact
    Shapley contribution to the surge ratio (``year.2015.homicides /
    phase.pre_truce.homicides``, as the runner's summaries give them) and to the 2012
    drop (``truce_rate_ratio``: truce phases over the pre-truce phase), all ``2**k``
    combinations run through the sweep runner into ``folder`` with common random numbers.
    """
    import time

    from trucesim.runner import run_experiment
    from trucesim.runner.attribution import attribute, plan_attribution

    started = time.perf_counter()
    plan = plan_attribution(scenario, ABLATION_DROP, replicates=replicates, seed=seed,
                            extra_outcomes=[ABLATION_2015, ABLATION_PRE])
    sweep = run_experiment(plan.experiment, pool, out=folder, progress=False,
                           workers=workers if pool is None else None)
    if sweep.report.failed or sweep.report.aborted:
        raise RuntimeError(f"ablation: {sweep.report.failed} of {plan.experiment.runs} runs "
                           "failed")
    runs = sweep.runs.copy()
    runs["surge_ratio"] = runs[ABLATION_2015] / runs[ABLATION_PRE]
    frames = []
    for outcome, label in (("surge_ratio", "surge (2015 / pre-truce)"),
                           (ABLATION_DROP, "2012 drop (truce rate ratio)")):
        res = attribute(dataclasses.replace(plan, outcome=outcome), runs)
        t = res.table.assign(outcome=label, all_on=res.v_all, all_off=res.v_none)
        frames.append(t)
    return Ablation(ablation_frame(frames), plan.mechanisms, replicates,
                    time.perf_counter() - started)


def ablation_frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The attribution tables of each outcome stacked, outcome first."""
    t = pd.concat(frames, ignore_index=True)
    return t[["outcome", "mechanism", "shapley", "p05", "p95", "all_on", "all_off",
              "replicates"]]
