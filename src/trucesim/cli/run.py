"""``trucesim run``: simulate a scenario's variants with replicates and write the results.

The results folder holds ``daily.parquet`` (every run's daily table, with ``variant``
and ``replicate`` columns), ``summary.json`` (per-run outcomes and the tables printed),
``manifest.json`` (the resolved scenario, seeds and package version) and
``trajectory.png``. With a posterior (``--posterior``), replicate r of every branch runs
posterior draw r, and the summary, manifest and plot say that the intervals carry
parameter uncertainty as well as noise. The folder is built aside and moved into place
at the end, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from trucesim import budget
from trucesim.api import run_replicates, stack
from trucesim.atomic import write_json, write_parquet
from trucesim.folders import result_folder, write_manifest
from trucesim.outcomes import TYPES, counterfactual_table, period_table, run_summary
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import BASE, Scenario, load_scenario, walk_path
from trucesim.seeds import SEEDING
from trucesim.uncertainty import PosteriorSpec, label, parameter_draws

DEFAULT_REPLICATES = 20
#: Columns of the printed tables: every summary type but true deaths (recorded, each kind
#: of death, the hidden).
SHOWN_TYPES = [t for t in TYPES if t != "deaths_true"]


def variant_start(scenario: Scenario) -> dt.date:
    """First day on which any variant's phases replace the base timeline (the scenario's
    start when no variant changes the phases, e.g. variants of overrides only)."""
    starts = [v.phases[0].start for v in scenario.variants.values() if v.phases]
    return min(starts) if starts else scenario.start


def run_scenario(
    spec: str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    out: Path | None = None,
    variant: str | None = None,
    force: bool = False,
    posterior: PosteriorSpec = None,
) -> int:
    """Run the base timeline and every variant (or one of them) of a scenario, write the
    results folder and print a summary.

    ``posterior``: None (default) runs every replicate at the scenario's values (the
    intervals are noise only); True draws from the scenario's own ``posterior`` file, a
    path from that file: replicate r of every branch runs posterior draw r.

    The folder is replaced only if it holds a ``run`` result trucesim made; one made with
    other settings (scenario, variants, replicates, seed) only with ``force``.
    """
    scenario = load_scenario(spec)
    labels = [variant] if variant is not None else scenario.branch_names
    for v in labels:  # validates every name before anything runs
        scenario.variant(v)
    variants = [None if v == BASE else v for v in labels]
    draws = parameter_draws(scenario, posterior)
    replicates = replicates or DEFAULT_REPLICATES
    budget.check("-n/--replicates", "", len(variants) * replicates, scenario.days,
                 scenario.world.cliques, scenario.world.burn_in_days)
    root_seed = scenario.seed if seed is None else seed
    out = Path(out) if out is not None else Path("results") / scenario.name

    uncertainty = label(draws)
    ran = [] if draws is None else [  # the posterior parameters' values each replicate ran
        {k: walk_path(draws.apply(scenario, r).to_data(), k)[0] for k in draws.posterior.names}
        for r in range(replicates)]
    settings = {"scenario": scenario.model_dump(mode="json"), "variants": labels,
                "replicates": replicates, "root_seed": root_seed}
    if draws is not None:
        settings["posterior"] = draws.settings()
    with result_folder(out, "run", settings, force=force) as stage:
        runs, rows = [], []
        started = time.perf_counter()
        total = len(variants) * replicates
        with tqdm(total=total, desc=f"{scenario.name}", unit="run", disable=None) as bar:
            for run in run_replicates(scenario, replicates, root_seed, variants, draws=draws):
                r = run.replicate
                drawn = {} if draws is None else {"draw": r, "parameters": ran[r]}
                rows.append({"variant": run.variant or "base", "replicate": r,
                             "seed_entropy": str(run.seed.entropy),
                             "spawn_key": list(run.seed.spawn_key), **drawn,
                             **run_summary(run.daily)})
                runs.append(run)
                bar.update()
        elapsed = time.perf_counter() - started
        daily = stack(runs)
        daily["variant"] = pd.Categorical(daily["variant"],
                                          categories=labels)
        by_phase = period_table(daily, "phase")[SHOWN_TYPES]
        by_year = period_table(daily, "year")[SHOWN_TYPES]
        cf = None
        if scenario.counterfactual in labels and len(variants) > 1:
            cf = counterfactual_table(daily, scenario.counterfactual,
                                      start=pd.Timestamp(variant_start(scenario)))

        write_parquet(stage / "daily.parquet", daily)
        summary = {
            "scenario": scenario.name,
            "replicates": replicates,
            "seed": root_seed,
            "variants": labels,
            "uncertainty": uncertainty,
            "posterior": None if draws is None else draws.describe(),
            "by_phase": _records(by_phase),
            "by_year": _records(by_year),
            "counterfactual": None if cf is None else {
                "variant": scenario.counterfactual, "table": _records(cf)},
            "runs": rows,
        }
        write_json(stage / "summary.json", summary)
        write_manifest(
            stage, "run",
            scenario_source=scenario.source,
            scenario=scenario.model_dump(mode="json"),
            variants=labels,
            replicates=replicates,
            root_seed=root_seed,
            seeding=SEEDING,
            uncertainty=uncertainty,
            posterior=None if draws is None else draws.describe(),
            elapsed_seconds=round(elapsed, 3),
        )
        import matplotlib.pyplot as plt

        from trucesim.plots import fan_chart

        fig = fan_chart(daily, "homicides", scenario=scenario, uncertainty=uncertainty)
        fig.savefig(stage / "trajectory.png", dpi=110)
        plt.close(fig)  # a long session (a notebook, the tests) keeps no figure per run

    _print_summary(scenario, replicates, by_phase, by_year, cf, out, elapsed, draws)
    return 0


def _records(table: pd.DataFrame) -> list[dict]:
    return table.reset_index().astype({c: str for c in table.index.names if c}).to_dict("records")


def uncertainty_line(draws) -> str:
    """The printed line saying what the intervals over replicates carry."""
    if draws is None:
        return (f"Intervals over replicates carry {label(None)} (the scenario's values; "
                "--posterior draws parameters too).")
    d = draws.describe()
    held = (f"; held at the scenario's value: {', '.join(d['held_at_scenario_value'])}"
            if d["held_at_scenario_value"] else "")
    return (f"Intervals over replicates carry {label(draws)}: replicate r of every branch "
            f"runs posterior draw r from {d['file']} (protocol {d['protocol']}, data to "
            f"{d['data_until']}, {d['particles']} particles, effective size "
            f"{d['effective_size']:.0f}){held}.")


def _print_summary(scenario, replicates, by_phase, by_year, cf, out, elapsed,
                   draws=None) -> None:
    fmt = {c: "{:.2f}".format for c in SHOWN_TYPES}
    print(f"\n{scenario.name}: {replicates} replicate(s), {elapsed:.1f} s")
    print(uncertainty_line(draws))
    print("\nMean per day by phase (averaged over replicates):")
    print(by_phase.to_string(formatters=fmt))
    print("\nMean per day by year:")
    print(by_year.to_string(formatters=fmt))
    if cf is not None:
        print(f"\nRecorded homicides from {cf['from'].iloc[0]} relative to "
              f"'{scenario.counterfactual}', the measure of the compare plot (totals, mean "
              "over replicates; difference: mean of paired replicates, with its 5-95% range; "
              "deaths_true adds disappearances):")
        shown = cf.drop(columns=["from", "measure"]).rename(columns={
            "homicides": "recorded homicides", "difference": "homicides vs " +
            str(scenario.counterfactual), "diff_p05": "p05", "diff_p95": "p95"})
        print(shown.to_string(float_format="{:,.1f}".format))
    print(f"\nwrote {out}/daily.parquet, summary.json, manifest.json, trajectory.png")


__all__ = ["ConfigError", "run_scenario"]
