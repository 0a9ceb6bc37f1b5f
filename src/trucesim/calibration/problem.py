"""Calibration files: the parameters to fit, the target statistics, and the distance.

A calibration file is TOML (unknown keys are errors)::

    scenario = "el-salvador-2010-2016"   # file (relative to this one) or bundled name
    replicates = 2                       # runs per evaluation (common random numbers)
    seed = 2013                          # root of the replicates' seeds
    allow_future_data = false            # true lets targets use rows after 2013-12-31

    [method]                             # scipy.optimize.differential_evolution
    name = "differential_evolution"
    popsize = 6
    maxiter = 12

    [parameters."violence.mu"]           # dotted path into the scenario
    low = 0.001
    high = 0.006
    scale = "log"                        # prior / search scale: "linear" or "log"

    [[targets]]
    name = "annual homicides"
    quantity = "homicides"               # data rows of this quantity ...
    window = [2010-01-01, 2013-12-31]    # ... whose span lies inside the window
    min_days = 365
    weight = 2.0

The distance of a parameter vector is ``sum over targets of weight * mean over the
target's rows of (ln((S + 0.5) / (O + 0.5)))**2`` where S and O are the simulated and
observed counts over each row's span (:func:`trucesim.calibration.observed.log_ratio_distance`), S
being the mean over ``replicates`` runs that use the same seeds for every parameter
vector, so that the distance is a smooth function of the parameters.
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
    FIT_CUTOFF,
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
from trucesim.scenario.schema import (
    Scenario,
    load_scenario,
    read_toml,
    resolve_path,
    set_path,
    validate,
)


class FittedParameter(Frozen):
    """A parameter to fit: uniform (``scale = "linear"``) or log-uniform prior on bounds."""

    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"

    @model_validator(mode="after")
    def _bounds(self) -> FittedParameter:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("bounds must be finite numbers")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.scale == "log" and self.low <= 0:
            raise ValueError("a log scale needs low > 0")
        return self

    def to_unit(self, value: float) -> float:
        """Search coordinate of ``value`` (log of it on a log scale)."""
        return math.log(value) if self.scale == "log" else value

    def from_unit(self, u: float) -> float:
        """Parameter value of search coordinate ``u``."""
        return math.exp(u) if self.scale == "log" else u

    @property
    def search_bounds(self) -> tuple[float, float]:
        """Bounds in search coordinates."""
        return self.to_unit(self.low), self.to_unit(self.high)


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
    weight: float = Field(1.0, gt=0.0)
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
    """Optimiser settings (scipy.optimize.differential_evolution)."""

    name: Literal["differential_evolution"] = "differential_evolution"
    popsize: int = Field(6, ge=2, description="Population = popsize * number of parameters.")
    maxiter: int = Field(12, ge=0, description="Generations after the initial population.")
    tol: float = Field(0.01, ge=0.0)
    mutation: tuple[float, float] = (0.5, 1.0)
    recombination: float = Field(0.7, ge=0.0, le=1.0)
    seed: int = Field(1, ge=0, description="Seed of the optimiser's own randomness.")
    init: Literal["latinhypercube", "sobol", "halton", "random"] = "latinhypercube"
    accept_fraction: float = Field(
        0.1, gt=0.0, le=1.0,
        description="Share of the best evaluations whose spread gives the reported intervals.",
    )


class Calibration(Frozen):
    """A calibration: scenario, fitted parameters, targets, replicates and method."""

    scenario: str
    description: str = ""
    replicates: int = Field(2, ge=1, le=1000)
    seed: int = Field(2013, ge=0)
    allow_future_data: bool = False
    data: str | None = Field(None, description="Observed data CSV (default: the bundled one).")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Fixed dotted-path overrides applied before fitting."
    )
    parameters: dict[str, FittedParameter] = Field(min_length=1)
    targets: list[Target] = Field(min_length=1)
    method: Method = Field(default_factory=Method)
    source: str = Field("<calibration>", exclude=True)

    @property
    def names(self) -> list[str]:
        """Fitted parameter paths, in file order."""
        return list(self.parameters)

    def values(self, u: np.ndarray) -> dict[str, float]:
        """Parameter values (dotted path -> value) of a search vector."""
        return {
            name: float(p.from_unit(float(x)))
            for (name, p), x in zip(self.parameters.items(), u, strict=True)
        }

    def digest(self) -> str:
        """Hash of everything that determines the evaluations (for resuming).

        The stopping rule (``maxiter``, ``tol``) and the reporting share are left out:
        a run may be resumed with more or fewer generations.
        """
        data = self.model_dump(mode="json")
        for key in ("maxiter", "tol", "accept_fraction"):
            data["method"].pop(key)
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class CalibrationProblem:
    """A loaded calibration: the base scenario (cut at the fit end) and the statistics.

    Attributes:
        spec: the validated :class:`Calibration`.
        scenario: the base scenario with the fixed overrides, ending at :attr:`fit_end`.
        stats: the target statistics, in target order.
        target_of: index of the target of each statistic.
        fit_end: last day simulated (the latest row end among the targets).
    """

    def __init__(self, spec: Calibration, base_dir: Path | None = None):
        self.spec = spec
        src = spec.source
        rows = load_observed(_relative(spec.data, base_dir, src) if spec.data else None)
        stats: list[Statistic] = []
        target_of: list[int] = []
        for i, t in enumerate(spec.targets):
            chosen = select_rows(
                rows, ids=t.rows or None, quantity=t.quantity, window=t.window,
                min_days=t.min_days, max_days=t.max_days,
                allow_future_data=spec.allow_future_data, source=src, key=f"targets.{i}",
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
        for name, p in spec.parameters.items():  # every path must name a parameter
            try:
                set_path(data, name, p.low, src)
            except ConfigError as exc:
                raise ConfigError(src, f"parameters.{name}", exc.reason) from None

    @property
    def future_data_used(self) -> bool:
        """True if any target row ends after the fit cutoff (only with allow_future_data)."""
        return any(s.row.future for s in self.stats)

    def scenario_for(self, values: dict[str, float]) -> Scenario:
        """The base scenario with fitted values applied (ConfigError if invalid)."""
        return self.scenario.with_overrides(values)

    def distance(self, simulated: np.ndarray) -> float:
        """Weighted distance of simulated statistics (mean over replicates) to the data."""
        terms = log_ratio_distance(simulated, self.stats)
        if not np.all(np.isfinite(terms)):
            return math.inf
        per_target = np.bincount(self.target_of, weights=terms, minlength=len(self.weights))
        counts = np.bincount(self.target_of, minlength=len(self.weights))
        return float(np.sum(self.weights * per_target / counts))


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
        data row, a window past :data:`~trucesim.calibration.observed.FIT_CUTOFF` without
        ``allow_future_data``, bounds with low >= high, an unknown parameter path ...).
    """
    path = Path(path)
    spec = parse_calibration(read_toml(path), str(path))
    return CalibrationProblem(spec, path.parent)


__all__ = [
    "FIT_CUTOFF",
    "Calibration",
    "CalibrationProblem",
    "FittedParameter",
    "Method",
    "Target",
    "load_calibration",
    "parse_calibration",
    "truncate",
]
