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

from .params import ViolenceParams
from .sampling import poisson_events
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
        attacker: np.ndarray | float,
        today: Today,
        day: int,
        rng: np.random.Generator,
    ) -> None:
        """Killings on directed fronts, then excitation decay and retaliation.

        ``attacker`` is each clique's multiplier ``(1 - rho * restraint) * exp(-delta * heat)``
        (a scalar when it is the same for every clique).
        """
        p = self.params
        src = fronts.src
        lam = size[src]
        if np.ndim(attacker) == 0:
            lam *= p.mu * attacker
            lam += (p.eta * attacker) * fronts.excitation
        else:
            lam *= p.mu
            lam += p.eta * fronts.excitation
            lam *= attacker[src]
        events = poisson_events(rng, lam)
        today.front_events = events
        today.gang_on_gang = len(events)
        fronts.excitation *= self.decay
        cliques.own_excitation *= self.decay
        n = len(cliques.members)
        if len(events):
            np.add.at(fronts.excitation, fronts.rev[events], 1.0)
            fronts.last_killing[events] = day
            received = np.bincount(fronts.dst[events], minlength=n)
            cliques.own_excitation += received
            np.minimum(received, cliques.members, out=today.victims)
            today.killings_by[:] = np.bincount(src[events], minlength=n)
        else:
            today.victims.fill(0)
            today.killings_by.fill(0)

    def others(
        self, cliques: CliqueState, restraint_factor: np.ndarray | float, today: Today,
        rng: np.random.Generator,
    ) -> None:
        """Civilian killings by cliques (``restraint_factor`` = 1 - rho * restraint, a scalar
        when no clique is restrained) and background homicides."""
        p = self.params
        if np.ndim(restraint_factor) == 0:
            rate = cliques.members * (p.civilian_rate * restraint_factor)
        else:
            rate = cliques.members * restraint_factor
            rate *= p.civilian_rate
        civ = poisson_events(rng, rate)
        today.civilians = len(civ)
        if len(civ):
            today.killings_by += np.bincount(civ, minlength=len(cliques.members))
        today.background = int(rng.poisson(p.background_rate))

    def conceal(
        self, cliques: CliqueState, today: Today, restrained: bool, rng: np.random.Generator
    ) -> None:
        """A clique under restraint hides a share of its killings as disappearances."""
        if self.params.concealment <= 0.0 or not restrained:
            today.disappearances = 0
            return
        killers = np.flatnonzero(today.killings_by)
        today.disappearances = int(
            rng.binomial(
                today.killings_by[killers],
                self.params.concealment * cliques.restraint[killers],
            ).sum()
        )


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
