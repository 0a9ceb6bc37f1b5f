"""Scenario discovery: which uncertain parameters make a condition on a branch outcome hold.

The pieces ``trucesim discover`` and the EMA Workbench adapter (:mod:`trucesim.ema`)
share, none of which imports ``ema_workbench``:

- :func:`uncertainty` turns a dotted path (``command.compliance``, ``gangs.*.cohesion``)
  and an optional range into an :class:`Uncertainty`, with the range from the command
  line, a posterior (its particles' smallest and largest values) or the parameter
  table's bounds (:mod:`trucesim.scenario.params`); a range outside the table's bounds is
  refused.
- :func:`parse_outcome` reads ``saved = hardline.homicides - truce.homicides``: sums and
  differences of a daily column's total over a window in named branches, paired by
  replicate. :func:`parse_condition` reads ``saved < 1000``.
- :func:`plan_discovery` builds one Latin-hypercube experiment per branch the outcomes
  name, with the same design points and seeds (so replicate ``r`` of point ``p`` is
  paired across branches), run by the sweep runner.
- :func:`outcome_table` computes each run's outcomes from the sweeps' daily parts;
  :func:`find_box` runs PRIM (``ema_workbench.analysis.prim``, imported only there) and
  chooses a box on the peeling trajectory.

Every problem with what the user asked is a :class:`~trucesim.scenario.errors.ConfigError`
naming the option (``--uncertain: ...``), raised before anything runs.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trucesim.scenario.errors import ConfigError
from trucesim.scenario.params import PARAMETER_GROUPS, GangParams, Regime
from trucesim.scenario.schema import BASE, Scenario, walk_path

if TYPE_CHECKING:
    from trucesim.runner.experiment import Experiment
    from trucesim.scenario.posterior import Posterior

#: Design points of ``trucesim discover`` unless asked otherwise.
DEFAULT_SAMPLES = 300
#: Replicates per design point unless asked otherwise.
DEFAULT_REPLICATES = 2
#: Smallest coverage a chosen box may have unless asked otherwise.
DEFAULT_MIN_COVERAGE = 0.5


# ---------------------------------------------------------------------- uncertainties
@dataclass(frozen=True)
class Uncertainty:
    """An uncertain parameter: one or more dotted paths set to the same sampled value.

    Attributes:
        key: the name (the path as the user gave it, e.g. ``gangs.*.cohesion``).
        paths: the scenario paths it sets.
        low, high: the sampled range.
        integer: the parameter is a whole number (sampled values are rounded).
        origin: where the range comes from (``given``, ``posterior``, ``table``).
    """

    key: str
    paths: tuple[str, ...]
    low: float
    high: float
    integer: bool = False
    origin: str = "given"


def table_field(path: str) -> Any | None:
    """The parameter-table field (a pydantic ``FieldInfo``) a dotted scenario path names,
    or None when the path is not in the table (e.g. ``world`` keys are; ``peace`` is not).

    ``gangs.<GANG>.<field>``, ``<group>.<field>``, regime fields under
    ``phases.<i>.overrides.<field>``, and all of these inside ``variants.<name>.``.
    """
    parts = path.split(".")
    if len(parts) > 2 and parts[0] == "variants":
        parts = parts[2:]
    if len(parts) >= 2 and "overrides" in parts[:-1]:
        return Regime.model_fields.get(parts[-1])
    if len(parts) == 3 and parts[0] == "gangs":
        return GangParams.model_fields.get(parts[2])
    if len(parts) == 2 and parts[0] in PARAMETER_GROUPS:
        return PARAMETER_GROUPS[parts[0]].model_fields.get(parts[1])
    return None


def field_bounds(field_info: Any) -> tuple[float | None, bool, float | None, bool]:
    """``(low, low_open, high, high_open)`` of a table field (None: unbounded)."""
    lo = hi = None
    lo_open = hi_open = False
    for m in field_info.metadata:
        if getattr(m, "ge", None) is not None:
            lo, lo_open = m.ge, False
        if getattr(m, "gt", None) is not None:
            lo, lo_open = m.gt, True
        if getattr(m, "le", None) is not None:
            hi, hi_open = m.le, False
        if getattr(m, "lt", None) is not None:
            hi, hi_open = m.lt, True
    return lo, lo_open, hi, hi_open


def expand_path(data: dict[str, Any], pattern: str) -> list[str]:
    """The dotted paths of scenario ``data`` a pattern names: a ``*`` segment matches every
    key of a table (``gangs.*.cohesion``: every gang's cohesion)."""
    found: list[str] = []

    def walk(node: Any, parts: list[str], prefix: list[str]) -> None:
        if not parts:
            found.append(".".join(prefix))
            return
        head, rest = parts[0], parts[1:]
        if head == "*":
            keys = (list(node) if isinstance(node, dict)
                    else [str(i) for i in range(len(node))] if isinstance(node, list) else [])
            for k in keys:
                walk(node[k] if isinstance(node, dict) else node[int(k)], rest, [*prefix, k])
            return
        if isinstance(node, dict) and head in node:
            walk(node[head], rest, [*prefix, head])
        elif isinstance(node, list) and head.isdigit() and int(head) < len(node):
            walk(node[int(head)], rest, [*prefix, head])

    walk(data, pattern.split("."), [])
    return found


_RANGE = re.compile(r"^(?P<path>[^=]+?)\s*(?:=\s*(?P<low>[^:]+?)\s*:\s*(?P<high>.+?))?\s*$")


def uncertainty(spec: str, scenario: Scenario, posterior: Posterior | None = None,
                option: str = "--uncertain") -> Uncertainty:
    """An uncertain parameter from ``PATH`` or ``PATH=LOW:HIGH``.

    The range is the one given; else, with ``posterior``, the smallest and largest value
    of its particles; else the parameter table's bounds. A path naming nothing, a table,
    a switch or a choice, a range outside the table's bounds, a reversed range, and a
    path without a range that neither the posterior nor the table bounds are refused.

    Raises:
        ConfigError: ``OPTION: SPEC: reason``.
    """
    m = _RANGE.match(spec)
    if m is None or not m.group("path"):
        raise ConfigError(option, spec, "expected PATH or PATH=LOW:HIGH")
    key = m.group("path").strip()
    data = scenario.to_data()
    paths = expand_path(data, key)
    if not paths:
        _, missing = walk_path(data, key.replace("*", "?"))
        raise ConfigError(option, spec, f"{key!r} names no parameter of scenario "
                          f"{scenario.name!r} ({missing!r} not found; `trucesim params` lists "
                          "them, e.g. command.compliance, gangs.*.cohesion)")
    fields = []
    for path in paths:
        node, _ = walk_path(data, path)
        if isinstance(node, dict | list):
            raise ConfigError(option, spec, f"{path!r} names a table, not a parameter")
        if isinstance(node, bool):
            raise ConfigError(option, spec, f"{path!r} is a switch (true/false), not a number")
        f = table_field(path)
        if f is not None and (f.annotation is bool or (
                isinstance(f.annotation, type) and issubclass(f.annotation, StrEnum))):
            raise ConfigError(option, spec, f"{path!r} is a choice, not a number")
        if f is None and not isinstance(node, int | float | type(None)):
            raise ConfigError(option, spec, f"{path!r} is not a number")
        fields.append(f)
    f = fields[0]
    integer = (f is not None and f.annotation is int) or isinstance(
        walk_path(data, paths[0])[0], int)
    if m.group("low") is not None:
        try:
            low, high = float(m.group("low")), float(m.group("high"))
        except ValueError:
            raise ConfigError(option, spec, "LOW and HIGH must be numbers") from None
        origin = "given"
    elif posterior is not None and all(p in posterior.names for p in paths):
        cols = [posterior.names.index(p) for p in paths]
        low = float(posterior.values[:, cols].min())
        high = float(posterior.values[:, cols].max())
        origin = "posterior"
    elif posterior is not None and any(p in posterior.names for p in paths):
        raise ConfigError(option, spec, f"only some of {', '.join(paths)} are in the "
                          f"posterior {posterior.source}; give a range (PATH=LOW:HIGH)")
    elif posterior is not None:
        raise ConfigError(option, spec, f"{key!r} is not a parameter of the posterior "
                          f"{posterior.source} (it has {', '.join(posterior.names)}); give a "
                          "range (PATH=LOW:HIGH)")
    else:
        if f is None:
            raise ConfigError(option, spec, f"{key!r} has no range in the parameter table; "
                              "give one (PATH=LOW:HIGH)")
        lo, _, hi, _ = field_bounds(f)
        if lo is None or hi is None:
            raise ConfigError(option, spec, f"{key!r} is unbounded in the parameter table; "
                              "give a range (PATH=LOW:HIGH)")
        low, high, origin = float(lo), float(hi), "table"
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ConfigError(option, spec, f"range {low:g}:{high:g}: LOW must be below HIGH")
    if f is not None:
        from trucesim.scenario.params import value_range

        lo, lo_open, hi, hi_open = field_bounds(f)
        table = value_range(f)
        if lo is not None and (low < lo or (lo_open and low == lo and origin == "given")):
            raise ConfigError(option, spec, f"range {low:g}:{high:g} is outside the parameter "
                              f"table's bounds ({table})")
        if hi is not None and (high > hi or (hi_open and high == hi)):
            raise ConfigError(option, spec, f"range {low:g}:{high:g} is outside the parameter "
                              f"table's bounds ({table})")
    return Uncertainty(key, tuple(paths), low, high, integer, origin)


# ---------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Term:
    """``sign * total of column over the window in branch``."""

    sign: int
    branch: str
    column: str


@dataclass(frozen=True)
class OutcomeSpec:
    """A named outcome: a signed sum of branch totals of daily columns."""

    name: str
    terms: tuple[Term, ...]
    text: str

    @property
    def branches(self) -> list[str]:
        """The branches it needs, in order of first use."""
        return list(dict.fromkeys(t.branch for t in self.terms))

    def value(self, totals: dict[tuple[str, str], np.ndarray]) -> np.ndarray:
        """Its value per run from ``totals[(branch, column)]`` (arrays over runs)."""
        return sum(t.sign * totals[(t.branch, t.column)] for t in self.terms)


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TERM = re.compile(r"\s*([+-]?)\s*([A-Za-z0-9_.-]+?)\.([A-Za-z0-9_]+)\s*")


def parse_outcome(text: str, scenario: Scenario, option: str = "--outcome") -> OutcomeSpec:
    """``NAME = BRANCH.COLUMN [(+|-) BRANCH.COLUMN ...]`` (``NAME =`` optional).

    BRANCH is ``base`` or a variant of the scenario, COLUMN a daily column
    (``homicides``: recorded homicides). Each term is the column's total over the window.

    Raises:
        ConfigError: ``OPTION: TEXT: reason`` (unknown branch or column, bad syntax).
    """
    from trucesim.runner.experiment import daily_column_names

    name, _, expr = text.rpartition("=")
    name = name.strip() or text.strip()
    expr = expr.strip()
    if not _NAME.match(name) and "=" in text:
        raise ConfigError(option, text, f"the name {name!r} must be a word (letters, digits, _)")
    pos, terms = 0, []
    while pos < len(expr):
        m = _TERM.match(expr, pos)
        if m is None or (terms and not m.group(1)):
            raise ConfigError(option, text, "expected NAME = BRANCH.COLUMN [+|- BRANCH.COLUMN]"
                              ", e.g. 'saved = hardline.homicides - truce.homicides'")
        terms.append(Term(-1 if m.group(1) == "-" else 1, m.group(2), m.group(3)))
        pos = m.end()
    if not terms:
        raise ConfigError(option, text, "names no BRANCH.COLUMN")
    branches = scenario.branch_names
    columns = [c for c in daily_column_names(scenario) if c not in ("date", "phase", "regime")]
    for t in terms:
        if t.branch not in branches:
            raise ConfigError(option, text, f"unknown branch {t.branch!r}; valid: "
                              f"{', '.join(branches)}")
        if t.column not in columns:
            raise ConfigError(option, text, f"unknown daily column {t.column!r}; valid: "
                              f"{', '.join(columns[:12])}, ...")
    return OutcomeSpec(name, tuple(terms), text)


@dataclass(frozen=True)
class Condition:
    """``outcome OP threshold`` on the replicate mean of an outcome at a design point."""

    outcome: str
    op: str
    threshold: float
    text: str

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Whether the condition holds, elementwise."""
        v = np.asarray(values, dtype=float)
        return {"<": v < self.threshold, "<=": v <= self.threshold,
                ">": v > self.threshold, ">=": v >= self.threshold}[self.op]


_COND = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|<|>)\s*([-+0-9.,_eE]+)\s*$")


def parse_condition(text: str, outcomes: list[OutcomeSpec],
                    option: str = "--condition") -> Condition:
    """``NAME OP NUMBER`` (OP one of ``< <= > >=``; ``1,000`` reads as 1000).

    Raises:
        ConfigError: bad syntax, or NAME is not one of ``outcomes``.
    """
    m = _COND.match(text)
    if m is None:
        raise ConfigError(option, text, "expected OUTCOME OP NUMBER with OP one of < <= > >=,"
                          " e.g. 'saved < 1000'")
    name, op, number = m.groups()
    names = [o.name for o in outcomes]
    if name not in names:
        raise ConfigError(option, text, f"unknown outcome {name!r}; the --outcome names are: "
                          f"{', '.join(names)}")
    try:
        threshold = float(number.replace(",", "").replace("_", ""))
    except ValueError:
        raise ConfigError(option, text, f"{number!r} is not a number") from None
    return Condition(name, op, threshold, text)


def parse_window(text: str | None, scenario: Scenario, branches: list[str],
                 option: str = "--window") -> tuple[dt.date, dt.date]:
    """The window the outcomes total over: ``START:END`` (ISO dates, both included), by
    default from the first day any of ``branches`` departs from the base timeline (its
    first phase or its first extra event, whichever comes first; the scenario's start for
    a branch with overrides, which hold from the first day) to the scenario's end."""
    if text is None:
        starts = []
        for b in branches:
            if b == BASE:
                continue
            v = scenario.variants[b]
            if v.overrides:
                starts.append(scenario.start)
            starts += [v.phases[0].start] if v.phases else []
            starts += [min(e.date for e in v.events)] if v.events else []
        return (min(starts) if starts else scenario.start), scenario.end
    try:
        a, b = (dt.date.fromisoformat(s.strip()) for s in text.split(":"))
    except ValueError:
        raise ConfigError(option, text, "expected START:END as YYYY-MM-DD:YYYY-MM-DD") from None
    if not (scenario.start <= a <= b <= scenario.end):
        raise ConfigError(option, text, f"must lie within the scenario's {scenario.start} to "
                          f"{scenario.end}, START not after END")
    return a, b


# ---------------------------------------------------------------------- the plan
@dataclass
class DiscoveryPlan:
    """What ``trucesim discover`` runs: one experiment per branch, same points and seeds."""

    scenario: Scenario
    uncertainties: list[Uncertainty]
    outcomes: list[OutcomeSpec]
    condition: Condition
    window: tuple[dt.date, dt.date]
    samples: int
    replicates: int
    seed: int
    experiments: dict[str, Experiment] = field(default_factory=dict)

    @property
    def branches(self) -> list[str]:
        """Every branch the outcomes name."""
        return list(dict.fromkeys(b for o in self.outcomes for b in o.branches))

    @property
    def columns(self) -> list[str]:
        """The daily columns the outcomes total."""
        return list(dict.fromkeys(t.column for o in self.outcomes for t in o.terms))

    @property
    def runs(self) -> int:
        """Simulations in all: points x replicates x branches."""
        return self.samples * self.replicates * len(self.experiments)

    def sweep_settings(self) -> dict[str, Any]:
        """What determines the simulations (the folder's settings): each branch's
        experiment fingerprint. The outcomes, window and condition are analysis only, so
        asking another question of the same runs reuses them."""
        return {b: exp.fingerprint() for b, exp in self.experiments.items()}

    def describe(self) -> dict[str, Any]:
        """Everything about the question, JSON-ready."""
        return {
            "scenario": self.scenario.name, "source": self.scenario.source,
            "uncertainties": [{"name": u.key, "paths": list(u.paths), "low": u.low,
                               "high": u.high, "range_from": u.origin}
                              for u in self.uncertainties],
            "outcomes": {o.name: o.text for o in self.outcomes},
            "condition": self.condition.text,
            "window": [self.window[0].isoformat(), self.window[1].isoformat()],
            "samples": self.samples, "replicates": self.replicates, "seed": self.seed,
            "branches": self.branches, "design": "lhs (scipy.stats.qmc.LatinHypercube)",
            "pairing": "replicate r of point p has the seed SeedSequence(seed, spawn_key=(r,))"
                       " and the same parameter values in every branch",
            "statistic": "each outcome's mean over a point's replicates",
        }


def plan_discovery(scenario: Scenario, uncertain: list[str], outcomes: list[str],
                   condition: str, *, posterior: Posterior | None = None,
                   samples: int = DEFAULT_SAMPLES, replicates: int = DEFAULT_REPLICATES,
                   seed: int | None = None, window: str | None = None) -> DiscoveryPlan:
    """Check the question and build its experiments (nothing runs, nothing is written).

    ``uncertain`` holds ``PATH`` or ``PATH=LOW:HIGH`` specs; with ``posterior`` and no
    spec, every parameter of the posterior is uncertain over its particles' range.

    Raises:
        ConfigError: one line naming the option and what is wrong.
    """
    from trucesim.runner.experiment import Experiment

    if not outcomes:
        raise ConfigError("--outcome", "", "give at least one outcome, e.g. "
                          "'saved = hardline.homicides - truce.homicides'")
    specs = list(uncertain) or ([] if posterior is None else list(posterior.names))
    if not specs:
        raise ConfigError("--uncertain", "", "give at least one uncertain parameter "
                          "(PATH or PATH=LOW:HIGH), or --posterior")
    us = [uncertainty(s, scenario, posterior) for s in specs]
    seen: dict[str, str] = {}
    for u in us:
        for p in u.paths:
            if p in seen:
                raise ConfigError("--uncertain", u.key, f"{p!r} is already set by {seen[p]!r}")
            seen[p] = u.key
    outs = [parse_outcome(o, scenario) for o in outcomes]
    names = [o.name for o in outs]
    if len(set(names)) != len(names):
        raise ConfigError("--outcome", "", f"outcome names repeat: {', '.join(names)}")
    cond = parse_condition(condition, outs)
    if samples < 2:
        raise ConfigError("--samples", "", "must be at least 2")
    if replicates < 1:
        raise ConfigError("--replicates", "", "must be at least 1")
    seed = scenario.seed if seed is None else seed
    plan = DiscoveryPlan(scenario, us, outs, cond, (scenario.start, scenario.end), samples,
                         replicates, seed)
    plan.window = parse_window(window, scenario, plan.branches)
    for branch in plan.branches:
        data = {
            "name": f"{_safe(scenario.name)}-discover-{_safe(branch)}",
            "scenario": scenario.name,
            "variant": None if branch == BASE else branch,
            "replicates": replicates, "seed": seed,
            "design": {"method": "lhs", "samples": samples},
            "parameters": {u.key: {"paths": list(u.paths), "range": [u.low, u.high]}
                           for u in us},
            "outcomes": {"summary": [], "daily": plan.columns},
        }
        try:
            plan.experiments[branch] = Experiment.of_scenario(data, scenario,
                                                              source="trucesim discover")
        except ConfigError as exc:
            raise ConfigError("--uncertain", "", f"a design point gives an invalid scenario: "
                              f"{str(exc).splitlines()[0]}") from None
    return plan


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


# ---------------------------------------------------------------------- results
def window_totals(daily: pd.DataFrame, columns: list[str],
                  window: tuple[dt.date, dt.date]) -> pd.DataFrame:
    """Per run (``run_id`` rows), each column's total over the window (both ends in)."""
    dates = pd.to_datetime(daily["date"])
    inside = (dates >= pd.Timestamp(window[0])) & (dates <= pd.Timestamp(window[1]))
    return daily.loc[inside].groupby("run_id", sort=False)[columns].sum()


def outcome_table(plan: DiscoveryPlan, results: dict[str, Any]) -> pd.DataFrame:
    """One row per (point, replicate): the uncertain values, then each outcome.

    ``results`` maps each branch to its sweep's
    :class:`~trucesim.runner.results.SweepResults`. Runs are paired on (point,
    replicate); a pair missing in any branch (a failed run) is left out.
    """
    keys = [u.key for u in plan.uncertainties]
    frames = {}
    for branch, res in results.items():
        runs = res.runs[res.runs["status"] == "ok"]
        totals = []
        for part in res.iter_daily(columns=["date", *plan.columns]):
            totals.append(window_totals(part, plan.columns, plan.window))
        tot = pd.concat(totals) if totals else pd.DataFrame(columns=plan.columns)
        merged = runs[["run_id", "point", "replicate", *keys]].merge(
            tot, left_on="run_id", right_index=True)
        frames[branch] = merged.set_index(["point", "replicate"])
    first = plan.branches[0]
    table = frames[first][keys].copy()
    for b in plan.branches:
        both = table[keys].join(frames[b][keys], how="inner", rsuffix=".other")
        if not np.array_equal(both[keys].to_numpy(float),
                              both[[f"{k}.other" for k in keys]].to_numpy(float)):
            raise RuntimeError(f"branch {b!r} ran other parameter values than {first!r} at "
                               "the same (point, replicate): the runs are not paired")
        table = table.join(frames[b][plan.columns].add_prefix(f"{b}."), how="inner")
    totals = {(b, c): table[f"{b}.{c}"].to_numpy(float)
              for b in plan.branches for c in plan.columns}
    for o in plan.outcomes:
        table[o.name] = o.value(totals)
    return table.reset_index().sort_values(["point", "replicate"], ignore_index=True)


def point_table(plan: DiscoveryPlan, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per design point: the uncertain values, each outcome's replicate mean, the
    number of replicates and whether the condition holds (``case``)."""
    keys = [u.key for u in plan.uncertainties]
    names = [o.name for o in plan.outcomes]
    grouped = runs.groupby("point", sort=True)
    table = grouped[keys].first().join(grouped[names].mean())
    table["replicates"] = grouped.size()
    table["case"] = plan.condition.holds(table[plan.condition.outcome].to_numpy())
    return table.reset_index()


@dataclass
class Box:
    """A box chosen on PRIM's peeling trajectory.

    Attributes:
        index: its position on the trajectory.
        coverage: share of all cases of interest inside the box.
        density: share of the points inside the box that are cases.
        mass: share of all points inside the box.
        points, cases: how many points the box holds, and of them cases.
        limits: per restricted dimension: ``low``, ``high``, the sampled range and the
            quasi-p values of each restricted bound (NaN where a bound is not restricted).
        trajectory: the whole peeling trajectory (coverage, density, mass, res_dim, ...).
    """

    index: int
    coverage: float
    density: float
    mass: float
    points: int
    cases: int
    limits: pd.DataFrame
    trajectory: pd.DataFrame
    prim_box: Any = None

    @property
    def restricted(self) -> list[str]:
        """The restricted dimensions."""
        return list(self.limits.index)

    def to_data(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "index": self.index, "coverage": self.coverage, "density": self.density,
            "mass": self.mass, "points": self.points, "cases": self.cases,
            "restricted": {name: {k: (None if isinstance(v, float) and math.isnan(v)
                                      else float(v)) for k, v in row.items()}
                           for name, row in self.limits.iterrows()},
        }


def find_box(x: pd.DataFrame, y: np.ndarray, *, min_coverage: float = DEFAULT_MIN_COVERAGE,
             peel_alpha: float = 0.05, mass_min: float = 0.05) -> Box:
    """PRIM (EMA Workbench's ``Prim``) on points ``x`` with cases ``y``; the chosen box
    is the densest on the peeling trajectory whose coverage is at least
    ``min_coverage`` (ties: fewer restricted dimensions, then more coverage).

    Imports ``ema_workbench`` (the ``ema`` extra).

    Raises:
        ValueError: no case, every point a case, or no box restricting any dimension
            (nothing to discover).
    """
    y = np.asarray(y, dtype=bool)
    if not y.any():
        raise ValueError("the condition holds at no point: there is nothing to discover")
    if y.all():
        raise ValueError("the condition holds at every point: the whole space is the box")
    prim = _prim_module()
    import warnings

    x = x.reset_index(drop=True).astype(float)
    with warnings.catch_warnings():  # EMA 3.0's own deprecated pandas calls
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        p = prim.Prim(x, y, peel_alpha=peel_alpha, mass_min=mass_min)
        box = p.find_box()
    traj = box.peeling_trajectory.copy()
    ok = traj[traj["coverage"] >= min_coverage - 1e-12]
    if ok.empty:
        ok = traj.iloc[:1]
    best = ok.sort_values(["density", "res_dim", "coverage"],
                          ascending=[False, True, False]).index[0]
    i = int(best)
    if int(traj.loc[best, "res_dim"]) == 0:
        raise ValueError("PRIM found no restriction: no box of the uncertain parameters "
                         f"is denser than the whole space with coverage >= {min_coverage}")
    lims = box.box_lims[i]
    init = box.box_lims[0]
    pv = box.p_values[i]
    rows = {}
    for name in x.columns:
        lo, hi = float(lims[name].iloc[0]), float(lims[name].iloc[1])
        lo0, hi0 = float(init[name].iloc[0]), float(init[name].iloc[1])
        if lo == lo0 and hi == hi0:
            continue
        qlo, qhi = pv.get(name, [-1, -1])
        rows[name] = {"low": lo, "high": hi, "sampled_low": lo0, "sampled_high": hi0,
                      "qp_low": float("nan") if qlo == -1 or lo == lo0 else float(qlo),
                      "qp_high": float("nan") if qhi == -1 or hi == hi0 else float(qhi)}
    limits = pd.DataFrame.from_dict(rows, orient="index",
                                    columns=["low", "high", "sampled_low", "sampled_high",
                                             "qp_low", "qp_high"])
    row = traj.loc[i]
    return Box(i, float(row["coverage"]), float(row["density"]), float(row["mass"]),
               int(row["n"]), int(row["k"]), limits, traj, box)


def _prim_module():
    import warnings

    try:
        with warnings.catch_warnings():  # "ipyparallel not installed": not used here
            warnings.filterwarnings("ignore", message=".*ipyparallel.*")
            from ema_workbench.analysis import prim
    except ImportError as exc:
        raise ConfigError("ema_workbench", "", "scenario discovery needs the EMA Workbench: "
                          f"pip install 'trucesim[ema]' ({exc})") from None
    return prim
