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

from .params import CommandParams, Regime, Stance
from .state import CliqueState, LeaderState
from .timeline import STANCE_CODES

NONE = STANCE_CODES[Stance.NONE]
RESTRAINT = STANCE_CODES[Stance.RESTRAINT]
PRESSURE = STANCE_CODES[Stance.PRESSURE]
#: Restraint below this is set to 0: a clique a millionth restrained no longer restrains.
RESTRAINT_FLOOR = 1e-6


class Command:
    """The command mechanism: leaders' stance and authority, orders and obedience."""

    def __init__(self, params: CommandParams):
        self.params = params
        self.pressure_decay = float(np.exp(-params.pressure_decay))

    def benefits_paid(self, regime: Regime, recent_recorded_per_day: float) -> float:
        """Benefits actually paid today: conditional regimes pay only under the target."""
        if regime.conditional and recent_recorded_per_day > regime.violence_target:
            return 0.0
        return regime.benefits

    def decide(self, leaders: LeaderState, regime: Regime, paid: float, day: int) -> None:
        """Set each leadership's stance for today and update its authority."""
        p = self.params
        stance = np.full(len(leaders.stance), NONE)
        stance[leaders.isolation * regime.repression >= p.pressure_threshold] = PRESSURE
        if regime.benefits >= p.benefit_threshold:
            stance[:] = RESTRAINT
        forced = day < leaders.forced_until
        stance[forced] = leaders.forced_stance[forced]
        leaders.stance[:] = stance
        restraining = stance == RESTRAINT
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
        ordering = bool(leaders.stance.any())
        if ordering:
            channel = (1.0 - leaders.isolation) * leaders.cohesion * leaders.authority
            channel *= leaders.stance != NONE
            obey_p = channel[gang]
            obey_p *= 1.0 - cliques.autonomy
            obey = rng.random(len(gang)) < p.contact_rate * obey_p
            if obey.any():
                order = leaders.stance[gang]
                rest = obey & (order == RESTRAINT)
                pres = obey & (order == PRESSURE)
                cliques.restraint[rest] = 1.0
                cliques.pressure[rest] = 0.0
                cliques.pressure[pres] = 1.0
                cliques.restraint[pres] = 0.0
        restrained = bool(cliques.restraint.any())
        if restrained:
            decay = cliques.own_excitation * -p.defection_per_excitation
            decay -= p.defection_rate
            cliques.restraint *= np.exp(decay, out=decay)
            cliques.restraint[cliques.restraint < RESTRAINT_FLOOR] = 0.0
        cliques.pressure *= self.pressure_decay
        if not ordering:
            leaders.control.fill(0.0)
            return restrained
        state = np.where(
            leaders.stance[gang] == RESTRAINT, cliques.restraint, cliques.pressure
        )
        following = (state >= 0.5) & (leaders.stance[gang] != NONE)
        leaders.control[:] = (
            np.bincount(gang, weights=following, minlength=len(leaders.control))
            / np.maximum(leaders.clique_count, 1.0)
        )
        return restrained
