"""The model as a backtest forecaster: the nowcast's particle filter up to the origin, then
each particle run on to the targets' end (provisional wiring to the current nowcast of
:mod:`trucesim.calibration.nowcast`, until cases give a nowcast at any as-of date).

At origin ``D`` (:class:`ModelForecaster`):

1. **Filter.** The bootstrap particle filter of :func:`~trucesim.calibration.nowcast.
   run_filter` assimilates the homicide periods made from the rows known at ``D``
   (:func:`~trucesim.calibration.nowcast.nowcast_periods` of the task's ``known`` rows,
   cutoff ``D - 1``), starting from a posterior whose data end before ``D`` (checked),
   on the nowcast's scenario (El Salvador's timeline as it happened).
2. **Forecast.** Each filtered particle is copied and run on to the last target's end:
   in ``policy-known`` mode on the timeline as it happened (the events after ``D`` are
   given); in ``status-quo`` mode on the timeline frozen at ``D`` (phases starting and
   events dated on or after ``D`` removed, so the phase in force on ``D - 1`` goes on).
   A target's draw is the particle's recorded homicides over the row's days divided by
   its days; for a row that began before ``D`` the days before ``D`` are the particle's
   filtered history.

The filter runs once per origin (both modes start from the same ensemble). Seeds: the
filter's root seed is the forecaster's ``seed`` at every origin; each particle's run
past the origin draws from its own generator, child ``i`` of ``SeedSequence([seed,
origin])`` (the same in both modes, so the modes differ by the policy only; copies of
one ancestor left by the filter's last resampling would otherwise repeat one future).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np

from trucesim.calibration.nowcast import (
    NowcastResult,
    Workers,
    nowcast_periods,
    nowcast_scenario,
    run_filter,
)
from trucesim.core.timeline import Timeline, compile_timeline
from trucesim.forecast.backtest import Task
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.posterior import Posterior
from trucesim.scenario.schema import Scenario


def frozen_scenario(scenario: Scenario, origin: dt.date) -> Scenario:
    """``scenario`` with every phase starting and every event dated on or after
    ``origin`` removed (policy frozen at the origin), and no variants."""
    data = scenario.to_data()
    data["phases"] = [p for p in data["phases"] if p["start"] < origin]
    data["events"] = [e for e in data["events"] if e["date"] < origin]
    data["variants"] = {}
    data["counterfactual"] = None
    data["name"] = f"{scenario.name}-frozen-{origin.isoformat()}"
    return Scenario.parse(data, scenario.source)


@dataclass
class ModelForecaster:
    """The model's forecast at an origin (module docstring).

    Attributes:
        posterior: parameter draws whose data end before every origin it serves.
        particles: ensemble size.
        seed: the filter's root seed.
        workers: threads advancing particles.
        scenario: the timeline as it happened (default: the nowcast's scenario).
    """

    posterior: Posterior
    particles: int
    seed: int = 20140101
    workers: int = 2
    scenario: Scenario | None = None
    name: str = "trucesim"
    seconds: dict = field(default_factory=dict)
    _cache: tuple | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.scenario is None:
            self.scenario = nowcast_scenario()

    @property
    def last_day(self) -> dt.date:
        """The last day the model can forecast (its scenario's end)."""
        return self.scenario.end

    def check_origin(self, origin: dt.date) -> None:
        """Refuse, in one line, an origin the posterior may not serve (its data end on
        or after it)."""
        if self.posterior.data_until >= origin:
            raise ConfigError(self.posterior.source, "data_until",
                              f"{self.posterior.data_until} is not before the origin {origin}: "
                              "a posterior fitted on data after an origin may not serve it")

    def filtered(self, task: Task) -> NowcastResult:
        """The filter's ensemble on ``origin - 1`` (cached for the other mode)."""
        key = (task.origin, tuple(r.id for r in task.known))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        self.check_origin(task.origin)
        cutoff = task.origin - dt.timedelta(days=1)
        periods, _ = nowcast_periods(list(task.known), first=self.scenario.start,
                                     cutoff=cutoff)
        t0 = time.perf_counter()
        result = run_filter(self.particles, posterior=self.posterior, seed=self.seed,
                            cutoff=cutoff, workers=self.workers, observations=periods,
                            scenario=self.scenario)
        self.seconds[task.origin] = {"filter": round(time.perf_counter() - t0, 2)}
        self._cache = (key, result)
        return result

    def timeline(self, origin: dt.date, mode: str) -> Timeline:
        if mode == "policy-known":
            return compile_timeline(self.scenario)
        if mode == "status-quo":
            return compile_timeline(frozen_scenario(self.scenario, origin))
        raise ValueError(f"unknown mode {mode!r}")

    def __call__(self, task: Task) -> np.ndarray:
        result = self.filtered(task)
        t0 = time.perf_counter()
        timeline = self.timeline(task.origin, task.mode)
        start = self.scenario.start
        last = max(r.end for r in task.targets)
        if last > self.last_day:
            raise ValueError(f"a target ends {last}, after the model's last day {self.last_day}")
        until = (last - start).days + 1
        spans = [((r.start - start).days, (r.end - start).days, r.days) for r in task.targets]
        out = np.empty((len(result.ensemble.particles), len(task.targets)))
        pool = Workers(self.workers, self.scenario.world.burn_in_days + timeline.days,
                       len(self.scenario.gang_names))
        particles = result.ensemble.particles

        seeds = np.random.SeedSequence([self.seed, task.origin.toordinal()]).spawn(
            len(particles))

        def run(i: int, record: tuple) -> None:
            q = particles[i].copy()
            # Its own future randomness: after the filter's last resampling, copies of one
            # ancestor share its generator state and would repeat one future. The same
            # seeds in both modes, so the modes differ by the policy only.
            q.rng = np.random.default_rng(seeds[i])
            # The frozen timeline has the same phases before the origin, so the phase in
            # force today is the same one: keep it entered (follow() would re-enter it
            # and reset the leaders' isolation a transfer event set).
            phase = int(q.state.clock.phase[0])
            q.follow(timeline)
            q.state.clock.phase[0] = phase
            q.advance(until, record)
            for j, (a, b, days) in enumerate(spans):
                out[i, j] = q.between(a, b) / days

        try:
            pool.map(run, list(range(len(particles))))
        finally:
            pool.close()
        self.seconds.setdefault(task.origin, {})[task.mode] = round(time.perf_counter() - t0, 2)
        return out
