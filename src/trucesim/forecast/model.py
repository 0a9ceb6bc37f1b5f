"""The model as a backtest forecaster for a case: the case's nowcast (its particle filter)
up to the origin, then each particle run on to the targets' end.

At origin ``D`` (:class:`ModelForecaster`):

1. **Posterior.** Of the case's posteriors (:mod:`trucesim.cases`: the hindcast one,
   protocol A, and the nowcast one, protocol B), the one fitted on the most data that
   all end before ``D`` (``data_until < D``); an origin no posterior may serve is
   refused in one line (:meth:`ModelForecaster.posterior_for`).
2. **Filter.** The bootstrap particle filter of :func:`~trucesim.calibration.nowcast.
   run_filter` assimilates the homicide periods made from the rows known at ``D``
   (:func:`~trucesim.calibration.periods.nowcast_periods` of the task's ``known`` rows,
   cutoff ``D - 1``) on the case's nowcast scenario (its timeline as it happened), with
   the case's parameter drift setting (``off`` or ``reverting``) and the forecaster's
   latent-state noise (``on``, the main job's default, or ``off``). Only the task's rows
   are read: the case's own record is never.
3. **Forecast.** Each filtered particle is copied and run on to the last target's end:
   in ``policy-known`` mode on the timeline as it happened (the phases and events after
   ``D`` up to the case's as-of date are given; the case's scenario has none later); in
   ``status-quo`` mode on the timeline frozen at ``D`` (phases starting and events dated
   on or after ``D`` removed, so the phase in force on ``D - 1`` goes on). Under the
   reverting drift the drifting parameters go on drifting past ``D`` as in the case's
   branches (:func:`~trucesim.calibration.branches.branch_parameters`: one path per
   particle, the same in both modes); with state noise on, the noise goes on past ``D``
   as in the branches (:func:`~trucesim.calibration.forward.run_on`). A target's draw
   is the particle's recorded homicides over the row's days divided by its days; for a
   row that began before ``D`` the days before ``D`` are the particle's filtered history.

The filter runs once per origin (both modes start from the same ensemble). Seeds: the
filter's root seed is the forecaster's ``seed`` at every origin; each particle's run
past the origin draws from its own generator, child ``i`` of ``SeedSequence([seed,
origin])`` (the same in both modes, so the modes differ by the policy only; copies of
one ancestor left by the filter's last resampling would otherwise repeat one future);
its state noise draws from child ``i`` of ``SeedSequence([seed, origin, 1])``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trucesim.calibration.branches import branch_parameters
from trucesim.calibration.drift import DEFAULT_DRIFT, check_mode
from trucesim.calibration.forward import run_on
from trucesim.calibration.nowcast import (
    NowcastResult,
    Workers,
    longest_burn_in,
    nowcast_scenario,
    read_posterior,
    run_filter,
)
from trucesim.calibration.periods import nowcast_periods
from trucesim.calibration.state_noise import DEFAULT_STATE_NOISE, perturbed
from trucesim.calibration.state_noise import check_mode as check_state_noise
from trucesim.cases import Case
from trucesim.core.timeline import Timeline, compile_timeline
from trucesim.forecast.backtest import Task
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.posterior import Posterior
from trucesim.scenario.schema import Scenario


def case_posteriors(case: Case) -> list[Posterior]:
    """The case's posteriors (hindcast, then nowcast; those it names), each checked as the
    nowcast checks it (:func:`~trucesim.calibration.nowcast.read_posterior`).

    Raises:
        ConfigError: ``file: key: reason`` for a bad posterior file.
    """
    out = []
    for protocol in ("A", "B"):
        path = case.posterior_path(protocol)
        if path is not None:
            out.append(read_posterior(path, case))
    return out


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
    """The model's forecast at an origin, for a case (module docstring).

    Attributes:
        case: the case (its scenario, as-of date and posteriors).
        particles: ensemble size.
        seed: the filter's root seed (default: the case's nowcast seed).
        workers: threads advancing particles.
        drift: parameter drift, ``off`` or ``reverting``
            (:mod:`trucesim.calibration.drift`).
        state_noise: latent-state noise, ``off`` or ``on`` (the default, as in the main
            job; :mod:`trucesim.calibration.state_noise`): in the filter up to the origin
            and, as in the nowcast's branches, in the forecast past it.
        scenario: the timeline (default: the case's nowcast scenario; a test gives a
            smaller world).
        posteriors: the posteriors to choose from (default: the case's,
            :func:`case_posteriors`).
    """

    case: Case
    particles: int
    seed: int | None = None
    workers: int = 2
    drift: str = DEFAULT_DRIFT
    state_noise: str = DEFAULT_STATE_NOISE
    scenario: Scenario | None = None
    posteriors: Sequence[Posterior] | None = None
    name: str = "trucesim"
    seconds: dict = field(default_factory=dict)
    _cache: tuple | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_mode(self.drift)
        check_state_noise(self.state_noise)
        if self.seed is None:
            self.seed = self.case.spec.seeds.nowcast
        if self.scenario is None:
            self.scenario = nowcast_scenario(self.case)
        if self.posteriors is None:
            self.posteriors = case_posteriors(self.case)
        self.posteriors = sorted(self.posteriors, key=lambda p: p.data_until)

    @property
    def last_day(self) -> dt.date:
        """The last day the model can forecast (its scenario's end)."""
        return self.scenario.end

    def posterior_for(self, origin: dt.date) -> Posterior:
        """The posterior fitted on the most data that all end before ``origin``.

        Raises:
            ConfigError: one line, when no posterior of the case may serve ``origin``.
        """
        usable = [p for p in self.posteriors if p.data_until < origin]
        if usable:
            return usable[-1]
        have = "; ".join(f"{Path(p.source).name}: protocol {p.protocol}, data to "
                         f"{p.data_until}" for p in self.posteriors) or "it names none"
        raise ConfigError(str(self.case.path), "posterior", f"no posterior of case "
                          f"{self.case.name} was fitted on data ending before the origin "
                          f"{origin} ({have}): a posterior fitted on data from the origin "
                          "on may not serve it")

    def check_origin(self, origin: dt.date) -> None:
        """Refuse, in one line, an origin no posterior of the case may serve."""
        self.posterior_for(origin)

    def filtered(self, task: Task) -> NowcastResult:
        """The filter's ensemble on ``origin - 1`` (cached for the other mode)."""
        key = (task.origin, tuple((r.id, r.value) for r in task.known))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        posterior = self.posterior_for(task.origin)
        cutoff = task.origin - dt.timedelta(days=1)
        periods, _ = nowcast_periods(list(task.known), first=self.scenario.start,
                                     cutoff=cutoff, case=self.case)
        t0 = time.perf_counter()
        result = run_filter(self.particles, posterior=posterior, seed=self.seed,
                            cutoff=cutoff, case=self.case, drift=self.drift,
                            state_noise=self.state_noise,
                            workers=self.workers, observations=periods,
                            scenario=self.scenario)
        self.seconds[task.origin] = {"filter": round(time.perf_counter() - t0, 2),
                                     "posterior": posterior.source}
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
        day0 = (task.origin - start).days
        spans = [((r.start - start).days, (r.end - start).days, r.days) for r in task.targets]
        out = np.empty((len(result.ensemble.particles), len(task.targets)))
        pool = Workers(self.workers, longest_burn_in(self.scenario, result.ensemble.draws)
                       + timeline.days, len(self.scenario.gang_names))
        particles = result.ensemble.particles
        # The drifting parameters go on as in the case's branches (one path per particle,
        # the same in both modes); without drift, each particle's draw throughout.
        paths = branch_parameters(result, until - day0)
        seeds = np.random.SeedSequence([self.seed, task.origin.toordinal()]).spawn(
            len(particles))
        # The state noise's generators: children of [seed, origin, 1], one per particle,
        # used by nothing else (the same in both modes); off draws nothing.
        noisy = perturbed(self.state_noise)
        noise_seeds = np.random.SeedSequence([self.seed, task.origin.toordinal(), 1]).spawn(
            len(particles))
        offsets = result.ensemble.offsets

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
            run_on(q, paths[i], day0, until - day0, record, noisy,
                   offsets[i].copy() if noisy else None,
                   np.random.default_rng(noise_seeds[i]) if noisy else None)
            for j, (a, b, days) in enumerate(spans):
                out[i, j] = q.between(a, b) / days

        try:
            pool.map(run, list(range(len(particles))))
        finally:
            pool.close()
        self.seconds.setdefault(task.origin, {})[task.mode] = round(time.perf_counter() - t0, 2)
        return out
