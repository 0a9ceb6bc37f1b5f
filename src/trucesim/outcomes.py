"""Summary outcomes of runs: means per phase and per year, peaks, recovery, counterfactuals.

Works on the daily table of one run (:func:`run_summary`, a flat dict of named
outcomes, as stored one row per run by sweeps) or on a stack of runs with ``variant``
and ``replicate`` columns (:func:`period_table`, :func:`counterfactual_table`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trucesim.core.metrics import DEATH_TYPES
from trucesim.stats import paired_difference

#: Homicide types reported in summaries (mean per day): recorded, true, each kind of
#: death (:data:`~trucesim.core.metrics.DEATH_TYPES`) and the hidden.
TYPES = ("homicides", "deaths_true", *DEATH_TYPES, "disappearances")
TRUCE_REGIMES = frozenset({"truce", "dialogue"})


def _slug(label: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(label)).strip("_").lower()


def rolling_rate(series: pd.Series | np.ndarray, days: int = 30) -> np.ndarray:
    """Trailing ``days``-day mean per day (NaN until ``days`` days are available)."""
    x = np.asarray(series, dtype=float)
    if len(x) < days:
        return np.full(len(x), np.nan)
    c = np.concatenate([[0.0], np.cumsum(x)])
    out = np.full(len(x), np.nan)
    out[days - 1 :] = (c[days:] - c[:-days]) / days
    return out


def run_summary(df: pd.DataFrame) -> dict[str, float]:
    """Named summary outcomes of one run's daily table.

    Keys:
        ``mean_homicides``: mean recorded homicides per day over the run.
        ``phase.<label>.<type>``: mean per day in each phase, for each of :data:`TYPES`.
        ``phase.<label>.change``: relative change of recorded homicides from the previous phase.
        ``year.<YYYY>.<type>``: mean per day in each calendar year.
        ``total_deaths_true``, ``total_homicides``: sums over the run.
        ``peak_30d_homicides``: highest trailing 30-day mean of recorded homicides.
        ``truce_rate_ratio``: mean recorded homicides in truce phases over the phase before
            the first truce (NaN without a truce).
        ``days_to_pre_truce_level``: days from the end of the truce phases until the 30-day
            rate is back at the pre-truce mean (NaN if never or no truce).
    """
    out: dict[str, float] = {
        "mean_homicides": float(df["homicides"].mean()),
        "total_homicides": float(df["homicides"].sum()),
        "total_deaths_true": float(df["deaths_true"].sum()),
    }
    by_phase = df.groupby("phase", observed=True, sort=False)[list(TYPES)].mean()
    prev = None
    for label, row in by_phase.iterrows():
        key = f"phase.{_slug(label)}"
        for t in TYPES:
            out[f"{key}.{t}"] = float(row[t])
        out[f"{key}.change"] = (
            float(row["homicides"] / prev - 1.0) if prev not in (None, 0.0) else math.nan
        )
        prev = float(row["homicides"])
    by_year = df.groupby(df["date"].dt.year)[list(TYPES)].mean()
    for year, row in by_year.iterrows():
        for t in TYPES:
            out[f"year.{year}.{t}"] = float(row[t])
    rate30 = rolling_rate(df["homicides"], 30)
    out["peak_30d_homicides"] = float(np.nanmax(rate30)) if np.isfinite(rate30).any() else math.nan
    out.update(_truce_outcomes(df, rate30))
    return out


def outcome_unit(name: str) -> str:
    """The unit of a :func:`run_summary` outcome, for printing beside its value
    (``year.2015.homicides`` is a mean per day, ``total_homicides`` a count)."""
    parts = name.split(".")
    if name in ("mean_homicides", "peak_30d_homicides"):
        return "recorded homicides a day" + (" (mean)" if name == "mean_homicides"
                                             else " (30-day mean)")
    if name in ("total_homicides", "total_deaths_true"):
        return "deaths in all (count)"
    if name == "truce_rate_ratio":
        return "ratio (truce / before)"
    if name == "days_to_pre_truce_level":
        return "days"
    if len(parts) >= 3 and parts[0] in ("phase", "year"):
        if parts[-1] == "change":
            return "relative change (fraction)"
        span = "phase" if parts[0] == "phase" else "year"
        return f"{parts[-1].replace('_', ' ')} a day (mean over the {span})"
    return "as in run_summary"


def _truce_outcomes(df: pd.DataFrame, rate30: np.ndarray) -> dict[str, float]:
    regime = df["regime"].astype(str).to_numpy()
    is_truce = np.isin(regime, list(TRUCE_REGIMES))
    nan = {"truce_rate_ratio": math.nan, "days_to_pre_truce_level": math.nan}
    if not is_truce.any() or is_truce[0]:
        return nan
    first = int(np.argmax(is_truce))
    phase = df["phase"].astype(str).to_numpy()
    before = phase == phase[first - 1]
    pre_level = float(df["homicides"].to_numpy()[before].mean())
    after_first = np.arange(len(df)) >= first
    end_candidates = np.flatnonzero(after_first & ~is_truce)
    truce_span = after_first & (
        np.arange(len(df)) < (end_candidates[0] if len(end_candidates) else len(df))
    )
    homicides = df["homicides"].to_numpy()
    ratio = float(homicides[truce_span].mean() / pre_level) if pre_level else math.nan
    days = math.nan
    if len(end_candidates):
        end = int(end_candidates[0])
        back = np.flatnonzero(rate30[end:] >= pre_level)
        if len(back):
            days = float(back[0])
    return {"truce_rate_ratio": ratio, "days_to_pre_truce_level": days}


def period_table(daily: pd.DataFrame, by: str = "phase") -> pd.DataFrame:
    """Mean per day of each homicide type by ``phase`` or ``year``, averaged over runs.

    ``daily`` may hold one run or a stack with ``variant``/``replicate`` columns; the
    result is indexed by (variant, period) when there is a ``variant`` column.
    """
    df = daily
    key = df["date"].dt.year.rename("year") if by == "year" else df["phase"]
    groups = [df["variant"]] if "variant" in df else []
    runs = groups + ([df["replicate"]] if "replicate" in df else [])
    per_run = df.groupby(runs + [key], observed=True, sort=False)[list(TYPES)].mean()
    if not runs:
        return per_run
    level = [g.name for g in groups] + [key.name]
    return per_run.groupby(level=level, observed=True, sort=False).mean()


def counterfactual_table(
    daily: pd.DataFrame, counterfactual: str, start: pd.Timestamp,
    measure: str = "homicides",
) -> pd.DataFrame:
    """Totals of each variant relative to the ``counterfactual`` variant, paired by replicate.

    Only days from ``start`` (the day the variants diverge) are counted. ``measure`` is
    what is compared: ``homicides`` (recorded, the default, as in the compare plot) or
    ``deaths_true`` (recorded homicides plus disappearances). Returns per variant: the
    mean totals of both measures, the mean paired difference in ``measure`` with its
    5-95% range over replicates, and the ratio of means; the ``measure`` column says
    which measure the difference is of.
    """
    if measure not in ("homicides", "deaths_true"):
        raise ValueError(f"measure must be homicides or deaths_true, not {measure!r}")
    base = daily[daily["variant"] == counterfactual]
    if base.empty:
        raise KeyError(f"no runs of counterfactual variant {counterfactual!r}")
    first = pd.Timestamp(start)
    span = daily[daily["date"] >= first]
    totals = span.groupby(["variant", "replicate"], observed=True)[
        ["deaths_true", "homicides"]].sum()
    ref = totals.xs(counterfactual, level="variant")
    rows = []
    for variant, t in totals.groupby(level="variant", sort=False, observed=True):
        t = t.droplevel("variant")
        diff = paired_difference(t[measure].to_numpy(),
                                 ref[measure].reindex(t.index).to_numpy())
        rows.append(
            {
                "variant": variant,
                "from": first.date(),
                "measure": measure,
                "homicides": float(t["homicides"].mean()),
                "deaths_true": float(t["deaths_true"].mean()),
                "difference": diff["mean"],
                "diff_p05": diff["p05"],
                "diff_p95": diff["p95"],
                "ratio": float(t[measure].mean() / ref[measure].mean()),
            }
        )
    return pd.DataFrame(rows).set_index("variant")
