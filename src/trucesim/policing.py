"""Police act (step 4 of a day): allocation, arrests, confrontations, attacks on police.

The regime's force is spread over territories as a daily ``heat``: uniformly, in
proportion to recent violence (hotspot), or concentrated on the most violent cliques
(focused); a truce regime pulls back from complying territories. Arrests are binomial in
members; confrontations are Poisson with a rate growing in heat, clique size, police
grievance and pressure orders, and kill gang members with the regime's lethality and
police with a smaller probability. Cliques under a pressure order also attack police.
"""

from __future__ import annotations

import numpy as np

from .params import Allocation, PolicingParams, Regime
from .sampling import binomial_counts, poisson_events
from .state import CliqueState, Today


class Policing:
    """The policing mechanism."""

    def __init__(self, params: PolicingParams):
        self.params = params
        self.memory_decay = float(np.exp(-1.0 / params.hotspot_memory))
        self.grievance_decay = float(np.exp(-params.grievance_decay))

    def allocate(self, cliques: CliqueState, regime: Regime, restrained: bool) -> float | None:
        """Set today's heat per territory (mean ``police_force`` before pullback).

        Returns the heat if it is the same on every territory (uniform allocation and no
        pullback in effect), else None.
        """
        heat = cliques.heat
        n = len(heat)
        if regime.allocation == Allocation.UNIFORM:
            heat.fill(regime.police_force)
            if regime.pullback == 0.0 or not restrained:
                return regime.police_force
        elif regime.allocation == Allocation.HOTSPOT:
            v = cliques.recent_violence + 0.5
            np.multiply(v, regime.police_force * n / v.sum(), out=heat)
        else:
            k = max(1, int(round(regime.focus_share * n)))
            fw = self.params.focus_weight
            heat.fill(regime.police_force * (1.0 - fw))
            top = np.argpartition(cliques.recent_violence, n - k)[n - k :] if k < n else slice(None)
            heat[top] += regime.police_force * fw * n / k
        if regime.pullback > 0.0 and restrained:
            heat *= 1.0 - regime.pullback * cliques.restraint
        return None

    def act(
        self,
        cliques: CliqueState,
        size: np.ndarray,
        regime: Regime,
        uniform_heat: float | None,
        today: Today,
        rng: np.random.Generator,
    ) -> None:
        """Arrests, confrontations and attacks on police; fills ``today``'s tallies.

        ``uniform_heat`` is the heat on every territory when it is uniform (see
        :meth:`allocate`), which saves per-territory work; None otherwise.
        """
        p = self.params
        if uniform_heat is None:
            heat = cliques.heat
            arrest_p = np.minimum(regime.arrest_rate * heat, 1.0)
        else:
            heat = uniform_heat
            arrest_p = min(regime.arrest_rate * heat, 1.0)
        arrests = binomial_counts(rng, cliques.members, arrest_p)
        today.arrests = arrests
        today.arrests_total = int(np.add.reduce(arrests))
        rate = size * (regime.confrontation_rate * heat)
        rate *= 1.0 + p.grievance_weight * cliques.police_grievance
        rate *= 1.0 + p.pressure_confrontations * cliques.pressure
        events = poisson_events(rng, rate)
        cliques.police_grievance *= self.grievance_decay
        today.killed_by_police.fill(0)
        police_killed = 0
        today.killed_by_police_total = 0
        if len(events):
            confrontations = np.bincount(events, minlength=len(rate))
            where = np.flatnonzero(confrontations)
            killed = np.minimum(
                rng.binomial(confrontations[where], regime.lethality), cliques.members[where]
            )
            today.killed_by_police[where] = killed
            today.killed_by_police_total = int(np.add.reduce(killed))
            cliques.police_grievance[where] += killed
            police_killed = int(rng.binomial(len(events), regime.police_lethality))
        attacks = p.attack_rate * p.attack_lethality * float(cliques.pressure.sum())
        if attacks > 0.0:
            police_killed += int(rng.poisson(attacks))
        today.police_killed = police_killed

    def off(self, cliques: CliqueState, today: Today) -> None:
        """No police: zero heat and no police-related tallies."""
        cliques.heat.fill(0.0)
        today.arrests.fill(0)
        today.arrests_total = 0
        today.killed_by_police.fill(0)
        today.killed_by_police_total = 0
        today.police_killed = 0
