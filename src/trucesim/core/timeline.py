"""The timeline: which regime is in force on each day, and which events fall on it.

A scenario's phases and events are compiled once into day-indexed lookups, so that the
daily step only reads an integer and, on the rare days something happens, a short list.
Day 0 is the scenario's start; burn-in days are negative and run under the first
phase's regime with no events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trucesim.scenario.params import Regime, Stance
from trucesim.scenario.schema import Event, Scenario

STANCE_CODES = {Stance.NONE: 0, Stance.RESTRAINT: 1, Stance.PRESSURE: 2}
STANCE_NAMES = np.array([s.value for s in STANCE_CODES])


@dataclass(frozen=True, slots=True)
class DayEvent:
    """An event compiled for the engine: which gangs, what it does."""

    kind: str
    gang_mask: np.ndarray
    isolation: float = 0.0
    stance: int = 0
    days: int = 0


@dataclass(slots=True)
class Timeline:
    """Day-indexed schedule of regimes and events.

    Attributes:
        days: number of recorded days.
        phase_of_day: (days,) index into ``phases`` for each recorded day.
        regimes: the resolved regime of each phase.
        phase_names: label of each phase.
        phase_starts: day index at which each phase starts.
        events: day index -> the transfers and communiques on that day (markers only
            label plots).
        change_days: sorted days on which a phase starts or an event falls, with 0 and
            ``days`` (the first recorded day and the end).
    """

    days: int
    phase_of_day: np.ndarray
    regimes: list[Regime]
    phase_names: list[str]
    phase_starts: np.ndarray
    events: dict[int, list[DayEvent]] = field(default_factory=dict)
    change_days: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.change_days = np.unique(np.concatenate(
            (self.phase_starts, np.fromiter(self.events, dtype=np.int64), [0, self.days])))

    def phase(self, day: int) -> int:
        """Phase index in force on ``day`` (burn-in days belong to the first phase)."""
        return int(self.phase_of_day[day]) if day >= 0 else 0

    def next_change(self, day: int) -> int:
        """First day from ``day`` on (``day`` included) on which a phase starts or an
        event falls, or the end (``days``); burn-in days lead to day 0."""
        return int(self.change_days[np.searchsorted(self.change_days, min(day, self.days))])


def compile_timeline(scenario: Scenario) -> Timeline:
    """Compile a (variant-resolved) scenario's phases and events."""
    days = scenario.days
    starts = np.array([(p.start - scenario.start).days for p in scenario.phases], dtype=np.int64)
    phase_of_day = np.searchsorted(starts, np.arange(days), side="right") - 1
    gangs = scenario.gang_names
    events: dict[int, list[DayEvent]] = {}
    for e in scenario.events:
        if e.kind == "marker":  # a label on the plots; nothing happens in the model
            continue
        events.setdefault((e.date - scenario.start).days, []).append(_compile_event(e, gangs))
    return Timeline(
        days=days,
        phase_of_day=phase_of_day,
        regimes=[p.resolved_regime() for p in scenario.phases],
        phase_names=unique_labels([p.name for p in scenario.phases]),
        phase_starts=starts,
        events=events,
    )


def unique_labels(labels: list[str]) -> list[str]:
    """Make repeated phase labels unique by numbering repeats: ``hardline``, ``hardline (2)``."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def _compile_event(e: Event, gangs: list[str]) -> DayEvent:
    mask = np.ones(len(gangs), dtype=bool)
    if e.gangs is not None:
        mask = np.isin(np.array(gangs), e.gangs)
    return DayEvent(
        kind=e.kind,
        gang_mask=mask,
        isolation=e.isolation or 0.0,
        stance=STANCE_CODES[e.stance] if e.stance is not None else 0,
        days=e.days or 0,
    )
