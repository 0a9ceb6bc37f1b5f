"""Killings (steps 5-7 of a day): the Hawkes process on fronts, civilians, background
and concealment.

Civilians and background (docs/model.md, mechanism 6). Each clique kills civilians at
Poisson(``c * members * (1 - rho * restraint)``) a day, and ``background`` is a
constant Poisson(``B``) a day nationwide. Without ``mechanisms.civilian_split``,
``c = civilian_rate`` and ``B = background_rate``. With it, ``background_rate`` is split
into a non-gang floor ``B = nongang_share * background_rate`` and gang killings of
civilians (extortion, suspected collaborators, bus drivers) added to the per-member rate,
``c = civilian_rate + (1 - nongang_share) * background_rate / (cliques * world.members)``:
at the initial mean size and without restraint the expected total is unchanged, but the
gang part now scales with members, falls under restraint and is concealed like every
killing of a clique (:func:`civilian_rates`).

On each directed front a -> b, killings are Poisson with rate

    lambda_ab = (mu * s_a + eta * e_ab) * (1 - rho * restraint_a) * exp(-delta * heat_a)

where ``s_a`` is a's size factor and ``e_ab`` its excitation against b. Every excitation
then decays by exp(-omega) and each of the day's killings on a -> b adds 1 to e_ba. Each
killing therefore causes, in expectation, ``n = eta / (1 - exp(-omega))`` retaliations:
a discrete-time multivariate Hawkes process on the front network whose stationary mean
is ``(I - K)^-1 mu`` (see :func:`stationary_front_mean`).

Capacity built during a truce (docs/model.md, mechanism 3). With
``mechanisms.truce_capacity`` the size factor also carries the clique's arms stock
(:func:`trucesim.mechanisms.demography.arm`): ``s_a = (members_a / world.members) **
size_power * arms_a ** arms_power``.

Leaderless cliques retaliate more (docs/model.md, mechanism 5). With
``mechanisms.leaderless_retaliation``, ``eta`` in the excitation term becomes the
attacker's ``eta_a = eta * (1 + leaderless_gain * autonomy_a)``, so ``n`` becomes
``n_a = eta_a / (1 - exp(-omega))`` per attacker.
"""

from __future__ import annotations

import math

import numpy as np

from trucesim.mechanisms.declare import Mechanism, Metric
from trucesim.mechanisms.sampling import events_of
from trucesim.numerics.jit import kernel
from trucesim.scenario.params import ViolenceParams

DECLARATION = Mechanism(
    "violence", "killings on the fronts, of civilians and in the background, and their "
    "concealment", steps=(5, 6, 7), params=ViolenceParams,
    metrics=(
        Metric("gang_on_gang", np.int64, "killings on fronts (members of rival cliques)",
               "gang-on-gang killings", "per day", flow=True, death=True),
        Metric("gang_on_civilian", np.int64, "civilians killed by clique members",
               "civilians killed by gangs", "per day", flow=True, death=True),
        Metric("background", np.int64, "non-gang homicides",
               "non-gang (background) homicides", "per day", flow=True, death=True),
        Metric("disappearances", np.int64, "killings hidden by cliques under restraint",
               "hidden killings (disappearances)", "per day", flow=True),
        Metric("gang_member_victims", np.int64,
               "recorded victims who were gang members: gang_on_gang + gang_killed_by_police "
               "- front killings hidden (0 unless mechanisms.extortion_killings, under which "
               "concealment is drawn per stream)", "recorded victims who were gang members",
               "per day", flow=True),
    ),
    state=("cliques.size", "cliques.own_excitation", "cliques.victims", "cliques.killings_by",
           "cliques.front_killings_by", "edges.excitation", "edges.last_killing",
           "fronts.excitation", "fronts.last_killing", "fronts.rate", "fronts.killings"),
)


@kernel
def size_factors(cliques, reference_members, power, arms_power, truce_capacity):
    """Set each clique's size factor ``(members / reference_members) ** power``, times
    ``arms ** arms_power`` with ``truce_capacity`` (the switch
    ``mechanisms.truce_capacity``)."""
    for i in range(len(cliques.members)):
        s = _power(cliques.members[i] / reference_members, power)
        if truce_capacity:
            s *= _power(cliques.arms[i], arms_power)
        cliques.size[i] = s


@kernel
def _power(x, power):
    """``x ** power``, with the common powers computed exactly and fast."""
    if power == 1.0:
        return x
    if power == 2.0:
        return x * x
    if power == 0.5:
        return math.sqrt(x)
    return x**power


@kernel(separate=True)
def front_killings(rng, cliques, fronts, day, p, scratch, leaderless):
    """The day's killings on the fronts, then excitation decay and retaliation. Police
    deterrence is the cliques' ``deterred`` factor of the day.

    With ``leaderless`` (``mechanisms.leaderless_retaliation``, docs/model.md, mechanism 5) the
    excitation term of an attacker a is weighted by
    ``eta_a = eta * (1 + leaderless_gain * autonomy_a)``.

    Sets the cliques' ``victims``, ``killings_by`` and ``front_killings_by`` for today
    (the other killings add to ``killings_by`` later); returns the number of killings.
    """
    keep = math.exp(-p.omega)
    # Each clique's multiplier on its killings, (1 - rho restraint) exp(-delta heat) (the
    # police's deterrence, :func:`trucesim.mechanisms.policing.deter`); the excitation
    # against it decays; today's tallies start at 0.
    factor = scratch.factor
    for i in range(len(factor)):
        factor[i] = (1.0 - p.restraint_efficacy * cliques.restraint[i]) * cliques.deterred[i]
        cliques.own_excitation[i] *= keep
        cliques.victims[i] = 0
        cliques.killings_by[i] = 0
        cliques.front_killings_by[i] = 0
    count = fronts.count[0]
    src, excitation, rate, killings = fronts.src, fronts.excitation, fronts.rate, fronts.killings
    size, autonomy = cliques.size, cliques.autonomy
    cum, total = scratch.cum, 0.0  # the rates' running sums, for the draw
    for f in range(count):
        a = src[f]
        eta = p.eta
        if leaderless:
            eta = p.eta * (1.0 + p.leaderless_gain * autonomy[a])
        r = (p.mu * size[a] + eta * excitation[f]) * factor[a]
        rate[f] = r
        total += r
        cum[f] = total
        excitation[f] *= keep  # after today's rate: decay, then today's retaliation
        killings[f] = 0
    events = events_of(rng, cum, count, total, scratch.uniform, scratch.events)
    for f in events:
        fronts.killings[f] += 1
        excitation[fronts.rev[f]] += 1.0
        fronts.last_killing[f] = day
        b = fronts.dst[f]
        cliques.own_excitation[b] += 1.0
        cliques.victims[b] += 1
        cliques.killings_by[src[f]] += 1
        cliques.front_killings_by[src[f]] += 1
    return len(events)


@kernel
def civilian_rates(p, split, cliques, reference_members):
    """The per-member civilian killing rate of the gangs and the non-gang background
    rate per day: ``background_rate`` whole, or split into the floor ``nongang_share`` of
    it and gang killings spread over ``cliques`` cliques of ``reference_members`` members."""
    if not split:
        return p.civilian_rate, p.background_rate
    floor = p.nongang_share * p.background_rate
    gang_part = p.background_rate - floor
    return p.civilian_rate + gang_part / (cliques * reference_members), floor


@kernel(separate=True)
def civilians(rng, cliques, civilian_rate, p, scratch, escalation, extortion,
              reference_members, deter_all):
    """Civilian killings by the cliques; adds to their ``killings_by`` and returns their
    number.

    A clique's rate per day is ``civilian_rate * members`` or, with ``extortion``
    (``mechanisms.extortion_killings``), the rate per territory held
    ``civilian_rate * reference_members * (members / reference_members) ** extortion_power``
    (0 with no members); times ``1 - rho * restraint``, under
    ``mechanisms.bargaining_violence`` times ``1 + escalation * pressure`` (``escalation``
    0 otherwise), and with ``deter_all`` (``mechanisms.deterrence_all_streams``) times the
    police's deterrence ``deterred``."""
    cum = scratch.cum
    n = len(cliques.members)
    per_territory = civilian_rate * reference_members
    total = 0.0
    for i in range(n):  # one pass: each rate, and the running sum the draw needs
        m = cliques.members[i]
        if extortion:
            r = 0.0
            if m > 0:
                r = (per_territory * _power(m / reference_members, p.extortion_power)
                     * (1.0 - p.restraint_efficacy * cliques.restraint[i]))
        else:
            r = m * civilian_rate * (1.0 - p.restraint_efficacy * cliques.restraint[i])
        if escalation > 0.0:
            r *= 1.0 + escalation * cliques.pressure[i]
        if deter_all:
            r *= cliques.deterred[i]
        total += r
        cum[i] = total
    events = events_of(rng, cum, n, total, scratch.uniform, scratch.events)
    for i in events:
        cliques.killings_by[i] += 1
    return len(events)


@kernel
def background(rng, rate):
    """Non-gang homicides today, Poisson(``rate``)."""
    return rng.poisson(rate)


@kernel
def conceal(rng, cliques, p, by_stream):
    """A clique under restraint hides a share ``restraint * concealment`` of its killings
    as disappearances. Returns (killings hidden, front killings hidden): with
    ``by_stream`` (``mechanisms.extortion_killings``) each clique's front killings and
    its other killings are drawn apart, Binomial(front, q) + Binomial(other, q), the
    same law as one Binomial(all, q); without it one draw, and the front killings hidden
    are not known (0)."""
    hidden, hidden_front = 0, 0
    if p.concealment <= 0.0:
        return 0, 0
    for i in range(len(cliques.killings_by)):
        k = cliques.killings_by[i]
        if k and cliques.restraint[i] > 0.0:
            q = cliques.restraint[i] * p.concealment
            if by_stream:
                front = cliques.front_killings_by[i]
                h = rng.binomial(front, q) if front else 0
                hidden_front += h
                hidden += h + (rng.binomial(k - front, q) if k > front else 0)
            else:
                hidden += rng.binomial(k, q)
    return hidden, hidden_front


def stationary_front_mean(
    mu: np.ndarray, rev: np.ndarray, branching_ratio: float | np.ndarray
) -> np.ndarray:
    """Stationary mean killings per day on each directed front, ``(I - K)^-1 mu``.

    ``branching_ratio`` is one ``n`` for every front, or per front f = a -> b the
    branching ratio ``n_f`` of its attacker a (``eta_a / (1 - exp(-omega))``, with
    ``eta_a`` a's retaliation weight under ``mechanisms.leaderless_retaliation``).
    With no restraint or police, a killing on b -> a raises the rate on a -> b by a total
    of ``n_f`` expected killings (a retaliates with its own weight), so K has ``n_f`` at
    (f, rev(f)). Each front pair solves ``m_f = mu_f + n_f m_rev(f)``, so
    ``m_f = (mu_f + n_f mu_rev(f)) / (1 - n_f n_rev(f))``; stable while every
    ``n_f n_rev(f) < 1`` (the pair's spectral radius is ``sqrt(n_f n_rev(f))``).
    """
    n = np.broadcast_to(np.asarray(branching_ratio, dtype=float), np.shape(mu))
    product = n * n[rev]
    if np.any(product >= 1.0):
        raise ValueError(f"branching ratio {np.sqrt(product.max())} >= 1: no stationary mean")
    return (mu + n * mu[rev]) / (1.0 - product)
