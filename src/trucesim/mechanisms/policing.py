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

from trucesim.core.state import CliqueState, Today
from trucesim.mechanisms.sampling import distinct_hits
from trucesim.scenario.params import Allocation, PolicingParams, Regime


def top_k(values: np.ndarray, k: int) -> np.ndarray | slice:
    """Indices of the ``k`` largest ``values``; ties at the k-th value go to the lowest
    indices (a rule the compiled engine reproduces). A slice of all if ``k >= len``."""
    n = len(values)
    if k >= n:
        return slice(None)
    kth = np.partition(values, n - k)[n - k]
    above = np.flatnonzero(values > kth)
    tied = np.flatnonzero(values == kth)[: k - len(above)]
    return np.concatenate((above, tied))


class Policing:
    """The policing mechanism."""

    def __init__(self, params: PolicingParams):
        self.params = params
        self.memory_decay = float(np.exp(-1.0 / params.hotspot_memory))
        self.grievance_decay = float(np.exp(-params.grievance_decay))
        self.pressure_seen = False  # set once any clique is under pressure (it then decays)

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
            heat[top_k(cliques.recent_violence, k)] += regime.police_force * fw * n / k
        if regime.pullback > 0.0 and restrained:
            heat *= 1.0 - regime.pullback * cliques.restraint
        return None

    def arrest_rates(
        self,
        cliques: CliqueState,
        regime: Regime,
        uniform_heat: float | None,
        out: np.ndarray,
    ) -> np.ndarray | None:
        """Fill ``out`` with each clique's arrest dart rate (see
        :func:`~trucesim.mechanisms.sampling.binomial_counts`): arrests are Binomial(members,
        ``min(arrest_rate * heat, 1)``). Returns the mask of cliques arrested with
        certainty (probability 1, dart rate 0), or None if there are none."""
        if uniform_heat is not None:
            p = min(regime.arrest_rate * uniform_heat, 1.0)
            if p >= 1.0:
                out.fill(0.0)
                return np.ones(len(out), dtype=bool)
            np.multiply(cliques.members, -np.log1p(-p), out=out)
            return None
        np.multiply(cliques.heat, regime.arrest_rate, out=out)
        np.minimum(out, 1.0, out=out)
        certain = out >= 1.0
        any_certain = bool(certain.any())
        np.negative(out, out=out)
        with np.errstate(divide="ignore"):
            np.log1p(out, out=out)
        np.negative(out, out=out)
        if any_certain:
            out[certain] = 0.0
        out *= cliques.members
        return certain if any_certain else None

    def confrontation_rates(
        self,
        cliques: CliqueState,
        size: np.ndarray,
        regime: Regime,
        uniform_heat: float | None,
        out: np.ndarray,
    ) -> None:
        """Fill ``out`` with each clique's rate of confrontations with police."""
        p = self.params
        heat = cliques.heat if uniform_heat is None else uniform_heat
        np.multiply(cliques.police_grievance, p.grievance_weight, out=out)
        out += 1.0
        out *= size
        out *= regime.confrontation_rate * heat
        if self.pressure_seen or np.count_nonzero(cliques.pressure):
            self.pressure_seen = True
            out *= 1.0 + p.pressure_confrontations * cliques.pressure

    def act(
        self,
        cliques: CliqueState,
        regime: Regime,
        arrest_darts: np.ndarray,
        certain: np.ndarray | None,
        confrontations: np.ndarray,
        today: Today,
        rng: np.random.Generator,
    ) -> None:
        """Arrests, confrontations and attacks on police from the day's drawn events;
        fills ``today``'s tallies.

        Args:
            arrest_darts: clique index of each arrest dart (from :meth:`arrest_rates`).
            certain: cliques arrested with certainty (or None).
            confrontations: clique index of each confrontation (sorted).
        """
        p = self.params
        arrests = distinct_hits(rng, arrest_darts, cliques.members)
        if certain is not None:
            arrests[certain] = cliques.members[certain]
        today.arrests = arrests
        today.arrests_total = int(np.add.reduce(arrests))
        cliques.police_grievance *= self.grievance_decay
        today.killed_by_police.fill(0)
        police_killed = 0
        today.killed_by_police_total = 0
        if len(confrontations):
            new = np.concatenate(([True], confrontations[1:] != confrontations[:-1]))
            where = confrontations[new]
            counts = np.diff(np.append(np.flatnonzero(new), len(confrontations)))
            killed = np.minimum(rng.binomial(counts, regime.lethality), cliques.members[where])
            today.killed_by_police[where] = killed
            today.killed_by_police_total = int(np.add.reduce(killed))
            cliques.police_grievance[where] += killed
            police_killed = int(rng.binomial(len(confrontations), regime.police_lethality))
        if self.pressure_seen:
            attacks = p.attack_rate * p.attack_lethality * float(np.add.reduce(cliques.pressure))
            if attacks > 0.0:
                police_killed += int(rng.poisson(attacks))
        today.police_killed = police_killed
