"""``trucesim discover``: under which uncertain conditions does an outcome condition hold?

Samples the uncertain parameters (a Latin hypercube), runs every branch the outcomes
name at every point through the sweep runner (local processes or Dask; paired seeds;
resumable: the sweeps live in ``OUT/sweeps/<branch>``), computes the outcomes per point
(replicate means), marks the points where the condition holds, and runs PRIM (EMA
Workbench, the ``ema`` extra) to find the box of uncertain parameters where it does.

The folder (kind ``discover``) holds ``sweeps/``, ``runs.csv`` (every paired run's
outcomes), ``points.csv`` (per point: values, outcome means, ``case``),
``trajectory.csv`` (PRIM's peeling trade-off), ``box.csv`` (the chosen box's restricted
dimensions), ``discovery.json`` (the question, the box, timings) and the figures
``tradeoff.png``, ``box.png`` and (with two or more restricted dimensions)
``pairs.png``. Bad input stops before anything is written; asking another question
(outcome, condition, window) of the same runs reuses them.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

from trucesim.scenario.errors import ConfigError

KIND = "discover"
#: What ``trucesim discover`` writes at the top of its folder.
FILES = ["sweeps", "runs.csv", "points.csv", "trajectory.csv", "box.csv", "discovery.json",
         "tradeoff.png", "box.png", "pairs.png"]


def arguments() -> list:
    """The arguments of ``trucesim discover``, for the command registry
    (:mod:`trucesim.cli.registry`; the shared options are the registry's)."""
    from trucesim.cli.registry import (
        arg,
        backend,
        force,
        out,
        posterior,
        replicates,
        scheduler,
        seed,
        workers,
    )

    return [
        arg("scenario", help="scenario file or bundled name"),
        arg("--outcome", action="append", required=True,
            help="NAME = BRANCH.COLUMN [+|- BRANCH.COLUMN ...], each a daily column's "
            "total over --window, e.g. 'saved = hardline.homicides - truce.homicides'"
            " (repeatable)"),
        arg("--condition", required=True,
            help="OUTCOME OP NUMBER on a point's replicate mean, e.g. 'saved < 1000'"),
        arg("--uncertain", action="append", default=[], metavar="PATH[=LOW:HIGH]",
            help="an uncertain parameter by dotted path (gangs.*.cohesion: every "
            "gang); range given, else from --posterior (refused if the posterior does "
            "not hold it), else the parameter table's (repeatable)"),
        posterior("ranges from a posterior's particles (default file: the "
                  "scenario's); with no --uncertain, every posterior parameter; a path "
                  "the posterior does not hold then needs its range given"),
        arg("--samples", type=int, default=None,
            help="Latin-hypercube points (default: 300)"),
        replicates(help="paired runs per point and branch (default: 2)"),
        seed(),
        arg("--window", default=None, metavar="START:END",
            help="dates the outcomes total over (default: from the branches' "
            "departure to the scenario's end)"),
        arg("--min-coverage", type=float, default=None,
            help="the chosen box is the densest with at least this coverage "
            "(default: 0.5)"),
        out("results folder (default: results/<scenario name>-discover)"),
        backend(),
        scheduler("Dask scheduler address"),
        workers(),
        force("replace a discover result in --out made from other runs"),
    ]


def discover(spec: str, uncertain: list[str], outcomes: list[str], condition: str, *,
             posterior: bool | str | None = None, samples: int | None = None,
             replicates: int | None = None, seed: int | None = None,
             window: str | None = None, min_coverage: float | None = None,
             out: Path | None = None, backend: str | None = None, workers: int | None = None,
             scheduler: str | None = None, force: bool = False,
             progress: bool | None = None) -> int:
    """Run a scenario discovery; print the chosen box and return the exit status.

    Raises:
        ConfigError: bad scenario, path, range, outcome, condition, window, folder or
            backend (nothing written).
    """
    from trucesim import budget
    from trucesim.discovery import (
        DEFAULT_MIN_COVERAGE,
        DEFAULT_REPLICATES,
        DEFAULT_SAMPLES,
        plan_discovery,
    )
    from trucesim.folders import resumable_folder
    from trucesim.scenario.load import load_scenario
    from trucesim.uncertainty import parameter_draws

    started = time.perf_counter()
    scenario = load_scenario(spec)
    post = None
    if posterior not in (None, False):
        draws = parameter_draws(scenario, posterior)
        post = draws.posterior if draws is not None else None
    min_coverage = DEFAULT_MIN_COVERAGE if min_coverage is None else min_coverage
    if not 0.0 < min_coverage <= 1.0:
        raise ConfigError("--min-coverage", str(min_coverage), "must be above 0 and at most 1")
    plan = plan_discovery(scenario, uncertain, outcomes, condition, posterior=post,
                          samples=DEFAULT_SAMPLES if samples is None else samples,
                          replicates=DEFAULT_REPLICATES if replicates is None else replicates,
                          seed=seed,
                          window=window)
    if importlib.util.find_spec("ema_workbench") is None:
        raise ConfigError("trucesim discover", "", "needs the EMA Workbench for PRIM: "
                          "pip install 'trucesim[ema]'")
    budget.check("--samples", "", plan.runs, scenario.days, scenario.world.cliques,
                 scenario.world.burn_in_days, keep_daily=False)
    _check_backend(backend, scheduler)
    out = Path(out) if out is not None else Path("results") / f"{scenario.name}-discover"
    settings = plan.sweep_settings()
    with resumable_folder(out, KIND, settings, force=force, files=FILES):
        results, failed = _run_sweeps(plan, out, backend, workers, scheduler, progress)
        ran_s = time.perf_counter() - started
        if failed:
            print(f"error: {failed}; finished runs are kept in {out / 'sweeps'}: run the same "
                  "command again to resume", file=sys.stderr)
            return 1
        return _analyse(plan, results, out, min_coverage, ran_s, started)


def _check_backend(backend: str | None, scheduler: str | None) -> None:
    """Refuse a bad backend or scheduler before the folder is claimed (nothing written).

    Raises:
        ConfigError: an unknown backend, a scheduler without ``--backend dask``, a
            malformed scheduler address, or Dask not installed.
    """
    from trucesim.runner.backends import scheduler_address

    if backend not in (None, "process", "dask"):
        raise ConfigError("--backend", str(backend), "must be process or dask")
    if (backend or "process") == "process":
        if scheduler is not None:
            raise ConfigError("--scheduler", "", "a scheduler address needs --backend dask")
        return
    if importlib.util.find_spec("distributed") is None:
        raise ConfigError("--backend", "dask", "needs Dask: pip install 'trucesim[dask]'")
    if scheduler is not None:
        scheduler_address(scheduler)


def _run_sweeps(plan, out: Path, backend, workers, scheduler, progress):
    import warnings

    from trucesim.runner import open_backend, run_experiment

    results, problems = {}, []
    with warnings.catch_warnings():
        warnings.showwarning = lambda message, *_, **__: print(f"warning: {message}",
                                                               file=sys.stderr)
        with open_backend(backend or "process", workers, scheduler) as b:
            for branch, exp in plan.experiments.items():
                res = run_experiment(exp, b.executor, out=out / "sweeps" / branch,
                                     workers=b.slots, progress=progress)
                print(res.report.line(res.folder), file=sys.stderr)
                if res.report.failed or res.report.aborted:
                    problems.append(f"{branch}: {res.report.failed} run(s) failed"
                                    + (f" ({res.report.aborted})" if res.report.aborted
                                       else ""))
                results[branch] = res
    return results, "; ".join(problems)


def _analyse(plan, results, out: Path, min_coverage: float, ran_s: float,
             started: float) -> int:
    import warnings

    import matplotlib.pyplot as plt

    from trucesim.atomic import atomic_path, write_json
    from trucesim.discovery import find_box, outcome_table, point_table

    runs = outcome_table(plan, results)
    points = point_table(plan, runs)
    # this question's files replace the last question's whole: none of its are left beside
    for name in FILES:
        if name not in ("sweeps", "runs.csv", "points.csv"):
            (out / name).unlink(missing_ok=True)
    keys = [u.key for u in plan.uncertainties]
    _write_csv(out / "runs.csv", runs)
    _write_csv(out / "points.csv", points)
    cases = int(points["case"].sum())
    summary: dict[str, Any] = {"question": plan.describe(), "points": len(points),
                               "cases": cases, "min_coverage": min_coverage}
    cond = plan.condition
    print(f"\n{plan.scenario.name}: {cond.text} (replicate means over {plan.replicates} "
          f"paired replicate(s); window {plan.window[0]} to {plan.window[1]}) holds at "
          f"{cases} of {len(points)} points")
    try:
        box = find_box(points[keys], points["case"].to_numpy(), min_coverage=min_coverage)
    except ValueError as exc:
        summary["box"] = None
        summary["no_box"] = str(exc)
        for name in ("trajectory.csv", "box.csv", "tradeoff.png", "box.png", "pairs.png"):
            (out / name).unlink(missing_ok=True)
        print(f"no box: {exc}")
    else:
        _write_csv(out / "trajectory.csv", box.trajectory)
        _write_csv(out / "box.csv", box.limits.rename_axis("parameter").reset_index())
        summary["box"] = box.to_data()
        summary["base_rate"] = cases / len(points)
        figures = [("tradeoff.png", lambda: box.prim_box.show_tradeoff()),
                   ("box.png", lambda: box.prim_box.inspect(box.index, style="graph"))]
        if len(box.restricted) >= 2:  # a pairs plot needs two restricted dimensions
            figures.append(("pairs.png",
                            lambda: box.prim_box.show_pairs_scatter(box.index)))
        else:
            (out / "pairs.png").unlink(missing_ok=True)
        title = (f"{plan.scenario.name}: where {cond.text} ({cases} of {len(points)} "
                 f"points; totals {plan.window[0]} to {plan.window[1]})")
        for name, draw in figures:
            with warnings.catch_warnings():  # EMA 3.0's own deprecated pandas calls
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                fig = draw()
            fig = fig[0] if isinstance(fig, list | tuple) else fig
            fig = getattr(fig, "figure", fig)
            if hasattr(fig, "fig"):  # a seaborn grid
                fig = fig.fig
            _label_figure(fig, name, title, box, cond.text)
            with atomic_path(out / name) as tmp:
                fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight")
            plt.close("all")
        print(_box_text(box, len(points), cases))
    summary["timing"] = {"simulations_s": round(ran_s, 1),
                         "total_s": round(time.perf_counter() - started, 1),
                         "runs": plan.runs}
    write_json(out / "discovery.json", summary)
    print(f"\n{plan.runs} runs, {time.perf_counter() - started:.0f} s in all; wrote {out}/"
          "discovery.json, points.csv, runs.csv and, with a box, trajectory.csv, box.csv, "
          "tradeoff.png, box.png, pairs.png")
    return 0


def _label_figure(fig, name: str, title: str, box, condition: str) -> None:
    """Make EMA's figure stand alone: the question as its title, the chosen box marked on
    the trade-off, the condition named where EMA writes ``y``."""
    what = {"tradeoff.png": "PRIM's peeling trade-off (each point a box)",
            "box.png": f"the chosen box (number {box.index} on the trajectory): its limits",
            "pairs.png": f"the chosen box (number {box.index}): points by restricted pair"}
    fig.suptitle(f"{what[name]}\n{title}", fontsize=9, y=1.02)
    if name == "tradeoff.png" and fig.axes:
        ax = fig.axes[0]
        ax.scatter([box.coverage], [box.density], s=160, facecolors="none",
                   edgecolors="red", linewidths=1.5, zorder=5,
                   label=f"chosen box {box.index}: coverage {box.coverage:.2f}, "
                   f"density {box.density:.2f}")
        ax.legend(loc="lower left", fontsize=8)
    if name == "box.png" and fig.axes:
        fig.axes[0].set_xlabel("range of each restricted parameter, scaled to its sampled "
                               "range (0 to 1)")
    for legend in [getattr(a, "get_legend", lambda: None)() for a in fig.axes] + list(
            getattr(fig, "legends", [])):
        if legend is not None and legend.get_title().get_text() == "y":
            legend.set_title(condition)


def _box_text(box, points: int, cases: int) -> str:
    lines = [f"PRIM box number {box.index} (the trajectory has {len(box.trajectory)}, "
             f"numbered from 0): "
             f"coverage {box.coverage:.2f} ({box.cases} of {cases} cases), density "
             f"{box.density:.2f} ({box.cases} of {box.points} points in the box; base rate "
             f"{cases / points:.2f}), mass {box.mass:.2f}; restricted dimensions: "
             f"{len(box.restricted)}"]
    for name, row in box.limits.iterrows():
        qp = ", ".join(f"{k} {row[c]:.2g}" for k, c in (("qp low", "qp_low"),
                                                         ("qp high", "qp_high"))
                       if row[c] == row[c])
        lines.append(f"  {name}: {row['low']:.4g} to {row['high']:.4g} (sampled "
                     f"{row['sampled_low']:.4g} to {row['sampled_high']:.4g}; {qp})")
    return "\n".join(lines)


def _write_csv(path: Path, df) -> None:
    from trucesim.atomic import atomic_path

    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
