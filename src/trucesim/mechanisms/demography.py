"""Cliques change (step 8 of a day): losses, prison, release, recruitment, autonomy.

Members fall by arrests and deaths and grow by logistic recruitment; prisoners return
at a release rate. Arrests and deaths of a clique's members raise its autonomy (new,
younger leadership that the prison leaders do not control); autonomy relaxes slowly
back to the gang's baseline.
"""

from __future__ import annotations

import numpy as np

from trucesim.core.state import CliqueState, Today
from trucesim.mechanisms.sampling import distinct_hits
from trucesim.scenario.params import DemographyParams, Regime, WorldParams


class Demography:
    """The demography mechanism.

    A day is :meth:`losses`, then the release and recruitment rates
    (:meth:`release_rates`, :meth:`recruit_rates`, which depend on the day's losses and
    arrests), then :meth:`gains` with the events drawn from those rates.
    """

    def __init__(self, params: DemographyParams, world: WorldParams):
        self.params = params
        self.capacity = world.capacity
        self.release_all = params.release_rate >= 1.0
        # Dart rate per prisoner for Binomial(prisoners, release_rate) releases.
        self.release_darts = 0.0 if self.release_all else float(-np.log1p(-params.release_rate))
        self._hit = np.zeros(0, dtype=np.int64)
        self._share_lost = np.zeros(0)
        self._baseline: np.ndarray | None = None

    def losses(self, cliques: CliqueState, today: Today) -> None:
        """Arrests, deaths at police hands and victims of rivals leave the street;
        arrests go to prison."""
        members = cliques.members
        losses = today.arrests + today.killed_by_police
        losses += today.victims
        hit = np.flatnonzero(losses)
        lost = np.minimum(losses[hit], members[hit])
        self._share_lost = lost / np.maximum(members[hit], 1)
        self._hit = hit
        members[hit] -= lost
        cliques.prisoners += today.arrests

    def release_rates(self, cliques: CliqueState, out: np.ndarray) -> None:
        """Fill ``out`` with each clique's release dart rate: releases are
        Binomial(prisoners, release_rate)."""
        np.multiply(cliques.prisoners, self.release_darts, out=out)

    def recruit_rates(self, cliques: CliqueState, regime: Regime, out: np.ndarray) -> None:
        """Fill ``out`` with each clique's logistic recruitment rate."""
        p = self.params
        members = cliques.members
        np.multiply(members, p.recruitment_rate * regime.recruitment_factor / self.capacity,
                    out=out)
        out *= self.capacity - members
        np.maximum(out, 0.0, out=out)

    def gains(
        self,
        cliques: CliqueState,
        release_darts: np.ndarray,
        recruits: np.ndarray,
        today: Today,
        rng: np.random.Generator,
    ) -> None:
        """Apply releases and recruits (drawn from :meth:`release_rates` and
        :meth:`recruit_rates`) and update autonomy."""
        p = self.params
        members = cliques.members
        if self.release_all:
            releases = cliques.prisoners.copy()
        else:
            releases = distinct_hits(rng, release_darts, cliques.prisoners)
        cliques.prisoners -= releases
        members += releases
        if len(recruits):
            np.add.at(members, recruits, 1)
        today.releases = int(np.add.reduce(releases))
        today.recruits = len(recruits)
        hit = self._hit
        auto = cliques.autonomy
        rise = auto[hit] + p.autonomy_per_loss * self._share_lost * (1.0 - auto[hit])
        auto[hit] = np.minimum(rise, 1.0)
        # Relax toward the baseline: a <- a + r (b - a) = (1 - r) a + r b.
        auto *= 1.0 - p.autonomy_relax
        auto += self._relaxed_baseline(cliques)

    def _relaxed_baseline(self, cliques: CliqueState) -> np.ndarray:
        """``autonomy_relax * baseline_autonomy`` (cached: the baseline is fixed)."""
        if self._baseline is None or len(self._baseline) != len(cliques.baseline_autonomy):
            self._baseline = self.params.autonomy_relax * cliques.baseline_autonomy
        return self._baseline
