"""Observed El Salvador data, shaped for overlay on simulated trajectories.

A thin view on :mod:`trucesim.observed` (the loader calibration uses): every row is a
mean per day over its period, so that a monthly count, a count over a few weeks and an
annual total are comparable with a simulated daily rate. Rows are split into
calendar-year totals (drawn as annual means) and shorter or odd spans (drawn as points
at the period's midpoint, with the period as a horizontal bar).
"""

from __future__ import annotations

import pandas as pd

from ..observed import observed_frame

#: Simulated daily metrics that have an observed counterpart worth overlaying.
#: (Disappearance reports are left out: they count every missing person, not only the
#: killings the model conceals.)
OVERLAID_METRICS = frozenset({"homicides", "police_killed", "gang_killed_by_police"})


def _is_calendar_year(df: pd.DataFrame) -> pd.Series:
    return ((df["start"].dt.day_of_year == 1) & (df["end"].dt.month == 12)
            & (df["end"].dt.day == 31) & (df["start"].dt.year == df["end"].dt.year))


def _select(metric: str, start, end, annual: bool, frame: pd.DataFrame | None) -> pd.DataFrame:
    df = observed_frame() if frame is None else frame
    cols = ["start", "end", "mid", "per_day", "value", "unit", "days", "source", "note"]
    if metric not in OVERLAID_METRICS:
        return pd.DataFrame(columns=cols)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    keep = ((df["metric"] == metric) & (df["end"] >= start) & (df["start"] <= end)
            & (_is_calendar_year(df) == annual))
    out = df[keep].copy()
    out["mid"] = out["start"] + (out["end"] - out["start"]) / 2
    return out.sort_values("start").reset_index(drop=True)[cols]


def period_means(metric: str, start, end, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Observed means per day over months and other sub-annual spans overlapping ``[start, end]``.

    Columns: start, end, mid, per_day, value, unit, days, source, note. Empty when the
    metric has no observed counterpart.
    """
    return _select(metric, start, end, False, frame)


def annual_means(metric: str, start, end, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Observed calendar-year totals (``value``) overlapping ``[start, end]``, and per day."""
    return _select(metric, start, end, True, frame)


def covers_el_salvador(scenario_name: str | None) -> bool:
    """Whether a scenario stands for El Salvador, so that its observed record may be overlaid."""
    name = (scenario_name or "").lower().replace("_", "-").replace(" ", "-")
    return name.startswith("el-salvador")
