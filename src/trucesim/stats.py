"""The summary statistics the application reports, written once.

- :func:`effective_size`: Kish's effective sample size of normalised weights.
- :func:`quantiles`, :func:`interval`, :func:`weighted_quantiles`: the 5%, 50% and 95%
  points (or any others) of a sample, of a sample's central interval, of a weighted sample.
- :func:`paired_difference`: a measure against a reference, paired run by run (replicate
  by replicate, or particle by particle), summarised as mean and quantiles.

Pure NumPy, no I/O: any layer may import it. Each function computes exactly what the
code it replaced computed (``np.quantile`` with NumPy's default linear interpolation;
``np.median`` for a median), so reports are unchanged to the last bit.
"""

from __future__ import annotations

import numpy as np

#: The points the reports show: the 5%, 50% and 95% quantiles (a 90% interval).
POINTS = (0.05, 0.5, 0.95)


def effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``1 / sum(w**2)`` of weights that sum to 1.

    Equal weights over N particles give N; all the weight on one particle gives 1.
    """
    w = np.asarray(weights, dtype=float)
    return float(1.0 / np.sum(w**2))


def quantiles(x, q=POINTS, axis: int | None = None) -> np.ndarray:
    """``np.quantile(x, q, axis)``: by default the 5%, 50% and 95% points of ``x``."""
    return np.quantile(x, q, axis=axis)


def interval(x, level: float = 0.9) -> tuple[float, float, float]:
    """The median and the central ``level`` interval of ``x``: ``(median, low, high)``."""
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    return float(np.median(x)), float(np.quantile(x, lo)), float(np.quantile(x, hi))


def weighted_quantiles(x: np.ndarray, w: np.ndarray,
                       q: tuple[float, ...] = POINTS) -> tuple[float, ...]:
    """The values of ``x`` at cumulative weight ``q`` (weights ``w``, any positive sum):
    for each ``q``, the smallest value whose cumulative weight reaches it."""
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    cum /= cum[-1]
    return tuple(float(x[order[min(k, len(x) - 1)]]) for k in np.searchsorted(cum, q))


def paired_difference(values, reference, q=POINTS) -> dict[str, float]:
    """``values - reference``, paired element by element (the same replicate, or the
    same particle, in both), summarised: ``mean``, the quantiles ``q`` (keys ``p05``,
    ``p50``, ``p95`` for the default points) and ``share_below`` (the share of pairs in
    which ``values`` is below ``reference``).

    Raises:
        ValueError: the two do not pair (different shapes) or are empty.
    """
    a = np.asarray(values, dtype=float)
    b = np.asarray(reference, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired_difference: shapes {a.shape} and {b.shape} do not pair")
    if a.size == 0:
        raise ValueError("paired_difference: no pairs")
    diff = a - b
    out = {"mean": float(diff.mean())}
    for p, v in zip(q, np.quantile(diff, q), strict=True):
        out[f"p{round(100 * p):02d}"] = float(v)
    out["share_below"] = float(np.mean(diff < 0))
    return out
