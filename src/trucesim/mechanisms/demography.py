"""Cliques change (step 8 of a day): losses, prison, release, recruitment, autonomy.

Members fall by arrests and deaths and grow by logistic recruitment; prisoners return
at a release rate. Arrests and deaths of a clique's members raise its autonomy (new,
younger leadership that the prison leaders do not control); autonomy relaxes slowly
back to the gang's baseline.

Capacity built during a truce (docs/model.md, mechanism 3; ``mechanisms.truce_capacity``):
restraint raises a clique's carrying capacity to ``capacity * (1 + growth_order *
restraint)`` (the leaders' order to grow, admitting members who had not killed), and
each clique keeps an arms stock that extortion income, in proportion to its members,
replenishes and that depreciates (:func:`arm`).

Prison terms (issue 20.4; ``mechanisms.prison_terms``). Of a clique's ``a`` arrests
today, Binomial(a, ``h``) are held in prison, with
``h = min(custody_share * custody_factor, 1)`` (``demography.custody_share``, fitted to
the prison counts; the regime's ``custody_factor`` a lever); the others return to the
street the same day. Prisoners are released at ``1 / sentence_days`` a day (the regime's
``sentence_days``, a lever), instead of ``release_rate``. Under a regime held for long
the stock then tends to ``h * arrests per day * (sentence_days - 1)``
(:func:`stationary_prisoners`), finite whatever the arrests.
"""

from __future__ import annotations

import numpy as np

from trucesim.mechanisms.declare import Mechanism, Metric
from trucesim.mechanisms.sampling import dart_rate, distinct_hits, events_of, runs
from trucesim.numerics.jit import kernel
from trucesim.scenario.params import DemographyParams

DECLARATION = Mechanism(
    "demography", "cliques lose members to arrests and deaths, gain recruits and released "
    "prisoners, and drift in autonomy", steps=(8,), params=DemographyParams,
    metrics=(
        Metric("releases", np.int64, "prisoners released back to their clique",
               "releases from prison", "per day", flow=True),
        Metric("recruits", np.int64, "members recruited", "recruits", "per day", flow=True),
    ),
    state=("cliques.members", "cliques.prisoners", "cliques.autonomy", "cliques.arms",
           "cliques.share_lost"),
)


@kernel(separate=True)
def losses(rng, cliques, terms, held_share):
    """Arrests, deaths at police hands and victims of rivals leave the street; arrests
    go to prison, or with ``terms`` (``mechanisms.prison_terms``) Binomial(arrests,
    ``held_share``) of them, the rest returning the same day. Records the share of
    members each clique lost."""
    members = cliques.members
    for i in range(len(members)):
        held = cliques.arrests[i]
        if terms and held > 0:
            held = rng.binomial(held, held_share) if held_share < 1.0 else held
        lost = min(held + cliques.killed_by_police[i] + cliques.victims[i], members[i])
        cliques.share_lost[i] = lost / max(members[i], 1)
        members[i] -= lost
        cliques.prisoners[i] += held


@kernel(separate=True)
def gains(rng, cliques, regime, p, capacity, scratch, truce_capacity, release_rate):
    """Logistic recruitment and releases (Binomial(prisoners, ``release_rate``): the
    parameter ``demography.release_rate``, or ``1 / sentence_days`` under
    ``mechanisms.prison_terms``), drawn from
    the state after the day's losses; then autonomy rises with the share lost and
    relaxes toward the baseline. With ``truce_capacity`` (the switch
    ``mechanisms.truce_capacity``) a clique's carrying capacity is
    ``capacity * (1 + p.growth_order * restraint)``: the leaders' order to grow,
    admitting recruits who have not killed, widens the pool.
    Returns (releases, recruits)."""
    members, prisoners = cliques.members, cliques.prisoners
    n = len(members)

    # One pass over the cliques, from the state after the day's losses: the recruitment
    # rate, the rate of release darts (Binomial(prisoners, release_rate) by darts) and
    # their running sums for the draws; autonomy rises with the share lost and relaxes
    # toward the baseline.
    growth = p.recruitment_rate * regime.recruitment_factor / capacity
    recruit_cum, release_cum = scratch.cum, scratch.cum2
    recruit_total, release_total = 0.0, 0.0
    release_all = release_rate >= 1.0
    per_prisoner = 0.0 if release_all else dart_rate(release_rate)
    released = 0
    auto, relax = cliques.autonomy, p.autonomy_relax
    for i in range(n):
        m = members[i]
        if truce_capacity:  # the growth order widens the pool: capacity K (1 + g restraint)
            k = capacity * (1.0 + p.growth_order * cliques.restraint[i])
            r = max(growth * m * (k - m) * (capacity / k), 0.0)
        else:
            r = max(growth * m * (capacity - m), 0.0)
        recruit_total += r
        recruit_cum[i] = recruit_total
        if release_all:
            released += prisoners[i]
            members[i] += prisoners[i]
            prisoners[i] = 0
        else:
            release_total += prisoners[i] * per_prisoner
            release_cum[i] = release_total
        a = auto[i]
        if cliques.share_lost[i] > 0.0:
            a = min(a + p.autonomy_per_loss * cliques.share_lost[i] * (1.0 - a), 1.0)
        auto[i] = (1.0 - relax) * a + relax * cliques.baseline_autonomy[i]

    work = scratch.uniform, scratch.events
    recruits = events_of(rng, recruit_cum, n, recruit_total, *work)
    for i in recruits:
        members[i] += 1
    recruited = len(recruits)
    if not release_all:
        darts = events_of(rng, release_cum, n, release_total, *work)
        j = 0
        while j < len(darts):
            i, k = runs(darts, j)
            back = distinct_hits(rng, k, prisoners[i])
            prisoners[i] -= back
            members[i] += back
            released += back
            j += k
    return released, recruited


@kernel
def arm(cliques, p, reference_members):
    """Each clique's arms stock depreciates and is replenished by extortion income in
    proportion to its members (end of day):
    ``arms <- (1 - arms_depreciation) * arms + arms_depreciation * members / reference_members``.
    Arms are counted in stationary stocks of a clique of ``reference_members``: at
    constant members m the stock tends to ``m / reference_members``."""
    keep = 1.0 - p.arms_depreciation
    income = p.arms_depreciation / reference_members
    for i in range(len(cliques.arms)):
        cliques.arms[i] = keep * cliques.arms[i] + income * cliques.members[i]


@kernel
def held_share(custody_share, custody_factor):
    """The share of arrests held in prison under ``mechanisms.prison_terms``:
    ``min(custody_share * custody_factor, 1)``."""
    return min(custody_share * custody_factor, 1.0)


def stationary_prisoners(arrests_per_day: float, held: float, sentence_days: float) -> float:
    """The mean end-of-day stock of prisoners a regime held for long tends to under
    ``mechanisms.prison_terms``: inflow ``I = held * arrests_per_day`` a day, each
    prisoner (today's arrivals included) released at ``r = 1 / sentence_days`` a day, so
    ``P = (P + I)(1 - r)``, ``P = I (sentence_days - 1)`` (Little's law in days: a
    prisoner is counted at the end of ``sentence_days - 1`` days on average)."""
    return held * arrests_per_day * (sentence_days - 1.0)
