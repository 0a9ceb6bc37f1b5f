"""Experiment files: a base scenario, the parameters to vary, a design, replicates, outcomes.

An experiment is a TOML file validated with pydantic (unknown keys are errors) and then
checked against its base scenario: every dotted path must name a scenario parameter and
every design point must give a valid scenario, so a bad file stops before any
simulation with ``file: key.path: reason`` (a :class:`~trucesim.scenario.errors.ConfigError`).

Example::

    name = "leader-control"
    scenario = "../scenarios/el-salvador-2016-letter.toml"  # relative to this file, or bundled
    variant = "truce"            # scenario variant used by every run (optional)
    replicates = 20
    seed = 2016
    posterior = true             # optional: replicate r runs posterior draw r (true: the
                                 # scenario's own posterior file; or a file relative to this one)

    [design]
    method = "grid"              # grid | lhs | sobol | morris | variants

    [parameters.cohesion]        # the key is the column name; `path` defaults to the key
    paths = ["gangs.MS13.cohesion", "gangs.B18S.cohesion", "gangs.B18R.cohesion"]
    values = [0.2, 0.5, 0.8]

    [parameters."variants.truce.phases.0.overrides.isolation"]
    range = [0.0, 0.9]
    steps = 4                    # grid over a range: evenly spaced values

    [outcomes]
    summary = ["truce_rate_ratio", "phase.*.homicides"]   # names or globs from run_summary
    daily = ["homicides", "deaths_true"]                  # or true (all columns), or false

A design point is a set of dotted-path overrides (plus, for ``variants`` designs, a
scenario variant). Runs are (point, replicate) pairs; replicate ``r`` is seeded with
``SeedSequence(seed).spawn(replicates)[r]`` at every point (common random numbers) and,
with ``posterior``, runs posterior draw ``r`` at every point: the draw's values are set
first, then ``fixed``, the point's overrides and its variant (so what the experiment sets
itself wins, as do values the scenario file sets itself).
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, PrivateAttr, model_validator

from trucesim.scenario.errors import ConfigError, ConfigErrors
from trucesim.scenario.files import is_bare_name, named_path
from trucesim.scenario.params import Frozen
from trucesim.scenario.schema import (
    Scenario,
    bundled_scenarios,
    load_scenario,
    read_toml,
    resolve_path,
    validate,
    walk_path,
)
from trucesim.uncertainty import ParameterDraws, parameter_draws
from trucesim.uncertainty import label as uncertainty_label

#: Columns of runs.parquet that a parameter may not be named after.
RESERVED_COLUMNS = frozenset({"run_id", "point", "replicate", "variant", "seed", "status",
                              "error", "attempts", "elapsed_s", "draw"})
#: Columns every stored daily part keeps, whatever ``outcomes.daily`` says.
DAILY_KEYS = ("date", "phase", "regime")


class Parameter(Frozen):
    """A swept parameter: one or several dotted paths set to the same value."""

    path: str | None = Field(None, description="Dotted path into the scenario (default: the key).")
    paths: list[str] | None = Field(
        None, min_length=1, description="Several dotted paths that all take the value."
    )
    range: tuple[float, float] | None = Field(None, description="[low, high] for sampled designs.")
    values: list[Any] | None = Field(None, min_length=1, description="Explicit values (grid).")
    steps: int | None = Field(
        None, ge=2, le=1000, description="Grid over a range: number of values."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Parameter:
        if self.path is not None and self.paths is not None:
            raise ValueError("give 'path' or 'paths', not both")
        if (self.range is None) == (self.values is None):
            raise ValueError("give exactly one of 'range' = [low, high] or 'values' = [...]")
        if self.range is not None:
            low, high = self.range
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError("range bounds must be finite numbers")
            if low >= high:
                raise ValueError(f"range low {low:g} must be below high {high:g}")
        if self.steps is not None and self.range is None:
            raise ValueError("'steps' goes with 'range' (a grid of evenly spaced values)")
        return self

    def targets(self, key: str) -> list[str]:
        """The dotted paths this parameter sets."""
        return list(self.paths) if self.paths is not None else [self.path or key]


class Design(Frozen):
    """How design points are chosen."""

    method: Literal["grid", "lhs", "sobol", "morris", "variants"]
    samples: int | None = Field(
        None, ge=1, le=1_000_000,
        description="lhs: points; sobol: base samples N (a power of 2); morris: trajectories.",
    )
    levels: int = Field(4, ge=2, le=100, description="morris: grid levels per parameter.")
    second_order: bool = Field(False, description="sobol: also sample for second-order indices.")

    @model_validator(mode="after")
    def _samples_for_method(self) -> Design:
        if self.method in ("lhs", "sobol", "morris") and self.samples is None:
            raise ValueError(f"design '{self.method}' needs 'samples'")
        if self.method in ("grid", "variants") and self.samples is not None:
            raise ValueError(f"design '{self.method}' takes no 'samples'")
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"sobol 'samples' must be a power of 2 (got {self.samples})")
        return self


class VariantPoint(Frozen):
    """A named design point of a ``variants`` design: a scenario variant and/or overrides."""

    description: str = ""
    variant: str | None = Field(None, description="A variant of the base scenario.")
    overrides: dict[str, Any] = Field(default_factory=dict)


class Outcomes(Frozen):
    """What is kept from each run."""

    summary: list[str] = Field(
        default_factory=lambda: ["*"],
        description="run_summary names or glob patterns ('phase.*.homicides'); default all.",
    )
    daily: bool | list[str] = Field(
        False, description="Daily columns stored as Parquet parts: a list, true (all) or false."
    )


class Execution(Frozen):
    """Where runs execute (the command line overrides these)."""

    backend: Literal["process", "dask"] = "process"
    workers: int | None = Field(
        None, ge=1, le=4096, description="Worker processes (default: CPUs)."
    )
    scheduler: str | None = Field(
        None, description="dask: scheduler address (default: a local cluster)."
    )
    out: str | None = Field(None, description="Results folder (default: results/<name>).")


class Experiment(Frozen):
    """A validated experiment file, with its base scenario loaded."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    scenario: str = Field(
        description="Base scenario: a path relative to this file, or a bundled name."
    )
    variant: str | None = Field(None, description="Scenario variant used by every run.")
    fixed: dict[str, Any] = Field(default_factory=dict, description="Overrides for every run.")
    design: Design
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    variants: dict[str, VariantPoint] = Field(default_factory=dict)
    replicates: int = Field(ge=1, le=1_000_000)
    seed: int = Field(ge=0, lt=2**63)
    posterior: bool | str = Field(
        False, description="Draw each replicate's parameters from a posterior sample: true "
        "(the base scenario's own 'posterior' file) or a file relative to this one; "
        "replicate r runs draw r at every design point.")
    outcomes: Outcomes = Field(default_factory=Outcomes)
    execution: Execution = Field(default_factory=Execution)
    source: str = Field("<experiment>", exclude=True)

    _base: Scenario | None = PrivateAttr(None)
    _points: list[Point] | None = PrivateAttr(None)
    _draws: ParameterDraws | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _dotted_keys(cls, data: Any) -> Any:
        """Accept unquoted TOML dotted keys (``world.cliques = 60``) as dotted paths."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("fixed"), dict):
            data["fixed"] = flatten(data["fixed"])
        if isinstance(data.get("parameters"), dict):
            data["parameters"] = flatten(data["parameters"], stop=set(Parameter.model_fields))
        if isinstance(data.get("variants"), dict):
            data["variants"] = {
                k: ({**v, "overrides": flatten(v["overrides"])}
                    if isinstance(v, dict) and isinstance(v.get("overrides"), dict) else v)
                for k, v in data["variants"].items()
            }
        return data

    @model_validator(mode="after")
    def _design_inputs(self) -> Experiment:
        problems = []
        method = self.design.method
        if method == "variants":
            if not self.variants:
                problems.append(
                    ("variants", "design 'variants' needs at least one [variants.<name>]"))
            if self.parameters:
                problems.append(("parameters", "design 'variants' takes no parameters; "
                                 "put per-variant values in variants.<name>.overrides"))
        else:
            if self.variants:
                problems.append(
                    ("variants", f"[variants] are only for design 'variants', not '{method}'"))
            if not self.parameters:
                problems.append(("parameters", f"design '{method}' needs at least one parameter"))
        for key, p in self.parameters.items():
            where = f"parameters.{key}"
            if key in RESERVED_COLUMNS:
                problems.append((where, f"{key!r} is a column of runs.parquet; give the "
                                 "parameter another name and its dotted path in 'path'"))
            if method in ("lhs", "sobol", "morris") and p.range is None:
                problems.append((f"{where}.values",
                                 f"design '{method}' needs a range [low, high], "
                                 "not a list of values"))
            if method != "grid" and p.steps is not None:
                problems.append((f"{where}.steps",
                                 f"'steps' is only for design 'grid', not '{method}'"))
            if method == "grid" and p.range is not None and p.steps is None:
                problems.append((f"{where}.steps",
                                 "design 'grid' over a range needs 'steps' (or give 'values')"))
        if problems:
            raise ConfigErrors([ConfigError(self.source, k, r) for k, r in problems])
        return self

    # ------------------------------------------------------------------ derived
    @property
    def base(self) -> Scenario:
        """The base scenario (with ``fixed`` overrides applied)."""
        if self._base is None:
            raise RuntimeError("experiment not bound to a scenario; use load_experiment/parse")
        return self._base

    @property
    def draws(self) -> ParameterDraws | None:
        """The posterior draws (None: every replicate runs the scenario's values)."""
        return self._draws

    @property
    def uncertainty(self) -> str:
        """What the spread over replicates carries (:mod:`trucesim.uncertainty`)."""
        return uncertainty_label(self._draws)

    def draw_overrides(self, replicate: int) -> dict[str, float]:
        """The posterior values replicate ``replicate`` runs with ({} without a posterior)."""
        return {} if self._draws is None else self._draws.overrides(replicate)

    @property
    def points(self) -> list[Point]:
        """The design points, in design order."""
        if self._points is None:
            self._points = design_points(self)
        return self._points

    @property
    def parameter_names(self) -> list[str]:
        """Design columns of runs.parquet (parameter keys, in file order)."""
        return list(self.parameters)

    @property
    def runs(self) -> int:
        """Total number of runs: points times replicates."""
        return len(self.points) * self.replicates

    def problem(self) -> dict[str, Any]:
        """The SALib problem dictionary of a sampled design."""
        return {
            "num_vars": len(self.parameters),
            "names": self.parameter_names,
            "bounds": [list(p.range) for p in self.parameters.values()],
        }

    def resolved(self) -> dict[str, Any]:
        """The experiment as plain data, with the base scenario fully spelled out."""
        data = self.model_dump(mode="json")
        data["source"] = self.source
        data["base_scenario"] = {"source": self.base.source, **self.base.model_dump(mode="json")}
        return data

    def settings(self) -> dict[str, Any]:
        """Everything that determines the results, as plain data.

        Not names, descriptions, execution settings or where the files are: the base
        scenario enters by its full content, so moving the files keeps a sweep resumable.
        """
        data = self.model_dump(mode="json",
                               exclude={"name", "description", "execution", "scenario"})
        data["base_scenario"] = self.base.model_dump(mode="json")
        if self._draws is not None:  # the sample's content, not where the file is
            data["posterior"] = self._draws.settings()
        return json.loads(json.dumps(data, default=str))

    def fingerprint(self) -> str:
        """Hash of :meth:`settings`: equal exactly when two experiments give equal results."""
        blob = json.dumps(self.settings(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def daily_columns(self) -> list[str] | None:
        """Daily columns to store (None: store no daily series)."""
        want = self.outcomes.daily
        if want is False:
            return None
        cols = daily_column_names(self.base)
        if want is True:
            return cols
        return list(DAILY_KEYS) + [c for c in want if c not in DAILY_KEYS]

    # ------------------------------------------------------------------ building
    @classmethod
    def parse(cls, data: dict[str, Any], source: str = "<experiment>",
              base_dir: Path | None = None) -> Experiment:
        """Validate an experiment mapping, load its base scenario and check every point."""
        exp = validate(cls, data, source)
        exp._bind(base_dir if base_dir is not None else Path.cwd())
        return exp

    @classmethod
    def of_scenario(cls, data: dict[str, Any], scenario: Scenario,
                    source: str = "<experiment>") -> Experiment:
        """Validate an experiment mapping bound to an already loaded base scenario.

        For experiments built in code (e.g. ``trucesim attribute``): ``data["scenario"]``
        only names the scenario; ``scenario`` is used as the base. Every point is checked
        as by :meth:`parse`.
        """
        exp = validate(cls, data, source)
        exp._bind_scenario(scenario)
        return exp

    def _bind(self, base_dir: Path) -> None:
        self._bind_scenario(_load_base(self.scenario, base_dir, self.source))

    def _bind_scenario(self, scenario: Scenario) -> None:
        src = self.source
        draws = self._bound_posterior(scenario)
        if self.fixed:
            try:
                scenario = scenario.with_overrides(self.fixed, source=src)
            except ConfigError as exc:
                raise _rekey(exc, src, "fixed") from None
        self._base = scenario
        if self.variant is not None:
            _checked_variant(scenario, self.variant, src, "variant")
        for name, v in self.variants.items():
            if v.variant is not None:
                _checked_variant(scenario, v.variant, src, f"variants.{name}.variant")
        data = scenario.to_data()
        for key, p in self.parameters.items():
            for path in p.targets(key):
                _check_path(data, path, src, f"parameters.{key}")
        if draws is not None:  # `fixed` wins over the draw (a point's overrides come after it)
            held = tuple(dict.fromkeys([*draws.held,
                                        *(n for n in draws.posterior.names if n in self.fixed)]))
            draws = ParameterDraws(draws.posterior, held)
        self._draws = draws
        self._points = design_points(self)
        check_points(self)
        _check_outcomes(self)

    def _bound_posterior(self, scenario: Scenario) -> ParameterDraws | None:
        if self.posterior is False:
            return None
        spec = (True if self.posterior is True
                else named_path(self.posterior, Path(self.source), "posterior"))
        try:
            return parameter_draws(scenario, spec)
        except ConfigError as exc:
            if self.posterior is True and exc.key == "posterior":  # names none
                raise ConfigError(self.source, "posterior", f"true, but scenario "
                                  f"{scenario.name!r} names no posterior file; give one "
                                  "here") from None
            raise


@dataclass(frozen=True)
class Point:
    """One design point: its index, the values of its parameters, and what they override."""

    index: int
    values: dict[str, Any]
    overrides: dict[str, Any]
    variant: str | None = None
    label: str | None = None

    def scenario(self, base: Scenario) -> Scenario:
        """The scenario run at this point (overrides first, then the scenario variant)."""
        s = base.with_overrides(self.overrides) if self.overrides else base
        return s.variant(self.variant)


# ---------------------------------------------------------------------- designs
def design_points(exp: Experiment) -> list[Point]:
    """The design points of an experiment, in a deterministic order."""
    method = exp.design.method
    if method == "variants":
        return [
            Point(i, {}, dict(v.overrides), v.variant or exp.variant, label=name)
            for i, (name, v) in enumerate(exp.variants.items())
        ]
    keys = exp.parameter_names
    params = [exp.parameters[k] for k in keys]
    if method == "grid":
        axes = [
            list(p.values) if p.values is not None
            else np.linspace(p.range[0], p.range[1], p.steps).tolist()
            for p in params
        ]
        rows = [list(combo) for combo in itertools.product(*axes)]
    else:
        rows = _sampled(exp, method).tolist()
    base_data = exp.base.to_data()
    points = []
    for i, row in enumerate(rows):
        values = {
            k: _typed(v, exp.parameters[k].targets(k), base_data)
            for k, v in zip(keys, row, strict=True)
        }
        overrides = {path: values[k] for k in keys for path in exp.parameters[k].targets(k)}
        points.append(Point(i, values, overrides, exp.variant))
    return points


def _sampled(exp: Experiment, method: str) -> np.ndarray:
    problem = exp.problem()
    seed = exp.seed % 2**32
    n = exp.design.samples
    if method == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=problem["num_vars"], rng=np.random.default_rng(seed)).random(n)
        low, high = np.array(problem["bounds"]).T
        return qmc.scale(unit, low, high)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, n, calc_second_order=exp.design.second_order, seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, n, num_levels=exp.design.levels, seed=seed)


def _typed(value: Any, paths: list[str], base_data: dict[str, Any]) -> Any:
    """Round sampled values for integer parameters; numpy scalars become Python scalars."""
    if isinstance(value, np.generic):
        value = value.item()
    current, _ = walk_path(base_data, paths[0])
    if isinstance(current, int) and not isinstance(current, bool) and isinstance(value, float):
        return int(round(value))
    return value


# ---------------------------------------------------------------------- checks
def check_points(exp: Experiment, limit: int = 5) -> None:
    """Build every point's scenario once; report the first ``limit`` invalid points."""
    errors: list[ConfigError] = []
    for point in exp.points:
        try:
            point.scenario(exp.base)
        except ConfigError as exc:
            where = (f"variants.{point.label}" if point.label is not None
                     else "parameters")
            values = ", ".join(f"{k}={v!r}" for k, v in point.values.items())
            for e in _flat(exc):
                detail = f" (point {point.index}: {values})" if values else ""
                errors.append(ConfigError(exp.source, where, f"{e.key}: {e.reason}{detail}"))
            if len(errors) >= limit:
                break
    if errors:
        raise ConfigErrors(errors)


def _check_path(data: dict[str, Any], path: str, source: str, where: str) -> None:
    """Refuse a dotted path that names nothing, or a table, in scenario ``data``."""
    node, missing = walk_path(data, path)
    if missing is not None:
        raise ConfigError(source, where,
                          f"{path!r} names no scenario parameter ({missing!r} not found)")
    if isinstance(node, dict | list):
        raise ConfigError(source, where, f"{path!r} names a table, not a parameter")


def _checked_variant(scenario: Scenario, name: str, source: str, where: str) -> None:
    if name not in scenario.variants:
        valid = ", ".join(scenario.variants) or "none (the scenario has no variants)"
        raise ConfigError(source, where, f"unknown scenario variant {name!r}; valid: {valid}")


def expected_outcomes(scenario: Scenario) -> list[str]:
    """The names :func:`~trucesim.outcomes.run_summary` gives for runs of ``scenario``."""
    from trucesim.core.timeline import compile_timeline
    from trucesim.outcomes import TYPES, run_summary

    tl = compile_timeline(scenario)
    regimes = [p.regime for p in scenario.phases]
    frame = pd.DataFrame({
        "date": pd.to_datetime(scenario.dates),
        "phase": np.array(tl.phase_names, dtype=object)[tl.phase_of_day],
        "regime": np.array(regimes, dtype=object)[tl.phase_of_day],
        **{t: np.ones(tl.days) for t in TYPES},
    })
    return list(run_summary(frame))


def daily_column_names(scenario: Scenario) -> list[str]:
    """Every column of a run's daily table."""
    from trucesim.core.metrics import column_names

    return list(DAILY_KEYS) + column_names(scenario.gang_names)


def _check_outcomes(exp: Experiment) -> None:
    names: dict[str, None] = {}
    for variant in {p.variant for p in exp.points}:
        for n in expected_outcomes(exp.base.variant(variant)):
            names[n] = None
    for i, pattern in enumerate(exp.outcomes.summary):
        if not fnmatch.filter(names, pattern):
            shown = ", ".join(n for n in names if not n.startswith(("phase.", "year.")))
            raise ConfigError(exp.source, f"outcomes.summary.{i}",
                              f"{pattern!r} matches no summary outcome; valid: {shown}, "
                              "phase.<label>.<type>, year.<YYYY>.<type>")
    if isinstance(exp.outcomes.daily, list):
        valid = daily_column_names(exp.base)
        for i, col in enumerate(exp.outcomes.daily):
            if col not in valid:
                raise ConfigError(exp.source, f"outcomes.daily.{i}",
                                  f"unknown daily column {col!r}; valid: {', '.join(valid)}")


def keep_outcomes(summary: dict[str, float], patterns: list[str]) -> dict[str, float]:
    """The entries of a run summary whose names match any of ``patterns``."""
    if patterns == ["*"]:
        return summary
    return {k: v for k, v in summary.items() if any(fnmatch.fnmatchcase(k, p) for p in patterns)}


# ---------------------------------------------------------------------- files
def _load_base(spec: str, base_dir: Path, source: str) -> Scenario:
    candidate = named_path(spec, base_dir / Path(source).name, "scenario")
    bundled = bundled_scenarios()
    if candidate.exists():
        target = candidate
    elif is_bare_name(spec) and spec in bundled:
        # The bundled file itself: the bare name could match a file in the CWD.
        target = bundled[spec]
    else:
        raise ConfigError(source, "scenario",
                          f"no scenario file {str(candidate)!r} and no bundled scenario {spec!r}; "
                          f"bundled: {', '.join(bundled)}")
    return load_scenario(target)


def load_experiment(spec: str | Path) -> Experiment:
    """Load and validate an experiment file (or a bundled experiment by name).

    Raises:
        ConfigError: ``file: key.path: reason`` for any problem in the file, its base
            scenario or any design point.
    """
    path = resolve_path(spec, "experiments")
    return Experiment.parse(read_toml(path), str(path), base_dir=path.parent)


def flatten(tree: dict[str, Any], stop: set[str] | None = None,
            prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted keys; a table holding any key in ``stop`` is a leaf."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and not (stop and stop & set(value)):
            out.update(flatten(value, stop, f"{path}."))
        else:
            out[path] = value
    return out


def _flat(exc: ConfigError) -> list[ConfigError]:
    return exc.errors if isinstance(exc, ConfigErrors) else [exc]


def _rekey(exc: ConfigError, source: str, prefix: str) -> ConfigErrors:
    return ConfigErrors([
        ConfigError(source, f"{prefix}.{e.key}" if e.key else prefix, e.reason) for e in _flat(exc)
    ])
