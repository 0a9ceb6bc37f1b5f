"""Calibration files: the parameters to fit and their priors, the targets, the distance.

A calibration file is TOML (unknown keys are errors; errors read ``file: key.path: reason``)::

    scenario = "scenario.toml"           # file (relative to this one) or bundled name
    case = "case.toml"                   # the case (file, folder or bundled name; default:
                                         # the main job's): its record and dates
    seed = 2013                          # root of the simulations' seeds and of pyabc's RNG
    protocol = "A"                       # "A" (hindcast, the default) or "B" (nowcast)
    data_until = 2019-12-31              # last day of data (default: the case's date for the
                                         # protocol, its hindcast cutoff for A, its as-of
                                         # date for B; never later)

    [method]                             # pyabc ABC-SMC
    name = "abc_smc"
    population_size = 250
    max_generations = 8
    epsilon = "median"                   # or "quantile" with quantile = 0.3
    min_epsilon = 0.0                    # stop at this tolerance ...
    min_acceptance_rate = 0.0            # ... or below this acceptance rate
    adaptive_population = false          # pyabc AdaptivePopulationSize
    max_population_size = 1000

    [parameters."violence.mu"]           # dotted path into the scenario
    prior = "loguniform"                 # "uniform" (default), "loguniform", "normal" or
                                         # "posterior" (with posterior = "file.toml")
    low = 0.0002                         # default: the parameter table's bounds
    high = 0.008                         # (a normal prior: mean, sd, truncated to low/high)

    [[targets]]
    name = "annual homicides"
    quantity = "homicides"               # data rows of this quantity ...
    window = [2016-01-01, 2019-12-31]    # ... whose span lies inside the window
    min_days = 365
    weight = 2.0

A ``posterior`` prior is a lognormal prior (a normal on ln x) with the weighted mean and
standard deviation of ln x of the parameter in a posterior file (another case's fit, say),
truncated to low/high.

Rows marked "nowcast window only" can be targets only with ``protocol = "B"``; no row
ending after ``data_until`` (nor the case's as-of date) can be, and the scenario is
simulated only up to the last target row's end (:func:`truncate`).

The distance of one simulated run is ``sum over targets of weight * mean over the
target's rows of (ln((S + 0.5) / (O + 0.5)))**2`` where S and O are the simulated and
observed counts over each row's span
(:func:`trucesim.calibration.observed.log_ratio_distance`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from trucesim.calibration.observed import (
    STATISTIC_METRICS,
    Statistic,
    load_observed,
    log_ratio_distance,
    select_rows,
    statistics_for,
)
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.files import is_bare_name, named_path
from trucesim.scenario.params import Frozen
from trucesim.scenario.posterior import load_posterior
from trucesim.scenario.schema import (
    Scenario,
    load_scenario,
    read_toml,
    resolve_path,
    set_path,
    validate,
    walk_path,
)


def table_bounds(path: str) -> tuple[float | None, float | None]:
    """The bounds the parameter table gives the parameter at dotted ``path`` (``ge``/``gt``
    and ``le``/``lt``; None where it gives none or the path is not a table parameter)."""
    from trucesim.scenario.params import PARAMETER_GROUPS

    group, _, name = path.rpartition(".")
    model = PARAMETER_GROUPS.get(group)
    field = model.model_fields.get(name) if model is not None else None
    lo = hi = None
    for m in (field.metadata if field is not None else ()):
        for attr in ("ge", "gt"):
            if getattr(m, attr, None) is not None:
                lo = float(getattr(m, attr))
        for attr in ("le", "lt"):
            if getattr(m, attr, None) is not None:
                hi = float(getattr(m, attr))
    return lo, hi


class Prior(Frozen):
    """The prior of a fitted parameter.

    ``uniform`` on [low, high]; ``loguniform`` (uniform in ln x) on [low, high], low > 0;
    ``normal`` with ``mean`` and ``sd``, truncated to [low, high]; ``lognormal``: normal on
    ln x with ``mean`` and ``sd`` (of ln x), truncated to [low, high]; ``posterior``: the
    lognormal prior with the weighted mean and sd of ln x of the parameter's marginal in a
    posterior file (:meth:`from_posterior`). ``low`` and ``high`` default to the parameter table's
    bounds (see :meth:`resolved`).
    """

    prior: Literal["uniform", "loguniform", "normal", "lognormal", "posterior"] = "uniform"
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0.0)
    posterior: str | None = Field(None, description="posterior prior: the posterior file "
                                  "(relative to the calibration file) whose marginal it takes.")

    @model_validator(mode="after")
    def _shape(self) -> Prior:
        for key in ("low", "high", "mean", "sd"):
            v = getattr(self, key)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{key} must be a finite number")
        if self.prior in ("normal", "lognormal"):
            if self.mean is None or self.sd is None:
                raise ValueError(f"a {self.prior} prior needs mean and sd")
        elif self.mean is not None or self.sd is not None:
            raise ValueError(f"mean and sd belong to a normal prior, not {self.prior!r}")
        if (self.prior == "posterior") != (self.posterior is not None):
            raise ValueError("a posterior prior names its file (posterior = ...), and only it")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def from_posterior(self, path: str, base_dir: Path | None, source: str) -> Prior:
        """A ``posterior`` prior as the lognormal prior it stands for (others unchanged).

        Raises:
            ConfigError: at ``parameters.<path>.posterior``: a bad file, or one without
                the parameter.
        """
        if self.prior != "posterior":
            return self
        key = f"parameters.{path}.posterior"
        file = _relative(self.posterior, base_dir, source, key)
        post = load_posterior(file)
        if path not in post.names:
            raise ConfigError(source, key, f"{file} has no parameter {path!r} (it has "
                              f"{', '.join(post.names)})")
        x = post.values[:, post.names.index(path)]
        if np.any(x <= 0):
            raise ConfigError(source, key, f"{file}'s values of {path!r} are not all positive: "
                              "a posterior prior is lognormal")
        lx = np.log(x)
        mean = float(np.sum(post.weights * lx))
        sd = float(np.sqrt(np.sum(post.weights * (lx - mean) ** 2)))
        sd = max(sd, 1e-3)  # a degenerate marginal keeps some width
        return Prior(prior="lognormal", low=self.low, high=self.high, mean=mean, sd=sd)

    def resolved(self, path: str, source: str) -> Prior:
        """This prior with low/high filled in from the parameter table, checked against it.

        Raises:
            ConfigError: at ``parameters.<path>``: bounds outside the table's, a missing
                bound the table cannot give, low >= high, a loguniform prior reaching 0 or
                below, a normal mean outside its truncation.
        """
        key = f"parameters.{path}"
        t_lo, t_hi = table_bounds(path)
        low = self.low if self.low is not None else t_lo
        high = self.high if self.high is not None else t_hi
        if low is None or high is None:
            side = "low" if low is None else "high"
            raise ConfigError(source, f"{key}.{side}", f"missing, and the parameter table "
                              f"gives no {'lower' if side == 'low' else 'upper'} bound")
        if t_lo is not None and low < t_lo:
            raise ConfigError(source, f"{key}.low", f"{low} is below the parameter table's "
                              f"bound {t_lo}")
        if t_hi is not None and high > t_hi:
            raise ConfigError(source, f"{key}.high", f"{high} is above the parameter table's "
                              f"bound {t_hi}")
        if low >= high:
            raise ConfigError(source, key, f"low ({low}) must be below high ({high})")
        if self.prior == "loguniform" and low <= 0:
            raise ConfigError(source, f"{key}.low", "a loguniform prior needs low > 0")
        if self.prior == "normal" and not low <= self.mean <= high:
            raise ConfigError(source, f"{key}.mean", f"{self.mean} is outside the "
                              f"truncation [{low}, {high}]")
        if self.prior == "lognormal" and not low <= math.exp(self.mean) <= high:
            raise ConfigError(source, f"{key}.mean", f"exp({self.mean}) is outside the "
                              f"truncation [{low}, {high}]")
        return self.model_copy(update={"low": low, "high": high})

    @property
    def log(self) -> bool:
        """True if the sampler works on ln x (a loguniform or lognormal prior)."""
        return self.prior in ("loguniform", "lognormal")

    def to_value(self, u: float) -> float:
        """Parameter value of sampler coordinate ``u`` (exp of it on a log scale)."""
        return math.exp(u) if self.log else u

    def quantile(self, q: float) -> float:
        """The prior's ``q`` quantile (for reports)."""
        from scipy import stats

        lo, hi = float(self.low), float(self.high)
        if self.prior == "uniform":
            return lo + q * (hi - lo)
        if self.prior == "loguniform":
            return math.exp(math.log(lo) + q * (math.log(hi) - math.log(lo)))
        if self.prior == "lognormal":
            a, b = self.log_bounds()
            return math.exp(float(stats.truncnorm.ppf(q, a, b, loc=self.mean, scale=self.sd)))
        a, b = (lo - self.mean) / self.sd, (hi - self.mean) / self.sd
        return float(stats.truncnorm.ppf(q, a, b, loc=self.mean, scale=self.sd))

    def log_bounds(self) -> tuple[float, float]:
        """A lognormal prior's truncation in standard units of ln x (-inf for low 0)."""
        lo = math.log(self.low) if self.low > 0 else -math.inf
        return (lo - self.mean) / self.sd, (math.log(self.high) - self.mean) / self.sd


#: Largest target weight (the weighted distance must stay finite).
MAX_TARGET_WEIGHT = 1e6


class Target(Frozen):
    """Observed rows to match, the simulated metric, its weight and a baseline."""

    name: str
    rows: list[str] = Field(default_factory=list, description="Explicit row ids.")
    quantity: str | None = Field(None, description="Select rows of this quantity ...")
    window: tuple[dt.date, dt.date] | None = Field(
        None, description="... whose whole span lies in this window."
    )
    min_days: int = Field(1, ge=1)
    max_days: int = Field(100_000, ge=1)
    metric: str | None = Field(None, description="Simulated metric (default: from the quantity).")
    weight: float = Field(1.0, gt=0.0, le=MAX_TARGET_WEIGHT, description=(
        "Weight of the target in the distance (at most 1e6: a larger one would overflow "
        "the weighted distance, and 1e6 already makes the other targets irrelevant)."))
    baseline: float = Field(
        0.0, ge=0.0,
        description="Added to the simulated mean per day (e.g. non-gang missing-person reports).",
    )

    @model_validator(mode="after")
    def _selector(self) -> Target:
        if bool(self.rows) == (self.quantity is not None):
            raise ValueError("give either 'rows' (explicit ids) or 'quantity' (with a window)")
        if self.window is not None and self.window[0] > self.window[1]:
            raise ValueError("window start is after its end")
        if self.metric is not None and self.metric not in STATISTIC_METRICS:
            raise ValueError(
                f"unknown statistic {self.metric!r}; valid: {', '.join(sorted(STATISTIC_METRICS))}"
            )
        return self


class Method(Frozen):
    """ABC-SMC settings (pyabc)."""

    name: Literal["abc_smc"] = "abc_smc"
    population_size: int = Field(200, ge=10, le=100_000,
                                 description="Particles per generation (the first, if adaptive).")
    adaptive_population: bool = Field(
        False, description="pyabc AdaptivePopulationSize: size each generation to the target "
        "coefficient of variation of the transition density.")
    max_population_size: int = Field(1000, ge=10, le=100_000)
    population_cv: float = Field(0.1, gt=0.0, le=1.0,
                                 description="Target CV of AdaptivePopulationSize.")
    epsilon: Literal["median", "quantile"] = Field(
        "median", description="Tolerance schedule: the median (quantile 0.5) or the "
        "'quantile' of the last generation's weighted distances (pyabc QuantileEpsilon).")
    quantile: float = Field(0.5, gt=0.0, lt=1.0, description="Quantile of 'quantile'.")
    max_generations: int = Field(8, ge=1, le=1000)
    kernel_scaling: float = Field(
        1.0, gt=0.0, le=10.0, description="Scaling of the perturbation kernel's bandwidth "
        "(pyabc MultivariateNormalTransition, Silverman's rule times this): wider kernels "
        "spread the proposals and keep the importance weights from degenerating.")
    min_epsilon: float = Field(0.0, ge=0.0, description="Stop when the tolerance reaches this.")
    min_acceptance_rate: float = Field(0.0, ge=0.0, le=1.0,
                                       description="Stop when acceptance falls below this.")
    max_simulations: int = Field(1_000_000, ge=1,
                                 description="Stop after this many simulations in all.")

    @model_validator(mode="after")
    def _sizes(self) -> Method:
        if self.epsilon == "median" and self.quantile != 0.5:
            raise ValueError("quantile is for epsilon = \"quantile\" (the median is 0.5)")
        if self.adaptive_population and self.max_population_size < self.population_size:
            raise ValueError("max_population_size is below population_size")
        return self

    @property
    def alpha(self) -> float:
        """The tolerance quantile."""
        return 0.5 if self.epsilon == "median" else self.quantile


#: Method settings that only stop a run: a run may be resumed with other values.
STOPPING = ("max_generations", "min_epsilon", "min_acceptance_rate", "max_simulations")


class Calibration(Frozen):
    """A calibration: scenario, protocol, priors, targets and method."""

    scenario: str
    description: str = ""
    seed: int = Field(2013, ge=0, le=2**63 - 1,
                      description="Root of the simulations' seeds and of pyabc's RNG.")
    case: str | None = Field(None, description="The case (file, folder or bundled name; "
                             "default: the main job's): its record and dates.")
    protocol: Literal["A", "B"] = "A"
    data_until: dt.date | None = Field(
        None, description="Last day of data (default: the case's date for the protocol).")
    data: str | None = Field(None, description="Observed data CSV (default: the case's "
                             "record).")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Fixed dotted-path overrides applied before fitting."
    )
    parameters: dict[str, Prior] = Field(min_length=1)
    targets: list[Target] = Field(min_length=1)
    method: Method = Field(default_factory=Method)
    source: str = Field("<calibration>", exclude=True)

    @property
    def names(self) -> list[str]:
        """Fitted parameter paths, in file order."""
        return list(self.parameters)


class CalibrationProblem:
    """A loaded calibration: the base scenario (cut at the fit end) and the statistics.

    Attributes:
        spec: the validated :class:`Calibration`.
        priors: each fitted parameter's prior, bounds filled in from the parameter table.
        scenario: the base scenario with the fixed overrides, ending at :attr:`fit_end`.
        stats: the target statistics, in target order.
        target_of: index of the target of each statistic.
        fit_end: last day simulated (the latest row end among the targets).
    """

    def __init__(self, spec: Calibration, base_dir: Path | None = None):
        from trucesim.cases import load_case, main_case_path

        self.spec = spec
        src = spec.source
        self.case = load_case(_case_path(spec.case, base_dir, src) if spec.case
                              else main_case_path(), posteriors=False)
        cutoff = self.case.cutoff(spec.protocol, src, "protocol")
        until = spec.data_until or cutoff
        if until > cutoff:
            what = "hindcast cutoff" if spec.protocol == "A" else "as-of date"
            hint = ('; a nowcast fit needs protocol = "B"' if spec.protocol == "A"
                    and until <= self.case.as_of else
                    "; nothing after the case's as-of date may be an input")
            raise ConfigError(src, "data_until", f"{until} is after case {self.case.name}'s "
                              f"{what} {cutoff} (protocol {spec.protocol}){hint}")
        self.until = until
        rows = load_observed(_relative(spec.data, base_dir, src) if spec.data
                             else self.case.record_path)
        if rows and until < min(r.start for r in rows):
            raise ConfigError(src, "data_until", f"{until} is before the first data row "
                              f"({min(r.start for r in rows)}): an empty data window")
        stats: list[Statistic] = []
        target_of: list[int] = []
        for i, t in enumerate(spec.targets):
            chosen = select_rows(
                rows, ids=t.rows or None, quantity=t.quantity, window=t.window,
                min_days=t.min_days, max_days=t.max_days, source=src, key=f"targets.{i}",
                protocol=spec.protocol, cutoff=until,
            )
            got = statistics_for(chosen, t.metric, t.baseline, source=src, key=f"targets.{i}")
            stats += got
            target_of += [i] * len(got)
        self.stats = stats
        self.target_of = np.array(target_of)
        self.weights = np.array([t.weight for t in spec.targets])
        scenario = load_scenario(_scenario_path(spec.scenario, base_dir, src),
                                 calibrated=False)
        if spec.overrides:
            scenario = scenario.with_overrides(spec.overrides, source=f"{src}: overrides")
        first = min(s.row.start for s in stats)
        self.fit_end = max(s.row.end for s in stats)
        if first < scenario.start or self.fit_end > scenario.end:
            raise ConfigError(
                src, "targets",
                f"data rows span {first} to {self.fit_end}, outside the scenario "
                f"({scenario.start} to {scenario.end})",
            )
        self.scenario = truncate(scenario, self.fit_end)
        data = self.scenario.to_data()
        values = self.scenario.to_data()
        self.priors: dict[str, Prior] = {}
        for name, p in spec.parameters.items():  # every path must name a parameter
            try:
                set_path(data, name, 0.0, src)
            except ConfigError as exc:
                raise ConfigError(src, f"parameters.{name}", exc.reason) from None
            current, _ = walk_path(values, name)
            if isinstance(current, bool | int):
                kind = "a switch" if isinstance(current, bool) else "a whole number"
                raise ConfigError(src, f"parameters.{name}", f"is {kind} "
                                  f"({current!r}); ABC-SMC fits continuous parameters only: "
                                  "fix it in 'overrides' instead")
            self.priors[name] = p.from_posterior(name, base_dir, src).resolved(name, src)

    @property
    def names(self) -> list[str]:
        """Fitted parameter paths, in file order."""
        return self.spec.names

    @property
    def data_until(self) -> dt.date:
        """The last day of data the calibration may use."""
        return self.until

    def digest(self) -> str:
        """Hash of everything that determines the simulations and distances (for resuming).

        The calibration settings without the stopping rule (:data:`STOPPING`: a run may be
        resumed with more or fewer generations), the resolved priors, the scenario as
        simulated, the observed statistics and the model version.
        """
        from trucesim.scenario.params import MODEL_VERSION

        settings = self.spec.model_dump(mode="json")
        for key in STOPPING:
            settings["method"].pop(key)
        data = {
            "settings": settings,
            "priors": {n: p.model_dump(mode="json") for n, p in self.priors.items()},
            "scenario": self.scenario.to_data(),
            "statistics": [[s.row.id, s.metric, s.baseline, s.observed] for s in self.stats],
            "model_version": MODEL_VERSION,
        }
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def distance(self, simulated: np.ndarray) -> float:
        """Weighted distance of one run's simulated statistics to the data
        (:func:`weighted_distance`)."""
        return weighted_distance(simulated, self.stats, self.target_of, self.weights)


def weighted_distance(simulated: np.ndarray, stats: list[Statistic], target_of: np.ndarray,
                      weights: np.ndarray) -> float:
    """The calibration's distance: per target, the mean of its statistics' squared log
    ratios (:func:`~trucesim.calibration.observed.log_ratio_distance`), summed with the
    targets' ``weights``; infinite when a statistic is not finite (an invalid run)."""
    terms = log_ratio_distance(simulated, stats)
    if not np.all(np.isfinite(terms)):
        return math.inf
    per_target = np.bincount(target_of, weights=terms, minlength=len(weights))
    counts = np.bincount(target_of, minlength=len(weights))
    return float(np.sum(weights * per_target / counts))


def truncate(scenario: Scenario, end: dt.date) -> Scenario:
    """The scenario ending at ``end``: later phases, events and all variants dropped.

    The model is causal, so days up to ``end`` are simulated exactly as in the full
    scenario with the same seed.
    """
    if end >= scenario.end:
        return scenario
    data = scenario.to_data()
    data["end"] = end
    data["phases"] = [p for p in data["phases"] if p["start"] <= end]
    data["events"] = [e for e in data["events"] if e["date"] <= end]
    data["variants"] = {}
    data["counterfactual"] = None
    return Scenario.parse(data, scenario.source)


def _relative(spec: str, base_dir: Path | None, source: str = "<calibration>",
              key: str = "data") -> Path:
    """``spec`` relative to the calibration file's folder (absolute only if allowed)."""
    if base_dir is None:
        return Path(spec)
    return named_path(spec, base_dir / Path(source).name, key)


def _case_path(spec: str, base_dir: Path | None, source: str) -> Path | str:
    """A case relative to the calibration file, or a bundled case's name."""
    if is_bare_name(spec) and not (base_dir is not None and (base_dir / spec).exists()):
        return spec
    return _relative(spec, base_dir, source, "case")


def _scenario_path(spec: str, base_dir: Path | None, source: str = "<calibration>") -> Path:
    """A scenario file relative to the calibration file, or a bundled name."""
    if is_bare_name(spec) and not (base_dir is not None and (base_dir / spec).exists()):
        return resolve_path(spec)
    return _relative(spec, base_dir, source, "scenario")


def parse_calibration(data: dict[str, Any], source: str = "<calibration>") -> Calibration:
    """Validate a calibration mapping; errors are ConfigError with ``source``."""
    return validate(Calibration, data, source)


def load_calibration(path: str | Path) -> CalibrationProblem:
    """Load a calibration file and everything it refers to.

    Raises:
        ConfigError: ``file: key.path: reason`` for any problem (unknown statistic or
        data row, a window or row past ``data_until``, a nowcast row without protocol B,
        a data_until after the case's date for the protocol, an empty data window, an
        invalid prior, an unknown parameter path ...).
    """
    path = Path(path)
    spec = parse_calibration(read_toml(path), str(path))
    return CalibrationProblem(spec, path.parent)


__all__ = [
    "Calibration",
    "CalibrationProblem",
    "Method",
    "Prior",
    "Target",
    "load_calibration",
    "parse_calibration",
    "truncate",
]
