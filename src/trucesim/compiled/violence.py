"""Compiled killings: the loop form of :class:`trucesim.violence.Violence`."""

from __future__ import annotations

from numba import njit

from .layout import CONCEALMENT, ETA, EXCITATION_DECAY, MU


@njit(cache=True)
def front_rates(src, excitation, size, attacker, uniform_attacker, scalar, consts, out):
    """Fill ``out`` with each directed front's killing rate
    ``(mu * s_a + eta * e_ab) * attacker_a`` (``uniform_attacker`` if ``scalar``)."""
    mu, eta = consts[MU], consts[ETA]
    if scalar:
        mu_a = mu * uniform_attacker
        eta_a = eta * uniform_attacker
        for f in range(len(src)):
            out[f] = size[src[f]] * mu_a + excitation[f] * eta_a
    else:
        for f in range(len(src)):
            a = src[f]
            out[f] = (size[a] * mu + excitation[f] * eta) * attacker[a]


@njit(cache=True)
def fronts(src, dst, rev, excitation, last_killing, own_excitation, members, events, day,
           consts, received, victims, killings_by):
    """The day's killings on directed fronts, then excitation decay and retaliation."""
    decay = consts[EXCITATION_DECAY]
    for f in range(len(excitation)):
        excitation[f] *= decay
    for i in range(len(own_excitation)):
        own_excitation[i] *= decay
    received[:] = 0
    killings_by[:] = 0
    for e in events:
        excitation[rev[e]] += 1.0
        last_killing[e] = day
        received[dst[e]] += 1
        killings_by[src[e]] += 1
    for i in range(len(members)):
        own_excitation[i] += received[i]
        victims[i] = min(received[i], members[i])


@njit(cache=True)
def civilian_rates(members, restraint_factor, restrained, civilian_rate, out):
    """Fill ``out`` with each clique's rate of civilian killings."""
    if restrained:
        for i in range(len(members)):
            out[i] = members[i] * restraint_factor[i] * civilian_rate
    else:
        for i in range(len(members)):
            out[i] = members[i] * civilian_rate


@njit(cache=True)
def conceal(rng, killings_by, restraint, restrained, consts):
    """Killings hidden as disappearances by cliques under restraint (one uniform per
    killing, in clique order)."""
    concealment = consts[CONCEALMENT]
    if concealment <= 0.0 or not restrained:
        return 0
    hidden = 0
    for i in range(len(killings_by)):
        kills = killings_by[i]
        if kills:
            p = restraint[i] * concealment
            for _ in range(kills):
                if rng.random() < p:
                    hidden += 1
    return hidden
