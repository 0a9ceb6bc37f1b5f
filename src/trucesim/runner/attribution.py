"""Mechanism attribution: each ``[mechanisms]`` switch's Shapley contribution to an outcome.

The scenario is run with every combination of the chosen mechanisms on and off (``2**k``
combinations) as a ``variants`` experiment through :func:`~trucesim.runner.run_experiment`,
with common random numbers: replicate ``r`` has the same seed in every combination. The
outcome is a per-run summary outcome (a :func:`~trucesim.outcomes.run_summary` name).

A mechanism (a player of the game) is one switch, or a group of switches that make up one
mechanism of docs/model.md (:attr:`~trucesim.scenario.params.Mechanisms.GROUPS`, e.g.
``command``), switched together: the group's switches that are on in the scenario (all of
them if none is). When more switches are on in a scenario than :data:`MAX_MECHANISMS`,
the default players are the groups.

A combination is a bitmask: bit ``i`` set means mechanism ``i`` is on. The value of a
coalition ``S`` is the outcome with exactly the mechanisms of ``S`` on (the others chosen
stay off, every switch not chosen keeps the scenario's value). The Shapley value of
mechanism ``i`` is

    phi_i = sum over S not holding i of |S|! (k - |S| - 1)! / k! * (v(S + i) - v(S)),

and the contributions sum to ``v(all) - v(none)`` (efficiency). The point estimate uses
the replicate-mean outcome of each combination; the interval is the 5-95% range of the
Shapley values computed per replicate (paired: the same seed in every combination).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trucesim.outcomes import TYPES
from trucesim.runner.experiment import Experiment, expected_outcomes
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.params import Mechanisms
from trucesim.scenario.schema import BASE, Scenario
from trucesim.stats import quantiles

#: Most mechanisms (players: switches or groups) attributed at once (2**8 = 256
#: combinations); a scenario with more switches on is attributed by group.
MAX_MECHANISMS = 8
#: Runs per combination unless asked otherwise.
DEFAULT_REPLICATES = 10


# ---------------------------------------------------------------------- Shapley
def shapley(values: np.ndarray) -> np.ndarray:
    """Exact Shapley values of a game given on all coalitions of its ``k`` players.

    Args:
        values: array of shape ``(2**k, ...)``; ``values[mask]`` is the value of the
            coalition whose players are the set bits of ``mask`` (bit ``i``: player
            ``i``). Trailing axes (e.g. replicates) are separate games.

    Returns:
        Array of shape ``(k, ...)``: the Shapley value of each player. They sum to
        ``values[2**k - 1] - values[0]``.
    """
    v = np.asarray(values, dtype=float)
    n = v.shape[0]
    k = n.bit_length() - 1
    if n < 2 or n != 2**k:
        raise ValueError(f"need values for 2**k coalitions (k >= 1), got {n}")
    phi = np.zeros((k, *v.shape[1:]))
    for mask in range(n):
        size = mask.bit_count()
        for i in range(k):
            if mask & (1 << i):
                continue
            weight = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            phi[i] += weight * (v[mask | (1 << i)] - v[mask])
    return phi


def combination_name(mask: int, mechanisms: list[str]) -> str:
    """Name of a combination: the mechanisms on, joined by ``+`` (``none`` if none)."""
    on = [m for i, m in enumerate(mechanisms) if mask & (1 << i)]
    return "+".join(on) if on else "none"


# ---------------------------------------------------------------------- checks
def mechanism_names() -> list[str]:
    """Every ``[mechanisms]`` switch of a scenario, then every group of them."""
    return [*Mechanisms.model_fields, *Mechanisms.GROUPS]


def switches_of(scenario: Scenario, player: str) -> tuple[str, ...]:
    """The switches a player toggles: itself (a switch), or a group's switches that are on
    in ``scenario`` (every switch of the group if none is)."""
    if player not in Mechanisms.GROUPS:
        return (player,)
    group = Mechanisms.GROUPS[player]
    return tuple(m for m in group if getattr(scenario.mechanisms, m)) or group


def choose_mechanisms(scenario: Scenario, asked: list[str] | None) -> list[str]:
    """The mechanisms to attribute: ``asked`` (checked: switches or groups), or the
    mechanism switches (docs/model.md, "Mechanisms") on in ``scenario`` (when none is,
    every switch on in it), by group when they are more than :data:`MAX_MECHANISMS`.

    Raises:
        ConfigError: an unknown or repeated name (a switch named twice, also through a
            group), none chosen, or more than :data:`MAX_MECHANISMS`.
    """
    valid = mechanism_names()
    if asked is None:
        on = [m for m in Mechanisms.model_fields if getattr(scenario.mechanisms, m)]
        chosen = [m for m in on if m in scenario.mechanisms.design_2b()] or on
        where = f"{scenario.source}: mechanisms"
        if len(chosen) > MAX_MECHANISMS:
            chosen = [g for g, members in Mechanisms.GROUPS.items()
                      if any(m in chosen for m in members)]
        if not chosen:
            raise ConfigError(where, "", "no mechanism is on; choose some with --mechanisms")
        return chosen
    for name in asked:
        if name not in valid:
            raise ConfigError("--mechanisms", "", f"unknown mechanism {name!r}; valid: "
                              f"{', '.join(valid)}")
    switches = [m for name in asked for m in switches_of(scenario, name)]
    if len(set(switches)) != len(switches):
        raise ConfigError("--mechanisms", "", "a mechanism is named twice (a switch, or a "
                          "switch and its group)")
    if not asked:
        raise ConfigError("--mechanisms", "", "name at least one mechanism")
    if len(asked) > MAX_MECHANISMS:
        raise ConfigError("--mechanisms", "", f"{len(asked)} mechanisms would need "
                          f"2**{len(asked)} = {2**len(asked)} combinations; at most "
                          f"{MAX_MECHANISMS} ({2**MAX_MECHANISMS} combinations)")
    return list(asked)


def check_outcome(scenario: Scenario, outcome: str) -> None:
    """Refuse an outcome that :func:`~trucesim.outcomes.run_summary` does not give for
    runs of ``scenario``, listing the valid names."""
    names = expected_outcomes(scenario)
    if outcome in names:
        return
    plain = [n for n in names if not n.startswith(("phase.", "year."))]
    phases = sorted({n.split(".")[1] for n in names if n.startswith("phase.")},
                    key=[n.split(".")[1] for n in names if n.startswith("phase.")].index)
    years = sorted({n.split(".")[1] for n in names if n.startswith("year.")})
    raise ConfigError("--outcome", "", f"unknown outcome {outcome!r}; valid: "
                      f"{', '.join(plain)}, phase.<{'|'.join(phases)}>.<type|change>, "
                      f"year.<{'|'.join(years)}>.<type>, where type is one of {', '.join(TYPES)}")


# ---------------------------------------------------------------------- plan
@dataclass
class Attribution:
    """A planned attribution: the experiment of all combinations and what it measures."""

    experiment: Experiment
    scenario: Scenario
    mechanisms: list[str]
    outcome: str
    variant: str | None

    @property
    def combinations(self) -> list[str]:
        """Combination names in bitmask order (``combinations[mask]``)."""
        return [combination_name(m, self.mechanisms) for m in range(2 ** len(self.mechanisms))]

    def settings(self) -> dict[str, Any]:
        """Everything that determines the result, as plain data (for the folder marker)."""
        return {"experiment": self.experiment.settings(), "mechanisms": self.mechanisms,
                "outcome": self.outcome}


def plan_attribution(scenario: Scenario, outcome: str, mechanisms: list[str] | None = None,
                     replicates: int = DEFAULT_REPLICATES, seed: int | None = None,
                     variant: str | None = None,
                     extra_outcomes: list[str] | None = None) -> Attribution:
    """Check the request and build the ``variants`` experiment of every combination.

    ``extra_outcomes`` are more run-summary outcomes kept in the same sweep's runs table
    (each checked like ``outcome``), so one sweep can be attributed to several outcomes,
    or to one derived from them: :func:`attribute` with
    ``dataclasses.replace(plan, outcome=column)`` on the runs table with that column.

    Raises:
        ConfigError: unknown variant, mechanism or outcome; too many mechanisms; a
            scenario variant that sets a chosen switch itself.
    """
    variant = None if variant == BASE else variant
    run_as = scenario.variant(variant)  # checks the name
    chosen = choose_mechanisms(run_as, mechanisms)
    extra = [o for o in (extra_outcomes or []) if o != outcome]
    for name in [outcome, *extra]:
        check_outcome(run_as, name)
    if replicates < 1:
        raise ConfigError("-n/--replicates", "", "must be at least 1")
    variants = {}
    for mask in range(2 ** len(chosen)):
        variants[combination_name(mask, chosen)] = {
            "overrides": {f"mechanisms.{m}": bool(mask & (1 << i))
                          for i, player in enumerate(chosen)
                          for m in switches_of(run_as, player)}}
    data = {
        "name": f"{scenario.name}-attribution",
        "scenario": scenario.source,
        "variant": variant,
        "design": {"method": "variants"},
        "variants": variants,
        "replicates": replicates,
        "seed": scenario.seed if seed is None else seed,
        "outcomes": {"summary": [outcome, *extra], "daily": False},
    }
    exp = Experiment.of_scenario(data, scenario, source=scenario.source)
    for point in exp.points:  # a scenario variant could set a switch back
        run = point.scenario(exp.base)
        for m, on in point.overrides.items():
            name = m.removeprefix("mechanisms.")
            if getattr(run.mechanisms, name) != on:
                raise ConfigError(scenario.source, f"variants.{variant}.overrides",
                                  f"the variant sets mechanisms.{name} itself, so "
                                  "attribution cannot switch it; leave it out of --mechanisms")
    return Attribution(exp, scenario, chosen, outcome, variant)


# ---------------------------------------------------------------------- results
class AttributionError(Exception):
    """The runs finished but the outcome cannot be attributed (e.g. undefined)."""


@dataclass
class AttributionResult:
    """Shapley contributions of each mechanism, and what they come from.

    Attributes:
        table: one row per mechanism: ``shapley`` (on the replicate-mean outcome),
            ``mean``, ``p05``, ``p95`` (over per-replicate Shapley values), ``replicates``.
        combinations: one row per combination: its switches, mean outcome and runs.
        per_replicate: Shapley values per replicate (rows) and mechanism (columns), with
            ``v_all`` and ``v_none`` of that replicate.
    """

    table: pd.DataFrame
    combinations: pd.DataFrame
    per_replicate: pd.DataFrame
    v_all: float
    v_none: float


def attribute(plan: Attribution, runs: pd.DataFrame) -> AttributionResult:
    """Shapley contributions from the runs table of the plan's sweep.

    Runs that failed or whose outcome is undefined (NaN) are left out: the point
    estimate averages each combination's defined runs, the interval uses the replicates
    defined in every combination.

    Raises:
        AttributionError: a combination has no run with a defined outcome.
    """
    names = plan.combinations
    k = len(plan.mechanisms)
    reps = plan.experiment.replicates
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    matrix = np.full((len(names), reps), np.nan)
    if plan.outcome in ok.columns:
        rows = ok["variant"].map(names.index).to_numpy(dtype=int)
        matrix[rows, ok["replicate"].to_numpy(dtype=int)] = ok[plan.outcome].to_numpy(float)
    defined = np.isfinite(matrix)
    empty = [names[i] for i in range(len(names)) if not defined[i].any()]
    if empty:
        raise AttributionError(f"{plan.outcome} is undefined (NaN) or failed in every run "
                               f"of combination(s) {', '.join(empty)}; choose another "
                               "--outcome")
    means = np.nanmean(matrix, axis=1)
    point = shapley(means)
    complete = defined.all(axis=0)
    per_rep = shapley(matrix[:, complete])
    table = pd.DataFrame({
        "mechanism": plan.mechanisms,
        "shapley": point,
        "mean": per_rep.mean(axis=1) if complete.any() else np.nan,
        "p05": quantiles(per_rep, 0.05, axis=1) if complete.any() else np.nan,
        "p95": quantiles(per_rep, 0.95, axis=1) if complete.any() else np.nan,
        "replicates": int(complete.sum()),
    })
    combos = pd.DataFrame({
        "combination": names,
        **{m: [bool(mask & (1 << i)) for mask in range(2**k)]
           for i, m in enumerate(plan.mechanisms)},
        plan.outcome: means,
        "runs": defined.sum(axis=1),
    })
    per = pd.DataFrame(per_rep.T, columns=plan.mechanisms)
    per.insert(0, "replicate", np.flatnonzero(complete))
    per["v_all"] = matrix[-1, complete]
    per["v_none"] = matrix[0, complete]
    return AttributionResult(table, combos, per, float(means[-1]), float(means[0]))


def write_attribution(folder: Path, plan: Attribution, result: AttributionResult) -> list[Path]:
    """Write the tables (CSV and Parquet) and ``attribution.json`` into ``folder``."""
    from trucesim.atomic import write_json, write_parquet

    folder = Path(folder)
    paths = [folder / "attribution.csv", folder / "attribution.parquet",
             folder / "combinations.csv", folder / "shapley_replicates.csv",
             folder / "attribution.json"]
    result.table.to_csv(paths[0], index=False)
    write_parquet(paths[1], result.table)
    result.combinations.to_csv(paths[2], index=False)
    result.per_replicate.to_csv(paths[3], index=False)
    exp = plan.experiment
    write_json(paths[4], {
        "kind": "attribution",
        "scenario": plan.scenario.name,
        "scenario_source": plan.scenario.source,
        "variant": plan.variant or BASE,
        "outcome": plan.outcome,
        "mechanisms": plan.mechanisms,
        "switches": {p: list(switches_of(plan.scenario.variant(plan.variant), p))
                     for p in plan.mechanisms},
        "replicates": exp.replicates,
        "seed": exp.seed,
        "seeding": "numpy SeedSequence(seed).spawn(replicates); replicate r uses child r "
                   "in every combination (common random numbers)",
        "method": "exact Shapley over all 2**k combinations of the mechanisms' switches; "
                  "'shapley' on the replicate-mean outcome, mean/p05/p95 over the Shapley "
                  "values of each replicate",
        "outcome_all_on": result.v_all,
        "outcome_all_off": result.v_none,
        "table": result.table.to_dict("records"),
        "combinations": result.combinations.to_dict("records"),
        "sweep": "sweep/ (runs.parquet: one row per combination and replicate)",
    })
    return paths


__all__ = ["MAX_MECHANISMS", "Attribution", "AttributionError", "AttributionResult",
           "attribute", "check_outcome", "choose_mechanisms", "combination_name",
           "plan_attribution", "shapley", "switches_of", "write_attribution"]
