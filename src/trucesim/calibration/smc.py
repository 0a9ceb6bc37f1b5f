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
"""

from __future__ import annotations

import ast
import datetime as dt
import logging
import math
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trucesim import budget
from trucesim.atomic import atomic_path, write_json
from trucesim.calibration.observed import Statistic, log_ratio_distance, simulated_statistics
from trucesim.calibration.problem import CalibrationProblem, Prior, load_calibration
from trucesim.folders import MARKER, FolderLock, read_marker, write_marker
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.posterior import Posterior, posterior_toml
from trucesim.scenario.schema import Scenario
from trucesim.stats import effective_size, quantiles

HISTORY = "history.db"
POSTERIOR = "posterior.toml"
REPORT = "report.md"
#: Files a calibration folder holds (beside the marker and the history).
OUTPUTS = (REPORT, "marginals.png", "pairs.png", "predictive.png", "predictive.csv",
           "generations.csv", "manifest.json", POSTERIOR)
#: Fresh simulations from the posterior for the predictive checks.
PREDICTIVE_DRAWS = 100


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
    """pyabc's distance: the calibration's weighted squared log ratios (inf if invalid)."""

    def __init__(self, problem: CalibrationProblem):
        self.stats = problem.stats
        self.target_of = problem.target_of
        self.weights = problem.weights

    def __call__(self, x: dict, x0: dict | None = None) -> float:
        terms = log_ratio_distance(np.asarray(x["s"], dtype=float), self.stats)
        if not np.all(np.isfinite(terms)):
            return math.inf
        per_target = np.bincount(self.target_of, weights=terms, minlength=len(self.weights))
        counts = np.bincount(self.target_of, minlength=len(self.weights))
        return float(np.sum(self.weights * per_target / counts))


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

    Dask follows the sweeps' conventions (:mod:`trucesim.runner.backends`): a scheduler
    address, or a local cluster of ``workers`` single-threaded processes; an unreachable
    scheduler is a one-line error.
    """
    pyabc = _pyabc()
    from trucesim.runner.backends import CONNECT_TIMEOUT_S, default_workers, probe_scheduler

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
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--backend", "dask", "the Dask backend needs the optional extra: "
                          "pip install 'trucesim[dask]'") from None
    cluster = None
    if scheduler is not None:
        probe_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError("--scheduler", scheduler, f"cannot reach the Dask scheduler "
                              f"within {CONNECT_TIMEOUT_S} s ({exc})") from None
    else:
        n = workers or default_workers()
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster, set_as_default=False)
    try:
        yield pyabc.sampler.DaskDistributedSampler(dask_client=client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ---------------------------------------------------------------------- the history
def history_digest(db: Path) -> str:
    """The calibration digest recorded in a history database, read without writing to it.

    Raises:
        ConfigError: the file is not a readable pyabc history of exactly one run with a
            trucesim digest (corrupted, truncated, or some other database).
    """
    why = None
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            ok = con.execute("PRAGMA quick_check").fetchone()
            if ok is None or ok[0] != "ok":
                why = f"integrity check failed ({ok[0] if ok else 'no answer'})"
            else:
                rows = con.execute("SELECT json_parameters FROM abc_smc").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        why = str(exc)
    if why is None and len(rows) != 1:
        why = f"{len(rows)} runs in it, not one"
    if why is None:
        try:
            meta = ast.literal_eval(rows[0][0])
            digest = meta["trucesim_digest"]
        except (ValueError, SyntaxError, TypeError, KeyError):
            why = "no trucesim calibration digest in it"
    if why is not None:
        raise ConfigError(str(db), "", f"is not a readable pyabc history ({why}); nothing was "
                          "changed: use another --out")
    return str(digest)


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


def predictive_table(problem: CalibrationProblem, sims: np.ndarray) -> pd.DataFrame:
    """Per target statistic: observed and the simulated 5%, 50% and 95% (mean per day)."""
    rows = []
    for i, s in enumerate(problem.stats):
        col = sims[:, i][np.isfinite(sims[:, i])]
        q = quantiles(col) if len(col) else [math.nan] * 3
        rows.append({
            "target": problem.spec.targets[problem.target_of[i]].name, "row": s.row.id,
            "metric": s.metric, "days": s.row.days, "observed_per_day": s.observed,
            "sim_q05": float(q[0]), "sim_median": float(q[1]), "sim_q95": float(q[2]),
            "inside_90": bool(q[0] <= s.observed <= q[2]), "baseline": s.baseline,
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- report
def _num(x: float) -> str:
    return f"{x:.4g}"


def report(problem: CalibrationProblem, posterior: Posterior, table: pd.DataFrame,
           pred: pd.DataFrame, calibration_file: str, elapsed: float) -> str:
    """The calibration report (Markdown)."""
    spec, m = problem.spec, problem.spec.method
    qs = posterior.quantiles((0.05, 0.5, 0.95))
    last = table.iloc[-1]
    lines = [
        f"# Calibration posterior: {calibration_file}", "",
        f"Protocol {spec.protocol}: data up to {problem.data_until}; scenario "
        f"`{problem.scenario.name}` simulated {problem.scenario.start} to {problem.fit_end}; "
        f"{len(problem.stats)} statistics from {len(spec.targets)} targets.",
        f"Method: pyabc ABC-SMC, {m.population_size} particles"
        f"{f' (adaptive, at most {m.max_population_size})' if m.adaptive_population else ''}, "
        f"tolerance the {'median' if m.epsilon == 'median' else f'{m.alpha:g} quantile'} of "
        f"the previous generation's distances (unweighted), perturbation kernel "
        f"{m.kernel_scaling:g} x Silverman's bandwidth, one simulation per particle, seed "
        f"{spec.seed}.",
        f"{len(table)} generations, {int(table['simulations'].sum())} simulations "
        f"(plus the prior sample that set the first tolerance); final epsilon "
        f"{_num(last['epsilon'])}, acceptance rate {last['acceptance_rate']:.3f}, effective "
        f"sample size {last['ess']:.0f} of {int(last['particles'])}; this session "
        f"{elapsed:.0f} s.", "",
        "## Tolerance schedule", "",
        "| generation | epsilon | particles | simulations | acceptance rate | ESS |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(f"| {r.generation} | {_num(r.epsilon)} | {r.particles} | {r.simulations} "
                     f"| {r.acceptance_rate:.3f} | {r.ess:.0f} |")
    lines += ["", "## Posterior (weighted; last generation)", "",
              "| parameter | prior | median | 90% interval |", "|---|---|---|---|"]
    for name, p in problem.priors.items():
        lo, med, hi = qs[name]
        prior = (f"{p.prior} [{_num(p.low)}, {_num(p.high)}]"
                 if p.prior not in ("normal", "lognormal") else
                 f"{p.prior}({_num(p.mean)}, {_num(p.sd)}) on [{_num(p.low)}, {_num(p.high)}]")
        lines.append(f"| `{name}` | {prior} | {_num(med)} | {_num(lo)} to {_num(hi)} |")
    inside = int(pred["inside_90"].sum())
    lines += ["", f"## Posterior predictive checks ({PREDICTIVE_DRAWS} fresh runs of "
              "posterior draws)", "",
              f"The observed value lies inside the simulated 90% interval for {inside} of "
              f"{len(pred)} statistics (mean per day over each row's span).", "",
              "| target | data row | observed | simulated median | simulated 90% | inside |",
              "|---|---|---|---|---|---|"]
    for r in pred.itertuples():
        base = f" (incl. baseline {r.baseline:g})" if r.baseline else ""
        lines.append(f"| {r.target} | `{r.row}`{base} | {r.observed_per_day:.3f} | "
                     f"{r.sim_median:.3f} | {r.sim_q05:.3f} to {r.sim_q95:.3f} | "
                     f"{'yes' if r.inside_90 else 'NO'} |")
    lines += ["", "Figures: `marginals.png` (each parameter's posterior against its prior), "
              "`pairs.png` (pairwise posterior), `predictive.png` (the checks above). "
              f"The history (`{HISTORY}`) can be inspected with pyabc "
              "(`pyabc.History('sqlite:///history.db')`)."]
    return "\n".join(lines) + "\n"


def _title(problem: CalibrationProblem, calibration_file: str) -> str:
    return (f"{Path(calibration_file).name}: protocol {problem.spec.protocol}, data up to "
            f"{problem.data_until}")


def _log_axis(axis, set_scale) -> None:
    """A log scale labelled at powers of ten only (no crowded minor labels)."""
    from matplotlib.ticker import NullFormatter

    set_scale("log")
    axis.set_minor_formatter(NullFormatter())


def marginals_figure(problem: CalibrationProblem, posterior: Posterior, calibration_file: str):
    """Each parameter's weighted posterior histogram over its prior range."""
    import matplotlib.pyplot as plt

    d = len(posterior.names)
    cols = min(4, d)
    rows = math.ceil(d / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows),
                             layout="constrained", squeeze=False)
    qs = posterior.quantiles((0.05, 0.5, 0.95))
    for j, (name, p) in enumerate(problem.priors.items()):
        ax = axes[j // cols][j % cols]
        x = posterior.values[:, j]
        lo, hi = prior_range(p)
        if p.log:
            bins = np.geomspace(lo, hi, 25)
            _log_axis(ax.xaxis, ax.set_xscale)
        else:
            bins = np.linspace(lo, hi, 25)
        ax.hist(x, bins=bins, weights=posterior.weights, density=True, color="#0072B2",
                alpha=0.7, label="posterior")
        q05, med, q95 = qs[name]
        ax.axvline(med, color="black", lw=1.2, label="median")
        ax.axvspan(q05, q95, color="#E69F00", alpha=0.2, label="90% interval")
        ax.set_xlim(lo, hi)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(f"value (prior: {p.prior} on [{lo:.3g}, {hi:.3g}])", fontsize=7)
        ax.set_yticks([])
        if j == 0:
            ax.legend(fontsize=6)
    for k in range(d, rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle(f"Posterior marginals (weighted, x axis = prior range); "
                 f"{_title(problem, calibration_file)}", fontsize=10)
    return fig


def prior_range(p) -> tuple[float, float]:
    """The axis range of a prior: its bounds, or for a lognormal one its 0.1% and 99.9%
    points (its lower bound may be 0)."""
    if p.prior == "lognormal":
        return p.quantile(0.001), p.quantile(0.999)
    return float(p.low), float(p.high)


def pairs_figure(problem: CalibrationProblem, posterior: Posterior, calibration_file: str):
    """Pairwise scatter of the particles (size by weight) over the prior ranges."""
    import matplotlib.pyplot as plt

    names = list(problem.priors)
    d = len(names)
    fig, axes = plt.subplots(d, d, figsize=(1.9 * d + 1, 1.9 * d + 1), layout="constrained",
                             squeeze=False)
    size = 4 + 60 * posterior.weights / posterior.weights.max()
    for i, ni in enumerate(names):
        for j, nj in enumerate(names):
            ax = axes[i][j]
            pi, pj = problem.priors[ni], problem.priors[nj]
            if i == j:
                ax.hist(posterior.values[:, j], bins=20, weights=posterior.weights,
                        color="#0072B2", alpha=0.7)
                ax.set_yticks([])
            elif i > j:
                ax.scatter(posterior.values[:, j], posterior.values[:, i], s=size, alpha=0.35,
                           color="#0072B2", lw=0)
                ax.set_ylim(*prior_range(pi))
                if pi.log:
                    _log_axis(ax.yaxis, ax.set_yscale)
            else:
                ax.axis("off")
                continue
            ax.set_xlim(*prior_range(pj))
            if pj.log:
                _log_axis(ax.xaxis, ax.set_xscale)
            ax.tick_params(labelsize=5)
            if i == d - 1:
                ax.set_xlabel(nj, fontsize=6)
            if j == 0 and i > 0:
                ax.set_ylabel(ni, fontsize=6)
    fig.suptitle(f"Pairwise posterior (dot size = weight, axes = prior ranges); "
                 f"{_title(problem, calibration_file)}", fontsize=9)
    return fig


def predictive_figure(problem: CalibrationProblem, pred: pd.DataFrame, calibration_file: str):
    """Simulated 90% interval and median against the observed value, per statistic."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.32 * len(pred) + 1.8), layout="constrained")
    y = np.arange(len(pred))[::-1]
    obs = pred["observed_per_day"].to_numpy()
    ax.hlines(y, pred["sim_q05"] / obs, pred["sim_q95"] / obs, color="#0072B2", lw=3,
              label="simulated 90% interval")
    ax.plot(pred["sim_median"] / obs, y, "o", color="#0072B2", label="simulated median")
    ax.axvline(1.0, color="black", lw=1, label="observed")
    ax.set_yticks(y, [f"{m} {r.split(':', 1)[1]}" for m, r in
                      zip(pred["metric"], pred["row"], strict=True)], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("simulated / observed mean per day over the row's span (log scale)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"Posterior predictive checks ({PREDICTIVE_DRAWS} runs); "
                 f"{_title(problem, calibration_file)}", fontsize=9)
    return fig


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


# ---------------------------------------------------------------------- the command
def _claim(out: Path, resume: bool) -> bool:
    """Whether ``out`` holds a history to resume; refuses (ConfigError) anything else.

    Writes nothing.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(str(out), "", "exists and is not a folder; choose another --out")
    empty = not out.exists() or not any(out.iterdir())
    if empty:
        if resume:
            raise ConfigError(str(out), "", "holds no calibration to resume (drop --resume "
                              "to start one)")
        return False
    marker = read_marker(out)
    if marker is None:
        raise ConfigError(str(out), "", f"exists and is not a calibration folder trucesim made (no "
                          f"{MARKER}); nothing in it is touched: choose another --out")
    if marker["kind"] != "calibration":
        raise ConfigError(str(out), "", f"holds a 'trucesim {marker['kind']}' result, not a "
                          "calibration; choose another --out")
    if not (out / HISTORY).is_file():
        raise ConfigError(str(out), "", f"holds a calibration without a {HISTORY} (made by an "
                          "older trucesim); choose another --out")
    if not resume:
        raise ConfigError(str(out), "", f"holds a calibration history ({HISTORY}); add "
                          "--resume to continue it, or choose another --out")
    return True


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
        resuming = _claim(out, resume)
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
    qs = posterior.quantiles((0.05, 0.5, 0.95))
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
    _save(marginals_figure(problem, posterior, calibration_file), out / "marginals.png")
    _save(pairs_figure(problem, posterior, calibration_file), out / "pairs.png")
    _save(predictive_figure(problem, pred, calibration_file), out / "predictive.png")
    with atomic_path(out / "predictive.csv") as tmp:
        pred.to_csv(tmp, index=False)
    with atomic_path(out / "generations.csv") as tmp:
        table.to_csv(tmp, index=False)
    from trucesim import __version__
    from trucesim.numerics.jit import compiler

    write_json(out / "manifest.json", {
        "kind": "calibration", "trucesim_version": __version__, "compiler": compiler(),
        "calibration_file": calibration_file, "digest": digest,
        "calibration": problem.spec.model_dump(mode="json"),
        "protocol": problem.spec.protocol, "data_until": problem.data_until,
        "fit_end": problem.fit_end, "generations": table.to_dict(orient="records"),
        "quantiles": posterior.quantiles((0.05, 0.5, 0.95)),
        "elapsed_seconds": round(elapsed, 1),
    })
    with atomic_path(out / POSTERIOR) as tmp:
        tmp.write_text(posterior_toml(posterior))
