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

from trucesim.core.state import CliqueState, FrontState, Today
from trucesim.scenario.params import ViolenceParams


class Violence:
    """The violence mechanism."""

    def __init__(self, params: ViolenceParams):
        self.params = params
        self.decay = math.exp(-params.omega)
        self._scratch: np.ndarray | None = None  # per-front work array

    def front_rates(
        self,
        fronts: FrontState,
        size: np.ndarray,
        attacker: np.ndarray | float,
        out: np.ndarray,
    ) -> None:
        """Fill ``out`` with each directed front's killing rate ``lambda_ab``.

        ``attacker`` is each clique's multiplier ``(1 - rho * restraint) * exp(-delta * heat)``
        (a scalar when it is the same for every clique).
        """
        p = self.params
        src = fronts.src
        if self._scratch is None or len(self._scratch) != len(src):
            self._scratch = np.empty(len(src))
        np.take(size, src, out=out, mode="clip")  # clip: no buffered bounds check
        if np.ndim(attacker) == 0:
            out *= p.mu * attacker
            out += np.multiply(fronts.excitation, p.eta * attacker, out=self._scratch)
        else:
            out *= p.mu
            out += np.multiply(fronts.excitation, p.eta, out=self._scratch)
            out *= np.take(attacker, src, out=self._scratch, mode="clip")

    def fronts(
        self,
        cliques: CliqueState,
        fronts: FrontState,
        events: np.ndarray,
        today: Today,
        day: int,
    ) -> None:
        """The day's killings on directed fronts (``events``: the front of each killing),
        then excitation decay and retaliation."""
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
            today.killings_by[:] = np.bincount(fronts.src[events], minlength=n)
        else:
            today.victims.fill(0)
            today.killings_by.fill(0)

    def civilian_rates(
        self, cliques: CliqueState, restraint_factor: np.ndarray | float, out: np.ndarray
    ) -> None:
        """Fill ``out`` with each clique's rate of civilian killings
        (``restraint_factor`` = 1 - rho * restraint, a scalar when no clique is restrained)."""
        p = self.params
        if np.ndim(restraint_factor) == 0:
            np.multiply(cliques.members, p.civilian_rate * restraint_factor, out=out)
        else:
            np.multiply(cliques.members, restraint_factor, out=out)
            out *= p.civilian_rate

    def others(self, civilians: np.ndarray, today: Today, rng: np.random.Generator) -> None:
        """Civilian killings (``civilians``: the clique of each, sorted) and background
        homicides."""
        today.civilians = len(civilians)
        if len(civilians):
            np.add.at(today.killings_by, civilians, 1)
        today.background = int(rng.poisson(self.params.background_rate))

    def conceal(
        self, cliques: CliqueState, today: Today, restrained: bool, rng: np.random.Generator
    ) -> None:
        """A clique under restraint hides a share of its killings as disappearances."""
        if self.params.concealment <= 0.0 or not restrained:
            today.disappearances = 0
            return
        killers = np.flatnonzero(today.killings_by)
        kills = today.killings_by[killers]
        # Each killing is hidden independently (a Binomial per clique), one uniform each.
        hide_p = np.repeat(cliques.restraint[killers] * self.params.concealment, kills)
        today.disappearances = int(np.count_nonzero(rng.random(len(hide_p)) < hide_p))


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
