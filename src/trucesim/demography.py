"""Cliques change (step 8 of a day): losses, prison, release, recruitment, autonomy.

Members fall by arrests and deaths and grow by logistic recruitment; prisoners return
at a release rate. Arrests and deaths of a clique's members raise its autonomy (new,
younger leadership that the prison leaders do not control); autonomy relaxes slowly
back to the gang's baseline.
"""

from __future__ import annotations

import numpy as np

from .params import DemographyParams, Regime, WorldParams
from .sampling import binomial_counts, poisson_counts
from .state import CliqueState, Today


class Demography:
    """The demography mechanism."""

    def __init__(self, params: DemographyParams, world: WorldParams):
        self.params = params
        self.capacity = world.capacity

    def step(
        self, cliques: CliqueState, regime: Regime, today: Today, rng: np.random.Generator
    ) -> None:
        """Apply the day's losses, releases and recruitment, and update autonomy."""
        p = self.params
        members = cliques.members
        losses = today.arrests + today.killed_by_police
        losses += today.victims
        hit = np.flatnonzero(losses)
        lost = np.minimum(losses[hit], members[hit])
        share_lost = lost / np.maximum(members[hit], 1)
        members[hit] -= lost
        cliques.prisoners += today.arrests
        releases = binomial_counts(rng, cliques.prisoners, p.release_rate)
        cliques.prisoners -= releases
        growth = (p.recruitment_rate * regime.recruitment_factor / self.capacity) * members
        growth *= self.capacity - members
        np.maximum(growth, 0.0, out=growth)
        recruits = poisson_counts(rng, growth)
        members += releases + recruits
        today.releases = int(releases.sum())
        today.recruits = int(recruits.sum())
        auto = cliques.autonomy
        rise = auto[hit] + p.autonomy_per_loss * share_lost * (1.0 - auto[hit])
        auto[hit] = np.minimum(rise, 1.0)
        auto += p.autonomy_relax * (cliques.baseline_autonomy - auto)
