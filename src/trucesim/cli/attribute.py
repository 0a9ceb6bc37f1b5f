"""``trucesim attribute``: each mechanism's Shapley contribution to an outcome.

Runs every on/off combination of the chosen ``[mechanisms]`` switches through the sweep
runner (common random numbers), then writes into the results folder:
``attribution.csv``/``attribution.parquet`` (one row per mechanism), ``combinations.csv``
(mean outcome of each combination), ``shapley_replicates.csv`` (per replicate),
``attribution.json`` (all of it, with the settings), ``attribution.png`` and ``sweep/``
(the sweep's own folder: manifest and runs.parquet). The folder is built aside and moved
into place at the end; bad input stops before anything is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from trucesim import budget
from trucesim.folders import result_folder
from trucesim.outcomes import outcome_unit
from trucesim.runner.attribution import (
    DEFAULT_REPLICATES,
    AttributionError,
    attribute,
    plan_attribution,
    write_attribution,
)
from trucesim.scenario.load import load_scenario
from trucesim.scenario.schema import BASE


def attribute_scenario(spec: str | Path, outcome: str, mechanisms: list[str] | None = None,
                       replicates: int | None = None, seed: int | None = None,
                       out: Path | None = None, variant: str | None = None,
                       workers: int | None = None, force: bool = False) -> int:
    """Attribute ``outcome`` to the mechanisms of a scenario; print the table, write the
    results folder (kind ``attribution``) and return the exit status.

    Raises:
        ConfigError: bad scenario, mechanism, outcome, variant or folder (nothing written).
    """
    scenario = load_scenario(spec)
    budget.check_count("-n/--replicates", "", replicates or DEFAULT_REPLICATES, "replicate")
    plan = plan_attribution(scenario, outcome, mechanisms,
                            replicates=replicates or DEFAULT_REPLICATES, seed=seed,
                            variant=variant)
    exp = plan.experiment
    budget.check("-n/--replicates", "", exp.runs, scenario.days, scenario.world.cliques,
                 scenario.world.burn_in_days, keep_daily=False)
    out = Path(out) if out is not None else Path("results") / f"{scenario.name}-attribution"
    try:
        with result_folder(out, "attribution", plan.settings(), force=force) as stage:
            sweep = run_experiment_quietly(exp, stage / "sweep", workers)
            if sweep.report.failed or sweep.report.aborted:
                first = sweep.report.failures[:1]
                raise AttributionError(
                    f"{sweep.report.failed} of {exp.runs} runs failed"
                    + (f" (first: {first[0]})" if first else "")
                    + (f"; {sweep.report.aborted}" if sweep.report.aborted else ""))
            result = attribute(plan, sweep.runs)
            write_attribution(stage, plan, result)
            import matplotlib.pyplot as plt

            from trucesim.plots.attribution import attribution_chart

            fig = attribution_chart(result.table, outcome, scenario_name=scenario.name,
                                    variant=plan.variant or BASE, replicates=exp.replicates,
                                    v_all=result.v_all, v_none=result.v_none)
            fig.savefig(stage / "attribution.png", dpi=110)
            plt.close(fig)
    except AttributionError as exc:
        print(f"error: {exc}; nothing was written", file=sys.stderr)
        return 1
    print(f"\n{scenario.name} ({plan.variant or BASE}): Shapley contributions to {outcome} "
          f"(unit: {outcome_unit(outcome)}), {len(plan.combinations)} combinations x "
          f"{exp.replicates} replicate(s), seed {exp.seed}")
    print(result.table.to_string(index=False, float_format="{:.4g}".format))
    print(f"sum of contributions {result.table['shapley'].sum():.4g} = {outcome} all on "
          f"({result.v_all:.4g}) - all off ({result.v_none:.4g}), in "
          f"{outcome_unit(outcome)}; p05/p95: 5-95% range over replicates")
    print(f"\nwrote {out}/attribution.csv, attribution.parquet, combinations.csv, "
          "shapley_replicates.csv, attribution.json, attribution.png, sweep/")
    return 0


def run_experiment_quietly(exp, folder: Path, workers: int | None):
    """Run the sweep of all combinations, warnings as one line each on stderr."""
    import warnings

    from trucesim.runner import run_experiment

    with warnings.catch_warnings():
        warnings.showwarning = lambda message, *_, **__: print(f"warning: {message}",
                                                               file=sys.stderr)
        return run_experiment(exp, out=folder, workers=workers)
