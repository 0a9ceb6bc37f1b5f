"""Daily series of stacked runs as (replicate x day) matrices, their rolling rates and quantiles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trucesim.core.metrics import FLOW_METRICS, GANG_METRICS, METRICS
from trucesim.scenario.errors import ConfigError

#: (label, unit) of each daily metric, and of each per-gang metric by its column prefix
#: (``<metric>_<gang>``): both from the metric's declaration (:mod:`trucesim.core.metrics`).
_LABELS = {m.name: (m.label, m.unit) for m in METRICS}
_PREFIXES = {f"{m.name}_": ("{}: " + m.label, m.unit) for m in GANG_METRICS}


def metric_label(metric: str) -> tuple[str, str]:
    """(description, unit) of a daily metric."""
    if metric in _LABELS:
        return _LABELS[metric]
    for prefix, (text, unit) in _PREFIXES.items():
        if metric.startswith(prefix):
            return text.format(metric[len(prefix):]), unit
    return metric.replace("_", " "), "value"


def axis_label(metric: str, window: int | None) -> str:
    """Y-axis label with the unit (and the averaging window for flows)."""
    text, unit = metric_label(metric)
    if metric in FLOW_METRICS and window and window > 1:
        return f"{text}\n({unit}, trailing {window}-day mean)"
    return f"{text}\n({unit})"


def daily_metrics(daily: pd.DataFrame) -> list[str]:
    """Numeric daily columns that can be plotted over time."""
    skip = {"variant", "replicate", "run_id"}
    return [c for c in daily.columns
            if c not in skip and pd.api.types.is_numeric_dtype(daily[c])
            and not pd.api.types.is_bool_dtype(daily[c])]


def check_metric(daily: pd.DataFrame, metric: str) -> None:
    """Raise ConfigError naming the valid metrics when ``metric`` is not a daily column."""
    valid = daily_metrics(daily)
    if metric not in valid:
        raise ConfigError("--metric", "", f"unknown metric {metric!r}; valid: {', '.join(valid)}")


def variants_of(daily: pd.DataFrame) -> list[str]:
    """Variants in their stored order."""
    if "variant" not in daily:
        return ["base"]
    v = daily["variant"]
    if isinstance(v.dtype, pd.CategoricalDtype):
        present = set(v.astype(str))
        return [str(c) for c in v.cat.categories if str(c) in present]
    return [str(x) for x in dict.fromkeys(v.astype(str))]


def of_variant(daily: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Rows of one variant (all rows if there is no variant column)."""
    if "variant" not in daily:
        return daily
    return daily[daily["variant"].astype(str) == variant]


#: Quantiles over replicates a fan draws: the median and the 50% and 90% bands.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class RunMatrix:
    """One metric of one variant: ``values[r, t]`` for ``replicates[r]`` on ``dates[t]``."""

    dates: pd.DatetimeIndex
    replicates: np.ndarray
    values: np.ndarray

    def between(self, start=None, end=None) -> RunMatrix:
        """The days from ``start`` to ``end`` (both included; None: open)."""
        keep = np.ones(len(self.dates), dtype=bool)
        if start is not None:
            keep &= self.dates >= pd.Timestamp(start)
        if end is not None:
            keep &= self.dates <= pd.Timestamp(end)
        return RunMatrix(self.dates[keep], self.replicates, self.values[:, keep])

    def rolled(self, window: int) -> RunMatrix:
        """Trailing ``window``-day mean (NaN for the first ``window - 1`` days)."""
        if window <= 1:
            return self
        x = self.values.astype(float)
        c = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
        out = np.full_like(x, np.nan)
        if x.shape[1] >= window:
            out[:, window - 1:] = (c[:, window:] - c[:, :-window]) / window
        return RunMatrix(self.dates, self.replicates, out)

    def quantiles(self) -> dict[float, np.ndarray]:
        """The :data:`QUANTILES` over replicates for each day (NaN on days without values)."""
        qs = QUANTILES
        x = self.values
        out = np.full((len(qs), x.shape[1]), np.nan)
        whole = np.isfinite(x).all(axis=0)
        if whole.any():
            out[:, whole] = np.quantile(x[:, whole], qs, axis=0)
        partial = ~whole & np.isfinite(x).any(axis=0)
        if partial.any():
            out[:, partial] = np.nanquantile(x[:, partial], qs, axis=0)
        return {q: out[i] for i, q in enumerate(qs)}


def run_matrix(daily: pd.DataFrame, metric: str, variant: str) -> RunMatrix:
    """The (replicate x day) matrix of ``metric`` for one variant."""
    d = of_variant(daily, variant)
    if "replicate" not in d:
        d = d.assign(replicate=0)
    wide = d.pivot_table(index="replicate", columns="date", values=metric, aggfunc="first",
                         observed=True)
    return RunMatrix(pd.DatetimeIndex(wide.columns), wide.index.to_numpy(),
                     wide.to_numpy(dtype=float))


def paired_difference(a: RunMatrix, b: RunMatrix) -> RunMatrix:
    """``a - b`` replicate by replicate, on the days both hold.

    ``a`` and ``b`` are one metric of two variants: replicate r of every variant runs from
    the same seed (common random numbers), which pairs them.
    """
    reps = np.intersect1d(a.replicates, b.replicates)
    dates = a.dates.intersection(b.dates)
    ia = np.searchsorted(a.replicates, reps)
    ib = np.searchsorted(b.replicates, reps)
    ca, cb = a.dates.get_indexer(dates), b.dates.get_indexer(dates)
    return RunMatrix(dates, reps, a.values[np.ix_(ia, ca)] - b.values[np.ix_(ib, cb)])


def phase_runs(daily: pd.DataFrame, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """(dates, phase labels) of the first replicate of a variant."""
    d = of_variant(daily, variant)
    if "replicate" in d:
        d = d[d["replicate"] == d["replicate"].min()]
    return d["date"].to_numpy(), d["phase"].astype(str).to_numpy()


def divergence_date(daily: pd.DataFrame, variants: list[str]) -> pd.Timestamp | None:
    """First date on which the variants' phase labels differ (None if they never do)."""
    ref_dates, ref = phase_runs(daily, variants[0])
    first = None
    for v in variants[1:]:
        dates, ph = phase_runs(daily, v)
        n = min(len(ph), len(ref))
        diff = np.flatnonzero(ph[:n] != ref[:n])
        if len(diff):
            d = pd.Timestamp(ref_dates[diff[0]])
            first = d if first is None else min(first, d)
    return first


_OUTCOMES = {
    "truce_rate_ratio": ("truce rate ratio: recorded homicides in the truce over the phase "
                         "before", "ratio"),
    "mean_homicides": ("mean recorded homicides", "per day"),
    "total_homicides": ("total recorded homicides", "count"),
    "total_deaths_true": ("total true deaths", "count"),
    "peak_30d_homicides": ("peak 30-day rate of recorded homicides", "per day"),
    "days_to_pre_truce_level": ("days until homicides are back at the pre-truce level", "days"),
}


def outcome_label(outcome: str) -> tuple[str, str]:
    """(description, unit) of a run-summary outcome such as ``phase.truce.homicides``."""
    if outcome in _OUTCOMES:
        return _OUTCOMES[outcome]
    parts = outcome.split(".")
    if len(parts) == 3 and parts[0] in ("phase", "year"):
        where = f"phase {parts[1]}" if parts[0] == "phase" else parts[1]
        if parts[2] == "change":
            return f"change of recorded homicides in {where} from the phase before", "ratio - 1"
        text, unit = metric_label(parts[2])
        return f"{text} in {where}", unit
    return outcome.replace("_", " "), "value"
