"""Model state as arrays (struct of arrays), owned by the model.

Clique state is indexed by clique (= territory), front state by directed front and
leader state by gang. Mechanisms read and update these arrays in bulk; Mesa agents are
thin views onto them (:mod:`trucesim.core.agents`). ``Today`` holds the day's tallies that
several mechanisms share before they are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trucesim.core.world import Territory
from trucesim.scenario.schema import Scenario


@dataclass(slots=True)
class CliqueState:
    """Per-clique arrays (length n)."""

    gang: np.ndarray  # int, gang index
    members: np.ndarray  # int, members on the street
    prisoners: np.ndarray  # int, members in prison
    autonomy: np.ndarray  # float in [0, 1]
    baseline_autonomy: np.ndarray  # float in [0, 1]
    restraint: np.ndarray  # float in [0, 1]
    pressure: np.ndarray  # float in [0, 1]
    police_grievance: np.ndarray  # float >= 0
    heat: np.ndarray  # float >= 0, police heat on the territory today
    own_excitation: np.ndarray  # float >= 0, sum of the clique's excitation on its fronts
    recent_violence: np.ndarray  # float >= 0, exponentially weighted killings by/against


@dataclass(slots=True)
class FrontState:
    """Per-directed-front arrays (length F)."""

    src: np.ndarray
    dst: np.ndarray
    rev: np.ndarray
    excitation: np.ndarray  # float >= 0, e_ab: a's drive to retaliate against b
    last_killing: np.ndarray  # int, day of the last killing on the front


@dataclass(slots=True)
class LeaderState:
    """Per-gang arrays (length G): the imprisoned leadership."""

    cohesion: np.ndarray
    authority: np.ndarray
    isolation: np.ndarray
    stance: np.ndarray  # int code, see timeline.STANCE_CODES
    forced_stance: np.ndarray
    forced_until: np.ndarray  # day index until which the forced stance holds (exclusive)
    control: np.ndarray  # share of cliques following today's order
    clique_count: np.ndarray  # cliques per gang


@dataclass(slots=True)
class Today:
    """Tallies of the current day, filled in by the mechanisms in order."""

    arrests: np.ndarray  # per clique
    killed_by_police: np.ndarray  # per clique
    front_events: np.ndarray  # index of the directed front of each killing today
    victims: np.ndarray  # gang members killed by rivals, per clique
    killings_by: np.ndarray  # killings committed, per clique (rivals and civilians)
    arrests_total: int = 0
    killed_by_police_total: int = 0
    gang_on_gang: int = 0
    civilians: int = 0
    police_killed: int = 0
    background: int = 0
    disappearances: int = 0
    releases: int = 0
    recruits: int = 0
    benefits_paid: float = 0.0


def initial_state(
    scenario: Scenario, territory: Territory, rng: np.random.Generator
) -> tuple[CliqueState, FrontState, LeaderState]:
    """Draw the initial clique, front and leader state for ``scenario`` on ``territory``."""
    gangs = list(scenario.gangs.values())
    n, g = territory.n, len(gangs)
    w = scenario.world
    gang = territory.gang
    baseline = np.array([p.autonomy for p in gangs])[gang]
    members = rng.poisson(w.members, size=n).astype(np.int64)
    cliques = CliqueState(
        gang=gang,
        members=members,
        prisoners=rng.poisson(w.prisoners, size=n).astype(np.int64),
        autonomy=baseline.astype(float).copy(),
        baseline_autonomy=baseline.astype(float),
        restraint=np.zeros(n),
        pressure=np.zeros(n),
        police_grievance=np.zeros(n),
        heat=np.zeros(n),
        own_excitation=np.zeros(n),
        recent_violence=np.zeros(n),
    )
    f = territory.fronts
    fronts = FrontState(
        src=territory.front_src,
        dst=territory.front_dst,
        rev=territory.front_rev,
        excitation=np.zeros(f),
        last_killing=np.full(f, -(10**9), dtype=np.int64),
    )
    leaders = LeaderState(
        cohesion=np.array([p.cohesion for p in gangs], dtype=float),
        authority=np.array([p.authority for p in gangs], dtype=float),
        isolation=np.zeros(g),
        stance=np.zeros(g, dtype=np.int64),
        forced_stance=np.zeros(g, dtype=np.int64),
        forced_until=np.full(g, -(10**9), dtype=np.int64),
        control=np.zeros(g),
        clique_count=np.bincount(gang, minlength=g).astype(float),
    )
    return cliques, fronts, leaders


def new_today(n: int, f: int) -> Today:
    """Zeroed tallies for a world of ``n`` cliques and ``f`` directed fronts."""
    return Today(
        arrests=np.zeros(n, dtype=np.int64),
        killed_by_police=np.zeros(n, dtype=np.int64),
        front_events=np.zeros(0, dtype=np.int64),
        victims=np.zeros(n, dtype=np.int64),
        killings_by=np.zeros(n, dtype=np.int64),
    )
