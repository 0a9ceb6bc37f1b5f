"""Killings (steps 5-7 of a day): the Hawkes process on fronts, civilians, background
and concealment.

On each directed front a -> b, killings are Poisson with rate

    lambda_ab = (mu * s_a + eta * e_ab) * (1 - rho * restraint_a) * exp(-delta * heat_a)

where ``s_a`` is a's size factor and ``e_ab`` its excitation against b. Every excitation
then decays by exp(-omega) and each of the day's killings on a -> b adds 1 to e_ba. Each
killing therefore causes, in expectation, ``n = eta / (1 - exp(-omega))`` retaliations:
a discrete-time multivariate Hawkes process on the front network whose stationary mean
is ``(I - K)^-1 mu`` (see :func:`stationary_front_mean`).
"""

from __future__ import annotations

import math

import numpy as np

from .params import Regime, ViolenceParams
from .state import CliqueState, FrontState, Today


class Violence:
    """The violence mechanism."""

    def __init__(self, params: ViolenceParams):
        self.params = params
        self.decay = math.exp(-params.omega)

    def fronts(
        self,
        cliques: CliqueState,
        fronts: FrontState,
        size: np.ndarray,
        regime: Regime,
        today: Today,
        day: int,
        rng: np.random.Generator,
    ) -> None:
        """Killings on directed fronts, then excitation decay and retaliation."""
        p = self.params
        src = fronts.src
        attacker = (1.0 - p.restraint_efficacy * cliques.restraint) * np.exp(
            -regime.deterrence * cliques.heat
        )
        lam = (p.mu * size[src] + p.eta * fronts.excitation) * attacker[src]
        k = rng.poisson(lam)
        today.front_killings[:] = k
        fronts.excitation *= self.decay
        fronts.excitation += k[fronts.rev]
        fronts.last_killing[k > 0] = day
        n = len(cliques.members)
        today.victims[:] = np.minimum(np.bincount(fronts.dst, weights=k, minlength=n), cliques.members)
        today.killings_by[:] = np.bincount(src, weights=k, minlength=n)

    def others(self, cliques: CliqueState, today: Today, rng: np.random.Generator) -> None:
        """Civilian killings by cliques, background homicides, and concealment."""
        p = self.params
        restraint = cliques.restraint
        today.civilians[:] = rng.poisson(
            p.civilian_rate * cliques.members * (1.0 - p.restraint_efficacy * restraint)
        )
        today.killings_by += today.civilians
        today.background = int(rng.poisson(p.background_rate))
        if p.concealment > 0.0:
            today.disappearances = int(
                rng.binomial(today.killings_by, p.concealment * restraint).sum()
            )
        else:
            today.disappearances = 0


def stationary_front_mean(
    mu: np.ndarray, rev: np.ndarray, branching_ratio: float
) -> np.ndarray:
    """Stationary mean killings per day on each directed front, ``(I - K)^-1 mu``.

    With no restraint or police, killings on a -> b raise the rate on b -> a by a total
    of ``n`` expected killings, so K has ``n`` at (rev(f), f). Each front pair solves
    ``m_f = mu_f + n m_rev(f)``.
    """
    if branching_ratio >= 1.0:
        raise ValueError(f"branching ratio {branching_ratio} >= 1: no stationary mean")
    n = branching_ratio
    return (mu + n * mu[rev]) / (1.0 - n * n)
