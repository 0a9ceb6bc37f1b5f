"""Compiled killings: the loop form of :class:`trucesim.mechanisms.violence.Violence`."""

from __future__ import annotations

from numba import njit

from trucesim.compiled.layout import CONCEALMENT, ETA, EXCITATION_DECAY, MU


@njit(cache=True)
def front_rates(src, excitation, size, attacker, uniform_attacker, scalar, consts, out):
    """Fill ``out`` with each directed front's killing rate
    ``(mu * s_a + eta * e_ab) * attacker_a`` (``uniform_attacker`` if ``scalar``), and
    decay each excitation by ``exp(-omega)`` in the same pass (the numpy engine decays
    it after the day's draw; nothing reads it in between, so the values are the same)."""
    mu, eta, decay = consts[MU], consts[ETA], consts[EXCITATION_DECAY]
    if scalar:
        mu_a = mu * uniform_attacker
        eta_a = eta * uniform_attacker
        for f in range(len(src)):
            e = excitation[f]
            out[f] = size[src[f]] * mu_a + e * eta_a
            excitation[f] = e * decay
    else:
        for f in range(len(src)):
            a = src[f]
            e = excitation[f]
            out[f] = (size[a] * mu + e * eta) * attacker[a]
            excitation[f] = e * decay


@njit(cache=True)
def fronts(src, dst, rev, excitation, last_killing, own_excitation, members, events, day,
           consts, received, victims, killings_by, active_by_day, active):
    """The day's killings on directed fronts (``excitation`` already decayed by
    :func:`front_rates`): retaliation, each clique's own excitation (decayed, then
    raised by the killings it received, as the numpy engine rounds it), and
    the count of active fronts (a killing in the last ``len(active_by_day)`` days),
    kept up to date from the events alone: ``active_by_day[d % window]`` counts the
    fronts whose last killing was on day d. Returns the new count."""
    window = len(active_by_day)
    decay = consts[EXCITATION_DECAY]
    for i in range(len(received)):
        received[i] = 0
        killings_by[i] = 0
    expired = (day - window) % window
    active -= active_by_day[expired]  # last killing `window` days ago: no longer active
    active_by_day[expired] = 0
    for e in events:
        excitation[rev[e]] += 1.0
        received[dst[e]] += 1
        killings_by[src[e]] += 1
        before = last_killing[e]
        if before == day:
            continue
        if before > day - window:
            active_by_day[before % window] -= 1
        else:
            active += 1
        active_by_day[day % window] += 1
        last_killing[e] = day
    for i in range(len(members)):
        own_excitation[i] = own_excitation[i] * decay + received[i]
        victims[i] = min(received[i], members[i])
    return active


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
