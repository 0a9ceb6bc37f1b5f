"""``trucesim calibrate``: fit parameters to the observed record by differential evolution.

The method is likelihood-free: a global optimiser
(:func:`scipy.optimize.differential_evolution`) minimises the weighted distance between
simulated and observed summary statistics
(:class:`~trucesim.calibration.problem.CalibrationProblem`).
Every parameter vector is simulated with the same ``replicates`` seeds (common random
numbers), so the distance changes smoothly with the parameters instead of jumping with
sampling noise. Each generation's simulations run in parallel through the sweeps'
executor (local processes or Dask).

Resuming. Every finished evaluation is appended to ``checkpoint.jsonl`` in the output
folder. The optimiser is deterministic given its seed and the distances it sees, so a
rerun replays the same trial vectors and takes their distances from the checkpoint
until it reaches the point where it stopped.

Intervals. The reported interval of a fitted parameter is the range of its values among
the best ``method.accept_fraction`` of all evaluations (an ABC-rejection-style spread
around the optimum, not a calibrated credible interval).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from trucesim import budget
from trucesim.atomic import atomic_path, write_json, write_parquet
from trucesim.calibration.observed import FIT_CUTOFF, Statistic, simulated_statistics
from trucesim.calibration.problem import CalibrationProblem, load_calibration
from trucesim.folders import FolderLock, read_marker, write_marker
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario

CHECKPOINT = "checkpoint.jsonl"


# ---------------------------------------------------------------------- one simulation
def simulate_statistics(
    base: Scenario, values: dict[str, float], root_seed: int, replicate: int,
    stats: list[Statistic],
) -> tuple[list[float] | None, str | None]:
    """Simulate replicate ``replicate`` of ``base`` with ``values`` applied; its statistics.

    Replicate r uses ``SeedSequence(root_seed).spawn(R)[r]`` whatever the values
    (common random numbers). Returns ``(statistics, None)``, or ``(None, reason)`` if the
    values make an invalid scenario (e.g. an explosive branching ratio).
    """
    from trucesim.api import simulate

    try:
        scenario = base.with_overrides(values)
    except ConfigError as exc:
        return None, exc.reason
    daily = simulate(scenario, np.random.SeedSequence(root_seed, spawn_key=(replicate,)))
    return simulated_statistics(daily, stats).tolist(), None


@contextmanager
def executor(backend: str = "process", workers: int | None = None,
             scheduler: str | None = None) -> Iterator[Executor | None]:
    """The sweeps' executor (:func:`trucesim.runner.backends.open_backend`).

    One local worker means no pool at all (``None``: simulate in this process).
    """
    if backend == "process" and workers == 1 and scheduler is None:
        yield None
        return
    from trucesim.runner.backends import open_backend

    with open_backend(backend, workers, scheduler) as b:
        yield b.executor


# ---------------------------------------------------------------------- evaluations
class Evaluator:
    """Distances of parameter vectors, simulated in parallel and cached in a checkpoint.

    Args:
        problem: the calibration problem.
        pool: an Executor for the simulations (None: simulate in this process).
        checkpoint: JSON-lines file of finished evaluations (None: keep them in memory).
        bar: a progress bar counting simulations.
    """

    def __init__(self, problem: CalibrationProblem, pool: Executor | None = None,
                 checkpoint: Path | None = None, bar: tqdm | None = None):
        self.problem = problem
        self.pool = pool
        self.checkpoint = checkpoint
        self.bar = bar
        self.records: dict[str, dict[str, Any]] = {}  # in evaluation order
        self.replayed = 0
        self.calls = 0
        if checkpoint is not None and checkpoint.exists():
            self._load(checkpoint)

    @staticmethod
    def key(u: np.ndarray) -> str:
        """Cache key of a search vector (its exact float64 bytes)."""
        return np.asarray(u, dtype=np.float64).tobytes().hex()

    def _load(self, path: Path) -> None:
        lines = path.read_text().splitlines()
        if not lines:
            return
        head = json.loads(lines[0])
        if head.get("digest") != self.problem.spec.digest():
            raise ConfigError(
                str(path), "",
                "checkpoint of a different calibration (file, data or settings changed); "
                "use another --out folder or delete it",
            )
        for line in lines[1:]:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill: ignore it
                continue
            if rec["distance"] is None:  # JSON has no infinity: a failed evaluation
                rec["distance"] = math.inf
            self.records[rec["key"]] = rec

    def _append(self, rec: dict[str, Any]) -> None:
        self.records[rec["key"]] = rec
        if self.checkpoint is None:
            return
        new = not self.checkpoint.exists()
        distance = rec["distance"]
        with self.checkpoint.open("a") as fh:
            if new:
                fh.write(json.dumps({"digest": self.problem.spec.digest()}) + "\n")
            fh.write(json.dumps(
                {**rec, "distance": distance if math.isfinite(distance) else None}) + "\n")

    def distances(self, population: np.ndarray) -> np.ndarray:
        """Distance of each row of ``population`` (search coordinates)."""
        population = np.atleast_2d(np.asarray(population, dtype=np.float64))
        self.calls += 1
        reps = self.problem.spec.replicates
        pending: dict[str, np.ndarray] = {}
        for u in population:
            k = self.key(u)
            if k in self.records:
                self.replayed += 1
                if self.bar is not None:
                    self.bar.update(reps)
            elif k not in pending:
                pending[k] = u
        if pending:
            self._simulate(pending)
        return np.array([self.records[self.key(u)]["distance"] for u in population])

    def _simulate(self, pending: dict[str, np.ndarray]) -> None:
        spec, problem = self.problem.spec, self.problem
        reps = spec.replicates
        values = {k: spec.values(u) for k, u in pending.items()}
        results: dict[str, list] = {k: [None] * reps for k in pending}
        errors: dict[str, str | None] = dict.fromkeys(pending)
        args = [
            (k, r, (problem.scenario, values[k], spec.seed, r, problem.stats))
            for k in pending for r in range(reps)
        ]
        if self.pool is None:
            done: Iterator = ((k, r, simulate_statistics(*a)) for k, r, a in args)
        else:
            futures = {self.pool.submit(simulate_statistics, *a): (k, r) for k, r, a in args}
            done = ((*futures[f], f.result()) for f in as_completed(futures))
        for k, r, (stats, error) in done:
            results[k][r] = stats
            errors[k] = errors[k] or error
            if self.bar is not None:
                self.bar.update(1)
        for k, u in pending.items():
            if errors[k] is not None:
                sims, distance = None, math.inf
            else:
                sims = np.asarray(results[k], dtype=float)
                distance = problem.distance(sims.mean(axis=0))
            self._append({
                "key": k, "u": u.tolist(), "values": values[k],
                "replicates": None if sims is None else sims.tolist(),
                "distance": distance,
                "error": errors[k],
            })

    def table(self) -> pd.DataFrame:
        """Every evaluation: parameter values, distance and error, in order."""
        return pd.DataFrame([
            {"evaluation": i, **rec["values"], "distance": rec["distance"],
             "error": rec["error"]}
            for i, rec in enumerate(self.records.values())])


# ---------------------------------------------------------------------- the fit
def fit(problem: CalibrationProblem, evaluator: Evaluator,
        on_generation: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Run differential evolution on ``problem``; return the best values and diagnostics.

    Raises:
        ConfigError: if the initial population gives no finite distance.
    """
    from scipy.optimize import differential_evolution

    spec = problem.spec
    m = spec.method
    bounds = [p.search_bounds for p in spec.parameters.values()]
    state = {"generation": 0, "checked": False}

    def mapper(func, iterable):  # scipy calls this with a whole population
        pop = np.array(list(iterable))
        d = evaluator.distances(pop)
        if not state["checked"]:
            state["checked"] = True
            if not np.isfinite(d).any():
                reasons = {evaluator.records[evaluator.key(u)]["error"] for u in pop} - {None}
                why = f" ({sorted(reasons)[0]})" if reasons else ""
                raise ConfigError(
                    spec.source, "parameters",
                    "no parameter vector of the initial population gave a finite distance"
                    f"{why}; check the bounds and targets",
                )
        return d

    def callback(*args, **kwargs):
        state["generation"] += 1
        if on_generation is not None:
            best = min(rec["distance"] for rec in evaluator.records.values())
            on_generation(state["generation"], float(best))
        return False

    result = differential_evolution(
        lambda u: float(evaluator.distances(u)[0]), bounds,
        popsize=m.popsize, maxiter=m.maxiter, tol=m.tol, mutation=m.mutation,
        recombination=m.recombination, seed=m.seed, init=m.init, polish=False,
        updating="deferred", workers=mapper, callback=callback,
    )
    best = spec.values(result.x)
    return {
        "values": best, "distance": float(result.fun), "generations": int(result.nit),
        "evaluations": len(evaluator.records), "converged": bool(result.success),
        "message": str(result.message), "u": np.asarray(result.x).tolist(),
    }


def intervals(problem: CalibrationProblem, table: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Range of each fitted parameter among the best ``accept_fraction`` of evaluations."""
    finite = table[np.isfinite(table["distance"])].sort_values("distance")
    n = max(1, int(math.ceil(problem.spec.method.accept_fraction * len(finite))))
    best = finite.head(max(n, min(len(finite), 2 * len(problem.spec.parameters) + 1)))
    return {name: (float(best[name].min()), float(best[name].max())) for name in problem.spec.names}


def best_statistics(problem: CalibrationProblem, evaluator: Evaluator,
                    u: list[float]) -> np.ndarray:
    """Per-replicate simulated statistics (replicates x statistics) at the optimum."""
    rec = evaluator.records.get(Evaluator.key(np.asarray(u)))
    if rec is None or rec["replicates"] is None:
        return np.full((1, len(problem.stats)), np.nan)
    return np.asarray(rec["replicates"], dtype=float)


# ---------------------------------------------------------------------- outputs
def overrides_toml(problem: CalibrationProblem, result: dict[str, Any],
                   spans: dict[str, tuple[float, float]], calibration_file: str) -> str:
    """The fitted values as a scenario-overrides TOML file (``calibration = ...`` key)."""
    spec = problem.spec
    today = dt.date.today().isoformat()
    future = problem.future_data_used
    lines = [
        f"# Calibrated parameters written by `trucesim calibrate {calibration_file}` on {today}.",
        f"# Fitted to data ending {problem.fit_end}"
        + (f" (INCLUDES DATA AFTER {FIT_CUTOFF}: allow_future_data = true)." if future
           else f" (nothing after {FIT_CUTOFF})."),
        "# A scenario uses it with `calibration = \"<this file>\"`; values the scenario",
        "# file sets itself win.",
        f'description = "Differential evolution on {len(problem.stats)} statistics, '
        f'{spec.replicates} replicates per evaluation, distance {result["distance"]:.4g}"',
        "",
        "[overrides]",
    ]
    for name, value in result["values"].items():
        lines.append(f'"{name}" = {_num(value)}')
    lines += ["", "[fit]", f"data_until = {problem.fit_end.isoformat()}",
              f"allow_future_data = {'true' if future else 'false'}",
              f'distance = {_num(result["distance"])}',
              f'evaluations = {result["evaluations"]}',
              f'generations = {result["generations"]}',
              f"replicates = {spec.replicates}",
              f'interval = "range among the best {spec.method.accept_fraction:.0%} of evaluations"',
              "", "[fit.intervals]"]
    for name, (lo, hi) in spans.items():
        lines.append(f'"{name}" = [{_num(lo)}, {_num(hi)}]')
    return "\n".join(lines) + "\n"


def _num(x: float) -> str:
    return f"{x:.6g}" if ("e" not in f"{x:.6g}") else f"{x:.6e}"


def statistics_table(problem: CalibrationProblem, sims: np.ndarray) -> pd.DataFrame:
    """Observed against simulated mean per day for each target statistic at the optimum."""
    rows = []
    for i, s in enumerate(problem.stats):
        col = sims[:, i]
        rows.append({
            "target": problem.spec.targets[problem.target_of[i]].name, "row": s.row.id,
            "metric": s.metric, "days": s.row.days, "observed_per_day": s.observed,
            "simulated_per_day": float(np.mean(col)), "sim_min": float(np.min(col)),
            "sim_max": float(np.max(col)), "baseline": s.baseline,
            "ratio": float(np.mean(col) / s.observed) if s.observed else math.nan,
        })
    return pd.DataFrame(rows)


def fit_report(problem: CalibrationProblem, result: dict[str, Any],
               spans: dict[str, tuple[float, float]], stats: pd.DataFrame,
               elapsed: float, calibration_file: str) -> str:
    """The fit report (Markdown)."""
    spec = problem.spec
    lines = []
    if problem.future_data_used:
        lines.append(f"**WARNING: this fit uses data after {FIT_CUTOFF} "
                     "(allow_future_data = true); it is not an out-of-sample calibration.**\n")
    lines += [
        f"# Calibration fit: {calibration_file}", "",
        f"Scenario `{problem.scenario.name}` simulated {problem.scenario.start} to "
        f"{problem.fit_end}; {len(problem.stats)} statistics from "
        f"{len(spec.targets)} targets; data up to {problem.fit_end}.",
        f"Method: differential evolution (popsize {spec.method.popsize}, maxiter "
        f"{spec.method.maxiter}, seed {spec.method.seed}), {spec.replicates} replicates per "
        f"evaluation with common random numbers (seed {spec.seed}).",
        f"Generations: {result['generations']}; evaluations: {result['evaluations']}; "
        f"best distance {result['distance']:.4g}; {result['message']}; {elapsed:.0f} s.", "",
        "## Fitted parameters", "",
        f"Interval: range among the best {spec.method.accept_fraction:.0%} of evaluations.", "",
        "| parameter | fitted | interval | bounds | scale |", "|---|---|---|---|---|",
    ]
    for name, p in spec.parameters.items():
        lo, hi = spans[name]
        lines.append(f"| `{name}` | {_num(result['values'][name])} | {_num(lo)} to {_num(hi)} | "
                     f"{_num(p.low)} to {_num(p.high)} | {p.scale} |")
    lines += ["", "## Targets at the optimum (mean per day; replicate range)", "",
              "| target | data row | metric | observed | simulated | range | sim/obs |",
              "|---|---|---|---|---|---|---|"]
    for r in stats.itertuples():
        base = f" (incl. baseline {r.baseline:g})" if r.baseline else ""
        lines.append(f"| {r.target} | `{r.row}` | {r.metric}{base} | {r.observed_per_day:.3f} | "
                     f"{r.simulated_per_day:.3f} | {r.sim_min:.3f} to {r.sim_max:.3f} | "
                     f"{r.ratio:.2f} |")
    return "\n".join(lines) + "\n"


def fit_figure(problem: CalibrationProblem, stats: pd.DataFrame, table: pd.DataFrame):
    """Observed vs simulated statistics, and the distance of every evaluation."""
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained",
                                  gridspec_kw={"width_ratios": [2, 1]})
    y = np.arange(len(stats))
    ratio = stats["ratio"]
    ax.axvline(1.0, color="grey", lw=1)
    ax.errorbar(ratio, y, xerr=[ratio - stats["sim_min"] / stats["observed_per_day"],
                                stats["sim_max"] / stats["observed_per_day"] - ratio],
                fmt="o", color="#0072B2", label="simulated / observed (replicate range)")
    names = [f"{m} {r.split(':', 1)[1]}"
             for m, r in zip(stats["metric"], stats["row"], strict=True)]
    ax.set_yticks(y, names, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("simulated / observed mean per day (log scale)")
    ax.set_title("Targets at the optimum")
    ax.legend(loc="lower right", fontsize=8)
    d = table["distance"].replace(np.inf, np.nan)
    ax2.plot(table["evaluation"], d, ".", ms=3, color="grey", label="evaluation")
    ax2.plot(table["evaluation"], d.cummin(), color="#D55E00", label="best so far")
    ax2.set_yscale("log")
    ax2.set_xlabel("evaluation")
    ax2.set_ylabel("distance")
    ax2.set_title("Differential evolution")
    ax2.legend(fontsize=8)
    fig.suptitle(f"Calibration of {problem.scenario.name} on data up to {problem.fit_end}")
    return fig


def run_calibration(path: str | Path, workers: int | None = None, backend: str = "process",
                    out: Path | None = None, scheduler: str | None = None) -> int:
    """``trucesim calibrate``: fit, then write fitted.toml, fit_report.md and tables to ``out``."""
    path = Path(path)
    problem = load_calibration(path)
    spec = problem.spec
    out = Path(out) if out is not None else Path("results") / f"calibration-{path.stem}"
    if out.exists() and not out.is_dir():
        raise ConfigError(str(out), "", "exists and is not a folder")
    d = len(spec.parameters)
    total = spec.replicates * spec.method.popsize * d * (spec.method.maxiter + 1)
    sc = problem.scenario
    budget.check(str(path), "method", total, sc.days, sc.world.cliques, sc.world.burn_in_days,
                 keep_daily=False)
    with FolderLock(out, f"calibrate {path.name}"):
        marker = read_marker(out) if out.is_dir() else None
        if marker is not None and marker["kind"] != "calibration":
            raise ConfigError(str(out), "", f"holds a 'trucesim {marker['kind']}' result, not "
                              "a calibration; choose another --out")
        if (out.exists() and any(out.iterdir()) and marker is None
                and not (out / CHECKPOINT).exists()):
            raise ConfigError(str(out), "", "exists and is not a calibration folder trucesim "
                              "made; nothing in it is touched: choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        write_marker(out, "calibration", {"calibration_file": str(path)})
        return _calibrate(path, problem, out, total, workers, backend, scheduler)


def _calibrate(path: Path, problem: CalibrationProblem, out: Path, total: int,
               workers: int | None, backend: str, scheduler: str | None) -> int:
    """:func:`run_calibration` once the folder is claimed and locked."""
    spec = problem.spec
    started = time.perf_counter()
    with executor(backend, workers, scheduler) as pool, tqdm(
        total=total, desc=f"calibrate {path.stem}", unit="run", disable=None
    ) as bar:
        evaluator = Evaluator(problem, pool, out / CHECKPOINT, bar)
        if evaluator.records:
            print(f"resuming: {len(evaluator.records)} evaluations from {out / CHECKPOINT}")

        def on_generation(g: int, best: float) -> None:
            bar.set_postfix(generation=g, best=f"{best:.4g}")

        result = fit(problem, evaluator, on_generation)
    elapsed = time.perf_counter() - started
    table = evaluator.table()
    spans = intervals(problem, table)
    sims = best_statistics(problem, evaluator, result["u"])
    stats = statistics_table(problem, sims)
    with atomic_path(out / "fitted.toml") as tmp:
        tmp.write_text(overrides_toml(problem, result, spans, str(path)))
    with atomic_path(out / "fit_report.md") as tmp:
        tmp.write_text(fit_report(problem, result, spans, stats, elapsed, str(path)))
    write_parquet(out / "evaluations.parquet", table.drop(columns=["error"]).assign(
        error=table["error"].astype(str)))
    write_parquet(out / "statistics.parquet", stats)
    fig = fit_figure(problem, stats, table)
    with atomic_path(out / "fit.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    from trucesim import __version__
    from trucesim.numerics.jit import compiler

    write_json(out / "manifest.json", {
        "kind": "calibration", "trucesim_version": __version__, "compiler": compiler(),
        "calibration_file": str(path),
        "calibration": spec.model_dump(mode="json"), "digest": spec.digest(),
        "fit_end": problem.fit_end, "future_data_used": problem.future_data_used,
        "result": result, "intervals": spans, "elapsed_seconds": round(elapsed, 1),
        "replayed_from_checkpoint": evaluator.replayed,
    })
    print(f"\nbest distance {result['distance']:.4g} after {result['generations']} generations, "
          f"{result['evaluations']} evaluations ({elapsed:.0f} s)")
    for name, value in result["values"].items():
        lo, hi = spans[name]
        print(f"  {name:32s} {_num(value):>12s}   [{_num(lo)}, {_num(hi)}]")
    print(f"wrote {out}/fitted.toml, fit_report.md, evaluations.parquet, fit.png")
    return 0
