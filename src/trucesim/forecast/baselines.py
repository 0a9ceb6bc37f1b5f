"""Two baselines the model must beat, fitted on the record known at the origin only.

Both read the known homicide rows through the nowcast's period decomposition
(:func:`trucesim.calibration.periods.decompose`): the record's rows are annual,
monthly, half-month and daily-mean figures that overlap (a month inside its year), so
they are first made into periods that never count a day twice (finest first; a year
with some months known becomes the year's other days, a *residual* period). Each period
has a count, its days and so a mean per day; its time is the mean of its days (its
midpoint, for a residual the midpoint of the days it keeps). A forecast of a target row
is a sample of that row's mean per day, whatever its length.

- :class:`FlatBaseline` (the hubs' baseline, Cramer et al. 2022, adapted to periods of
  mixed length): the median is the last observed level (the period ending last, the
  finest if several end that day); the spread comes from the past changes between
  consecutive periods, taken on the log scale (levels are positive) and divided by the
  square root of the years between their midpoints, at least one (a random walk's
  scaling, so that a change over two years counts as two yearly changes; a change
  between periods less than a year apart counts as a yearly one, since the means of
  short periods differ by short-term noise that does not grow with time as a random
  walk does, and dividing it by a short gap would inflate it), resampled with both
  signs (symmetric, as the hubs' baseline) and scaled by the square root of the years
  from the last period's midpoint to the target's. The draws are antithetic (each step
  with both signs, plus the last level itself), so the sample's median is exactly the
  last level, as in the hubs' baseline.
- :class:`NegBinBaseline`: a negative-binomial (NB2) regression of the periods' counts
  with log link, intercept and a linear trend in time, and the period's days as
  exposure (statsmodels ``NegativeBinomial``, maximum likelihood); the predictive
  sample draws the coefficients from their asymptotic normal distribution and then the
  row's count from the negative binomial with the fitted dispersion, divided by its days.
  When the counts show no overdispersion the dispersion's estimate sits at its bound
  (alpha = 0) and the fit fails; the Poisson regression (the same model with alpha = 0)
  is fitted instead.

With fewer than 3 known periods neither makes a forecast at that origin
(:class:`~trucesim.forecast.backtest.NoForecast`: the driver lists it as skipped).

Each is a forecaster for :func:`trucesim.forecast.backtest.run_backtest`: called with a
:class:`~trucesim.forecast.backtest.Task`, it returns ``draws x targets`` means per day.
The draws depend on the seed and the origin only (not the mode: a baseline knows no
policy), so they are reproducible and identical in both modes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from trucesim.calibration.observed import ObservedRow
from trucesim.calibration.periods import Period, decompose
from trucesim.forecast.backtest import NoForecast, Task

YEAR = 365.25
#: Draws each baseline returns per target.
DEFAULT_DRAWS = 2000


def midpoint(spans: tuple[tuple[dt.date, dt.date], ...]) -> float:
    """Mean day ordinal of the days in ``spans`` (first and last days included)."""
    days = sum((b - a).days + 1 for a, b in spans)
    return sum(((a.toordinal() + b.toordinal()) / 2) * ((b - a).days + 1)
               for a, b in spans) / days


def known_periods(task: Task) -> list[Period]:
    """The non-overlapping homicide periods of the rows known at the origin (see the
    module docstring), ordered by midpoint."""
    if not task.known:
        return []
    first = min(r.start for r in task.known)
    periods, _ = decompose(list(task.known), first, task.origin - dt.timedelta(days=1))
    return sorted(periods, key=lambda p: (midpoint(p.spans), p.end, -p.days))


def _finite(res) -> bool:
    """A statsmodels fit with finite parameters and covariance."""
    try:
        return bool(np.all(np.isfinite(res.params)) and np.all(np.isfinite(res.cov_params())))
    except (ValueError, np.linalg.LinAlgError):
        return False


def _rng(seed: int, origin: dt.date) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, origin.toordinal()]))


def _row_mid(row: ObservedRow) -> float:
    return midpoint(((row.start, row.end),))


@dataclass(frozen=True)
class FlatBaseline:
    """The last observed level, spread from resampled past changes (module docstring).

    Attributes:
        seed: root of the draws (with the origin).
        draws: draws per target (rounded to the odd number ``2 * (draws // 2) + 1``).
    """

    seed: int = 0
    draws: int = DEFAULT_DRAWS
    name: str = "flat"

    def __call__(self, task: Task) -> np.ndarray:
        periods = known_periods(task)
        if len(periods) < 3:
            raise NoForecast(f"flat baseline at {task.origin}: {len(periods)} known homicide "
                             "periods, at least 3 are needed")
        last = max(periods, key=lambda p: (p.end, -p.days))
        t_last = midpoint(last.spans)
        mids = np.array([midpoint(p.spans) for p in periods])
        logs = np.log(np.array([max(p.per_day, 1e-9) for p in periods]))
        gaps = np.diff(mids) / YEAR
        ok = gaps > 0
        z = np.diff(logs)[ok] / np.sqrt(np.maximum(gaps[ok], 1.0))
        z = np.concatenate([z, -z])
        rng = _rng(self.seed, task.origin)
        half = max(self.draws // 2, 1)
        out = np.empty((2 * half + 1, len(task.targets)))
        for j, row in enumerate(task.targets):
            years = max(_row_mid(row) - t_last, 0.0) / YEAR
            steps = rng.choice(z, half) * np.sqrt(years)
            # antithetic: each step with both signs, and the last level itself, so the
            # sample is symmetric on the log scale and its median is the last level
            out[:, j] = last.per_day * np.exp(np.concatenate([steps, -steps, [0.0]]))
        return out


@dataclass(frozen=True)
class NegBinBaseline:
    """A negative-binomial regression with a linear trend (module docstring).

    Attributes:
        seed: root of the draws (with the origin).
        draws: draws per target.
    """

    seed: int = 0
    draws: int = DEFAULT_DRAWS
    name: str = "negbin"

    def fit(self, task: Task):
        """The fitted statsmodels result and the time origin (day ordinal) of its trend."""
        import warnings

        from statsmodels.discrete.discrete_model import NegativeBinomial, Poisson

        periods = known_periods(task)
        if len(periods) < 3:
            raise NoForecast(f"negbin baseline at {task.origin}: {len(periods)} known "
                             "homicide periods, at least 3 are needed")
        t0 = task.origin.toordinal()
        t = np.array([(midpoint(p.spans) - t0) / YEAR for p in periods])
        y = np.array([round(p.count) for p in periods], dtype=float)
        days = np.array([p.days for p in periods], dtype=float)
        x = np.column_stack([np.ones_like(t), t])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; checked below
            res = NegativeBinomial(y, x, exposure=days).fit(disp=0, maxiter=500)
            if not _finite(res):
                # No overdispersion to estimate (counts as regular as Poisson ones or
                # more): the dispersion's MLE is at its bound, alpha = 0, the Poisson
                # model, which is fitted instead (its params have no alpha).
                res = Poisson(y, x, exposure=days).fit(disp=0, maxiter=500)
        if not _finite(res):
            raise NoForecast(f"negbin baseline at {task.origin}: the fit did not converge")
        return res, t0

    def __call__(self, task: Task) -> np.ndarray:
        res, t0 = self.fit(task)
        params = np.asarray(res.params)
        cov = np.asarray(res.cov_params())[:2, :2]
        alpha = float(params[2]) if len(params) > 2 else 0.0  # the Poisson fit: none
        rng = _rng(self.seed, task.origin)
        beta = rng.multivariate_normal(params[:2], cov, size=self.draws, method="cholesky")
        out = np.empty((self.draws, len(task.targets)))
        for j, row in enumerate(task.targets):
            t = (_row_mid(row) - t0) / YEAR
            mu = np.exp(beta[:, 0] + beta[:, 1] * t) * row.days
            if alpha > 1e-10:
                size = 1.0 / alpha
                counts = rng.negative_binomial(size, size / (size + mu))
            else:
                counts = rng.poisson(mu)
            out[:, j] = counts / row.days
        return out
