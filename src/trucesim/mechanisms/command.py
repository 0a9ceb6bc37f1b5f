"""Leaders decide; their orders travel to the cliques (steps 2 and 3 of a day).

This is the leaders' limited operational control. A leadership's stance follows the
regime's incentives: ``restraint`` when the benefits offered reach a threshold,
``pressure`` (violence against the state as a bargaining tool) when isolation times
repression is high, otherwise ``none``; a communique forces a stance for a span.
Authority rises while restraint brings benefits and erodes while it brings nothing.

Each clique of gang g hears today's order with probability
``(1 - isolation_g) * cohesion_g * (1 - autonomy_c) * contact_rate`` and obeys it with
probability ``authority_g``. Restraint then decays by a defection rate that grows with
the clique's own retaliation excitation; pressure decays at its own rate.
"""

from __future__ import annotations

import math

from trucesim.numerics.constants import code
from trucesim.numerics.jit import kernel
from trucesim.scenario.params import Stance

NONE = code(Stance.NONE)
RESTRAINT = code(Stance.RESTRAINT)
PRESSURE = code(Stance.PRESSURE)
#: Restraint below this is set to 0: a clique a millionth restrained no longer restrains.
RESTRAINT_FLOOR = 1e-6


@kernel
def benefits_paid(regime, recent_recorded_per_day):
    """Benefits actually paid today: a conditional regime pays only while recent recorded
    homicides stay under its target."""
    if regime.conditional and recent_recorded_per_day > regime.violence_target:
        return 0.0
    return regime.benefits


@kernel
def decide(gangs, regime, paid, day, p):
    """Set each leadership's stance for today and update its authority."""
    for g in range(len(gangs.stance)):
        if not gangs.exists[g]:
            continue
        stance = NONE
        if gangs.isolation[g] * regime.repression >= p.pressure_threshold:
            stance = PRESSURE
        if regime.benefits >= p.benefit_threshold:
            stance = RESTRAINT
        if day < gangs.forced_until[g]:
            stance = gangs.forced_stance[g]
        gangs.stance[g] = stance
        if stance == RESTRAINT:
            a = gangs.authority[g]
            if paid > 0.0:
                gangs.authority[g] = a + p.authority_gain * paid * (1.0 - a)
            else:
                gangs.authority[g] = a - p.authority_loss * a


@kernel
def transmit(rng, cliques, gangs, p):
    """Orders reach and are obeyed by cliques; restraint and pressure then decay, and
    each gang's control (share of its cliques following its order) is recorded.

    Returns whether any clique is under restraint.
    """
    stance, gang = gangs.stance, cliques.gang
    # Per gang, the chance that an order reaches and is obeyed by a clique of autonomy 0.
    chance = (1.0 - gangs.isolation) * gangs.cohesion * gangs.authority * p.contact_rate
    ordering = False
    for g in range(len(stance)):
        if not gangs.exists[g] or stance[g] == NONE:
            chance[g] = 0.0
        ordering = ordering or chance[g] > 0.0
    if ordering:
        u = rng.random(len(gang))  # in bulk: cheaper than one call per clique
        for i in range(len(gang)):
            g = gang[i]
            if u[i] < chance[g] * (1.0 - cliques.autonomy[i]):
                if stance[g] == RESTRAINT:
                    cliques.restraint[i] = 1.0
                    cliques.pressure[i] = 0.0
                else:
                    cliques.pressure[i] = 1.0
                    cliques.restraint[i] = 0.0

    restrained = False
    keep_pressure = math.exp(-p.pressure_decay)
    gangs.control[:] = 0.0
    for i in range(len(gang)):
        r = cliques.restraint[i]
        if r > 0.0:
            r *= math.exp(-p.defection_rate - p.defection_per_excitation
                          * cliques.own_excitation[i])
            if r < RESTRAINT_FLOOR:
                r = 0.0
            cliques.restraint[i] = r
            restrained = restrained or r > 0.0
        cliques.pressure[i] *= keep_pressure
        g = gang[i]
        if stance[g] == RESTRAINT and cliques.restraint[i] >= 0.5:
            gangs.control[g] += 1.0
        elif stance[g] == PRESSURE and cliques.pressure[i] >= 0.5:
            gangs.control[g] += 1.0
    for g in range(len(stance)):
        gangs.control[g] /= max(gangs.clique_count[g], 1)
    return restrained
