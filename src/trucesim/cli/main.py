"""The ``trucesim`` command line.

Subcommands: ``run`` (simulate a scenario), ``scenarios`` (list bundled ones),
``check`` (validate a file), ``params`` (the parameter table), ``regimes`` (the presets),
``attribute`` (each mechanism's Shapley contribution to an outcome), and more: each is
registered below with its arguments (:mod:`trucesim.cli.registry`, which holds the
options they share).
Bad input stops before any simulation with ``file: key.path: reason`` and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from trucesim.cli.discover import arguments as discover_arguments
from trucesim.cli.registry import (
    COMMANDS,
    Count,
    UsageError,
    arg,
    build_parser,
    command,
    date_type,
    dpi_type,
    force,
    out,
    particles_type,
    replicates,
    seed,
    workers,
)
from trucesim.scenario.errors import ConfigError

EXIT_USAGE = 2


@command("run", "simulate a scenario, or a case's branches from its nowcast; write tables, "
         "summary and a plot", [
    arg("scenario", nargs="?", default=None,
        help="scenario file or bundled name, or a case (case.toml, its folder or a bundled "
        "case's name: its branches from the nowcast on its as-of date); default: the main "
        "job, the main case's branches (trucesim cases lists them)"),
    replicates(help="runs per variant (default: 20)"),
    seed(),
    out("results folder (default: results/<scenario name>)"),
    arg("--variant", default=None,
        help="run only this variant, or 'base' for the timeline as written "
        "(default: the base timeline and every variant)"),
    force("replace a run result in --out made with different settings"),
    arg("--particles", type=particles_type, default=None,
        help="a case only (or no argument): particles of the nowcast the "
        "branches start from (default: 200)"),
    arg("--drift", default=None, metavar="SETTING",
        help="main job only: parameter drift in the nowcast, off or reverting "
        "(default: reverting; see docs/nowcast.md)"),
    arg("--state-noise", default=None, metavar="SETTING", dest="state_noise",
        help="main job only: latent-state process noise in the nowcast, off or "
        "on (default: on; see docs/nowcast.md)"),
    arg("--posterior", nargs="?", const=True, default=None, metavar="FILE",
        help="draw each replicate's parameters from a posterior file (default "
        "FILE: the scenario's own 'posterior'); replicate r of every branch "
        "runs draw r. Without it, every replicate runs the scenario's values "
        "and the intervals are noise only"),
], simulates=True, draws=True,
    interrupted="nothing was written (results appear whole or not at all); rerun to start again")
def _cmd_run(args: argparse.Namespace) -> int:
    from trucesim.cases import is_case
    from trucesim.cli.run import run_scenario

    if args.scenario is None or is_case(args.scenario):
        from trucesim.cli.nowcast import main_job

        for flag, value in (("--replicates", args.replicates), ("--variant", args.variant),
                            ("--posterior", args.posterior)):
            if value is not None:
                raise UsageError(f"{flag}: a case (or the main job, no argument) runs every "
                                 "branch from the nowcast's particles; use --particles, or "
                                 "name a scenario (trucesim scenarios lists them)")
        return main_job(args.particles, args.seed, args.out, force=args.force,
                        case=args.scenario, drift=_drift(args.drift),
                        state_noise=_state_noise(args.state_noise))
    for flag, value in (("--particles", args.particles), ("--drift", args.drift),
                        ("--state-noise", args.state_noise)):
        if value is not None:
            raise UsageError(f"{flag}: only for a case or the main job (trucesim run with no "
                             "argument)")
    return run_scenario(
        args.scenario,
        replicates=args.replicates,
        seed=args.seed,
        out=args.out,
        variant=args.variant,
        force=args.force,
        posterior=args.posterior,
    )


@command("nowcast", "filter a case's record up to its as-of date into the model's state "
         "(bootstrap particle filter)", [
    arg("case", nargs="?", default=None,
        help="case.toml, its folder or a bundled case's name (default: the main job's case)"),
    arg("--as-of", type=date_type, default=None, dest="as_of", metavar="DATE",
        help="filter up to this day (YYYY-MM-DD; default and latest: the case's as-of date)"),
    arg("--particles", type=particles_type, default=None,
        help="ensemble size, 1 to 20000 (default: 500)"),
    arg("--posterior", type=Path, default=None,
        help="posterior file fitted on data up to the as-of date (default: the "
        "case's, protocol B, or A for an as-of date before B's data end)"),
    seed("root seed, 0 to 2**63-1 (default: the case's nowcast seed)"),
    out("results folder (default: results/nowcast-<case>)"),
    force("replace a nowcast result in --out made with different settings"),
    arg("--drift", default=None, metavar="SETTING",
        help="parameter drift: off (every parameter at its posterior draw) or "
        "reverting (a few drift back toward it; default: reverting)"),
    arg("--state-noise", default=None, metavar="SETTING", dest="state_noise",
        help="latent-state process noise: off or on (grievance, authority, arms, "
        "autonomy and members move per gang between periods; default: on)"),
], simulates=True, draws=True,
    interrupted="nothing was written (results appear whole or not at all); rerun to start again")
def _cmd_nowcast(args: argparse.Namespace) -> int:
    from trucesim.cli.nowcast import nowcast_command

    return nowcast_command(args.particles, args.posterior, args.seed, args.out, force=args.force,
                           case=args.case, as_of=args.as_of, drift=_drift(args.drift),
                           state_noise=_state_noise(args.state_noise))


def _setting(flag: str, text: str | None, default: str, check) -> str:
    """A nowcast setting's value (``default`` when not given), or a one-line usage error
    naming ``flag`` (``check`` raises ValueError for a value it does not know)."""
    try:
        return check(default if text is None else text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _drift(text: str | None) -> str:
    """The ``--drift`` setting."""
    from trucesim.calibration.drift import DEFAULT_DRIFT, check_mode

    return _setting("--drift", text, DEFAULT_DRIFT, check_mode)


def _state_noise(text: str | None) -> str:
    """The ``--state-noise`` setting."""
    from trucesim.calibration.state_noise import DEFAULT_STATE_NOISE, check_mode

    return _setting("--state-noise", text, DEFAULT_STATE_NOISE, check_mode)


@command("backtest", "rolling-origin forecasts of a case's record, scored (WIS) against a "
         "flat and a negative-binomial baseline", [
    arg("case", nargs="?", default=None,
        help="case.toml, its folder or a bundled case's name (default: the main job's case)"),
    arg("--origins", default=None, metavar="DATES",
        help="comma-separated origins (first day not known, at latest the day "
        "after the case's as-of date; default: the day after the case's "
        "hindcast cutoff and every later quarter to its as-of date, or, without "
        "a hindcast cutoff, the day after its as-of date)"),
    arg("--particles", default=None, metavar="N",
        help="particles of the model's filter, 10 to 20000 (default: 200)"),
    arg("--score-against", type=Path, default=None, metavar="FILE",
        help="a later record (same format) used only to score, never as an input"),
    arg("--drift", default=None, metavar="SETTING",
        help="parameter drift in the model's nowcast: off or reverting (default: "
        "reverting; see docs/nowcast.md)"),
    arg("--state-noise", default=None, metavar="SETTING",
        help="latent-state noise in the model's filter and forecasts: off or on (default: "
        "on, as in the main job; see docs/backtest.md)"),
    arg("--seed", default=None, help="root seed (default: the case's nowcast seed)"),
    arg("--workers", default=None, metavar="N", help="threads advancing particles (default: 2)"),
    out("results folder (default: results/backtest-<case>; resumed when it "
        "holds the same backtest)"),
    force("replace a backtest in --out made with different settings"),
], simulates=True, draws=True,
    interrupted="finished origins are kept in the folder's origins/; rerun the same command "
                "to resume")
def _cmd_backtest(args: argparse.Namespace) -> int:
    from trucesim.cli.backtest import backtest_command

    return backtest_command(args.origins, args.particles, args.score_against, args.seed,
                            args.out, force=args.force, workers=args.workers, case=args.case,
                            drift=_drift(args.drift),
                            state_noise=_state_noise(args.state_noise))


@command("scenarios", "list the bundled scenarios")
def _cmd_scenarios(args: argparse.Namespace) -> int:
    from trucesim.scenario.load import bundled_scenarios, load_scenario

    for name, path in bundled_scenarios().items():
        s = load_scenario(path)
        first = " ".join(s.description.split()).split(". ")[0].split(": ")[0].rstrip(".")
        variants = f" [variants: {', '.join(s.variants)}]" if s.variants else ""
        print(f"{name:32s} {s.start}..{s.end}  {first}.{variants}")
    return 0


@command("cases", "list the bundled cases")
def _cmd_cases(args: argparse.Namespace) -> int:
    from trucesim.cases import bundled_cases, load_case

    for name, path in bundled_cases().items():
        c = load_case(path)
        first = " ".join(c.spec.description.split()).split(". ")[0].split(": ")[0].rstrip(".")
        print(f"{name:24s} as of {c.as_of}  {first}. [branches: "
              f"{', '.join(c.branch_scenario.variants)}; status quo "
              f"{c.spec.branches.status_quo}]")
    return 0


def _case_actions(case: argparse.ArgumentParser) -> None:
    case_sub = case.add_subparsers(dest="case_command", required=True, metavar="ACTION")
    new = case_sub.add_parser("new", help="write a case folder NAME from templates (refuses "
                              "to overwrite anything)")
    new.add_argument("name", help="the case's name, also its folder (letters, digits, "
                     "'.', '_', '-')")
    new.add_argument("--dir", type=Path, default=Path("."),
                     help="the folder to create it in (default: here)")


@command("case", "bring your own case: 'case new NAME' writes a case folder from templates",
         build=_case_actions)
def _cmd_case_new(args: argparse.Namespace) -> int:
    from trucesim.casenew import new_case

    folder = new_case(args.name, args.dir)
    print(f"wrote {folder}/: case.toml, scenario.toml, record.csv, events.csv, "
          "calibration.toml, README.md; fill them in (README.md says what), then "
          f"`trucesim check {folder}`")
    return 0


@command("check", "validate a scenario file, or a case and every file it names, without "
         "running it", [
    arg("file", help="scenario file or bundled name, or a case (case.toml, its "
        "folder or a bundled case's name)"),
])
def _cmd_check(args: argparse.Namespace) -> int:
    from trucesim.cases import is_case, load_case
    from trucesim.scenario.load import load_scenario

    if is_case(args.file):
        c = load_case(args.file)
        if c.spec.calibration.nowcast or c.spec.calibration.hindcast:
            from trucesim.calibration.problem import load_calibration

            for spec in (c.spec.calibration.hindcast, c.spec.calibration.nowcast):
                if spec is not None:
                    load_calibration(c.file(spec, "calibration"))
        fitted = len(c.rows_until())
        print(f"{c.path}: ok: case {c.name}, as of {c.as_of}"
              + (f" (hindcast cutoff {c.spec.hindcast_cutoff})" if c.spec.hindcast_cutoff
                 else "")
              + f"; scenario {c.scenario.name} {c.scenario.start} to {c.scenario.end}; record "
              f"{len(c.record)} rows ({fitted} up to the as-of date, {len(c.record) - fitted} "
              f"after it, shown only); {len(c.events)} events; branches "
              f"{', '.join(c.branch_scenario.variants)} to {c.branch_scenario.end} (status quo "
              f"{c.spec.branches.status_quo})")
        return 0
    s = load_scenario(args.file)
    print(
        f"{s.source}: ok: {s.name}, {s.start} to {s.end}, {len(s.phases)} phases, "
        f"{len(s.events)} events, {len(s.variants)} variants, {s.world.cliques} cliques"
    )
    return 0


@command("params", "print the table of every parameter (or those matching)", [
    arg("filter", nargs="?", default=None,
        help="show only parameters whose path or meaning contains this text "
        "(case-insensitive), e.g. 'violence' or 'recruit'"),
])
def _cmd_params(args: argparse.Namespace) -> int:
    from trucesim.scenario.load import bundled_fit
    from trucesim.scenario.params import parameter_table_markdown

    table = parameter_table_markdown(bundled_fit())
    if args.filter:
        head, rows = table.splitlines()[:2], table.splitlines()[2:]
        want = args.filter.lower()
        rows = [r for r in rows if want in " ".join(r.split(" | ")[:2]).lower()]
        if not rows:
            raise UsageError(f"params: no parameter's path or meaning contains {args.filter!r}")
        table = "\n".join(head + rows)
    print(table)
    return 0


@command("regimes", "list the policy regime presets")
def _cmd_regimes(args: argparse.Namespace) -> int:
    from trucesim.scenario.regimes import PRESET_DESCRIPTIONS, preset_table

    for name, text in PRESET_DESCRIPTIONS.items():
        print(f"{name:20s} {text}")
    print("\nValues of each preset (any field can be overridden per phase):\n")
    print(preset_table())
    return 0


@command("sweep", "run an experiment: a parameter sweep with replicates", [
    arg("experiment", help="experiment file or bundled name"),
    workers(),
    arg("--backend", choices=["process", "dask"], default=None,
        help="local processes (default) or Dask"),
    arg("--scheduler", default=None,
        help="Dask scheduler address (default: a local Dask cluster)"),
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
    arg("--variant", default=None,
        help="scenario variant to run (default: the base timeline)"),
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


@command("calibrate", "posterior of parameters by ABC-SMC (pyabc)", [
    arg("calibration", help="calibration TOML file"),
    workers(),
    arg("--backend", choices=["process", "dask"], default="process",
        help="local processes (default) or Dask"),
    arg("--scheduler", default=None,
        help="Dask scheduler address (default: a local Dask cluster)"),
    out("results folder, with pyabc's history.db "
        "(default: results/calibration-<file stem>)"),
    arg("--resume", action="store_true",
        help="continue the history in --out (same calibration only)"),
], simulates=True, draws=True,
    interrupted="finished generations are in history.db; rerun with --resume to continue")
def _cmd_calibrate(args: argparse.Namespace) -> int:
    from trucesim.calibration.smc import run_calibration

    return run_calibration(args.calibration, workers=args.workers, backend=args.backend,
                           out=args.out, scheduler=args.scheduler, resume=args.resume)


@command("validate", "in- and out-of-sample report of the calibrated model", [
    arg("--scenario", default=None,
        help="calibrated scenario (default: the main case's scenario)"),
    replicates(40, "runs (default: 40)", minimum=2),
    seed(),
    workers(),
    out("report folder (default: results/validation)"),
    force("replace a validation report in --out made with different settings"),
    Count(("--ablation-replicates",), {"type": int, "default": None, "metavar": "N",
          "help": "replicates per mechanism combination in the ablation table "
          "(default: min(--replicates, 4); 0: no ablation)"}, minimum=0),
    arg("--posterior", nargs="?", const=True, default="auto", metavar="FILE",
        help="posterior predictive intervals: replicate r runs draw r of a "
        "protocol-A (hindcast) posterior file (default: the scenario's own "
        "'posterior', when it names one, as the main case's scenario does)"),
    arg("--no-posterior", dest="posterior", action="store_const", const=None,
        help="run every replicate at the point values: intervals are noise only"),
], simulates=True, draws=True, interrupted="nothing was written; rerun to start again")
def _cmd_validate(args: argparse.Namespace) -> int:
    from trucesim.calibration.validation import run_validation
    from trucesim.scenario.maincase import main_case_file

    scenario = args.scenario if args.scenario is not None else main_case_file("scenario")
    return run_validation(scenario, replicates=args.replicates, seed=args.seed,
                          workers=args.workers, out=args.out, force=args.force,
                          ablation_runs=args.ablation_replicates, posterior=args.posterior)


@command("observed", "list a case's observed data rows (ids for calibration)", [
    arg("case", nargs="?", default=None,
        help="case.toml, its folder or a bundled case's name (default: the main job's case)"),
])
def _cmd_observed(args: argparse.Namespace) -> int:
    from trucesim.calibration.observed import NOWCAST_MARK
    from trucesim.cases import load_case, main_case_path

    case = load_case(args.case if args.case is not None else main_case_path())
    cutoff = case.spec.hindcast_cutoff or case.as_of
    rows = case.record
    for r in rows:
        value = (f"{r.value:9.0f} level" if r.stock else f"{r.value:9.3f} share"
                 if r.unit == "share" else f"{r.per_day:9.3f}/day ")
        use = r.use(cutoff) if r.end <= case.as_of else "after as-of"
        print(f"{r.id:64s} {value}  {use:12s} {r.source}")
    hind = (f"A protocol A calibration fits rows ending up to {case.spec.hindcast_cutoff}; "
            if case.spec.hindcast_cutoff else "")
    print(f"\nCase {case.name}: {hind}protocol B, up to the as-of date {case.as_of}; rows "
          "after it are shown only, never fitted.")
    print(f"Rows marked {NOWCAST_MARK!r} are fitted only by protocol B (the nowcast).")
    for q in sorted({r.quantity for r in rows if r.metric is None}):
        reason = next(r.context_reason for r in rows if r.quantity == q)
        print(f"context, {q}: {reason}")
    return 0


@command("dashboard", "watch a scenario run in the browser (Mesa SolaraViz)", [
    arg("scenario", nargs="?", default=None,
        help="scenario file or bundled name (default: the main case's branch scenario)"),
    arg("--host", default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; "
        "any other needs --allow-remote)"),
    arg("--allow-remote", action="store_true",
        help="allow a --host reachable from other machines (there is no "
        "authentication: anyone who reaches it can drive the dashboard)"),
    arg("--port", type=int, default=8765, help="TCP port (default: 8765)"),
], simulates=True, interrupted="stopped")
def _cmd_dashboard(args: argparse.Namespace) -> int:
    from trucesim.dashboard.server import DashboardError, serve

    try:
        from trucesim.scenario.maincase import main_case_file

        scenario = (args.scenario if args.scenario is not None
                    else str(main_case_file("branches.scenario")))
        return serve(scenario, host=args.host, port=args.port,
                     allow_remote=args.allow_remote)
    except DashboardError as exc:
        raise UsageError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    from trucesim import __version__

    return build_parser("trucesim", "Agent-based simulation of gang truces: leaders, cliques "
                        "and police.", f"trucesim {__version__}")


def _announce_compilation(command: str) -> None:
    """Tell the user, before a simulating command's first run on a machine, that the
    model compiles now (once; later runs load it from the cache)."""
    if not COMMANDS[command].simulates:
        return
    from trucesim.core.day import simulate_days
    from trucesim.numerics.jit import first_use_note

    note = first_use_note(simulate_days)
    if note:
        print(note, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``trucesim`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    cmd = COMMANDS[args.command]
    if cmd.draws:
        import matplotlib

        matplotlib.use("Agg")  # files only: no window, no display needed
    try:
        cmd.check(args)  # the shared options: one line, exit 2, before anything runs
        _announce_compilation(args.command)
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe is reported here, not at interpreter exit
        return status
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: say so once, without a traceback
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("error: output closed early (broken pipe); what was written before is "
              "complete", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, _INPUT_ERRORS) else 1
    except KeyboardInterrupt:
        print(f"interrupted: {cmd.interrupted}", file=sys.stderr)
        return 130


#: OSErrors that come from what the user asked for (exit 2) rather than the machine (1).
_INPUT_ERRORS = (PermissionError, FileExistsError, NotADirectoryError, IsADirectoryError,
                 FileNotFoundError)

def _os_error(exc: OSError) -> str:
    """One line for a failed file operation: the file, then why."""
    import errno

    why = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        why += " (the disk or the file size limit is full; nothing half-written is kept)"
    if exc.filename is None:
        return f"writing the results failed: {why}"
    return f"{exc.filename}: {why}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
