"""The timeline: which regime is in force on each day, and which events fall on it.

A scenario's phases and events are compiled once into arrays the day reads: the phase
of each day, each phase's regime as a record (fields generated from
:class:`~trucesim.scenario.params.Regime`), and the events as records sorted by day.
Day 0 is the scenario's start; burn-in days are negative and run under the first
phase's regime with no events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from trucesim.numerics.constants import code, record_dtype, records
from trucesim.scenario.params import Regime
from trucesim.scenario.schema import Event, Scenario

#: Event kinds the model acts on (markers only label plots); a kind's code is its position.
EVENT_KINDS = tuple(kind for kind in Event.NEEDS if kind != "marker")
TRANSFER, COMMUNIQUE, SPLIT, TAKEOVER, STREET_TIER, STREET_ARREST, REFUSAL = (
    EVENT_KINDS.index(k) for k in ("transfer", "communique", "split", "takeover", "street_tier",
                                   "street_arrest", "refusal"))
#: Who issues a communique (the event's ``tier``): the imprisoned leadership or the street tier.
RANFLA, STREET = 0, 1

REGIME = record_dtype(Regime)
EVENT = np.dtype([
    ("day", np.int64),  # day index
    ("kind", np.int64),  # code in EVENT_KINDS
    ("gang", np.int64),  # the gang concerned
    ("other", np.int64),  # split: the faction; takeover: the winner; communique: the stance
    ("value", np.float64),  # transfer: isolation; split, takeover, street_arrest: the
                            # share; street_tier: the reach
    ("days", np.int64),  # communique: its span
    ("tier", np.int64),  # communique: RANFLA or STREET
])


class Schedule(NamedTuple):
    """The timeline as the kernels read it."""

    phase_of_day: np.ndarray  # (days,) phase index of each recorded day
    regimes: np.ndarray  # (phases,) REGIME records
    events: np.ndarray  # EVENT records sorted by day


@dataclass(slots=True)
class Timeline:
    """The compiled timeline of a (variant-resolved) scenario.

    Attributes:
        days: number of recorded days.
        schedule: the arrays the kernels read.
        regimes: the resolved regime of each phase.
        phase_names: label of each phase (repeats numbered).
        phase_starts: day index at which each phase starts.
    """

    days: int
    schedule: Schedule
    regimes: list[Regime]
    phase_names: list[str]
    phase_starts: np.ndarray

    @property
    def phase_of_day(self) -> np.ndarray:
        """(days,) phase index of each recorded day."""
        return self.schedule.phase_of_day

    def phase(self, day: int) -> int:
        """Phase index in force on ``day`` (burn-in days belong to the first phase)."""
        return int(self.phase_of_day[min(day, self.days - 1)]) if day >= 0 else 0


def compile_timeline(scenario: Scenario) -> Timeline:
    """Compile a (variant-resolved) scenario's phases and events."""
    days = scenario.days
    starts = np.array([(p.start - scenario.start).days for p in scenario.phases], dtype=np.int64)
    phase_of_day = np.searchsorted(starts, np.arange(days), side="right") - 1
    regimes = [p.resolved_regime() for p in scenario.phases]
    gangs = scenario.gang_names
    alive = list(scenario.gangs)
    rows = []
    for e in sorted(scenario.events, key=lambda e: e.date):  # stable: file order on a day
        if e.kind == "marker":
            continue
        day = (e.date - scenario.start).days
        kind = EVENT_KINDS.index(e.kind)
        if e.kind in ("split", "takeover"):
            other = e.faction if e.kind == "split" else e.to
            rows.append((day, kind, gangs.index(e.gang), gangs.index(other), e.share, 0, 0))
            alive += [e.faction] if e.kind == "split" else []
            continue
        for g in e.gangs if e.gangs is not None else list(alive):  # omitted: every gang today
            if e.kind == "transfer":
                rows.append((day, kind, gangs.index(g), 0, e.isolation, 0, 0))
            elif e.kind == "communique":
                tier = STREET if e.from_street else RANFLA
                rows.append((day, kind, gangs.index(g), code(e.stance), 0.0, e.days, tier))
            else:  # street_tier: the reach; street_arrest: the share; refusal: nothing
                value = {"street_tier": e.reach, "street_arrest": e.share}.get(e.kind, 0.0)
                rows.append((day, kind, gangs.index(g), 0, value, 0, 0))
    return Timeline(
        days=days,
        schedule=Schedule(
            phase_of_day=phase_of_day.astype(np.int64),
            regimes=records(regimes, REGIME),
            events=np.array(rows, dtype=EVENT).view(np.recarray),
        ),
        regimes=regimes,
        phase_names=unique_labels([p.name for p in scenario.phases]),
        phase_starts=starts,
    )


def unique_labels(labels: list[str]) -> list[str]:
    """Make repeated phase labels unique by numbering repeats: ``hardline``, ``hardline (2)``."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out
