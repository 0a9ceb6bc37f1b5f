"""One day of the model, steps 1 to 9 in order (docs/model.md, "One day"), as one kernel.

:func:`day` is the day; :func:`simulate_days` runs a span of days. Both
:meth:`TruceModel.step <trucesim.core.model.TruceModel.step>` (one day) and
:meth:`TruceModel.run <trucesim.core.model.TruceModel.run>` (every day to the end) call
:func:`simulate_days`, so there is one day, whatever the caller. Each step calls the
mechanism that owns it (:mod:`trucesim.mechanisms`); the day's tallies go straight into
its row of the record, by metric name (:mod:`trucesim.core.metrics`).

Arguments: ``state`` (:class:`~trucesim.core.state.State`), ``params`` (:class:`Params`),
``schedule`` (:class:`~trucesim.core.timeline.Schedule`), ``daily`` and ``gang_daily``
(the records, zeros until their day: one row per day, burn-in days first).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from numba import literal_unroll

from trucesim.core.metrics import ACTIVE_WINDOW, DEATH_TYPES
from trucesim.core.registry import MECHANISMS
from trucesim.core.timeline import (
    COMMUNIQUE,
    REFUSAL,
    SPLIT,
    STREET,
    STREET_ARREST,
    STREET_TIER,
    TAKEOVER,
    TRANSFER,
)
from trucesim.core.world import refresh_fronts, split_gang, take_territory
from trucesim.mechanisms import (
    bargaining,
    command,
    demography,
    other_actors,
    policing,
    retaliation,
    violence,
)
from trucesim.numerics.jit import borrow, kernel

Params = NamedTuple("Params", [*((m.name, tuple) for m in MECHANISMS if m.params is not None),
                               ("mechanisms", tuple)])
Params.__doc__ = """Every parameter block of a scenario, by its name there, as kernel constants
(:func:`trucesim.numerics.constants.constants`): one field per mechanism with a block, in
the order of the day (:mod:`trucesim.core.registry`), then the switches."""


@kernel
def simulate_days(rng, first, last, state, params, schedule, daily, gang_daily):
    """Simulate days ``first`` to ``last - 1`` (negative days are burn-in)."""
    # The caller holds every array for the call: the days borrow them (no reference
    # counting at each mechanism's call, see trucesim.numerics.jit.borrow).
    state, schedule, daily, gang_daily = (
        borrow(state), borrow(schedule), borrow(daily), borrow(gang_daily))
    for d in range(first, last):
        day(rng, d, state, params, schedule, daily, gang_daily)


@kernel(inline=True)
def day(rng, d, state, params, schedule, daily, gang_daily):
    """Simulate day ``d``."""
    cliques, fronts, gangs, clock, scratch = (
        state.cliques, state.fronts, state.gangs, state.clock, state.scratch)
    on = params.mechanisms
    burn_in = params.world.burn_in_days
    row = daily[d + burn_in]  # zeros until today
    # Today's tallies of the cliques start at 0 in the first pass that writes them: the
    # police's (arrests, killed_by_police: policing.act) and the fronts' (victims,
    # killings_by, front_killings_by: violence.front_killings).

    # 1. Regime and events.
    phase = schedule.phase_of_day[d] if d >= 0 else 0
    regime = schedule.regimes[phase]
    if phase != clock.phase[0]:
        clock.phase[0] = phase
        gangs.isolation[:] = regime.isolation
    if d >= 0:
        apply_events(state, schedule.events, d, on.command_tiers)

    # 2. Leaders decide: grievance against the state (bargaining by violence), the
    # imprisoned leadership's stance, then the street tier's.
    if on.leaders:
        recent = 0.0
        if regime.conditional:
            recent = recent_recorded_per_day(daily, d + burn_in, regime.verification_days)
        row.benefits_paid = command.benefits_paid(regime, recent)
        if on.bargaining_violence:
            bargaining.weigh(gangs, regime, row.benefits_paid, params.bargaining)
        command.decide(gangs, regime, row.benefits_paid, d, params.command,
                       on.strategic_stance, on.command_tiers)
        if on.command_tiers:
            command.street_decide(rng, gangs, d, params.command, on.command_state)

    # 3. Orders travel.
    restrained = False
    if on.leaders:
        if on.command_state:
            restrained = command.relay(rng, cliques, gangs, d, params.command,
                                       on.command_tiers, on.prison_command)
        else:
            restrained = command.transmit(rng, cliques, gangs, d, params.command,
                                          on.command_tiers)

    # 4. Police act (on this morning's sizes).
    violence.size_factors(cliques, params.world.members, params.violence.size_power,
                          params.violence.arms_power, on.truce_capacity)
    if on.police:
        policing.allocate(cliques, regime, restrained, params.policing)  # and deterrence
        row.arrests, row.gang_killed_by_police, row.police_killed = policing.act(
            rng, cliques, regime, params.policing, scratch, not on.police_gang_retaliation,
            on.deterrence_all_streams)
        if on.police_gang_retaliation:
            attacks, killed, police_killed = retaliation.exchange(
                rng, cliques, regime, params.retaliation, params.policing.attack_lethality,
                scratch, on.deterrence_all_streams)
            row.attacks_on_police = attacks
            row.gang_killed_by_police += killed
            row.police_killed += police_killed
    else:
        cliques.heat[:] = 0.0
        policing.deter(cliques, 0.0)
        cliques.arrests[:] = 0
        cliques.killed_by_police[:] = 0

    # 5. Inter-gang violence on the fronts.
    row.gang_on_gang = violence.front_killings(
        rng, cliques, fronts, d, params.violence, scratch, on.leaderless_retaliation)

    # 6. Other killings.
    if on.other_killings:
        civilian_rate, background_rate = violence.civilian_rates(
            params.violence, on.civilian_split, len(cliques.members), params.world.members)
        escalation = params.bargaining.civilian_escalation if on.bargaining_violence else 0.0
        row.gang_on_civilian = violence.civilians(
            rng, cliques, civilian_rate, params.violence, scratch, escalation,
            on.extortion_killings, params.world.members, on.deterrence_all_streams)
        row.background = violence.background(rng, background_rate)
    if on.other_actors:
        row.other_actors = other_actors.killings(rng, state.nation, params.other_actors)

    # 7. Hidden violence.
    hidden_front = 0
    if restrained:
        row.disappearances, hidden_front = violence.conceal(
            rng, cliques, params.violence, on.extortion_killings)
    if on.extortion_killings:  # recorded victims who were gang members
        row.gang_member_victims = row.gang_on_gang - hidden_front + row.gang_killed_by_police
    policing.remember(cliques, params.policing)  # where violence was, for hotspots

    # 8. Cliques change.
    if on.demography:
        held = demography.held_share(params.demography.custody_share, regime.custody_factor)
        demography.losses(rng, cliques, on.prison_terms, held)
        release_rate = (1.0 / regime.sentence_days if on.prison_terms
                        else params.demography.release_rate)
        row.releases, row.recruits = demography.gains(
            rng, cliques, regime, params.demography, params.world.capacity, scratch,
            on.truce_capacity, release_rate)
    if on.truce_capacity:
        demography.arm(cliques, params.demography, params.world.members)

    # 9. Record.
    record(row, gang_daily[d + burn_in], d, state, restrained, on.command_tiers)


@kernel
def apply_events(state, events, d, tiers):
    """Apply the events of day ``d`` (the next ones in the day-sorted ``events``). With
    ``tiers`` (``mechanisms.command_tiers``) a communique is public, and one from the
    street tier forces the street tier's stance; without it every communique forces the
    leadership's stance. Street-tier events and refusals only change state that their
    mechanisms read."""
    cliques, edges, fronts, gangs, clock = (
        state.cliques, state.edges, state.fronts, state.gangs, state.clock)
    i = clock.next_event[0]
    changed = False
    while i < len(events) and events[i].day <= d:
        ev = events[i]
        if ev.kind == TRANSFER:
            gangs.isolation[ev.gang] = ev.value
        elif ev.kind == COMMUNIQUE:
            if tiers and ev.tier == STREET:
                gangs.street_forced_stance[ev.gang] = ev.other
                gangs.street_forced_until[ev.gang] = d + ev.days
            else:
                gangs.forced_stance[ev.gang] = ev.other
                gangs.forced_until[ev.gang] = d + ev.days
            gangs.public_stance[ev.gang] = ev.other
            gangs.public_until[ev.gang] = d + ev.days
        elif ev.kind == SPLIT:
            split_gang(cliques, gangs, ev.gang, ev.other, ev.value)
            changed = True
        elif ev.kind == TAKEOVER:
            take_territory(cliques, edges, gangs, ev.gang, ev.other, ev.value)
            changed = True
        elif ev.kind == STREET_TIER:
            gangs.street_tier[ev.gang] = True
            gangs.street_reach[ev.gang] = ev.value
            gangs.street_heard[ev.gang] = gangs.stance[ev.gang]  # it starts with the stance
        elif ev.kind == STREET_ARREST:
            gangs.street_reach[ev.gang] *= 1.0 - ev.value
        elif ev.kind == REFUSAL:
            gangs.refusals[ev.gang] += 1
        i += 1
    clock.next_event[0] = i
    if changed:
        refresh_fronts(cliques, edges, fronts, gangs)


@kernel
def recent_recorded_per_day(daily, done, window):
    """Mean recorded homicides per day over the last ``window`` days before row ``done``."""
    w = min(window, done)
    if w <= 0:
        return 0.0
    total = 0
    for r in range(done - w, done):
        total += daily[r].homicides
    return total / w


@kernel(separate=True)
def record(row, gang_row, d, state, restrained, tiers):
    """Step 9: complete the day's row and the gangs' row."""
    cliques, fronts, gangs = state.cliques, state.fronts, state.gangs
    deaths = 0
    for name in literal_unroll(DEATH_TYPES):  # the kinds of death, unrolled at compile time
        deaths += row[name]
    row.deaths_true = deaths
    row.homicides = row.deaths_true - row.disappearances
    n = len(cliques.members)
    members, prisoners, restraining, pressing = 0, 0, 0, 0
    autonomy, heat = 0.0, 0.0
    for i in range(n):
        members += cliques.members[i]
        prisoners += cliques.prisoners[i]
        restraining += cliques.restraint[i] >= 0.5
        pressing += cliques.pressure[i] >= 0.5
        autonomy += cliques.autonomy[i]
        heat += cliques.heat[i]
    row.members = members
    row.prisoners = prisoners
    row.restraint_share = restraining / n if restrained else 0.0
    row.pressure_share = pressing / n
    row.mean_autonomy = autonomy / n
    row.mean_heat = heat / n
    active = 0
    for f in range(fronts.count[0]):
        active += fronts.last_killing[f] > d - ACTIVE_WINDOW
    row.active_fronts = active
    for g in range(len(gang_row)):
        if gangs.exists[g]:
            # a gang a split left without cliques controls nothing: NaN, not 0.0
            gang_row[g].control = gangs.control[g] if gangs.clique_count[g] > 0 else math.nan
            gang_row[g].authority = gangs.authority[g]
            gang_row[g].grievance = gangs.grievance[g]
        else:
            gang_row[g].control = math.nan
            gang_row[g].authority = math.nan
            gang_row[g].grievance = math.nan
        gang_row[g].stance = gangs.stance[g] if gangs.exists[g] else -1
        street = tiers and gangs.exists[g] and gangs.street_tier[g]
        gang_row[g].street_stance = gangs.street_stance[g] if street else -1
