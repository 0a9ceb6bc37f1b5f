"""``trucesim validate``: simulate, compare, and write the report folder."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from trucesim import budget
from trucesim.atomic import atomic_path
from trucesim.calibration.observed import load_observed
from trucesim.calibration.validation.facts import stylised_facts
from trucesim.calibration.validation.figures import (
    annual_figure,
    facts_figure,
    trajectory_figure,
)
from trucesim.calibration.validation.markdown import assessment, report
from trucesim.calibration.validation.outofsample import (
    TRUCE_WINDOW,
    ablation,
    communique_events,
    communique_responses,
    deaths_per_year,
    observed_surge_ratio,
    surge_ratio,
    truce_change,
)
from trucesim.calibration.validation.parameters import calibration_of, parameter_table
from trucesim.calibration.validation.simulate import simulate_replicates
from trucesim.calibration.validation.stats import (
    FIT_CUTOFF,
    KATZ_RATE_RATIO,
    annual_table,
    disappearance_baseline,
    format_interval,
    in_sample_table,
    observed_rate_ratio,
    rate_ratio,
)
from trucesim.folders import claim, result_folder, write_manifest
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import load_scenario
from trucesim.stats import interval
from trucesim.uncertainty import ParameterDraws, PosteriorSpec, label, parameter_draws

#: The low-cohesion contrast scenario of the checklist.
HONDURAS = "honduras-like-2013"
#: Days a validated scenario must cover (the record it is compared with).
VALIDATION_SPAN = (dt.date(2010, 1, 1), dt.date(2016, 12, 31))
#: Most replicates per combination in the ablation unless asked otherwise.
ABLATION_REPLICATES = 4


def ablation_replicates(replicates: int, asked: int | None) -> int:
    """Replicates per mechanism combination: ``asked``, else min(replicates, 4)."""
    return min(replicates, ABLATION_REPLICATES) if asked is None else asked


def used_future_data(fit: dict) -> bool:
    """True if a calibration file's ``[fit]`` table says the fit used data after
    :data:`FIT_CUTOFF`: its ``data_until`` is later (no ``data_until``: False)."""
    until = fit.get("data_until")
    if until is None:
        return False
    if not isinstance(until, dt.date):
        until = dt.date.fromisoformat(str(until))
    return until > FIT_CUTOFF


def run_validation(scenario_spec: str | Path = "el-salvador-2010-2016", replicates: int = 40,
                   seed: int | None = None, workers: int | None = None,
                   out: Path | None = None, force: bool = False,
                   ablation_runs: int | None = None, posterior: PosteriorSpec = None) -> int:
    """``trucesim validate``: simulate, compare, and write the report folder.

    ``ablation_runs``: replicates per mechanism combination in the ablation (default
    min(replicates, 4); 0 leaves the ablation out).

    ``posterior``: None (the default here) runs every replicate at the calibrated values
    (the intervals are noise only); ``"auto"`` (what ``trucesim validate`` passes unless
    told ``--no-posterior``) is True when the scenario names a posterior file and None
    otherwise; True (the scenario's own ``posterior`` file) or a file
    gives posterior predictive intervals: replicate r runs posterior draw r, in the El
    Salvador and in the Honduras-like scenario. Only a protocol-A (hindcast) posterior is
    accepted: a protocol-B one saw the 2014-2016 record.

    The folder is replaced only if it holds a ``validation`` result trucesim made; one
    made with other settings only with ``force``.
    """
    from trucesim.calibration.validation.simulate import executor

    scenario = load_scenario(scenario_spec)
    if scenario.start > VALIDATION_SPAN[0] or scenario.end < VALIDATION_SPAN[1]:
        raise ConfigError(scenario.source, "", (
            f"covers {scenario.start} to {scenario.end}, but validate compares with El "
            f"Salvador's record of {VALIDATION_SPAN[0]} to {VALIDATION_SPAN[1]}: use an El "
            "Salvador scenario covering those years (default: el-salvador-2010-2016)"))
    cal_path, cal = calibration_of(scenario)
    if posterior == "auto":
        posterior = True if scenario.posterior else None
    draws = hindcast_draws(scenario, posterior)
    honduras = load_scenario(HONDURAS)
    if cal.get("overrides"):
        honduras = honduras.with_overrides(cal["overrides"])
    hon_draws = None
    if draws is not None:  # the fitted values everywhere, as the calibration above
        hon_draws = parameter_draws(  # keeps Honduras's held; the transfer
            honduras, draws.posterior, fitted_to=draws.posterior.scenario)
    root = scenario.seed if seed is None else seed
    budget.check("-n/--replicates", "", 2 * replicates, scenario.days, scenario.world.cliques,
                 scenario.world.burn_in_days)
    out = Path(out) if out is not None else Path("results") / "validation"
    abl_n = ablation_replicates(replicates, ablation_runs)
    settings = {"scenario": scenario.model_dump(mode="json"), "replicates": replicates,
                "root_seed": root, "ablation_replicates": abl_n}
    if draws is not None:
        settings["posterior"] = draws.settings()
    claim(out, "validation", settings, force)  # refused before any work, not after it
    rows = load_observed()
    baseline = disappearance_baseline(rows)
    started = time.perf_counter()
    with executor("process", workers) as pool, tqdm(
        total=2 * replicates, desc="validate", unit="run", disable=None
    ) as bar:
        extra = {} if draws is None else {"draws": draws}
        daily = simulate_replicates(scenario, replicates, root, pool, bar, **extra)
        extra = {} if draws is None else {"draws": hon_draws}
        hon = simulate_replicates(honduras, replicates, root, pool, bar, **extra)
        elapsed = time.perf_counter() - started
        abl = None
        if abl_n > 0:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="trucesim-ablation-") as tmpdir:
                abl = ablation(scenario, abl_n, root, pool, Path(tmpdir) / "sweep",
                               workers=workers)
    surge = surge_ratio(daily)
    hon_start, hon_change = truce_change(hon)
    annual = annual_table(daily, rows)
    ratios = rate_ratio(daily)
    facts = stylised_facts(daily, hon, rows, baseline)
    fit = cal.get("fit", {})
    ctx = {
        "scenario": scenario.name, "replicates": replicates, "seed": root,
        "start": scenario.start, "end": scenario.end, "elapsed": elapsed,
        "calibration_file": str(cal_path) if cal_path else "none (uncalibrated defaults)",
        "data_until": fit.get("data_until", "n/a"),
        "future_data": used_future_data(fit),
        "annual": annual, "in_sample": in_sample_table(daily, rows, scenario.start, baseline),
        "in_mae": float(annual.loc[annual["sample"] != "out", "error"].abs().mean() * 100),
        "out_mae": float(annual.loc[annual["sample"] == "out", "error"].abs().mean() * 100),
        "rate_ratio": format_interval(ratios), "observed_ratio": observed_rate_ratio(rows),
        "ratio_inside": bool(KATZ_RATE_RATIO[0] <= np.median(ratios) <= KATZ_RATE_RATIO[1]),
        "ratio_share": float(np.mean(
            (ratios >= KATZ_RATE_RATIO[0]) & (ratios <= KATZ_RATE_RATIO[1]))),
        "facts": facts, "assessment": assessment(annual, facts, ablation=abl is not None),
        "parameters": parameter_table(scenario, cal),
        "surge": surge, "observed_surge": observed_surge_ratio(rows),
        "communiques": communique_responses(daily, communique_events(scenario), rows),
        "deaths": deaths_per_year(daily, rows),
        "honduras_start": hon_start, "honduras_change": hon_change,
        "honduras_window": TRUCE_WINDOW, "ablation": abl,
        "uncertainty": label(draws),
        "posterior": None if draws is None else draws.describe(),
    }
    if draws is not None:
        ctx["parameters"] = parameter_table(scenario, cal, draws.posterior)
    text = report(ctx)
    with result_folder(out, "validation", settings, force=force) as stage:
        with atomic_path(stage / "validation.md") as tmp:
            tmp.write_text(text)
        title = f"{scenario.name}: calibrated to 2013, {replicates} replicates" + (
            "" if draws is None else " (posterior draws)")
        for name, fig in (("trajectory.png", trajectory_figure(daily, rows, title)),
                          ("annual.png", annual_figure(annual, title)),
                          ("facts.png", facts_figure(daily, hon, rows, baseline, title))):
            fig.savefig(stage / name, dpi=110)
            plt.close(fig)
        annual.to_csv(stage / "annual.csv", index=False)
        ctx["in_sample"].to_csv(stage / "in_sample.csv", index=False)
        ctx["communiques"].to_csv(stage / "communiques.csv", index=False)
        ctx["deaths"].to_csv(stage / "deaths_per_year.csv", index=False)
        if abl is not None:
            abl.table.to_csv(stage / "ablation.csv", index=False)
        write_manifest(stage, "validation", **{
            "scenario": scenario.name,
            "scenario_source": scenario.source, "calibration_file": ctx["calibration_file"],
            "replicates": replicates, "root_seed": root,
            "uncertainty": ctx["uncertainty"], "posterior": ctx["posterior"],
            "rate_ratio": interval(ratios), "observed_rate_ratio": ctx["observed_ratio"],
            "facts": [f.__dict__ for f in facts], "elapsed_seconds": round(elapsed, 1),
            "surge_ratio": interval(surge), "observed_surge_ratio": ctx["observed_surge"],
            "honduras_truce_start": hon_start.isoformat(),
            "honduras_28_day_change": interval(hon_change),
            "ablation_replicates": abl_n,
            "ablation_seconds": round(abl.elapsed, 1) if abl is not None else None,
        })
    print(validation_summary(ctx, facts))
    print(f"\nreport: {out / 'validation.md'} (also trajectory.png, annual.png, facts.png, "
          "annual.csv, in_sample.csv, communiques.csv, deaths_per_year.csv"
          + (", ablation.csv)" if abl is not None else ")"))
    return 0


def hindcast_draws(scenario, posterior: PosteriorSpec) -> ParameterDraws | None:
    """The posterior draws of a validation: protocol A only (a hindcast).

    Raises:
        ConfigError: for a bad posterior file, and for a protocol-B one (it saw
            2014-2016, the years validation holds out).
    """
    draws = parameter_draws(scenario, posterior)
    if draws is not None and draws.posterior.protocol != "A":
        p = draws.posterior
        raise ConfigError(p.source, "protocol", f"{p.protocol}: fitted to data up to "
                          f"{p.data_until}, so it saw the 2014-2016 record that validate holds "
                          "out (not a hindcast); give a protocol-A posterior")
    return draws


def validation_summary(ctx: dict, facts: list) -> str:
    """The few lines ``trucesim validate`` prints; the whole report is in validation.md."""
    passed = sum(f.passed for f in facts)
    return "\n".join([
        f"{ctx['scenario']}: {ctx['replicates']} replicates, {ctx['elapsed']:.0f} s"
        + (f"; ablation {ctx['ablation'].replicates} replicates x "
           f"{2 ** len(ctx['ablation'].mechanisms)} combinations, "
           f"{ctx['ablation'].elapsed:.0f} s" if ctx.get("ablation") else "")
        + f"; intervals carry {ctx['uncertainty']}"
        + (f" (posterior predictive: replicate r runs draw r of {ctx['posterior']['file']})"
           if ctx.get("posterior") else ""),
        f"annual homicides, mean absolute error: in sample {ctx['in_mae']:.0f}%, "
        f"out of sample {ctx['out_mae']:.0f}%",
        f"truce rate ratio: {ctx['rate_ratio']} (Katz et al. 2016: "
        f"{KATZ_RATE_RATIO[0]}-{KATZ_RATE_RATIO[1]})",
        f"surge, 2015 over pre-truce: {format_interval(ctx['surge'])} (observed "
        f"{ctx['observed_surge']:.2f})",
        f"stylised facts reproduced: {passed} of {len(facts)}",
        f"assessment: {ctx['assessment']}",
    ])
