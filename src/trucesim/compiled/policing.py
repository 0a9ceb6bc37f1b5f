"""Compiled policing: the loop form of :class:`trucesim.mechanisms.policing.Policing`."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from trucesim.compiled.layout import (
    ALLOCATION,
    ARREST_RATE,
    ATTACK_LETHALITY,
    ATTACK_RATE,
    CONFRONTATION_RATE,
    FOCUS_BASE,
    FOCUS_COUNT,
    FOCUS_EXTRA,
    FOCUSED,
    GRIEVANCE_DECAY,
    GRIEVANCE_WEIGHT,
    HOTSPOT,
    HOTSPOT_FORCE,
    LETHALITY,
    POLICE_FORCE,
    POLICE_LETHALITY,
    PRESSURE_CONFRONTATIONS,
    PULLBACK,
    UNIFORM,
    UNIFORM_ARREST_DARTS,
    UNIFORM_CERTAIN,
)
from trucesim.compiled.sampling import distinct_hits, float_sum, run_end


@njit(cache=True)
def allocate(heat, recent_violence, restraint, restrained, regime):
    """Set today's heat per territory; return True if it is the same everywhere
    (see :meth:`trucesim.mechanisms.policing.Policing.allocate`; ties at the edge of the focused
    top share go to the lowest clique indices, as in :func:`trucesim.mechanisms.policing.top_k`)."""
    n = len(heat)
    allocation = int(regime[ALLOCATION])
    if allocation == UNIFORM:
        heat[:] = regime[POLICE_FORCE]
        if regime[PULLBACK] == 0.0 or not restrained:
            return True
    elif allocation == HOTSPOT:
        v = recent_violence + 0.5
        scale = regime[HOTSPOT_FORCE] / float_sum(v)
        for i in range(n):
            heat[i] = v[i] * scale
    elif allocation == FOCUSED:
        k = int(regime[FOCUS_COUNT])
        heat[:] = regime[FOCUS_BASE]
        if k >= n:
            for i in range(n):
                heat[i] += regime[FOCUS_EXTRA]
        else:
            kth = np.partition(recent_violence, n - k)[n - k]
            tied = k
            for i in range(n):
                if recent_violence[i] > kth:
                    heat[i] += regime[FOCUS_EXTRA]
                    tied -= 1
            for i in range(n):
                if tied == 0:
                    break
                if recent_violence[i] == kth:
                    heat[i] += regime[FOCUS_EXTRA]
                    tied -= 1
    if regime[PULLBACK] > 0.0 and restrained:
        pullback = regime[PULLBACK]
        for i in range(n):
            heat[i] *= 1.0 - pullback * restraint[i]
    return False


@njit(cache=True)
def arrest_rates(members, heat, uniform, regime, out, certain):
    """Fill ``out`` with each clique's arrest dart rate and ``certain`` with the cliques
    arrested with probability 1; return whether there are any."""
    n = len(members)
    if uniform:
        if regime[UNIFORM_CERTAIN] != 0.0:
            out[:n] = 0.0
            certain[:] = True
            return True
        darts = regime[UNIFORM_ARREST_DARTS]
        for i in range(n):
            out[i] = members[i] * darts
        return False
    rate = regime[ARREST_RATE]
    any_certain = False
    for i in range(n):
        p = min(heat[i] * rate, 1.0)
        if p >= 1.0:
            certain[i] = True
            any_certain = True
            out[i] = 0.0
        else:
            certain[i] = False
            out[i] = -math.log1p(-p) * members[i]
    return any_certain


@njit(cache=True)
def confrontation_rates(police_grievance, pressure, size, heat, uniform, regime, consts,
                        pressure_seen, out):
    """Fill ``out`` with each clique's rate of confrontations; return whether any clique
    has been under pressure so far (``pressure_seen``, which then stays True)."""
    n = len(size)
    if not pressure_seen:
        for i in range(n):
            if pressure[i] != 0.0:
                pressure_seen = True
                break
    weight, boost = consts[GRIEVANCE_WEIGHT], consts[PRESSURE_CONFRONTATIONS]
    rate = regime[CONFRONTATION_RATE]
    force = rate * regime[POLICE_FORCE]
    for i in range(n):
        r = (police_grievance[i] * weight + 1.0) * size[i]
        r *= force if uniform else rate * heat[i]
        if pressure_seen:
            r *= 1.0 + boost * pressure[i]
        out[i] = r
    return pressure_seen


@njit(cache=True)
def act(rng, members, pressure, police_grievance, arrest_darts, certain, any_certain,
        confrontations, regime, consts, pressure_seen, arrests, killed_by_police):
    """Arrests, confrontations and attacks on police from the day's events; returns
    (arrests, killed by police, police killed) totals."""
    distinct_hits(rng, arrest_darts, members, arrests)
    if any_certain:
        for i in range(len(members)):
            if certain[i]:
                arrests[i] = members[i]
    arrests_total = 0
    for i in range(len(arrests)):
        arrests_total += arrests[i]
    decay = consts[GRIEVANCE_DECAY]
    for i in range(len(police_grievance)):
        police_grievance[i] *= decay
    killed_by_police[:] = 0
    killed_total = 0
    police_killed = 0
    m = len(confrontations)
    if m:
        lethality = regime[LETHALITY]
        j = 0
        while j < m:
            clique = confrontations[j]
            k = run_end(confrontations, j)
            killed = min(rng.binomial(k - j, lethality), members[clique])
            killed_by_police[clique] = killed
            killed_total += killed
            police_grievance[clique] += killed
            j = k
        police_killed = rng.binomial(m, regime[POLICE_LETHALITY])
    if pressure_seen:
        attacks = consts[ATTACK_RATE] * consts[ATTACK_LETHALITY] * float_sum(pressure)
        if attacks > 0.0:
            police_killed += rng.poisson(attacks)
    return arrests_total, killed_total, police_killed
