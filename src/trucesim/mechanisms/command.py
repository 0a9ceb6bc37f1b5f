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

Two tiers of command (DESIGN 2b, mechanism 1; switch ``mechanisms.command_tiers``). Once
a gang's street tier of leaders at liberty exists (a ``street_tier`` event), the
imprisoned leadership (the ranfla) no longer reaches the cliques itself: each day the
street tier hears the ranfla's stance with probability ``(1 - isolation_g) *
street_link_rate`` (:func:`street_decide`; the channel prison isolation cuts) and relays
the stance it holds to each clique with probability ``cohesion_g * authority_g *
(1 - autonomy_c) * contact_rate * street_reach_g`` (no isolation factor; arrests of
street leaders cut ``street_reach_g``). The street tier takes its own stance when it
issues a communique, follows a public communique of the ranfla, and orders escalation
itself when the gang's grievance calls for it (mechanism 2). While a communique is in
force it also reaches each clique directly (media, visits), with probability
``communique_reach * authority_g * (1 - autonomy_c)`` a day, whatever the isolation.
"""

from __future__ import annotations

import math

import numpy as np

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
        if gangs.escalating[g]:  # bargaining by violence (mechanisms.bargaining_violence)
            stance = PRESSURE
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
def street_decide(rng, gangs, day, p):
    """The street tier's stance today (``mechanisms.command_tiers``), for each gang that
    has one: the ranfla's stance as last heard (heard today with probability
    ``(1 - isolation) * street_link_rate``), replaced by its own escalation order, then by
    a public communique in force, then by its own communique in force."""
    for g in range(len(gangs.stance)):
        if not (gangs.exists[g] and gangs.street_tier[g]):
            continue
        if rng.random() < (1.0 - gangs.isolation[g]) * p.street_link_rate:
            gangs.street_heard[g] = gangs.stance[g]
        stance = gangs.street_heard[g]
        if gangs.escalating[g]:  # the street tier bargains by violence on its own
            stance = PRESSURE
        if day < gangs.public_until[g]:
            stance = gangs.public_stance[g]
        if day < gangs.street_forced_until[g]:
            stance = gangs.street_forced_stance[g]
        gangs.street_stance[g] = stance


@kernel
def obey(cliques, i, stance):
    """Clique ``i`` follows an order of ``stance`` (restraint or pressure)."""
    if stance == RESTRAINT:
        cliques.restraint[i] = 1.0
        cliques.pressure[i] = 0.0
    else:
        cliques.pressure[i] = 1.0
        cliques.restraint[i] = 0.0


@kernel
def transmit(rng, cliques, gangs, day, p, tiers):
    """Orders reach and are obeyed by cliques; restraint and pressure then decay, and
    each gang's control (share of its cliques following its order) is recorded.

    With ``tiers`` (``mechanisms.command_tiers``) a gang with a street tier sends the street
    tier's stance without the isolation factor, scaled by its reach, and a public
    communique in force reaches cliques directly.

    Returns whether any clique is under restraint.
    """
    stance, gang = gangs.stance, cliques.gang
    # Per gang, the chance that an order reaches and is obeyed by a clique of autonomy 0.
    chance = (1.0 - gangs.isolation) * gangs.cohesion * gangs.authority * p.contact_rate
    order = stance  # the order the gang's cliques get
    if tiers:
        order = stance.copy()
        for g in range(len(stance)):
            if gangs.street_tier[g]:
                order[g] = gangs.street_stance[g]
                chance[g] = (gangs.cohesion[g] * gangs.authority[g] * p.contact_rate
                             * gangs.street_reach[g])
    ordering = False
    for g in range(len(stance)):
        if not gangs.exists[g] or order[g] == NONE:
            chance[g] = 0.0
        ordering = ordering or chance[g] > 0.0
    if ordering:
        u = rng.random(len(gang))  # in bulk: cheaper than one call per clique
        for i in range(len(gang)):
            g = gang[i]
            if u[i] < chance[g] * (1.0 - cliques.autonomy[i]):
                obey(cliques, i, order[g])
    if tiers:
        publish(rng, cliques, gangs, order, day, p)

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
        if order[g] == RESTRAINT and cliques.restraint[i] >= 0.5:
            gangs.control[g] += 1.0
        elif order[g] == PRESSURE and cliques.pressure[i] >= 0.5:
            gangs.control[g] += 1.0
    for g in range(len(stance)):
        gangs.control[g] /= max(gangs.clique_count[g], 1)
    return restrained


@kernel
def publish(rng, cliques, gangs, order, day, p):
    """A public communique in force reaches each clique of its gang directly (media,
    visits) with probability ``communique_reach * authority * (1 - autonomy)``, whatever
    the isolation, after the relayed orders; it is then the order the gang's cliques get
    (``order``, for control)."""
    hearing = np.zeros(len(gangs.stance))
    any_public = False
    for g in range(len(hearing)):
        if gangs.exists[g] and day < gangs.public_until[g]:
            order[g] = gangs.public_stance[g]
            if order[g] != NONE:
                hearing[g] = p.communique_reach * gangs.authority[g]
                any_public = any_public or hearing[g] > 0.0
    if any_public:
        gang = cliques.gang
        u = rng.random(len(gang))
        for i in range(len(gang)):
            g = gang[i]
            if u[i] < hearing[g] * (1.0 - cliques.autonomy[i]):
                obey(cliques, i, order[g])
