"""The Python API: load a scenario, simulate it, summarise the result."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trucesim import budget
from trucesim.core.model import TruceModel
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.load import load_scenario
from trucesim.scenario.schema import Scenario
from trucesim.uncertainty import PosteriorSpec, label, parameter_draws

__all__ = ["load_scenario", "simulate", "simulate_variants"]


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
        One row per day with the columns of DESIGN section 2 "Outputs"
        (see :mod:`trucesim.core.metrics`).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    rng = np.random.default_rng(scenario.seed if seed is None else seed)
    return TruceModel(scenario, rng=rng, variant=variant, agents=agents).run()


def simulate_variants(
    scenario: Scenario, seed: int | None = None, replicates: int = 1,
    variants: list[str | None] | None = None, *, posterior: PosteriorSpec = None,
) -> pd.DataFrame:
    """Simulate ``replicates`` runs of each variant with common random numbers.

    Replicate r uses the r-th child of ``SeedSequence(seed)`` for every variant, so the
    variants are compared on paired runs. By default the base timeline (labelled
    ``base``) and every variant run. Returns the daily tables stacked, with
    ``variant`` and ``replicate`` columns.

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
    root = np.random.SeedSequence(scenario.seed if seed is None else seed)
    children = root.spawn(replicates)
    draws = parameter_draws(scenario, posterior)
    bases = [scenario if draws is None else draws.apply(scenario, r) for r in range(replicates)]
    frames = []
    for name in variants:
        for r, child in enumerate(children):
            df = simulate(bases[r], seed=child, variant=name)
            df.insert(0, "replicate", r)
            df.insert(0, "variant", name or "base")
            frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["uncertainty"] = label(draws)
    return out
