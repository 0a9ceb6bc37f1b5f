"""``trucesim calibrate``: a posterior of the fitted parameters by ABC-SMC (pyabc).

Approximate Bayesian computation by sequential Monte Carlo: particles (parameter
vectors) are drawn from the priors, each is simulated once, and kept when the distance
between its simulated and the observed summary statistics
(:meth:`~trucesim.calibration.problem.CalibrationProblem.distance`) is below the
generation's tolerance; later generations perturb the previous one's particles, with a
tolerance that falls to the median (or another quantile) of the last distances. The
last generation, with its importance weights, is the posterior sample.

pyabc is an optional dependency (the ``calibrate`` extra) imported here only, inside
the functions that need it: running scenarios never imports it.

Seeds. Each simulation's seed is derived from the calibration's ``seed`` and the exact
parameter values of the particle (:func:`particle_seed`), so a particle always gives
the same run, whichever process or machine simulates it. pyabc's own random numbers
(which particles are proposed) come from NumPy's global generator, seeded with the
calibration's ``seed`` in this process: with one worker (``--workers 1``) the whole run
is reproducible. With several workers or Dask, pyabc's workers reseed themselves from
the operating system and accept the first particles to finish, so the particles drawn
differ from run to run (the posterior agrees only up to Monte Carlo error).

Resuming. pyabc's SQLite history (``history.db`` in the output folder) holds every
finished generation and the calibration's digest. ``--resume`` continues it (after
checking that it is a readable history of the same calibration) up to
``max_generations`` in all; a finished run resumed just rewrites the report.

This module fits (the simulator, the sampler, the generations, the posterior) and runs
the command; the folder is :mod:`~trucesim.calibration.smc_folder`, the report
:mod:`~trucesim.calibration.smc_report`, the figures :mod:`~trucesim.calibration.smc_figures`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trucesim import budget
from trucesim.atomic import atomic_path
from trucesim.calibration import smc_figures as figures
from trucesim.calibration.observed import Statistic, simulated_statistics
from trucesim.calibration.problem import (
    CalibrationProblem,
    Prior,
    load_calibration,
    weighted_distance,
)
from trucesim.calibration.smc_folder import HISTORY, POSTERIOR, REPORT, claim, history_digest
from trucesim.calibration.smc_report import PREDICTIVE_DRAWS, predictive_table, report
from trucesim.folders import FolderLock, write_manifest, write_marker
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.posterior import Posterior, posterior_toml
from trucesim.scenario.schema import Scenario
from trucesim.stats import POINTS, effective_size


# ---------------------------------------------------------------------- one simulation
def particle_seed(root: int, u: np.ndarray) -> np.random.SeedSequence:
    """The seed of the simulation of a particle: the root seed and the particle's exact
    sampler coordinates (float64 bits), so the same particle always gives the same run."""
    words = np.frombuffer(np.ascontiguousarray(u, dtype=np.float64).tobytes(), dtype=np.uint32)
    return np.random.SeedSequence([int(root), *(int(w) for w in words)])


def sampler_keys(priors: dict[str, Prior]) -> list[str]:
    """pyabc's parameter names: the dotted path, ``ln_<path>`` for a loguniform prior
    (pyabc then perturbs ln x)."""
    return [f"ln_{n}" if p.log else n for n, p in priors.items()]


class Simulator:
    """pyabc's model: a particle's parameters -> its simulated statistics ``{"s": array}``.

    An invalid parameter vector (e.g. an explosive branching ratio) gives NaN statistics,
    hence an infinite distance: it is never accepted.
    """

    def __init__(self, scenario: Scenario, priors: dict[str, Prior], stats: list[Statistic],
                 root_seed: int):
        self.scenario = scenario
        self.priors = priors
        self.keys = sampler_keys(priors)
        self.stats = stats
        self.root_seed = root_seed

    def values(self, pars: dict[str, float]) -> tuple[np.ndarray, dict[str, float]]:
        """Sampler coordinates and parameter values (by dotted path) of a particle."""
        u = np.array([float(pars[k]) for k in self.keys])
        return u, {n: p.to_value(x) for (n, p), x in zip(self.priors.items(), u, strict=True)}

    def run(self, values: dict[str, float], seed: np.random.SeedSequence) -> np.ndarray:
        """Simulated statistics of ``values`` with ``seed`` (NaN if the values are invalid)."""
        from trucesim.api import simulate

        try:
            scenario = self.scenario.with_overrides(values)
        except ConfigError:
            return np.full(len(self.stats), math.nan)
        return simulated_statistics(simulate(scenario, seed), self.stats)

    def __call__(self, pars: dict[str, float]) -> dict[str, np.ndarray]:
        u, values = self.values(pars)
        return {"s": self.run(values, particle_seed(self.root_seed, u))}


class Distance:
    """pyabc's distance: :meth:`CalibrationProblem.distance` of a particle's statistics
    (:func:`~trucesim.calibration.problem.weighted_distance`; inf if invalid). It carries
    the problem's statistics and weights only, so it travels to workers light."""

    def __init__(self, problem: CalibrationProblem):
        self.stats = problem.stats
        self.target_of = problem.target_of
        self.weights = problem.weights

    def __call__(self, x: dict, x0: dict | None = None) -> float:
        return weighted_distance(np.asarray(x["s"], dtype=float), self.stats, self.target_of,
                                 self.weights)


# ---------------------------------------------------------------------- pyabc pieces
def _quiet_pyabc() -> None:
    for name in ("ABC", "ABC.Sampler", "ABC.History", "ABC.Adaptation", "ABC.Distance",
                 "ABC.Epsilon", "ABC.Population", "ABC.Transition", "ABC.Acceptor",
                 "ABC.Predictor", "ABC.Sumstat", "ABC.Util"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _pyabc():
    try:
        import pyabc
    except ImportError:
        raise ConfigError("trucesim calibrate", "", "needs the optional extra: pip install "
                          "'trucesim[calibrate]' (pyabc)") from None
    _quiet_pyabc()
    return pyabc


def pyabc_prior(priors: dict[str, Prior]):
    """The pyabc Distribution of the priors (on ln x for loguniform ones)."""
    pyabc = _pyabc()
    rvs = {}
    for key, (_, p) in zip(sampler_keys(priors), priors.items(), strict=True):
        lo, hi = float(p.low), float(p.high)
        if p.prior == "uniform":
            rvs[key] = pyabc.RV("uniform", lo, hi - lo)
        elif p.prior == "loguniform":
            rvs[key] = pyabc.RV("uniform", math.log(lo), math.log(hi) - math.log(lo))
        elif p.prior == "lognormal":
            a, b = p.log_bounds()
            rvs[key] = pyabc.RV("truncnorm", a, b, loc=p.mean, scale=p.sd)
        else:
            a, b = (lo - p.mean) / p.sd, (hi - p.mean) / p.sd
            rvs[key] = pyabc.RV("truncnorm", a, b, loc=p.mean, scale=p.sd)
    return pyabc.Distribution(**rvs)


def make_abc(problem: CalibrationProblem, sampler):
    """The pyabc ABCSMC object of a calibration with ``sampler``."""
    pyabc = _pyabc()
    m = problem.spec.method
    if m.adaptive_population:
        population = pyabc.AdaptivePopulationSize(
            m.population_size, mean_cv=m.population_cv,
            max_population_size=m.max_population_size)
    else:
        population = pyabc.ConstantPopulationSize(m.population_size)
    model = Simulator(problem.scenario, problem.priors, problem.stats, problem.spec.seed)
    # The tolerance is a quantile of the previous generation's distances, unweighted: a
    # weighted quantile follows the few heaviest particles when the weights degenerate,
    # and then drops the tolerance to their distance in one generation.
    return pyabc.ABCSMC(model, pyabc_prior(problem.priors), Distance(problem),
                        population_size=population, sampler=sampler,
                        transitions=pyabc.MultivariateNormalTransition(
                            scaling=m.kernel_scaling),
                        eps=pyabc.QuantileEpsilon(alpha=m.alpha, weighted=False))


@contextmanager
def open_sampler(backend: str = "process", workers: int | None = None,
                 scheduler: str | None = None) -> Iterator[Any]:
    """pyabc's sampler: one process, local processes (``--workers``), or Dask.

    Dask is the sweeps' Dask backend (:func:`trucesim.runner.backends.dask_client`): a
    scheduler address, or a local cluster of ``workers`` single-threaded processes; an
    unreachable scheduler is a one-line error.
    """
    pyabc = _pyabc()
    from trucesim.runner.backends import dask_client, default_workers

    if backend == "process":
        if scheduler is not None:
            raise ConfigError("--scheduler", "", "a scheduler address needs --backend dask")
        n = workers or default_workers()
        if n == 1:
            yield pyabc.sampler.SingleCoreSampler()
        else:
            yield pyabc.sampler.MulticoreEvalParallelSampler(n_procs=n)
        return
    if backend != "dask":
        raise ConfigError("--backend", "", f"unknown backend {backend!r}; valid: process, dask")
    with dask_client(workers, scheduler) as (client, _, _):
        yield pyabc.sampler.DaskDistributedSampler(dask_client=client)


# ---------------------------------------------------------------------- the history
def generations(history) -> pd.DataFrame:
    """Per generation: tolerance, simulations, particles, acceptance rate, ESS."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    rows = []
    for p in pops.itertuples():
        _, w = history.get_distribution(m=0, t=int(p.t))
        w = np.asarray(w, dtype=float)
        w = w / w.sum()
        rows.append({"generation": int(p.t), "epsilon": float(p.epsilon),
                     "simulations": int(p.samples), "particles": int(p.particles),
                     "acceptance_rate": float(p.particles) / float(p.samples),
                     "ess": effective_size(w),
                     "seconds": float(p.wall_time) if p.wall_time is not None else math.nan})
    return pd.DataFrame(rows)


def posterior_of(problem: CalibrationProblem, history, calibration_file: str,
                 table: pd.DataFrame) -> Posterior:
    """The last generation as a :class:`Posterior` (parameter values, weights)."""
    df, w = history.get_distribution(m=0, t=history.max_t)
    keys = sampler_keys(problem.priors)
    cols = []
    for key, p in zip(keys, problem.priors.values(), strict=True):
        u = df[key].to_numpy(dtype=float)
        cols.append(np.exp(u) if p.log else u)
    last = table.iloc[-1]
    m = problem.spec.method
    return Posterior(
        names=tuple(problem.names), values=np.column_stack(cols),
        weights=np.asarray(w, dtype=float) / float(np.sum(w)),
        protocol=problem.spec.protocol, data_until=problem.data_until,
        seed=problem.spec.seed, scenario=problem.scenario.name,
        calibration=Path(calibration_file).name,
        overrides_fixed=dict(problem.spec.overrides),
        description=(f"pyabc ABC-SMC, {len(table)} generations of {m.population_size}"
                     f"{' (adaptive)' if m.adaptive_population else ''} particles, final "
                     f"epsilon {last['epsilon']:.4g}, data up to {problem.fit_end}"),
    )


# ---------------------------------------------------------------------- predictive checks
def _predict_one(model: Simulator, values: dict[str, float], seed: int, k: int) -> np.ndarray:
    return model.run(values, np.random.SeedSequence(seed, spawn_key=(7, k)))


def predictive(problem: CalibrationProblem, posterior: Posterior, draws: int,
               pool=None) -> np.ndarray:
    """Fresh simulations of posterior draws 0 .. draws-1 (draws x statistics)."""
    model = Simulator(problem.scenario, problem.priors, problem.stats, problem.spec.seed)
    args = [(model, posterior.overrides(k), problem.spec.seed, k) for k in range(draws)]
    if pool is None:
        return np.array([_predict_one(*a) for a in args])
    return np.array([f.result() for f in [pool.submit(_predict_one, *a) for a in args]])


# ---------------------------------------------------------------------- the command
def run_calibration(path: str | Path, workers: int | None = None, backend: str = "process",
                    out: Path | None = None, scheduler: str | None = None,
                    resume: bool = False, progress: bool | None = None) -> int:
    """``trucesim calibrate``: ABC-SMC, then the posterior file, report and figures in ``out``.

    Raises:
        ConfigError: an invalid calibration file, an ``out`` that is not trucesim's
            calibration folder, a history from another calibration or corrupted, or
            ``--resume`` with nothing to resume. Nothing is written before these checks.
    """
    path = Path(path)
    problem = load_calibration(path)
    spec = problem.spec
    digest = problem.digest()
    out = Path(out) if out is not None else Path("results") / f"calibration-{path.stem}"
    m = spec.method
    sc = problem.scenario
    budget.check(str(path), "method", m.population_size * (m.max_generations + 1), sc.days,
                 sc.world.cliques, sc.world.burn_in_days, keep_daily=False)
    _pyabc()  # the optional extra is missing: refuse before anything is written
    if backend == "dask" and scheduler is not None:
        from trucesim.runner.backends import scheduler_address

        scheduler_address(scheduler)  # "notaurl": refused before anything is written
    with FolderLock(out, f"calibrate {path.name}"):
        resuming = claim(out, resume)
        if resuming:
            found = history_digest(out / HISTORY)
            if found != digest:
                raise ConfigError(str(out / HISTORY), "", f"is the history of another "
                                  f"calibration (digest {found}, this file {digest}: its "
                                  "settings, scenario, data or the model changed); use "
                                  "another --out")
        started = time.perf_counter()
        # The sampler first: an unreachable scheduler is refused before anything is written.
        with open_sampler(backend, workers, scheduler) as sampler:
            out.mkdir(parents=True, exist_ok=True)
            write_marker(out, "calibration", {"calibration_file": str(path), "digest": digest})
            np.random.seed(spec.seed % 2**32)
            import random

            random.seed(spec.seed)
            # Compile (or load) the kernels here, before pyabc forks its workers.
            warm = Simulator(problem.scenario, problem.priors, problem.stats, spec.seed)
            warm.run({n: p.quantile(0.5) for n, p in problem.priors.items()},
                     np.random.SeedSequence(0))
            abc = make_abc(problem, sampler)
            db = f"sqlite:///{(out / HISTORY).resolve()}"
            if resuming:
                abc.load(db, 1)
            else:
                abc.new(db, {"s": np.array([s.observed for s in problem.stats])},
                        meta_info={"trucesim_digest": digest,
                                   "calibration_file": str(path)})
            done = abc.history.max_t + 1
            if resuming:
                print(f"resuming: {done} generation(s) in {out / HISTORY}")
            _run_generations(abc, m, done, path.stem, progress)
            history = abc.history
            if history.max_t < 0:
                raise ConfigError(str(path), "method", "no generation finished")
            bad = ~np.isfinite(history.get_weighted_distances(t=history.max_t)["distance"])
            if bad.any():
                raise ConfigError(str(path), "parameters", f"{int(bad.sum())} accepted "
                                  "particles have an infinite distance (their values make an "
                                  "invalid scenario, e.g. an explosive branching ratio): "
                                  "narrow the priors; no posterior was written")
            table = generations(history)
            posterior = posterior_of(problem, history, str(path), table)
            pred_sims = predictive(problem, posterior, PREDICTIVE_DRAWS)
        elapsed = time.perf_counter() - started
        pred = predictive_table(problem, pred_sims)
        _write_outputs(out, problem, posterior, table, pred, str(path), elapsed, digest)
    qs = posterior.quantiles(POINTS)
    last = table.iloc[-1]
    print(f"\n{len(table)} generations, final epsilon {last['epsilon']:.4g}, acceptance "
          f"{last['acceptance_rate']:.3f}, ESS {last['ess']:.0f} ({elapsed:.0f} s)")
    for name, (lo, med, hi) in qs.items():
        print(f"  {name:32s} {med:>12.4g}   90% [{lo:.4g}, {hi:.4g}]")
    print(f"wrote {out}/{POSTERIOR}, {REPORT}, figures; history in {out}/{HISTORY}")
    return 0


def _run_generations(abc, m, done: int, label: str, progress: bool | None) -> None:
    """Run up to ``max_generations - done`` generations with a progress bar per generation."""
    from tqdm import tqdm

    remaining = m.max_generations - done
    if remaining <= 0:
        return
    t = abc.initialize_components_before_run(
        minimum_epsilon=m.min_epsilon, max_nr_populations=remaining,
        min_acceptance_rate=m.min_acceptance_rate, max_total_nr_simulations=m.max_simulations,
        max_walltime=None, min_eps_diff=0.0)
    try:
        with tqdm(total=m.max_generations, initial=done, desc=f"calibrate {label}",
                  unit="generation", disable=None if progress is None else not progress) as bar:
            while True:
                ret = abc.run_generation(t=t)
                bar.update(1)
                bar.set_postfix(eps=f"{abc.eps(t):.4g}", acc=f"{ret['acceptance_rate']:.3f}")
                if not ret["successful"] or abc.check_terminate(
                        t=t, acceptance_rate=ret["acceptance_rate"]):
                    break
                t += 1
    finally:
        abc.history.done(end_time=dt.datetime.now())
        abc.sampler.stop()


def _write_outputs(out: Path, problem: CalibrationProblem, posterior: Posterior,
                   table: pd.DataFrame, pred: pd.DataFrame, calibration_file: str,
                   elapsed: float, digest: str) -> None:
    """Write the report, figures and tables, then the posterior file and the manifest."""
    with atomic_path(out / REPORT) as tmp:
        tmp.write_text(report(problem, posterior, table, pred, calibration_file, elapsed))
    figures.save(figures.marginals_figure(problem, posterior, calibration_file),
                 out / "marginals.png")
    figures.save(figures.pairs_figure(problem, posterior, calibration_file), out / "pairs.png")
    figures.save(figures.predictive_figure(problem, pred, calibration_file),
                 out / "predictive.png")
    with atomic_path(out / "predictive.csv") as tmp:
        pred.to_csv(tmp, index=False)
    with atomic_path(out / "generations.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_manifest(
        out, "calibration", calibration_file=calibration_file, digest=digest,
        calibration=problem.spec.model_dump(mode="json"),
        protocol=problem.spec.protocol, data_until=problem.data_until,
        fit_end=problem.fit_end, generations=table.to_dict(orient="records"),
        quantiles=posterior.quantiles(POINTS), elapsed_seconds=round(elapsed, 1))
    with atomic_path(out / POSTERIOR) as tmp:
        tmp.write_text(posterior_toml(posterior))
