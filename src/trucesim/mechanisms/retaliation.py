"""Police and gangs retaliate against each other (step 4 of a day, after the police act;
docs/model.md, mechanism 4; switch ``mechanisms.police_gang_retaliation``).

Two mutually exciting streams per clique c, each with its own excitation, both
decaying by ``exp(-omega_p)`` a day (``omega_p = retaliation.decay``):

* attacks on police, Poisson with rate
  ``A_c = base_attack_rate * s_c * (1 + pressure_weight * pressure_c) * D_c
  + alpha_pg * e_attack_c``,
  where ``e_attack_c`` counts the clique's members killed by police (decaying) and
  ``D_c`` is police deterrence ``exp(-deterrence * heat_c)`` under
  ``mechanisms.deterrence_all_streams`` (1 otherwise; revenge is not deterred);
* retaliatory confrontations, Poisson with rate ``alpha_gp * e_police_c`` on top of the
  ordinary ones (:func:`trucesim.mechanisms.policing.act`), where ``e_police_c`` counts
  the clique's attacks on police (decaying). Every confrontation kills a gang member
  with the regime's ``lethality`` (:func:`trucesim.mechanisms.policing.confront`).

Each attack kills a police officer with ``policing.attack_lethality``. Today's rates use
this morning's excitations; then both decay and today's events add to them. Per clique,
because both sides answer the people who hit them: a clique avenges its own dead, and
police (and extermination groups) go after the clique of the neighbourhood where an
officer was attacked. Summed over cliques, the national streams have the same means.

With leaders off (no pressure), demography off (fixed sizes), uniform police heat and
``policing.grievance_weight = 0``, the pair (attacks A, members killed by police L) of a
clique is a linear bivariate discrete-time Hawkes process: a member killed causes
``n_pg = alpha_pg / (1 - exp(-omega_p))`` expected attacks, an attack ``n_gp = alpha_gp /
(1 - exp(-omega_p))`` confrontations and so ``lethality * n_gp`` killings. With
``K = [[0, n_pg], [lethality * n_gp, 0]]`` and immigrant means
``mu = (base_attack_rate * s_c, lethality * ordinary confrontation rate_c)``, its
stationary mean is ``(I - K)^-1 mu`` (:func:`stationary_mean`), finite only while the
spectral radius ``sqrt(lethality * n_pg * n_gp)`` is below 1.
"""

from __future__ import annotations

import math

import numpy as np

from trucesim.mechanisms.declare import Mechanism, Metric
from trucesim.mechanisms.policing import confront
from trucesim.mechanisms.sampling import events_of
from trucesim.numerics.jit import kernel
from trucesim.scenario.params import RetaliationParams

DECLARATION = Mechanism(
    "retaliation", "police and gangs retaliate against each other "
    "(mechanisms.police_gang_retaliation)", steps=(4,), params=RetaliationParams,
    metrics=(
        Metric("attacks_on_police", np.int64,
               "gang attacks on police (0 unless mechanisms.police_gang_retaliation)",
               "gang attacks on police", "per day", flow=True),
    ),
    state=("cliques.attack_excitation", "cliques.force_excitation", "cliques.attacks_on_police"),
)


@kernel(separate=True)
def exchange(rng, cliques, regime, p, attack_lethality, scratch, deter_all):
    """Today's retaliatory confrontations and attacks on police, then the excitations'
    decay and today's increments. With ``deter_all`` the base attacks are multiplied by
    the cliques' ``deterred``. Adds to the cliques' ``killed_by_police`` (ordinary
    confrontations already in it) and sets ``attacks_on_police``; returns (attacks on
    police, gang members killed, police killed)."""
    n = len(cliques.members)

    # One pass over the cliques: the rate of lethal police force against cliques that
    # attacked police, and of attacks on police (a base rate raised by pressure orders,
    # and revenge for members killed by police), each with its running sum for the draws.
    punish_cum, attack_cum = scratch.cum, scratch.cum2
    punish_total, attack_total = 0.0, 0.0
    for i in range(n):
        punish_total += p.police_excitation * cliques.force_excitation[i]
        punish_cum[i] = punish_total
        base = p.base_attack_rate * cliques.size[i] * (1.0 + p.pressure_weight
                                                       * cliques.pressure[i])
        if deter_all:
            base *= cliques.deterred[i]
        attack_total += base + p.gang_excitation * cliques.attack_excitation[i]
        attack_cum[i] = attack_total
        cliques.attacks_on_police[i] = 0
    work = scratch.uniform, scratch.events
    killed, police_killed = confront(rng, cliques, regime,
                                     events_of(rng, punish_cum, n, punish_total, *work))
    attacks = events_of(rng, attack_cum, n, attack_total, *work)
    for i in attacks:
        cliques.attacks_on_police[i] += 1
    if len(attacks):
        police_killed += rng.binomial(len(attacks), attack_lethality)

    # Decay, then today's events (every member police killed today, every attack).
    keep = math.exp(-p.decay)
    for i in range(n):
        cliques.attack_excitation[i] = (keep * cliques.attack_excitation[i]
                                        + cliques.killed_by_police[i])
        cliques.force_excitation[i] = (keep * cliques.force_excitation[i]
                                        + cliques.attacks_on_police[i])
    return len(attacks), killed, police_killed


def branching_matrix(lethality: float, gang_branching: float, police_branching: float
                     ) -> np.ndarray:
    """K on (attacks on police, members killed by police): K[0, 1] attacks per killing,
    K[1, 0] killings per attack."""
    return np.array([[0.0, gang_branching], [lethality * police_branching, 0.0]])


def stationary_mean(
    base_attacks: np.ndarray, base_confrontations: np.ndarray, lethality: float, p
) -> tuple[np.ndarray, np.ndarray]:
    """Stationary mean (attacks on police, members killed by police) per clique-day,
    ``(I - K)^-1 mu`` with ``mu = (base_attacks, lethality * base_confrontations)`` (per
    clique) and ``p`` a :class:`~trucesim.scenario.params.RetaliationParams`. Raises
    ValueError when the spectral radius of K is 1 or more."""
    k = branching_matrix(lethality, p.gang_branching, p.police_branching)
    radius = float(max(abs(np.linalg.eigvals(k))))
    if radius >= 1.0:
        raise ValueError(f"spectral radius {radius:.3f} >= 1: no stationary mean")
    mu = np.vstack([base_attacks, lethality * np.asarray(base_confrontations)])
    mean = np.linalg.solve(np.eye(2) - k, mu)
    return mean[0], mean[1]
