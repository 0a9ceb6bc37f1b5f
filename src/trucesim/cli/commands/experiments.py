"""The commands of experiments: ``sweep`` (a parameter sweep with replicates),
``attribute`` (each mechanism's Shapley contribution), ``discover`` (scenario discovery),
``analyze`` (sensitivity indices of a sweep) and ``plot`` (figures of a results folder)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trucesim.cli.discover import arguments as discover_arguments
from trucesim.cli.registry import (
    arg,
    backend,
    command,
    dpi_type,
    force,
    out,
    replicates,
    scheduler,
    seed,
    variant,
    workers,
)


@command("sweep", "run an experiment: a parameter sweep with replicates", [
    arg("experiment", help="experiment file or bundled name"),
    workers(),
    backend(),
    scheduler(),
    out("results folder (default: results/<experiment name>)"),
    arg("--resume", action="store_true",
        help="insist on resuming an existing sweep (re-running resumes anyway)"),
    force("start over, replacing the output folder (even one holding a "
          "different experiment)"),
], simulates=True, interrupted="finished runs are kept; rerun the same command to resume")
def _cmd_sweep(args: argparse.Namespace) -> int:
    import warnings

    from trucesim.runner import run_experiment

    with warnings.catch_warnings():  # one line per warning, as it happens
        warnings.showwarning = lambda message, *_, **__: print(f"warning: {message}",
                                                               file=sys.stderr)
        results = run_experiment(args.experiment, out=args.out, backend=args.backend,
                                 workers=args.workers, scheduler=args.scheduler,
                                 resume=args.resume, force=args.force)
    print(results.report.line(results.folder))
    for rid in results.report.failures[:5]:
        print(f"  failed: {rid} (traceback in runs.parquet 'error' and records/{rid}.json)")
    if results.report.aborted:
        print(f"error: {results.report.aborted}; finished runs are kept: run the same "
              "command again to resume", file=sys.stderr)
    return 1 if results.report.failed or results.report.aborted else 0


@command("attribute", "each mechanism's Shapley contribution to an outcome", [
    arg("scenario", help="scenario file or bundled name"),
    arg("--outcome", required=True,
        help="a per-run summary outcome, e.g. truce_rate_ratio or phase.<label>.homicides"),
    arg("--mechanisms", default=None,
        help="comma-separated [mechanisms] switches to attribute, at most 6 "
        "(default: those on in the scenario)"),
    replicates(help="runs per combination (default: 10)"),
    seed(),
    out("results folder (default: results/<scenario name>-attribution)"),
    variant("scenario variant to run (default: the base timeline)"),
    workers(),
    force("replace an attribution result in --out made with different settings"),
], simulates=True, draws=True,
    interrupted="nothing was written (results appear whole or not at all); rerun to start again")
def _cmd_attribute(args: argparse.Namespace) -> int:
    from trucesim.cli.attribute import attribute_scenario

    mechanisms = None
    if args.mechanisms is not None:
        mechanisms = [m.strip() for m in args.mechanisms.split(",")]
    return attribute_scenario(args.scenario, args.outcome, mechanisms,
                              replicates=args.replicates, seed=args.seed, out=args.out,
                              variant=args.variant, workers=args.workers, force=args.force)


@command("discover", "scenario discovery: the uncertain parameters under which a condition "
         "on branch outcomes holds (PRIM, the ema extra)", discover_arguments(),
         simulates=True, draws=True,
         interrupted="finished runs are kept in the folder's sweeps/; rerun the same command "
         "to resume")
def _cmd_discover(args: argparse.Namespace) -> int:
    from trucesim.cli.discover import discover

    return discover(args.scenario, args.uncertain, args.outcome, args.condition,
                    posterior=args.posterior, samples=args.samples, replicates=args.replicates,
                    seed=args.seed, window=args.window, min_coverage=args.min_coverage,
                    out=args.out, backend=args.backend, workers=args.workers,
                    scheduler=args.scheduler, force=args.force)


@command("analyze", "sensitivity indices (SALib) of a sobol/morris sweep", [
    arg("results", type=Path, help="sweep results folder"),
    arg("--method", choices=["sobol", "morris"], required=True),
    arg("--outcome", required=True, help="outcome column of runs.parquet"),
])
def _cmd_analyze(args: argparse.Namespace) -> int:
    from trucesim.runner.sensitivity import analyze, sobol_view, sobol_warnings

    table, paths = analyze(args.results, args.method, args.outcome)
    if args.method == "sobol":
        shown = sobol_view(table)
        print(shown.to_string())
        for warning in sobol_warnings(table):
            print(f"warning: {warning}", file=sys.stderr)
    else:
        print(table.to_string(float_format="{:.4f}".format))
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


@command("plot", "draw figures of a run or sweep results folder", [
    arg("results", type=Path, help="results folder of `trucesim run` or `trucesim sweep`"),
    arg("--kind", default=None,
        help="fan, compare, annual, composition, control, response or sensitivity "
        "(default: every kind that fits the results)"),
    arg("--metric", default=None,
        help="daily metric (default: homicides) or, for sweep kinds, a runs.parquet "
        "outcome (default: truce_rate_ratio or mean_homicides)"),
    out("folder for the figures (default: RESULTS/plots)"),
    arg("--format", choices=["png", "svg", "pdf"], default="png", dest="fmt",
        help="file format (default: png)"),
    arg("--dpi", type=dpi_type, default=110,
        help="resolution of PNGs, 10 to 1200 (default: 110)"),
], draws=True)
def _cmd_plot(args: argparse.Namespace) -> int:
    from trucesim.plots.render import plot_results

    for path in plot_results(args.results, kind=args.kind, metric=args.metric, out=args.out,
                             fmt=args.fmt, dpi=args.dpi):
        print(f"wrote {path}")
    return 0
