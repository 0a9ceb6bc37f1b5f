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

Two tiers of command (docs/model.md, mechanism 1; switch ``mechanisms.command_tiers``). Once
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

Command as state (issue 20.1; switch ``mechanisms.command_state``; :func:`relay`). The
daily lottery above makes one number set both how fast cliques comply and how many
comply in the end. With the switch, reach and speed are two parameters:

* reach: each clique c has a fixed disposition ``u_c`` (uniform on [0, 1), drawn once)
  and complies with the orders it hears while
  ``u_c < compliance * cohesion_g * authority_g * (1 - autonomy_c)``. Which cliques
  comply is persistent (InSight Crime on MS-13: some cliques reliably comply, others
  never); as authority erodes the least disposed stop first.
* speed: the gang's order travels through one channel, the first open of: a public
  communique in force (with ``command_tiers``; hazard ``1 / communique_latency`` a day),
  the street tier once it exists (hazard ``street_reach / relay_latency``; arrests cut
  it), the imprisoned leaders directly (hazard ``(1 - isolation) / relay_latency``).
  A clique whose held order differs from the channel's hears it on a day with
  probability ``1 - exp(-hazard)`` (mean latency ``relay_latency`` through a fully open
  relay), and a complying clique under an order is re-confirmed at the same hazard (its
  restraint or pressure back to 1; defection erodes it in between, as without the switch).
* prison as a node of command (switch ``mechanisms.prison_command``; Katz, Hedberg and
  Amaya 2016 found the 2012 truce worked better where more MS-13 members were
  imprisoned): an order of the imprisoned leaders that reaches a clique directly (not
  through the street tier or a communique) has its threshold multiplied by
  ``1 + prison_reach * prisoners_c / (members_c + prisoners_c)``: the clique's members in
  prison are the leaders' direct line to it.
* persistence: a clique holds the last order it heard until a new one replaces it; when
  every channel of its gang is cut (isolation 1 and no street tier, or a street tier of
  reach 0, and no communique in force) its order lapses to ``none`` that day, and the
  street tier's last heard stance of the leaders lapses to ``none`` at isolation 1
  (:func:`street_decide`): nothing freezes.

Stance as strategy (issue 20.2; switch ``mechanisms.strategic_stance``; :func:`decide`).
Lessing (2015, *Making Peace in Drug Wars*) describes cartel violence against the state as
violent lobbying, used when the state withdraws or refuses what restraint could buy;
Cruz and Duran-Martinez (2016, J. Peace Research 53(2)) show gangs in a truce offering
(and hiding) restraint as the currency of a deal with the state. The rule replaces
``isolation * repression >= pressure_threshold -> pressure``: leaders order

1. restraint while the benefits offered reach ``benefit_threshold`` (what restraint buys);
2. otherwise pressure while their grievance from withdrawn benefits or refused talks
   exceeds ``bargaining.escalation_threshold`` (violent lobbying; mechanism 2,
   :mod:`trucesim.mechanisms.bargaining`, the one place the grievance is kept);
3. a day of such lobbying at isolation >= ``signal_isolation`` is violence met with
   isolation; after ``signal_patience`` of them the leaders offer unilateral restraint as
   a signal: a public restraint communique for ``signal_days`` (the street tier's own
   while the leaders are cut off, isolation 1), after which they weigh again;
4. otherwise none.

A recorded communique forces its stance as without the switch, and any restraint
(ordered or signalled) resets the count of step 3.
"""

from __future__ import annotations

import math

import numpy as np

from trucesim.mechanisms.declare import Mechanism, Metric
from trucesim.numerics.constants import code
from trucesim.numerics.jit import kernel
from trucesim.scenario.params import STANCE_NAMES, CommandParams, Stance

DECLARATION = Mechanism(
    "command", "leaders decide their stance; their orders travel to the cliques",
    steps=(2, 3), params=CommandParams,
    metrics=(
        Metric("benefits_paid", np.float64, "benefits actually paid to leaders today",
               "benefits paid to leaders", "0 to 1"),
    ),
    gang_metrics=(
        Metric("control", np.float64, "share of the gang's cliques following today's order",
               "share of cliques following orders", "share of cliques"),
        Metric("authority", np.float64, "the leaders' authority", "leaders' authority",
               "0 to 1"),
        Metric("stance", np.int64, "the leaders' stance", "leaders' stance", "stance",
               categories=tuple(STANCE_NAMES)),
        Metric("street_stance", np.int64,
               "the stance the street tier relays (missing unless mechanisms.command_tiers "
               "and the tier exists)", "street tier's stance", "stance",
               categories=tuple(STANCE_NAMES)),
    ),
    state=("cliques.restraint", "cliques.pressure", "cliques.disposition", "cliques.order",
           "gangs.cohesion", "gangs.authority", "gangs.isolation", "gangs.stance",
           "gangs.forced_stance", "gangs.forced_until", "gangs.control", "gangs.street_tier",
           "gangs.street_reach", "gangs.street_heard", "gangs.street_stance",
           "gangs.street_forced_stance", "gangs.street_forced_until", "gangs.public_stance",
           "gangs.public_until", "gangs.lobbying"),
)

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
def decide(gangs, regime, paid, day, p, strategic, tiers):
    """Set each leadership's stance for today and update its authority.

    Without ``strategic`` (``mechanisms.strategic_stance``) pressure follows isolation
    times repression and escalation; with it the leaders weigh what violence and
    restraint buy (:func:`strategy`)."""
    for g in range(len(gangs.stance)):
        if not gangs.exists[g]:
            continue
        if strategic:
            stance = strategy(gangs, g, regime, day, p, tiers)
        else:
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
def strategy(gangs, g, regime, day, p, tiers):
    """Gang ``g``'s leaders' stance by what violence and restraint buy today (steps 1-4 of
    the module's rule): restraint for benefits, pressure for a grievance (violent
    lobbying), a unilateral restraint signal after ``signal_patience`` days of lobbying met
    with isolation, otherwise none. Starting a signal issues it as a public communique
    (the street tier's while the leaders are cut off)."""
    if regime.benefits >= p.benefit_threshold:
        gangs.lobbying[g] = 0
        return RESTRAINT
    if day < max(gangs.forced_until[g], gangs.public_until[g]) and (
            gangs.public_stance[g] == RESTRAINT):
        gangs.lobbying[g] = 0  # a signal (its own or a recorded communique) in force
        return NONE
    if not gangs.escalating[g]:
        return NONE
    if gangs.isolation[g] >= p.signal_isolation:
        gangs.lobbying[g] += 1
        if gangs.lobbying[g] >= p.signal_patience:
            gangs.lobbying[g] = 0
            until = day + int(p.signal_days + 0.5)
            if tiers and gangs.isolation[g] >= 1.0 and gangs.street_tier[g]:
                gangs.street_forced_stance[g] = RESTRAINT
                gangs.street_forced_until[g] = until
            else:
                gangs.forced_stance[g] = RESTRAINT
                gangs.forced_until[g] = until
            gangs.public_stance[g] = RESTRAINT
            gangs.public_until[g] = until
            return RESTRAINT
    return PRESSURE


@kernel
def street_decide(rng, gangs, day, p, lapse):
    """The street tier's stance today (``mechanisms.command_tiers``), for each gang that
    has one: the ranfla's stance as last heard (heard today with probability
    ``(1 - isolation) * street_link_rate``), replaced by its own escalation order, then by
    a public communique in force, then by its own communique in force. With ``lapse``
    (``mechanisms.command_state``) the stance last heard lapses to none while the
    leaders are cut off (isolation 1)."""
    for g in range(len(gangs.stance)):
        if not (gangs.exists[g] and gangs.street_tier[g]):
            continue
        if lapse and gangs.isolation[g] >= 1.0:
            gangs.street_heard[g] = NONE
        elif rng.random() < (1.0 - gangs.isolation[g]) * p.street_link_rate:
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
def decay(cliques, i, p, keep_pressure, calm):
    """Clique ``i``'s restraint decays by the defection rate, faster the more it is
    attacked (its own excitation), and is set to 0 below :data:`RESTRAINT_FLOOR`; its
    pressure decays by ``keep_pressure`` a day. ``calm`` is :func:`calm_keep`'s
    factor of a clique not attacked. Returns whether it still restrains."""
    r = cliques.restraint[i]
    if r > 0.0:
        x = -p.defection_rate - p.defection_per_excitation * cliques.own_excitation[i]
        # the same argument as a clique not attacked (excitation 0, or too small to
        # move it): the same factor, computed once a day
        r *= calm if x == -p.defection_rate - p.defection_per_excitation * 0.0 else (
            math.exp(x))
        if r < RESTRAINT_FLOOR:
            r = 0.0
        cliques.restraint[i] = r
    cliques.pressure[i] *= keep_pressure
    return r > 0.0


@kernel
def calm_keep(p):
    """The daily factor on the restraint of a clique not attacked (own excitation 0)."""
    return math.exp(-p.defection_rate - p.defection_per_excitation * 0.0)


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
    calm = calm_keep(p)
    gangs.control[:] = 0.0
    for i in range(len(gang)):
        restrained = decay(cliques, i, p, keep_pressure, calm) or restrained
        g = gang[i]
        if order[g] == RESTRAINT and cliques.restraint[i] >= 0.5:
            gangs.control[g] += 1.0
        elif order[g] == PRESSURE and cliques.pressure[i] >= 0.5:
            gangs.control[g] += 1.0
    for g in range(len(stance)):
        gangs.control[g] /= max(gangs.clique_count[g], 1)
    return restrained


@kernel
def complies(cliques, gangs, i, p, prison):
    """Whether clique ``i`` complies with its leaders' orders today (reach): its fixed
    disposition is below ``compliance * cohesion * authority * (1 - autonomy)``, times
    ``1 + prison_reach * prisoners / (members + prisoners)`` when ``prison`` (an order of
    the imprisoned leaders reaching it directly, ``mechanisms.prison_command``)."""
    g = cliques.gang[i]
    threshold = (p.compliance * gangs.cohesion[g] * gangs.authority[g]
                 * (1.0 - cliques.autonomy[i]))
    if prison:
        inside = cliques.prisoners[i]
        total = inside + cliques.members[i]
        if total > 0:
            threshold *= 1.0 + p.prison_reach * inside / total
    return cliques.disposition[i] < threshold


@kernel
def channel(gangs, g, day, tiers, p):
    """The channel gang ``g``'s order travels through today: ``(stance, hazard,
    direct)``, the first open of a public communique in force (with ``tiers``), the street
    tier, the leaders directly (``direct``); hazard 0 when every channel is cut (the
    order lapses)."""
    if tiers and day < gangs.public_until[g]:
        return gangs.public_stance[g], 1.0 / p.communique_latency, False
    if tiers and gangs.street_tier[g]:
        return gangs.street_stance[g], gangs.street_reach[g] / p.relay_latency, False
    return gangs.stance[g], (1.0 - gangs.isolation[g]) / p.relay_latency, True


@kernel
def relay(rng, cliques, gangs, day, p, tiers, prison):
    """Command as state (``mechanisms.command_state``): each clique hears its gang's order
    through the open channel after a latency, holds it until replaced or until every
    channel is cut, and obeys it if it complies; restraint and pressure then decay, and
    each gang's control (share of its cliques following the order in force) is recorded.

    With ``prison`` (``mechanisms.prison_command``) the imprisoned leaders' direct orders
    reach further into cliques with more members in prison (:func:`complies`).

    Returns whether any clique is under restraint."""
    n_gangs = len(gangs.stance)
    order = np.zeros(n_gangs, dtype=np.int64)
    hear = np.zeros(n_gangs)
    via_prison = np.zeros(n_gangs, dtype=np.bool_)
    for g in range(n_gangs):
        if gangs.exists[g]:
            stance, hazard, direct = channel(gangs, g, day, tiers, p)
            via_prison[g] = prison and direct
            order[g] = stance
            hear[g] = 1.0 - math.exp(-hazard) if hazard > 0.0 else -1.0  # -1: cut
    restrained = False
    keep_pressure = math.exp(-p.pressure_decay)
    calm = calm_keep(p)
    gangs.control[:] = 0.0
    gang = cliques.gang
    for i in range(len(gang)):
        g = gang[i]
        target = order[g]
        if hear[g] < 0.0:
            cliques.order[i] = NONE  # every channel cut: the order lapses
        elif cliques.order[i] != target:  # a new order: heard today with chance hear
            if rng.random() < hear[g]:
                cliques.order[i] = target
                if target != NONE and complies(cliques, gangs, i, p, via_prison[g]):
                    obey(cliques, i, target)
        elif target != NONE and (cliques.restraint[i] < 1.0 if target == RESTRAINT
                                 else cliques.pressure[i] < 1.0):
            # the order held, not followed in full: re-confirmed (if it complies) with the
            # same chance
            if complies(cliques, gangs, i, p, via_prison[g]) and rng.random() < hear[g]:
                obey(cliques, i, target)
        restrained = decay(cliques, i, p, keep_pressure, calm) or restrained
        if target == RESTRAINT and cliques.restraint[i] >= 0.5:
            gangs.control[g] += 1.0
        elif target == PRESSURE and cliques.pressure[i] >= 0.5:
            gangs.control[g] += 1.0
    for g in range(n_gangs):
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
