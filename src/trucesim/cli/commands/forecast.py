"""The commands that simulate a case or a scenario forward: ``run`` (a scenario's runs,
or a case's branches from its nowcast: the main job), ``nowcast`` and ``backtest``."""

from __future__ import annotations

import argparse
from pathlib import Path

from trucesim.cli.registry import (
    UsageError,
    arg,
    case_arg,
    command,
    date_type,
    drift,
    drift_setting,
    force,
    out,
    particles,
    posterior,
    replicates,
    seed,
    state_noise,
    state_noise_setting,
    variant,
)


@command("run", "simulate a scenario, or a case's branches from its nowcast; write tables, "
         "summary and a plot", [
    arg("scenario", nargs="?", default=None,
        help="scenario file or bundled name, or a case (case.toml, its folder or a bundled "
        "case's name: its branches from the nowcast on its as-of date); default: the main "
        "job, the main case's branches (trucesim cases lists them)"),
    replicates(help="runs per variant (default: 20)"),
    seed(),
    out("results folder (default: results/<scenario name>)"),
    variant("run only this variant, or 'base' for the timeline as written "
            "(default: the base timeline and every variant)"),
    force("replace a run result in --out made with different settings"),
    particles("a case only (or no argument): particles of the nowcast the "
              "branches start from (default: 200)"),
    drift("main job only: parameter drift in the nowcast, off or reverting "
          "(default: reverting; see docs/nowcast.md)"),
    state_noise("main job only: latent-state process noise in the nowcast, off or "
                "on (default: on; see docs/nowcast.md)"),
    posterior("draw each replicate's parameters from a posterior file (default "
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
                        case=args.scenario, drift=drift_setting(args.drift),
                        state_noise=state_noise_setting(args.state_noise))
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
    case_arg(),
    arg("--as-of", type=date_type, default=None, dest="as_of", metavar="DATE",
        help="filter up to this day (YYYY-MM-DD; default and latest: the case's as-of date)"),
    particles("ensemble size, 1 to 20000 (default: 500)"),
    arg("--posterior", type=Path, default=None,
        help="posterior file fitted on data up to the as-of date (default: the "
        "case's, protocol B, or A for an as-of date before B's data end)"),
    seed("root seed, 0 to 2**63-1 (default: the case's nowcast seed)"),
    out("results folder (default: results/nowcast-<case>)"),
    force("replace a nowcast result in --out made with different settings"),
    drift("parameter drift: off (every parameter at its posterior draw) or "
          "reverting (a few drift back toward it; default: reverting)"),
    state_noise("latent-state process noise: off or on (grievance, authority, arms, "
                "autonomy and members move per gang between periods; default: on)"),
], simulates=True, draws=True,
    interrupted="nothing was written (results appear whole or not at all); rerun to start again")
def _cmd_nowcast(args: argparse.Namespace) -> int:
    from trucesim.cli.nowcast import nowcast_command

    return nowcast_command(args.particles, args.posterior, args.seed, args.out, force=args.force,
                           case=args.case, as_of=args.as_of, drift=drift_setting(args.drift),
                           state_noise=state_noise_setting(args.state_noise))


# backtest: --particles, --seed and --workers are parsed by trucesim.cli.backtest itself
# (as text: one-line ConfigError naming `backtest`), not by the shared options.
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
    state_noise("latent-state noise in the model's filter and forecasts: off or on "
                "(default: on, as in the main job; see docs/backtest.md)"),
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
                            drift=drift_setting(args.drift),
                            state_noise=state_noise_setting(args.state_noise))
