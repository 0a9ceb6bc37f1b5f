"""Observed El Salvador data, shaped for overlay on simulated trajectories.

A thin view on :mod:`trucesim.calibration.observed` (the loader calibration uses): every row is a
mean per day over its period, so that a monthly count, a count over a few weeks and an
annual total are comparable with a simulated daily rate. Rows are split into
calendar-year totals (drawn as annual means) and shorter or odd spans (drawn as points
at the period's midpoint, with the period as a horizontal bar).
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from trucesim.calibration.observed import observed_frame

#: Simulated daily metrics that have an observed counterpart worth overlaying.
#: (Disappearance reports are left out: they count every missing person, not only the
#: killings the model conceals.)
OVERLAID_METRICS = frozenset({"homicides", "police_killed", "gang_killed_by_police"})


OBSERVED_COLUMNS = ["start", "end", "mid", "per_day", "value", "unit", "days", "source", "note"]


@cache
def _bundled() -> pd.DataFrame:
    """The bundled observed record (parsed once; never handed out, only filtered copies)."""
    df = observed_frame()
    df["calendar_year"] = ((df["start"].dt.day_of_year == 1) & (df["end"].dt.month == 12)
                           & (df["end"].dt.day == 31)
                           & (df["start"].dt.year == df["end"].dt.year))
    df["mid"] = df["start"] + (df["end"] - df["start"]) / 2
    return df


def _select(metric: str, start, end, annual: bool) -> pd.DataFrame:
    if metric not in OVERLAID_METRICS:
        return pd.DataFrame(columns=OBSERVED_COLUMNS)
    df = _bundled()
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    keep = ((df["metric"] == metric) & (df["end"] >= start) & (df["start"] <= end)
            & (df["calendar_year"] == annual))
    return df.loc[keep, OBSERVED_COLUMNS].sort_values("start").reset_index(drop=True)


def period_means(metric: str, start, end) -> pd.DataFrame:
    """Observed means per day over months and other sub-annual spans overlapping ``[start, end]``.

    Columns: start, end, mid, per_day, value, unit, days, source, note. Empty when the
    metric has no observed counterpart.
    """
    return _select(metric, start, end, False)


def annual_means(metric: str, start, end) -> pd.DataFrame:
    """Observed calendar-year totals (``value``) overlapping ``[start, end]``, and per day."""
    return _select(metric, start, end, True)


def covers_el_salvador(scenario_name: str | None) -> bool:
    """Whether a scenario stands for El Salvador, so that its observed record may be overlaid."""
    name = (scenario_name or "").lower().replace("_", "-").replace(" ", "-")
    return name.startswith("el-salvador")
