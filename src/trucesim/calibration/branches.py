"""The branches of a nowcast: every variant of the case's nowcast scenario (the
2016-letter branches of the main job) run from the filtered ensemble
(:func:`~trucesim.calibration.nowcast.run_filter`) on the day after the cutoff to the
scenario's end, paired particle by particle: branch ``b`` of particle ``i`` starts from
particle ``i``'s state, parameters and generator state, and the reverting drift and the
latent-state noise go on the same in each branch of a particle
(:func:`~trucesim.calibration.forward.run_on`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trucesim.calibration.drift import (
    DriftPrior,
    branch_paths,
)
from trucesim.calibration.forward import CHUNK_DAYS, run_on
from trucesim.calibration.nowcast import (
    NowcastResult,
    ParameterBuilder,
    Workers,
    longest_burn_in,
)
from trucesim.calibration.state_noise import (
    perturbed,
)
from trucesim.core.day import Params
from trucesim.core.timeline import compile_timeline
from trucesim.stats import paired_difference, quantiles


@dataclass
class Branches:
    """The branches run from the filtered ensemble, paired particle by particle.

    ``homicides`` and ``deaths_true`` are (branches, particles, days) arrays of daily
    counts from ``start`` to the scenario's end; branch ``b`` of particle ``i`` starts
    from particle ``i``'s state, parameters and generator state (a copy of each)."""

    names: list[str]
    labels: list[str]
    start: dt.date
    dates: pd.DatetimeIndex
    homicides: np.ndarray
    deaths_true: np.ndarray
    seconds: float = 0.0

    def totals(self, metric: str = "deaths_true") -> np.ndarray:
        """(branches, particles) totals over the branches' days."""
        return getattr(self, metric).sum(axis=2)

    def relative(self, reference: str, metric: str = "deaths_true") -> pd.DataFrame:
        """Per branch: mean total and, paired by particle, the difference from
        ``reference`` with its 5%, 50% and 95% points over the ensemble."""
        tot = self.totals(metric)
        ref = tot[self.names.index(reference)]
        rows = []
        for b, name in enumerate(self.names):
            diff = paired_difference(tot[b], ref)
            lo, _, hi = quantiles(tot[b])
            rows.append({
                "branch": name, "label": self.labels[b], "metric": metric,
                "total_mean": float(tot[b].mean()), "total_p05": float(lo),
                "total_p95": float(hi), "vs_" + reference: diff["mean"],
                "p05": diff["p05"], "p50": diff["p50"], "p95": diff["p95"],
                "share_below": diff["share_below"],
            })
        return pd.DataFrame(rows)


def branch_parameters(result: NowcastResult, days: int) -> list[list[Params]]:
    """Each particle's parameter constants in the branches, chunk by chunk of
    :data:`~trucesim.calibration.forward.CHUNK_DAYS` days (one chunk with the draw's
    constants when nothing drifts): the filter's reverting drift goes on from its last
    values, with one path per particle shared by its branches, from its own generator
    (seed sequence key ``(particles, 0)``: a child of the resampling's, used by nothing
    else)."""
    s = result.settings
    draws = result.ensemble.draws
    if not s["drifting"]:
        return [[d.params] for d in draws]
    builder = ParameterBuilder(result.scenario, tuple(s["drifting"]))
    prior = DriftPrior(s["drift_sd"], s["drift_reversion_days"])
    rng = np.random.default_rng(np.random.SeedSequence(s["seed"],
                                                       spawn_key=(s["particles"], 0)))
    return branch_paths(draws, builder, builder.drifting, days, CHUNK_DAYS, prior, rng)


def branch_noise_rng(result: NowcastResult, i: int) -> np.random.Generator:
    """Particle ``i``'s generator of latent-state noise in the branches (seed sequence key
    ``(particles, 1, i)``: used by nothing else), created afresh for each branch so that
    every branch of the particle takes the same shocks."""
    s = result.settings
    return np.random.default_rng(np.random.SeedSequence(s["seed"],
                                                        spawn_key=(s["particles"], 1, i)))


def run_branches(result: NowcastResult, workers: int = 2) -> Branches:
    """Run every variant of the nowcast scenario (the 2016-letter branches) from the
    filtered ensemble on the day after the cutoff to the scenario's end."""
    import time

    t0 = time.perf_counter()
    scenario = result.scenario
    names = list(scenario.variants)
    configs = [scenario.variant(n) for n in names]
    timelines = [compile_timeline(c) for c in configs]
    labels = [c.phases[-1].name for c in configs]
    first = (dt.date.fromisoformat(result.settings["cutoff"]) + dt.timedelta(days=1))
    day0 = result.day_of(first)
    days = min(t.days for t in timelines) - day0
    pool = result.workers or Workers(
        workers, longest_burn_in(scenario, result.ensemble.draws) + max(t.days for t in timelines),
        len(scenario.gang_names))
    n = len(result.ensemble.particles)
    hom = np.zeros((len(names), n, days), dtype=np.int64)
    true = np.zeros_like(hom)

    paths = branch_parameters(result, days)
    noisy = perturbed(result.settings.get("state_noise", "off"))
    offsets = result.ensemble.offsets

    def branch(i: int, record: tuple) -> None:
        p = result.ensemble.particles[i]
        for b, tl in enumerate(timelines):
            q = p.copy()
            q.follow(tl)
            # the drift and the noise go on, the same in each branch of particle i
            # (paired): its own path, and a fresh copy of its noise generator per branch
            run_on(q, paths[i], day0, days, record, noisy,
                   offsets[i].copy() if noisy else None,
                   branch_noise_rng(result, i) if noisy else None)
            lo = day0 + q.burn_in
            hom[b, i] = q.history["homicides"][lo: lo + days]
            true[b, i] = q.history["deaths_true"][lo: lo + days]

    pool.map(branch, list(range(n)))
    pool.close()
    result.workers = None  # closed: a later call makes its own
    dates = pd.date_range(first, periods=days, freq="D")
    return Branches(names, labels, first, dates, hom, true, round(time.perf_counter() - t0, 2))
