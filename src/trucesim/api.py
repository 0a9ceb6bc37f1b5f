"""The Python API: load a scenario, simulate it, summarise the result."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trucesim import budget
from trucesim.core.model import TruceModel
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario, load_scenario
from trucesim.seeds import replicate_seed
from trucesim.uncertainty import ParameterDraws, PosteriorSpec, label, parameter_draws

__all__ = ["load_scenario", "run_replicates", "simulate", "simulate_replicate",
           "simulate_variants"]


def simulate(
    scenario: Scenario | str,
    seed: int | np.random.SeedSequence | None = None,
    variant: str | None = None,
    *,
    agents: bool = False,
) -> pd.DataFrame:
    """Simulate one run of a scenario and return its daily table.

    Args:
        scenario: a :class:`Scenario` or a path / bundled scenario name.
        seed: an integer or SeedSequence (default: the scenario's ``seed``). The same
            scenario, variant and seed always give the identical table.
        variant: a named variant of the scenario, or None for the base timeline.
        agents: also build the Mesa agent views (not needed for the table).

    Returns:
        One row per day with the columns of :mod:`trucesim.core.metrics` (step 9 of
        docs/model.md, "One day").
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    rng = np.random.default_rng(scenario.seed if seed is None else seed)
    return TruceModel(scenario, rng=rng, variant=variant, agents=agents).run()


def simulate_replicate(scenario: Scenario, root_seed: int, replicate: int,
                       variant: str | None = None,
                       overrides: dict[str, float] | None = None,
                       columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Replicate ``replicate`` of ``scenario``: its daily table, seeded
    :func:`~trucesim.seeds.replicate_seed` ``(root_seed, replicate)``.

    ``overrides``: the replicate's parameter values (its posterior draw, dotted path ->
    value), applied before ``variant``. ``columns``: keep only these (a worker returns
    less). A module-level function of plain arguments, so a process pool can run it.
    """
    if overrides:
        scenario = scenario.with_overrides(overrides)
    daily = simulate(scenario, seed=replicate_seed(root_seed, replicate), variant=variant)
    return daily if columns is None else daily[list(columns)].copy()


@dataclass(frozen=True)
class Replicate:
    """One finished run of :func:`run_replicates`."""

    variant: str | None
    replicate: int
    seed: np.random.SeedSequence
    daily: pd.DataFrame


def run_replicates(scenario: Scenario, replicates: int, root_seed: int,
                   variants: list[str | None] | tuple[str | None, ...] = (None,), *,
                   draws: ParameterDraws | None = None, pool: Executor | None = None,
                   columns: tuple[str, ...] | None = None) -> Iterator[Replicate]:
    """The runs of every variant (outer) and replicate (inner), in that order: replicate
    r runs with :func:`~trucesim.seeds.replicate_seed` ``(root_seed, r)`` and, with
    ``draws``, posterior draw r, in every variant (paired: common random numbers).

    ``pool``: an executor to run them on (all are submitted at once; results come back
    in order); None runs them here, one by one, as they are asked for.
    """
    values = [None if draws is None else draws.overrides(r) for r in range(replicates)]
    jobs = [(v, r) for v in variants for r in range(replicates)]
    if pool is None:
        results = (simulate_replicate(scenario, root_seed, r, v, values[r], columns)
                   for v, r in jobs)
    else:
        futures = [pool.submit(simulate_replicate, scenario, root_seed, r, v, values[r],
                               columns) for v, r in jobs]
        results = (f.result() for f in futures)
    for (v, r), daily in zip(jobs, results, strict=True):
        yield Replicate(v, r, replicate_seed(root_seed, r), daily)


def stack(runs, label: bool = True) -> pd.DataFrame:
    """The daily tables of ``runs`` (:class:`Replicate`) stacked, each with leading
    ``variant`` (``base`` for the base timeline; only when ``label``) and ``replicate``
    columns."""
    frames = []
    for run in runs:
        df = run.daily
        df.insert(0, "replicate", run.replicate)
        if label:
            df.insert(0, "variant", run.variant or "base")
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def simulate_variants(
    scenario: Scenario, seed: int | None = None, replicates: int = 1,
    variants: list[str | None] | None = None, *, posterior: PosteriorSpec = None,
) -> pd.DataFrame:
    """Simulate ``replicates`` runs of each variant with common random numbers.

    Replicate r uses the r-th child of ``SeedSequence(seed)`` for every variant, so the
    variants are compared on paired runs (:func:`run_replicates`). By default the base
    timeline (labelled ``base``) and every variant run. Returns the daily tables
    stacked, with ``variant`` and ``replicate`` columns.

    ``posterior``: None or False (default) runs every replicate at the scenario's
    values, so the spread over replicates is noise only; True draws from the scenario's
    own ``posterior`` file, a path or a loaded
    :class:`~trucesim.scenario.posterior.Posterior` from that one. Replicate r then uses
    posterior draw r in every variant (paired). The table's ``attrs["uncertainty"]``
    says which uncertainty the spread carries (:mod:`trucesim.uncertainty`). Posterior
    parameters that the scenario file sets itself keep its value, as in
    ``load_scenario(path, draw=k)``; a variant's own overrides apply on top of the draw.

    Raises:
        ConfigError: ``replicates`` below 1 or not a whole number, or more runs than
            the machine holds or 30 days of computing (:mod:`trucesim.budget`), before
            anything runs.
    """
    budget.check_count("simulate_variants", "replicates", replicates, "replicate")
    if variants is None:
        variants = [None, *scenario.variants]  # the base timeline always runs
    if not variants:
        raise ConfigError("simulate_variants", "variants", "is empty: nothing to simulate")
    budget.check("simulate_variants", "replicates", len(variants) * replicates,
                 scenario.days, scenario.world.cliques, scenario.world.burn_in_days)
    draws = parameter_draws(scenario, posterior)
    root = scenario.seed if seed is None else seed
    out = stack(run_replicates(scenario, replicates, root, variants, draws=draws))
    out.attrs["uncertainty"] = label(draws)
    return out
