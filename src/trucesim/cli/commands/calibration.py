"""The commands of calibration: ``calibrate`` (an ABC-SMC posterior), ``validate`` (the
calibrated model's in- and out-of-sample report) and ``observed`` (a case's record, row
by row, with what each row may be used for)."""

from __future__ import annotations

import argparse

from trucesim.cli.registry import (
    Count,
    arg,
    backend,
    case_arg,
    command,
    force,
    out,
    posterior,
    replicates,
    scheduler,
    seed,
    workers,
)


@command("calibrate", "posterior of parameters by ABC-SMC (pyabc)", [
    arg("calibration", help="calibration TOML file"),
    workers(),
    backend("process"),
    scheduler(),
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
    posterior("posterior predictive intervals: replicate r runs draw r of a "
              "protocol-A (hindcast) posterior file (default: the scenario's own "
              "'posterior', when it names one, as the main case's scenario does)",
              default="auto"),
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
    case_arg(),
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
