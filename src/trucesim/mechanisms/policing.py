"""Police act (step 4 of a day): allocation, arrests, confrontations, attacks on police.

The regime's force is spread over territories as a daily ``heat``: uniformly, in
proportion to recent violence (hotspot), or concentrated on the most violent cliques
(focused); a truce regime pulls back from complying territories. Arrests are
Binomial(members, ``min(arrest_scale * arrest_rate * heat, 1)``); confrontations are
Poisson with a rate growing in heat, clique size, police grievance and pressure orders,
and kill gang members with the regime's lethality and police with a smaller probability.
Cliques under a pressure order also attack police directly.

Deterrence (:func:`deter`). Police presence deters a clique's killings by the factor
``deterred = exp(-deterrence * heat)`` of its territory (the regime's ``deterrence``,
delta). It always multiplies the front killings; with
``mechanisms.deterrence_all_streams`` it multiplies every gang stream: civilian
killings, attacks on police (direct ones here, and the base rate of
:mod:`trucesim.mechanisms.retaliation`), so that sustained policing can lower violence
as a whole, not only its gang-on-gang part.
"""

from __future__ import annotations

import math

import numpy as np

from trucesim.mechanisms.declare import Mechanism, Metric
from trucesim.mechanisms.sampling import dart_rate, distinct_hits, events_of, runs
from trucesim.numerics.constants import code
from trucesim.numerics.jit import kernel
from trucesim.scenario.params import Allocation, PolicingParams

DECLARATION = Mechanism(
    "policing", "police allocate heat, arrest, confront and deter; they remember where "
    "violence was", steps=(4, 7), params=PolicingParams,
    metrics=(
        Metric("police_killed", np.int64, "police officers killed",
               "police officers killed", "per day", flow=True, death=True),
        Metric("gang_killed_by_police", np.int64, "gang members killed by police",
               "gang members killed by police", "per day", flow=True, death=True),
        Metric("arrests", np.int64, "members arrested", "arrests", "per day", flow=True),
    ),
    state=("cliques.heat", "cliques.deterred", "cliques.arrests", "cliques.killed_by_police",
           "cliques.police_grievance", "cliques.recent_violence"),
)

UNIFORM = code(Allocation.UNIFORM)
HOTSPOT = code(Allocation.HOTSPOT)
FOCUSED = code(Allocation.FOCUSED)


@kernel
def kth_smallest(values, k):
    """The ``k``-th smallest of ``values`` (0-based): ``np.partition(values, k)[k]``, by
    Hoare's selection on a copy (numba compiles it in a fraction of ``np.partition``)."""
    a = values.copy()
    lo, hi = 0, len(a) - 1
    while lo < hi:
        pivot = a[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return a[k]
    return a[k]


@kernel(separate=True)
def allocate(cliques, regime, restrained, p):
    """Set today's heat per territory (mean ``police_force`` before pullback) and each
    clique's deterrence ``deterred`` under it (:func:`deter`), in one pass."""
    heat, recent = cliques.heat, cliques.recent_violence
    n = len(heat)
    force = regime.police_force
    hotspot = regime.allocation == HOTSPOT
    total = 0.0
    if hotspot:
        for i in range(n):
            total += recent[i] + 0.5
    elif regime.allocation == FOCUSED:
        k = max(1, int(round(regime.focus_share * n)))
        heat[:] = force * (1.0 - p.focus_weight)
        extra = force * p.focus_weight * n / k
        if k >= n:
            heat[:] += extra
        else:
            kth = kth_smallest(recent, n - k)
            ties = k
            for i in range(n):
                if recent[i] > kth:
                    heat[i] += extra
                    ties -= 1
            for i in range(n):  # ties at the k-th value go to the lowest indices
                if ties > 0 and recent[i] == kth:
                    heat[i] += extra
                    ties -= 1
    pullback = regime.pullback > 0.0 and restrained
    uniform = not hotspot and regime.allocation != FOCUSED
    # deter(), in the same pass; exp(-delta heat) is computed once for the full force
    # (every clique under no pullback, or not restrained) and once per run of equal heat.
    at_force = math.exp(-regime.deterrence * force)
    last_heat, deterred = force, at_force
    for i in range(n):
        if hotspot:
            h = (recent[i] + 0.5) * force * n / total
        elif uniform:
            h = force
        else:
            h = heat[i]
        if pullback:
            h *= 1.0 - regime.pullback * cliques.restraint[i]
        heat[i] = h
        if h != last_heat:
            last_heat = h
            deterred = at_force if h == force else math.exp(-regime.deterrence * h)
        cliques.deterred[i] = deterred


@kernel
def deter(cliques, deterrence):
    """Set each clique's ``deterred = exp(-deterrence * heat)`` (1 without police:
    ``deterrence`` 0)."""
    last_heat, deterred = -1.0, 1.0
    for i in range(len(cliques.heat)):
        if cliques.heat[i] != last_heat:
            last_heat = cliques.heat[i]
            deterred = math.exp(-deterrence * last_heat)
        cliques.deterred[i] = deterred


@kernel
def remember(cliques, p):
    """Step 7: police remember where violence was, for hotspot allocation:
    ``recent_violence`` decays by ``exp(-1 / hotspot_memory)`` and adds the clique's
    killings today and its members killed by rivals (at most its members)."""
    keep = math.exp(-1.0 / p.hotspot_memory)
    for i in range(len(cliques.recent_violence)):
        cliques.recent_violence[i] = (keep * cliques.recent_violence[i] + cliques.killings_by[i]
                                      + min(cliques.victims[i], cliques.members[i]))


@kernel(separate=True)
def act(rng, cliques, regime, p, scratch, direct_attacks, deter_all):
    """Arrests, confrontations and (if ``direct_attacks``) attacks on police under
    pressure orders, deterred with ``deter_all`` (``mechanisms.deterrence_all_streams``;
    :func:`deter` first). Sets the cliques' ``arrests`` and ``killed_by_police`` for
    today; returns (arrests, gang members killed, police killed)."""
    members, heat = cliques.members, cliques.heat
    n = len(members)

    # One pass over the cliques: the rate of arrest darts (Binomial(members, q) by darts;
    # q >= 1 arrests everyone) and of confrontations (this morning's grievance and
    # pressure; grievance then decays), each with its running sum for the draws.
    arrested = 0
    # dart_rate() is computed once for the full force (every clique under no pullback,
    # or not restrained) and once per run of equal heat.
    q = regime.arrest_rate * p.arrest_scale * regime.police_force
    at_force = -1.0 if q >= 1.0 else dart_rate(q)
    last_heat, per_member = regime.police_force, at_force
    dart_cum, meet_cum = scratch.cum, scratch.cum2
    darts_total, meet_total = 0.0, 0.0
    keep_grievance = math.exp(-p.grievance_decay)
    pressure = 0.0
    for i in range(n):
        cliques.arrests[i] = 0
        cliques.killed_by_police[i] = 0
        if heat[i] != last_heat:
            last_heat = heat[i]
            if last_heat == regime.police_force:
                per_member = at_force
            else:
                q = regime.arrest_rate * p.arrest_scale * last_heat
                per_member = -1.0 if q >= 1.0 else dart_rate(q)
        if per_member < 0.0:
            cliques.arrests[i] = members[i]
            arrested += members[i]
            r = 0.0
        else:
            r = members[i] * per_member
        darts_total += r
        dart_cum[i] = darts_total
        r = (cliques.size[i] * regime.confrontation_rate * heat[i]
             * (1.0 + p.grievance_weight * cliques.police_grievance[i])
             * (1.0 + p.pressure_confrontations * cliques.pressure[i]))
        meet_total += r
        meet_cum[i] = meet_total
        cliques.police_grievance[i] *= keep_grievance
        pressure += cliques.pressure[i] * cliques.deterred[i] if deter_all else cliques.pressure[i]

    # Arrests.
    work = scratch.uniform, scratch.events
    darts = events_of(rng, dart_cum, n, darts_total, *work)
    j = 0
    while j < len(darts):
        i, k = runs(darts, j)
        a = distinct_hits(rng, k, members[i])
        cliques.arrests[i] = a
        arrested += a
        j += k

    # Confrontations.
    confrontations = events_of(rng, meet_cum, n, meet_total, *work)
    killed_total, police_killed = confront(rng, cliques, regime, confrontations)

    # Direct attacks on police by cliques under a pressure order (the retaliation
    # mechanism, when on, draws every attack on police itself).
    attacks = p.attack_rate * p.attack_lethality * pressure
    if direct_attacks and attacks > 0.0:
        police_killed += rng.poisson(attacks)
    return arrested, killed_total, police_killed


@kernel
def confront(rng, cliques, regime, confrontations):
    """What confrontations do: the sorted clique indices ``confrontations`` (one per
    confrontation) each kill a gang member with the regime's ``lethality`` (at most the
    clique's members still alive today), police with ``police_lethality``; members
    killed add to the clique's ``killed_by_police`` and grievance. Returns (gang members
    killed, police killed)."""
    members = cliques.members
    killed_total, police_killed = 0, 0
    j = 0
    while j < len(confrontations):
        i, k = runs(confrontations, j)
        killed = min(rng.binomial(k, regime.lethality), members[i] - cliques.killed_by_police[i])
        cliques.killed_by_police[i] += killed
        cliques.police_grievance[i] += killed
        killed_total += killed
        j += k
    if len(confrontations):
        police_killed += rng.binomial(len(confrontations), regime.police_lethality)
    return killed_total, police_killed
