"""Compiled demography: the loop form of :class:`trucesim.mechanisms.demography.Demography`."""

from __future__ import annotations

from numba import njit

from trucesim.compiled.layout import (
    AUTONOMY_PER_LOSS,
    AUTONOMY_RELAX,
    CAPACITY,
    RELEASE_ALL,
    RELEASE_DARTS,
)
from trucesim.compiled.sampling import distinct_hits


@njit(cache=True)
def losses(members, prisoners, arrests, killed_by_police, victims, share_lost):
    """Arrests, deaths at police hands and victims leave the street; arrests go to
    prison. ``share_lost`` gets each clique's lost share of its members (0 if none)."""
    for i in range(len(members)):
        lost = arrests[i] + killed_by_police[i] + victims[i]
        if lost:
            lost = min(lost, members[i])
            share_lost[i] = lost / max(members[i], 1)
            members[i] -= lost
        else:
            share_lost[i] = -1.0  # not hit today
        prisoners[i] += arrests[i]


@njit(cache=True)
def rates(members, prisoners, recruit_coefficient, consts, out):
    """Fill ``out`` with the release dart rates (first n) and logistic recruitment rates
    (next n)."""
    n = len(members)
    darts = consts[RELEASE_DARTS]
    capacity = consts[CAPACITY]
    for i in range(n):
        out[i] = prisoners[i] * darts
        m = members[i]
        out[n + i] = max(m * recruit_coefficient * (capacity - m), 0.0)


@njit(cache=True)
def gains(rng, members, prisoners, autonomy, baseline_relaxed, share_lost, release_darts,
          recruits, consts, releases):
    """Releases and recruits join; autonomy rises with losses and relaxes to baseline.
    Returns the day's releases."""
    if consts[RELEASE_ALL] != 0.0:
        releases[:] = prisoners
    else:
        distinct_hits(rng, release_darts, prisoners, releases)
    total = 0
    for i in range(len(members)):
        prisoners[i] -= releases[i]
        members[i] += releases[i]
        total += releases[i]
    for i in recruits:
        members[i] += 1
    per_loss = consts[AUTONOMY_PER_LOSS]
    keep = 1.0 - consts[AUTONOMY_RELAX]
    for i in range(len(autonomy)):
        a = autonomy[i]
        if share_lost[i] >= 0.0:
            a = min(a + per_loss * share_lost[i] * (1.0 - a), 1.0)
        autonomy[i] = a * keep + baseline_relaxed[i]
    return total
