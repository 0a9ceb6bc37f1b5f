"""A particle: one model state that can be copied, advanced and branched, without Mesa.

:class:`~trucesim.core.model.TruceModel` is the Mesa front-end (agents, data collector,
a record for every day). A particle filter needs thousands of states that are cheap to
copy and to advance a few weeks at a time, so :class:`Particle` holds only what the day
needs: the state containers, its own random generator, its parameter constants, the
timeline it follows, the next day to simulate, and a short history per day (recorded
homicides and true deaths, burn-in rows first). The day itself is the one compiled day
of :mod:`trucesim.core.day`, as for the model: the same scenario and seed give the same
days through a particle as through ``TruceModel``.

The day writes its tallies into a record (one row per day, zeros until their day);
particles advanced one after another share one record (:func:`new_record`), whose rows
for the days being simulated are cleared first and whose earlier ``homicides`` are
refilled from the particle's history (the dialogue regime reads them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trucesim.core.day import Params, simulate_days
from trucesim.core.metrics import DAILY, GANG_DAILY
from trucesim.core.model import _shares, initial_state
from trucesim.core.state import State, copy_state
from trucesim.core.timeline import Schedule, Timeline
from trucesim.core.world import build_territory
from trucesim.numerics.constants import constants
from trucesim.scenario.schema import Scenario

#: Daily metrics a particle keeps for every day it has lived (its lineage's history).
#: 32-bit: a day's count is far below 2**31, and a filter holds thousands of histories.
HISTORY = np.dtype([("homicides", np.int32), ("deaths_true", np.int32)])


def new_record(rows: int, gangs: int) -> tuple[np.recarray, np.recarray]:
    """A scratch record (``daily``, ``gang_daily``) for particles of ``rows`` rows."""
    daily = np.zeros(rows, dtype=DAILY).view(np.recarray)
    gang_daily = np.zeros((rows, gangs), dtype=GANG_DAILY).view(np.recarray)
    return daily, gang_daily


def copy_rng(rng: np.random.Generator) -> np.random.Generator:
    """A generator in exactly ``rng``'s state that draws independently of it."""
    bits = type(rng.bit_generator)()
    bits.state = rng.bit_generator.state
    return np.random.Generator(bits)


def params_of(cfg: Scenario) -> Params:
    """A scenario's parameter constants, as the day reads them."""
    return Params(**{name: constants(getattr(cfg, name)) for name in Params._fields})


@dataclass(slots=True)
class Particle:
    """One model state that a filter weights, copies and advances.

    Attributes:
        state: the state containers.
        rng: its own random generator.
        params: the parameter constants it runs with.
        schedule: the timeline it follows (phases and events as the day reads them).
        day: the next day to simulate (0 = the scenario's start; negative in burn-in).
        burn_in: burn-in days (record row of day ``d`` is ``d + burn_in``).
        history: per record row, the ``HISTORY`` metrics of the days lived so far.
    """

    state: State
    rng: np.random.Generator
    params: Params
    schedule: Schedule
    day: int
    burn_in: int
    history: np.ndarray

    @classmethod
    def start(cls, cfg: Scenario, rng: np.random.Generator, timeline: Timeline,
              record: tuple[np.recarray, np.recarray], params: Params | None = None
              ) -> Particle:
        """A particle of (variant-resolved) scenario ``cfg`` after its burn-in, built
        exactly as :class:`~trucesim.core.model.TruceModel` builds its state (same
        draws from ``rng``). ``timeline`` is ``compile_timeline(cfg)``, shared by
        particles; ``params`` default to ``cfg``'s."""
        rng.integers(np.iinfo(np.int32).max)  # the draw Mesa seeds its stdlib random with
        territory = build_territory(cfg.world.cliques, cfg.world.patch_size, _shares(cfg), rng)
        state = initial_state(cfg, territory, rng)
        burn_in = cfg.world.burn_in_days
        p = cls(state=state, rng=rng, params=params if params is not None else params_of(cfg),
                schedule=timeline.schedule, day=-burn_in, burn_in=burn_in,
                history=np.zeros(burn_in + timeline.days, dtype=HISTORY))
        p.advance(0, record)
        return p

    def copy(self) -> Particle:
        """An independent copy: same state, same generator state, same history."""
        return Particle(state=copy_state(self.state), rng=copy_rng(self.rng),
                        params=self.params, schedule=self.schedule, day=self.day,
                        burn_in=self.burn_in, history=self.history.copy())

    def advance(self, until: int, record: tuple[np.recarray, np.recarray]) -> None:
        """Simulate days ``day`` to ``until - 1`` through the scratch ``record``."""
        if until <= self.day:
            return
        daily, gang_daily = record
        lo, hi = self.day + self.burn_in, until + self.burn_in
        if hi > len(self.history) or hi > len(daily):
            raise ValueError("the particle's timeline or the record ends before that day")
        daily[lo:hi] = np.zeros((), dtype=DAILY)
        gang_daily[lo:hi] = np.zeros((), dtype=GANG_DAILY)
        daily.homicides[:lo] = self.history["homicides"][:lo]  # what the dialogue looks back on
        simulate_days(self.rng, self.day, until, self.state, self.params, self.schedule,
                      daily, gang_daily)
        for name in HISTORY.names:
            self.history[name][lo:hi] = daily[name][lo:hi]
        self.day = until

    def follow(self, timeline: Timeline) -> None:
        """Continue under another timeline (same world, gangs and start; a branch) from
        today: the next event is the first of the new timeline not before today, and
        today's phase is entered afresh (as ``TruceModel.replace_timeline``)."""
        events = timeline.schedule.events
        self.state.clock.next_event[0] = np.searchsorted(events["day"], max(self.day, 0))
        self.state.clock.phase[0] = -1
        if len(self.history) < self.burn_in + timeline.days:
            longer = np.zeros(self.burn_in + timeline.days, dtype=HISTORY)
            longer[: len(self.history)] = self.history
            self.history = longer
        self.schedule = timeline.schedule

    def between(self, first: int, last: int, metric: str = "homicides") -> int:
        """Total of ``metric`` over days ``first`` to ``last`` (both included)."""
        return int(self.history[metric][first + self.burn_in: last + self.burn_in + 1].sum())
