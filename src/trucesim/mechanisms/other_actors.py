"""Other armed actors (docs/model.md, mechanism 7): killings that no gang truce touches.

Drug-trafficking organisations, contract killers and death squads kill independently
of the gangs' leaders: their killings form one national discrete-time Hawkes process,

    lambda_t = mu_o + eta_o * e_t,    N_t ~ Poisson(lambda_t),
    e_{t+1} = exp(-omega_o) * e_t + N_t,

unaffected by restraint, orders, police heat or concealment. Each killing causes, in
expectation, ``n_o = eta_o / (1 - exp(-omega_o))`` further killings (eta_o on each later
day, decaying by exp(-omega_o)), so while ``n_o < 1`` the stationary mean is
``mu_o / (1 - n_o)`` killings per day (:func:`stationary_mean`); ``n_o >= 1`` is refused
when the parameters are read (:class:`~trucesim.scenario.params.OtherActorsParams`).
"""

from __future__ import annotations

import math

import numpy as np

from trucesim.mechanisms.declare import Mechanism, Metric
from trucesim.numerics.jit import kernel
from trucesim.scenario.params import OtherActorsParams

DECLARATION = Mechanism(
    "other_actors", "killings by armed actors no truce touches (mechanisms.other_actors)",
    steps=(6,), params=OtherActorsParams,
    metrics=(
        Metric("other_actors", np.int64,
               "killings by armed actors no truce touches (mechanisms.other_actors)",
               "killings by other armed actors", "per day", flow=True, death=True),
    ),
    state=("nation.other_excitation",),
)


@kernel
def killings(rng, nation, p):
    """Today's killings by other armed actors; then their excitation decays and each
    killing adds 1 to it. Returns the number of killings."""
    e = nation.other_excitation
    k = rng.poisson(p.mu + p.eta * e[0])
    e[0] = e[0] * math.exp(-p.omega) + k
    return k


def stationary_mean(mu: float, branching_ratio: float) -> float:
    """Stationary mean killings per day of the process, ``mu / (1 - n)``."""
    if branching_ratio >= 1.0:
        raise ValueError(f"branching ratio {branching_ratio} >= 1: no stationary mean")
    return mu / (1.0 - branching_ratio)
