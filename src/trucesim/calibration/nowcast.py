"""The nowcast: a bootstrap particle filter over a case's record up to its as-of date.

On a case's as-of date an analyst knew the record up to that day and nothing later
(:mod:`trucesim.cases`; protocol B, docs/cases.md). This module assimilates that
record into the model's state so that the case's branches
(:mod:`trucesim.calibration.branches`) start from an ensemble of states that matches
it; the record's rows become the periods it assimilates in
:mod:`trucesim.calibration.periods`.

**Particles.** Particle ``i`` is a model state (:class:`~trucesim.core.particle.Particle`)
with posterior draw ``i`` (:meth:`ParameterDraws.overrides
<trucesim.uncertainty.ParameterDraws.overrides>`: a value the scenario file sets itself
is held at it, as in any run with a posterior) and its own seed (child ``i`` of
``SeedSequence(seed)``), started with the usual burn-in and advanced day by day through
the case's scenario (its timeline as it happened) from the scenario's first day.

**Likelihood.** A period's observed count ``y`` given a particle's simulated recorded
homicides ``m`` over the same days is negative binomial with mean ``m`` and size ``r =
1 / cv**2`` (variance ``m + m**2 / r``): Poisson noise plus a relative error of ``cv``
(default 10%) for what neither the record nor the model gets exactly (sources differ by
1-5%; the model is a caricature). Plain Poisson on annual counts of 4,000 would be
sharper than any difference between sources and collapse the ensemble to one particle.

**Resampling.** Systematic, when the effective sample size ``1 / sum(w**2)`` falls
below ``ess_threshold * N`` after a period, and always after the last period, so that
the ensemble on the cutoff day is equally weighted. A particle drawn more than once is
copied, and each copy after the first gets a new generator (a further child of the
seed), so that copies of one state have independent futures.

**Parameter drift** (:mod:`trucesim.calibration.drift`). ``off``: every parameter stays
at the particle's draw, through the filter and into the branches. ``reverting``: the few
parameters that stand for processes outside the model's state take an Ornstein-Uhlenbeck
step in log space toward the draw after each period, and keep going in the branches.

**Latent-state noise** (:mod:`trucesim.calibration.state_noise`). ``off``: the state
moves only by the model's mechanisms. ``on``: after each period but the last (after its
resampling, if any) every particle's grievance, authority, arms, autonomy and members
take a step of bounded (Ornstein-Uhlenbeck) process noise per gang for the days since
the previous step, from the particle's own generator, and go on doing so every
:data:`~trucesim.calibration.forward.CHUNK_DAYS` days in the branches
(:func:`~trucesim.calibration.forward.run_on`).

**Parallelism.** The kernels release the GIL, so the particles of each period are
advanced by ``workers`` threads on shared memory (each thread with its own scratch
record); resampling copies states in memory (:func:`~trucesim.core.state.copy_state`).

Nothing after the case's as-of date is ever an input:
:func:`~trucesim.calibration.periods.check_cutoff` refuses a later cutoff, and
:func:`read_posterior` a posterior fitted on later data.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError
from scipy.special import gammaln

from trucesim import budget
from trucesim.calibration.drift import (
    DEFAULT_DRIFT,
    DriftPrior,
    check_mode,
    deviation_summary,
    drifting_names,
    step_draws,
)
from trucesim.calibration.periods import Period, check_cutoff, main_case, nowcast_periods
from trucesim.calibration.state_noise import (
    DEFAULT_STATE_NOISE,
    new_offsets,
    noise_settings,
    perturb,
    perturbed,
)
from trucesim.cases import Case
from trucesim.core.day import Params
from trucesim.core.particle import Particle, new_record, params_of
from trucesim.core.timeline import Timeline, compile_timeline
from trucesim.numerics.constants import constants
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.posterior import Posterior, load_posterior
from trucesim.scenario.schema import Scenario
from trucesim.stats import effective_size, weighted_quantiles
from trucesim.uncertainty import check_fitted_to, parameter_draws


# ---------------------------------------------------------------------------- likelihood
def nb_loglik(y: float, m: np.ndarray, size: float) -> np.ndarray:
    """Negative binomial log-likelihood of count ``y`` with means ``m`` and size ``size``."""
    m = np.maximum(np.asarray(m, dtype=float), 0.5)  # a zero mean would forbid any count
    return (gammaln(y + size) - gammaln(size) - gammaln(y + 1.0)
            + size * np.log(size / (size + m)) + y * np.log(m / (size + m)))


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ancestor indices by systematic resampling (one uniform, N evenly spaced points)."""
    n = len(weights)
    points = (rng.random() + np.arange(n)) / n
    cum = np.cumsum(weights)
    cum[-1] = 1.0
    return np.searchsorted(cum, points, side="right").clip(0, n - 1)


# ---------------------------------------------------------------------------- scenario
def nowcast_scenario(case: Case | None = None) -> Scenario:
    """The case's timeline as it happened extended to its branch scenario's end, with the
    branches as its variants (they replace the timeline from the day after the as-of
    date). Before that day its base timeline is the case's scenario's."""
    case = case or main_case()
    base, branches = case.scenario, case.branch_scenario
    data = base.to_data()
    data["name"] = f"{case.name}-nowcast"
    data["end"] = branches.end
    data["variants"] = {k: v.model_dump(mode="python") for k, v in branches.variants.items()}
    data["counterfactual"] = case.spec.branches.status_quo
    return Scenario.parse(data, base.source)


# ---------------------------------------------------------------------------- parameters
@dataclass
class Draw:
    """A particle's parameter values (dotted path -> value) and the constants built from
    them; ``posterior`` is the posterior particle it started from."""

    values: dict[str, float]
    params: Params
    posterior: int
    scenario: Scenario | None = None  # the scenario with the draw's starting values


class ParameterBuilder:
    """Builds parameter constants from dotted-path values on top of a base scenario,
    validating each block (bounds, stable retaliation) as a scenario file would."""

    def __init__(self, scenario: Scenario, names: tuple[str, ...]):
        self.scenario = scenario
        self.base = params_of(scenario)
        blocks = set(Params._fields) - {"world", "mechanisms"}
        self.drifting = tuple(n for n in names if n.split(".")[0] in blocks
                              and n.count(".") == 1)

    def start(self, values: dict[str, float], posterior: int) -> Draw:
        cfg = self.scenario.with_overrides(values) if values else self.scenario
        return Draw(dict(values), params_of(cfg), posterior, cfg)

    def moved(self, draw: Draw, steps: dict[str, float]) -> Draw:
        """``draw`` with each value of ``steps`` multiplied by ``exp(step)``, block by
        block; a block whose new values are invalid keeps its old ones. A moved block is
        rebuilt from the draw's own block with the draw's current values: the values
        that do not move stay exactly where they are."""
        values = dict(draw.values)
        params = draw.params
        by_block: dict[str, dict[str, float]] = {}
        for name, step in steps.items():
            block, key = name.split(".")
            by_block.setdefault(block, {})[key] = draw.values[name] * math.exp(step)
        for block, changes in by_block.items():
            current = getattr(draw.scenario or self.scenario, block)
            old = {n.split(".")[1]: v for n, v in values.items() if n.split(".")[0] == block}
            try:
                new = type(current)(**{**current.model_dump(), **old, **changes})
            except (ValidationError, ValueError):
                continue
            params = params._replace(**{block: constants(new)})
            values.update({f"{block}.{k}": v for k, v in changes.items()})
        return Draw(values, params, draw.posterior, draw.scenario)


# ---------------------------------------------------------------------------- the filter
@dataclass
class Ensemble:
    """Particles with their parameter draws and normalised weights."""

    particles: list[Particle]
    draws: list[Draw]
    weights: np.ndarray
    #: latent-state noise offsets, (particles, variables, gangs); None without noise
    offsets: np.ndarray | None = None

    def resample(self, ancestors: np.ndarray,
                 fresh: Callable[[], np.random.Generator] | None = None) -> None:
        """Keep the particles of ``ancestors`` (indices, with repeats). A repeat is a copy
        of the state; with ``fresh`` it gets a new generator from it, so that copies of
        one ancestor have independent futures (the bootstrap filter's propagation
        noise); without, it draws the same numbers as its ancestor. The particles no
        ancestor names are released before any copy is made, so the ensemble never holds
        more than N particles."""
        chosen = {int(a) for a in ancestors}
        for i in range(len(self.particles)):
            if i not in chosen:
                self.particles[i] = None  # type: ignore[call-overload]
        used: set[int] = set()
        particles, draws = [], []
        for a in ancestors:
            a = int(a)
            if a in used:
                q = self.particles[a].copy()
                if fresh is not None:
                    q.rng = fresh()
                particles.append(q)
            else:
                particles.append(self.particles[a])
            draws.append(self.draws[a])
            used.add(a)
        self.particles, self.draws = particles, draws
        if self.offsets is not None:
            self.offsets = self.offsets[np.asarray(ancestors, dtype=int)].copy()
        self.weights = np.full(len(particles), 1.0 / len(particles))


@dataclass
class NowcastResult:
    """What the filter leaves: the ensemble on the cutoff day (equally weighted) and the
    record of each period."""

    scenario: Scenario
    timeline: Timeline
    ensemble: Ensemble
    periods: list[Period]
    skipped: list[str]
    table: pd.DataFrame  # one row per period: observed, prior and filtered per day, ESS
    posterior: Posterior | None
    settings: dict
    seconds: dict = field(default_factory=dict)
    #: the filter's threads and scratch records, kept for the branches when the filter
    #: was asked to (``keep_workers``); None otherwise
    workers: Workers | None = field(default=None, repr=False)

    def day_of(self, date: dt.date) -> int:
        return (date - self.scenario.start).days


def longest_burn_in(scenario: Scenario, draws) -> int:
    """The longest burn-in of the particles' draws (a posterior may set
    ``world.burn_in_days``): the scratch record must hold every particle's rows."""
    return max([scenario.world.burn_in_days]
               + [d.scenario.world.burn_in_days for d in draws if d.scenario is not None])


class Workers:
    """Runs a function over the particles in ``workers`` threads (the kernels release
    the GIL), each thread with its own scratch record."""

    def __init__(self, workers: int, rows: int, gangs: int):
        self.workers = max(1, workers)
        self.records = [new_record(rows, gangs) for _ in range(self.workers)]
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None

    def map(self, fn: Callable[[Particle, tuple], object], particles: list) -> list:
        if self.pool is None:
            return [fn(p, self.records[0]) for p in particles]
        chunks = [list(range(k, len(particles), self.workers)) for k in range(self.workers)]

        def run(k: int) -> list:
            return [fn(particles[i], self.records[k]) for i in chunks[k]]

        out: list = [None] * len(particles)
        for k, results in enumerate(self.pool.map(run, range(self.workers))):
            for i, r in zip(chunks[k], results, strict=True):
                out[i] = r
        return out

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def run_filter(
    particles: int,
    *,
    posterior: Posterior | None = None,
    seed: int | None = None,
    cutoff: dt.date | None = None,
    case: Case | None = None,
    cv: float = 0.1,
    ess_threshold: float = 0.5,
    drift: str = DEFAULT_DRIFT,
    drift_prior: DriftPrior | None = None,
    state_noise: str = DEFAULT_STATE_NOISE,
    workers: int = 2,
    observations: list[Period] | None = None,
    scenario: Scenario | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    keep_workers: bool = False,
) -> NowcastResult:
    """Run the bootstrap filter from the scenario's start to ``cutoff``.

    Args:
        particles: ensemble size N.
        posterior: parameter draws (particle ``i`` starts with draw ``i``, except the
            values the scenario file sets itself, which are held and do not drift); None:
            every particle has the scenario's own values (and nothing drifts).
        seed: root of the particles' seeds and of the resampling (default: the case's
            nowcast seed).
        cutoff: the last day assimilated (default and latest: the case's as-of date).
        case: the case (default: the main job's): its record, scenario and as-of date.
        cv: relative error of the likelihood (negative binomial size ``1 / cv**2``).
        ess_threshold: resample when ESS < ``ess_threshold * N``.
        drift: ``off`` or ``reverting`` (:mod:`trucesim.calibration.drift`).
        drift_prior: the reverting drift's stated prior (default :class:`DriftPrior`).
        state_noise: ``off`` or ``on`` (:mod:`trucesim.calibration.state_noise`).
        workers: threads advancing particles.
        observations: periods to assimilate (default: :func:`nowcast_periods`); a test
            gives simulated counts here.
        scenario: the timeline (default: :func:`nowcast_scenario`).
        progress: called ``(done, total, label)`` after each period.
    """
    case = case or main_case()
    cutoff = case.as_of if cutoff is None else cutoff
    seed = case.spec.seeds.nowcast if seed is None else seed
    check_cutoff(cutoff, case)
    check_mode(drift)
    noisy = perturbed(state_noise)  # checks the setting before anything runs
    drift_prior = drift_prior or DriftPrior()
    if particles < 1:
        raise ValueError("particles must be >= 1")
    import time

    t0 = time.perf_counter()
    scenario = scenario or nowcast_scenario(case)
    budget.check_particles("run_filter", "particles", particles,
                           (cutoff - scenario.start).days + 1, scenario.world.cliques,
                           scenario.world.burn_in_days)
    skipped: list[str] = []
    if observations is None:
        observations, skipped = nowcast_periods(first=scenario.start, cutoff=cutoff, case=case)
    observations = [p for p in observations if p.end <= cutoff]
    timeline = compile_timeline(scenario)
    # A value the scenario file sets itself wins over the draw (held), as for any run.
    bound = parameter_draws(scenario, posterior, fitted_to=case.scenario.name)
    names = tuple(n for n in bound.posterior.names if n not in bound.held) if bound else ()
    builder = ParameterBuilder(scenario, names)
    moving = drifting_names(drift, builder.drifting)
    root = np.random.SeedSequence(seed)
    children = root.spawn(particles + 1)
    filter_rng = np.random.default_rng(children[-1])
    draws = []
    cache: dict[int, Draw] = {}
    for i in range(particles):
        if bound is None:
            draws.append(cache.setdefault(-1, builder.start({}, -1)))
            continue
        k = int(bound.posterior.indices(i + 1)[i])
        if k not in cache:
            cache[k] = builder.start(bound.overrides(i), k)
        draws.append(cache[k])
    pool = Workers(workers, longest_burn_in(scenario, cache.values()) + timeline.days,
                   len(scenario.gang_names))

    def start(i: int, record: tuple) -> Particle:
        d = draws[i]
        return Particle.start(d.scenario or scenario, np.random.default_rng(children[i]),
                              timeline, record, params=d.params)

    ens = Ensemble(pool.map(lambda i, rec: start(i, rec), list(range(particles))), draws,
                   np.full(particles, 1.0 / particles),
                   new_offsets(particles, len(scenario.gang_names), noisy) if noisy else None)
    t1 = time.perf_counter()
    size = 1.0 / cv**2
    rows = []
    last_day = -1
    drift_from = 0
    noise_from = 0
    for n, period in enumerate(observations):
        end_day = (period.end - scenario.start).days
        pool.map(lambda p, rec, e=end_day + 1: p.advance(e, rec), ens.particles)
        spans = [((a - scenario.start).days, (b - scenario.start).days) for a, b in period.spans]
        sim = np.array([sum(p.between(a, b) for a, b in spans) for p in ens.particles], float)
        prior_w = ens.weights
        ll = nb_loglik(period.count, sim, size)
        logw = np.log(np.maximum(prior_w, 1e-300)) + ll
        shift = logw.max()
        w = np.exp(logw - shift)
        evidence = float(np.log(np.sum(w)) + shift)
        w /= w.sum()
        ens.weights = w
        ess = effective_size(w)
        per_day = sim / period.days
        prior_q = weighted_quantiles(per_day, prior_w)
        post_q = weighted_quantiles(per_day, w)
        last = n == len(observations) - 1
        resampled = ess < ess_threshold * particles or last
        row = {
            "period": period.label, "kind": period.kind, "start": period.row.start,
            "end": period.end, "days": period.days, "observed_per_day": period.per_day,
            "prior_mean": float(np.sum(prior_w * per_day)), "prior_p05": prior_q[0],
            "prior_p95": prior_q[2],
            "filtered_mean": float(np.sum(w * per_day)), "filtered_p05": post_q[0],
            "filtered_p50": post_q[1], "filtered_p95": post_q[2],
            "ess": ess, "resampled": resampled, "log_evidence": evidence,
            "unique_draws": len({d.posterior for d in ens.draws}),
        }
        row["ancestors"] = particles
        if resampled:
            ancestors = systematic_resample(w, filter_rng)
            row["ancestors"] = len(np.unique(ancestors))
            ens.resample(ancestors, fresh=lambda: np.random.default_rng(root.spawn(1)[0]))
        if moving and not last:
            ens.draws = step_draws(ens.draws, builder, moving, end_day + 1 - drift_from,
                                   drift_prior, filter_rng)
            for p, d in zip(ens.particles, ens.draws, strict=True):
                p.params = d.params
            drift_from = end_day + 1
        if noisy and not last:  # each particle from its own generator, in particle order
            for i, p in enumerate(ens.particles):
                ens.offsets[i] = perturb(p.state, ens.offsets[i], end_day + 1 - noise_from,
                                         noisy, p.rng)
            noise_from = end_day + 1
        rows.append(row)
        last_day = end_day
        if progress:
            progress(n + 1, len(observations), period.label)
    # advance to the cutoff if the last period ends before it
    cut_day = (cutoff - scenario.start).days
    if cut_day > last_day:
        pool.map(lambda p, rec: p.advance(cut_day + 1, rec), ens.particles)
    if not keep_workers:
        pool.close()
    t2 = time.perf_counter()
    result = NowcastResult(
        scenario=scenario, timeline=timeline, ensemble=ens, periods=observations,
        skipped=skipped, table=pd.DataFrame(rows), posterior=posterior,
        settings={"particles": particles, "seed": seed, "cutoff": cutoff.isoformat(),
                  "cv": cv, "ess_threshold": ess_threshold, "drift": drift,
                  "workers": workers, "drifting": list(moving),
                  "drift_sd": drift_prior.sd if moving else None,
                  "drift_reversion_days": drift_prior.reversion_days if moving else None,
                  "drift_at_cutoff": deviation_summary(ens.draws, moving),
                  "state_noise": state_noise, "state_noise_prior": noise_settings(state_noise),
                  "posterior": None if posterior is None else posterior.source},
        seconds={"start": round(t1 - t0, 2), "filter": round(t2 - t1, 2)},
        workers=pool if keep_workers else None,
    )
    return result


def read_posterior(path: str | Path | None, case: Case | None = None,
                   as_of: dt.date | None = None) -> Posterior:
    """The nowcast's posterior (default: the case's fitted on the most data up to
    ``as_of``, the case's as-of date by default), checked: fitted on no data after
    ``as_of``, and every parameter a parameter of the case's scenario.

    Raises:
        ConfigError: ``file: key: reason``.
    """
    case = case or main_case()
    as_of = case.as_of if as_of is None else as_of
    path = Path(path) if path is not None else case.posterior_for(as_of)
    posterior = case.check_posterior(load_posterior(path), as_of)
    check_fitted_to(case.scenario, posterior)
    try:
        case.scenario.with_overrides(posterior.overrides(0), source=str(path))
    except ConfigError as exc:
        raise ConfigError(str(path), f"parameters: {exc.key}", exc.reason) from None
    return posterior
