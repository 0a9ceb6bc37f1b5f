"""Leaders decide; their orders travel to the cliques (steps 2 and 3 of a day).

This is the leaders' limited operational control. A leadership's stance follows the
regime's incentives: ``restraint`` when benefits offered reach a threshold, ``pressure``
(violence against the state as a bargaining tool) when isolation times repression is
high, otherwise ``none``; a communique can force a stance for a span. Each clique of
gang g hears today's order with probability
``(1 - isolation_g) * cohesion_g * (1 - autonomy_c) * contact_rate`` and obeys it with
probability ``authority_g``. Restraint then decays by a defection rate that grows with
the clique's own retaliation excitation.
"""

from __future__ import annotations

import numpy as np

from trucesim.core.state import CliqueState, LeaderState
from trucesim.core.timeline import STANCE_CODES
from trucesim.scenario.params import CommandParams, Regime, Stance

NONE = STANCE_CODES[Stance.NONE]
RESTRAINT = STANCE_CODES[Stance.RESTRAINT]
PRESSURE = STANCE_CODES[Stance.PRESSURE]
#: Restraint below this is set to 0: a clique a millionth restrained no longer restrains.
RESTRAINT_FLOOR = 1e-6
STALE = -(2**62)  # a cached stance valid until this day is recomputed on any day


class Command:
    """The command mechanism: leaders' stance and authority, orders and obedience."""

    def __init__(self, params: CommandParams):
        self.params = params
        self.pressure_decay = float(np.exp(-params.pressure_decay))
        self._stance_until = STALE  # day up to which the cached stance holds (exclusive)
        self._restraining: np.ndarray | None = None
        self._any_restraining = False
        # Per clique, whether its leaders' current order is restraint, pressure, any.
        self._order: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def stance_until(self) -> int:
        """Day (index) from which the cached stance must be decided again."""
        return self._stance_until

    @property
    def restraining(self) -> np.ndarray | None:
        """Per gang, whether its leadership orders restraint (as last decided)."""
        return self._restraining

    @property
    def any_restraining(self) -> bool:
        """Whether any leadership orders restraint (as last decided)."""
        return self._any_restraining

    def invalidate(self) -> None:
        """Forget the cached stance (the regime, an isolation or a forced stance changed)."""
        self._stance_until = STALE

    def benefits_paid(self, regime: Regime, recent_recorded_per_day: float) -> float:
        """Benefits actually paid today: conditional regimes pay only under the target."""
        if regime.conditional and recent_recorded_per_day > regime.violence_target:
            return 0.0
        return regime.benefits

    def decide(self, leaders: LeaderState, regime: Regime, paid: float, day: int) -> None:
        """Set each leadership's stance for today and update its authority.

        The stance only changes with the regime, isolation or a forced stance, so it is
        recomputed only after :meth:`invalidate` or when a forced stance expires.
        """
        p = self.params
        if day >= self._stance_until:
            stance = np.full(len(leaders.stance), NONE)
            stance[leaders.isolation * regime.repression >= p.pressure_threshold] = PRESSURE
            if regime.benefits >= p.benefit_threshold:
                stance[:] = RESTRAINT
            forced = day < leaders.forced_until
            stance[forced] = leaders.forced_stance[forced]
            leaders.stance[:] = stance
            self._restraining = stance == RESTRAINT
            self._any_restraining = bool(self._restraining.any())
            self._order = None
            later = leaders.forced_until[leaders.forced_until > day]
            self._stance_until = int(later.min()) if len(later) else np.iinfo(np.int64).max
        if not self._any_restraining:
            return
        restraining = self._restraining
        if paid > 0.0:
            leaders.authority += restraining * p.authority_gain * paid * (1.0 - leaders.authority)
        else:
            leaders.authority -= restraining * p.authority_loss * leaders.authority

    def transmit(
        self,
        cliques: CliqueState,
        leaders: LeaderState,
        rng: np.random.Generator,
    ) -> bool:
        """Orders reach and are obeyed by cliques; restraint and pressure then decay.

        Restraint that has decayed below :data:`RESTRAINT_FLOOR` is set to 0. Returns
        whether any clique is under restraint (lets the other mechanisms skip work).
        """
        p = self.params
        gang = cliques.gang
        ordering = bool(np.count_nonzero(leaders.stance))
        if ordering:
            if self._order is None:
                order = leaders.stance[gang]
                self._order = (order == RESTRAINT, order == PRESSURE, order != NONE)
            order_rest, order_pres, ordered = self._order
            channel = (1.0 - leaders.isolation) * leaders.cohesion * leaders.authority
            channel *= leaders.stance != NONE
            channel *= p.contact_rate
            obey_p = 1.0 - cliques.autonomy
            obey_p *= channel[gang]
            obey = np.flatnonzero(rng.random(len(gang)) < obey_p)
            if len(obey):
                rest = obey[order_rest[obey]]
                pres = obey[order_pres[obey]]
                cliques.restraint[rest] = 1.0
                cliques.pressure[rest] = 0.0
                cliques.pressure[pres] = 1.0
                cliques.restraint[pres] = 0.0
        restrained = bool(np.count_nonzero(cliques.restraint))
        if restrained:
            decay = np.multiply(cliques.own_excitation, -p.defection_per_excitation)
            decay -= p.defection_rate
            restraint = cliques.restraint
            restraint *= np.exp(decay, out=decay)
            restraint *= restraint >= RESTRAINT_FLOOR
        cliques.pressure *= self.pressure_decay
        if not ordering:
            leaders.control.fill(0.0)
            return restrained
        state = np.where(order_rest, cliques.restraint, cliques.pressure)
        following = state >= 0.5
        following &= ordered
        leaders.control[:] = (
            np.bincount(gang, weights=following, minlength=len(leaders.control))
            / np.maximum(leaders.clique_count, 1.0)
        )
        return restrained
