"""Proper scores of quantile forecasts, as the forecast hubs compute them.

**Weighted interval score** (Bracher, Ray, Gneiting and Reich 2021, PLoS Comput Biol
17:e1008618, eq. 1-2). A forecast given as the median ``m`` and ``K`` central intervals
``[l_k, u_k]`` at levels ``1 - alpha_k`` is scored against the observation ``y`` by

    IS_alpha(l, u; y) = (u - l) + 2/alpha (l - y) 1(y < l) + 2/alpha (y - u) 1(y > u)
    WIS = 1 / (K + 1/2) * ( 1/2 |y - m| + sum_k alpha_k / 2 * IS_alpha_k )

and split into its three parts, which add up to it: **dispersion** ``1/(K+1/2) sum_k
alpha_k/2 (u_k - l_k)``, **overprediction** (the penalties for ``y`` below the lower
ends, with the median's ``1/2 |y - m|`` when ``y < m``) and **underprediction** (the
same above). With the hubs' 23 quantile levels (:data:`QUANTILE_LEVELS`) ``K = 11``.
WIS equals ``1/(K+1/2)`` times the sum of the pinball losses at the 23 levels; the
tests check both forms.

**Relative WIS** (Cramer et al. 2022, PNAS 119:e2113561119, "Relative WIS"). For each
pair of models ``i, j`` the ratio ``theta_ij`` of their mean WIS over the targets both
forecast; each model's ``theta_i`` is the geometric mean of ``theta_ij`` over all
models ``j`` (``theta_ii = 1`` included); the relative WIS of ``i`` against a baseline
``b`` is ``theta_i / theta_b``. Below 1, ``i`` beats the baseline.

Computed here with numpy (``scoringrules``' numpy backend gets WIS wrong in 0.10 and
0.11: it adds the median instead of its absolute error).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: The hubs' 23 quantile levels (COVID-19 Forecast Hub, FluSight).
QUANTILE_LEVELS: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50,
    0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.975, 0.99,
)
#: Central intervals whose coverage is reported, by nominal level.
COVERAGE_LEVELS = (0.5, 0.9)
#: The columns of a score table (one row per forecast).
SCORE_COLUMNS = ("wis", "dispersion", "overprediction", "underprediction", "ae_median",
                 "cover_50", "cover_90")


def intervals(levels: Sequence[float]) -> tuple[int, list[tuple[float, int, int]]]:
    """The median's index and, per central interval, ``(alpha, lower index, upper
    index)`` of a sorted, symmetric set of quantile levels that includes 0.5.

    Raises:
        ValueError: levels not increasing, without 0.5, or not symmetric about it.
    """
    lv = np.asarray(levels, dtype=float)
    if lv.ndim != 1 or len(lv) % 2 != 1 or np.any(np.diff(lv) <= 0):
        raise ValueError("quantile levels must be an odd number of increasing values")
    mid = len(lv) // 2
    if not np.isclose(lv[mid], 0.5) or not np.allclose(lv + lv[::-1], 1.0):
        raise ValueError("quantile levels must be symmetric about 0.5 and include it")
    pairs = [(float(2 * lv[k]), k, len(lv) - 1 - k) for k in range(mid)]
    return mid, pairs


def quantiles_of(samples: np.ndarray, levels: Sequence[float] = QUANTILE_LEVELS) -> np.ndarray:
    """Quantiles (rows x levels) of a sample matrix (draws x rows), numpy's default
    (linear) interpolation; monotone in the level by construction."""
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2 or samples.shape[0] < 1:
        raise ValueError("samples must be a (draws, rows) matrix with at least one draw")
    if not np.all(np.isfinite(samples)):
        raise ValueError("samples must be finite")
    return np.quantile(samples, np.asarray(levels, dtype=float), axis=0).T


def weighted_interval_score(q: np.ndarray, y: np.ndarray,
                            levels: Sequence[float] = QUANTILE_LEVELS) -> dict[str, np.ndarray]:
    """WIS and its parts for forecasts ``q`` (n x levels, increasing along a row) of
    observations ``y`` (n): arrays ``wis``, ``dispersion``, ``overprediction``,
    ``underprediction`` (see the module docstring)."""
    q = np.atleast_2d(np.asarray(q, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    mid, pairs = intervals(levels)
    if q.shape != (len(y), len(levels)):
        raise ValueError(f"quantiles of shape {q.shape} for {len(y)} observations and "
                         f"{len(levels)} levels")
    m = q[:, mid]
    disp = np.zeros(len(y))
    over = 0.5 * np.maximum(m - y, 0.0)
    under = 0.5 * np.maximum(y - m, 0.0)
    for alpha, lo, hi in pairs:
        lower, upper = q[:, lo], q[:, hi]
        disp += alpha / 2 * (upper - lower)
        over += np.maximum(lower - y, 0.0)  # alpha/2 * 2/alpha * (l - y)
        under += np.maximum(y - upper, 0.0)
    scale = 1.0 / (len(pairs) + 0.5)
    disp, over, under = disp * scale, over * scale, under * scale
    return {"wis": disp + over + under, "dispersion": disp, "overprediction": over,
            "underprediction": under}


def coverage(q: np.ndarray, y: np.ndarray, nominal: float,
             levels: Sequence[float] = QUANTILE_LEVELS) -> np.ndarray:
    """Whether each observation lies in the central ``nominal`` interval (ends
    included), e.g. ``nominal=0.9``: between the 0.05 and 0.95 quantiles."""
    lv = np.asarray(levels, dtype=float)
    lo_level, hi_level = (1 - nominal) / 2, 1 - (1 - nominal) / 2
    lo, hi = np.flatnonzero(np.isclose(lv, lo_level)), np.flatnonzero(np.isclose(lv, hi_level))
    if not len(lo) or not len(hi):
        raise ValueError(f"no {nominal:.0%} interval among the quantile levels")
    q = np.atleast_2d(np.asarray(q, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    return (q[:, lo[0]] <= y) & (y <= q[:, hi[0]])


def score(q: np.ndarray, y: np.ndarray,
          levels: Sequence[float] = QUANTILE_LEVELS) -> pd.DataFrame:
    """Every score of :data:`SCORE_COLUMNS`, one row per forecast."""
    parts = weighted_interval_score(q, y, levels)
    mid, _ = intervals(levels)
    q = np.atleast_2d(np.asarray(q, dtype=float))
    out = pd.DataFrame(parts)
    out["ae_median"] = np.abs(np.atleast_1d(np.asarray(y, dtype=float)) - q[:, mid])
    for nominal in COVERAGE_LEVELS:
        out[f"cover_{round(nominal * 100)}"] = coverage(q, y, nominal, levels)
    return out


def pairwise_theta(table: pd.DataFrame, keys: Sequence[str], model: str = "model",
                   value: str = "wis") -> pd.Series:
    """Each model's ``theta_i``: the geometric mean over all models ``j`` of the ratio of
    mean ``value`` of ``i`` to that of ``j`` over the targets (rows sharing ``keys``)
    both forecast (Cramer et al. 2022). NaN for a model that shares no target with
    another, or whose comparison has a zero mean."""
    wide = table.pivot_table(index=list(keys), columns=model, values=value, aggfunc="mean")
    models = list(wide.columns)
    theta = {}
    for i in models:
        logs = []
        for j in models:
            if i == j:
                logs.append(0.0)  # theta_ii = 1
                continue
            both = wide[[i, j]].dropna()
            if both.empty:
                logs.append(np.nan)
                continue
            a, b = both[i].mean(), both[j].mean()
            logs.append(np.log(a / b) if a > 0 and b > 0 else (0.0 if a == b else np.nan))
        theta[i] = float(np.exp(np.mean(logs)))
    return pd.Series(theta, name="theta")


def relative_wis(table: pd.DataFrame, baseline: str, keys: Sequence[str],
                 model: str = "model", value: str = "wis") -> pd.Series:
    """Relative WIS of every model against ``baseline``: ``theta_i / theta_baseline``
    (:func:`pairwise_theta`); the baseline's own is 1."""
    theta = pairwise_theta(table, keys, model, value)
    if baseline not in theta.index:
        raise ValueError(f"no forecasts of the baseline {baseline!r}")
    return (theta / theta[baseline]).rename("relative_wis")
