"""``trucesim nowcast`` (protocol B) and the main job (``trucesim run`` with no scenario).

``nowcast`` runs the bootstrap particle filter of :mod:`trucesim.calibration.nowcast`
over the record up to 2016-07-14 and writes, into a results folder built aside and
moved into place (:func:`trucesim.folders.result_folder`): ``filtered.csv`` (one row per
assimilated period: observed, prior and filtered per day, ESS, resampling),
``ensemble.parquet`` (the filtered ensemble on the cutoff day: each particle's
posterior draw, drifted parameter values and state summary), ``nowcast.png``,
``report.md`` and ``manifest.json``.

The main job runs the same filter (fewer particles) and then the 2016-letter branches
from the filtered ensemble, paired particle by particle, to 2017-12-31; it prints deaths
by branch relative to hardline and writes ``branches.csv``, ``branches_daily.parquet``,
``filtered.csv``, ``branches.png``, ``summary.json`` and ``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from trucesim import budget
from trucesim.atomic import write_json, write_parquet
from trucesim.calibration import diagnostics
from trucesim.calibration.nowcast import (
    NOWCAST_CUTOFF,
    NowcastResult,
    read_posterior,
    run_branches,
    run_filter,
)
from trucesim.folders import result_folder
from trucesim.numerics.jit import compiler

DEFAULT_NOWCAST_PARTICLES = 500
DEFAULT_MAIN_PARTICLES = 200
MAIN_JOB_NAME = "el-salvador-2016-letter-nowcast"
MAX_PARTICLES = 20_000
INTERVALS_CARRY = ("posterior (each particle's parameter draw, as filtered), state (the "
                   "filtered ensemble of model states on 2016-07-14) and noise (each "
                   "branch's own future randomness)")


def check_budget(what: str, key: str, particles: int, branches: bool = False) -> None:
    """:func:`trucesim.budget.check_particles` for the nowcast (``branches``: and the main
    job's branches), sized from the filter's and the letter's scenarios."""
    from trucesim.calibration.nowcast import BRANCH_SCENARIO, FILTER_SCENARIO
    from trucesim.scenario.schema import load_scenario

    base = load_scenario(FILTER_SCENARIO)
    days = (NOWCAST_CUTOFF - base.start).days + 1
    extra = {}
    if branches:
        letter = load_scenario(BRANCH_SCENARIO)
        extra = {"branches": len(letter.variants),
                 "branch_days": (letter.end - NOWCAST_CUTOFF).days}
    budget.check_particles(what, key, particles, days, base.world.cliques,
                           base.world.burn_in_days, **extra)


def _filter(particles, posterior_path, seed, workers, keep_workers=False) -> NowcastResult:
    posterior = read_posterior(posterior_path)  # every check before anything runs
    with tqdm(total=1, desc="nowcast: periods", unit="period", disable=None) as bar:
        def progress(done, total, label):
            bar.total = total
            bar.set_postfix_str(label, refresh=False)
            bar.update(done - bar.n)

        return run_filter(particles, posterior=posterior, seed=seed, workers=workers,
                          progress=progress, keep_workers=keep_workers)


def _ensemble_frame(result: NowcastResult) -> pd.DataFrame:
    rows = []
    cut = result.day_of(NOWCAST_CUTOFF)
    for i, (p, d) in enumerate(zip(result.ensemble.particles, result.ensemble.draws,
                                   strict=True)):
        c = p.state.cliques
        rows.append({
            "particle": i, "posterior_index": d.posterior,
            **{f"param.{k}": v for k, v in d.values.items()},
            "members": int(c.members.sum()), "prisoners": int(c.prisoners.sum()),
            "mean_autonomy": float(c.autonomy.mean()),
            "homicides_last_14_days": p.between(cut - 13, cut),
        })
    return pd.DataFrame(rows)


def _report(result: NowcastResult, elapsed: float) -> str:
    t = result.table
    last = t.iloc[-1]
    lines = [
        "# Nowcast (protocol B): bootstrap particle filter", "",
        f"{result.settings['particles']} particles, seed {result.settings['seed']}, "
        f"record assimilated from {result.scenario.start} to {result.settings['cutoff']} "
        f"({len(t)} periods), {elapsed:.1f} s.", "",
        f"Posterior: `{result.settings['posterior']}`"
        + (f" - {result.posterior.description}" if result.posterior is not None else ""), "",
        "Likelihood: negative binomial on each period's recorded homicides, mean = the "
        f"particle's simulated count, relative error cv = {result.settings['cv']}. "
        f"Resampling: systematic, when ESS < {result.settings['ess_threshold']} N and after "
        f"the last period. Parameter drift: log random walk, sd {result.settings['drift']} "
        f"per sqrt(year), of {', '.join(result.settings['drifting']) or 'nothing'}.", "",
        f"On {last['period']}: record {last['observed_per_day']:.1f} a day; filtered "
        f"{last['filtered_mean']:.1f} (5-95%: {last['filtered_p05']:.1f}-"
        f"{last['filtered_p95']:.1f}); before assimilating it {last['prior_mean']:.1f}.", "",
        "| period | kind | record/day | prior mean | filtered mean | 5% | 95% | ESS | resampled |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in t.iterrows():
        lines.append(f"| {r['period']} | {r['kind']} | {r['observed_per_day']:.2f} | "
                     f"{r['prior_mean']:.2f} | {r['filtered_mean']:.2f} | "
                     f"{r['filtered_p05']:.2f} | {r['filtered_p95']:.2f} | {r['ess']:.1f} | "
                     f"{'yes' if r['resampled'] else ''} |")
    warning = diagnostics.collapse_warning(t, result.settings["particles"])
    if warning:
        lines += ["", warning]
    outside = diagnostics.annotate_bands(t).query("not mean_in_band")
    if len(outside):
        lines += ["", f"{len(outside)} period(s) ({', '.join(outside['period'])}) have the "
                  f"filtered mean outside its own 5-95% band: {outside['note'].iloc[0]}."]
    if result.skipped:
        lines += ["", "Homicide rows not assimilated:", ""]
        lines += [f"- {s}" for s in result.skipped]
    return "\n".join(lines) + "\n"


def _manifest(kind: str, result: NowcastResult, elapsed: float, **extra) -> dict:
    from trucesim import __version__

    return {
        "kind": kind, "trucesim_version": __version__, "compiler": compiler(),
        **result.settings, "seconds": {**result.seconds, "total": round(elapsed, 2)},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seeding": "numpy SeedSequence(seed).spawn(particles + 1): child i seeds particle i, "
                   "the last the resampling and the drift", **extra,
    }


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)


def nowcast_command(particles: int | None, posterior: Path | None, seed: int | None,
                    out: Path | None, force: bool = False, workers: int = 2) -> int:
    """``trucesim nowcast``: run the filter and write its results folder."""
    particles = particles or DEFAULT_NOWCAST_PARTICLES
    seed = 20160714 if seed is None else seed
    diagnostics.check_particles(particles)
    check_budget("--particles", "", particles)
    read_posterior(posterior)  # a bad file stops here: one line, exit 2, nothing written
    out = Path(out) if out is not None else Path("results") / "nowcast"
    settings = {"particles": particles, "seed": seed, "posterior": str(posterior or "bundled"),
                "cutoff": NOWCAST_CUTOFF.isoformat()}
    with result_folder(out, "nowcast", settings, force=force) as stage:
        started = time.perf_counter()
        result = _filter(particles, posterior, seed, workers)
        elapsed = time.perf_counter() - started
        diagnostics.annotate_bands(result.table).to_csv(stage / "filtered.csv", index=False)
        write_parquet(stage / "ensemble.parquet", _ensemble_frame(result))
        from trucesim.plots.nowcast import nowcast_chart

        _save(nowcast_chart(result.table, result.periods, particles=particles,
                            posterior=Path(result.settings["posterior"]).name,
                            cutoff=result.settings["cutoff"]), stage / "nowcast.png")
        (stage / "report.md").write_text(_report(result, elapsed))
        write_json(stage / "manifest.json", _manifest("nowcast", result, elapsed))
    last = result.table.iloc[-1]
    print(f"\nnowcast: {particles} particles, {len(result.table)} periods, {elapsed:.1f} s")
    print(result.table[["period", "observed_per_day", "prior_mean", "filtered_mean",
                        "filtered_p05", "filtered_p95", "ess", "resampled"]]
          .to_string(index=False, float_format="{:.2f}".format))
    print(f"\n{last['period']}: record {last['observed_per_day']:.1f}/day, filtered "
          f"{last['filtered_mean']:.1f} (5-95%: {last['filtered_p05']:.1f}-"
          f"{last['filtered_p95']:.1f})")
    _warn_collapse(result)
    print(f"wrote {out}/filtered.csv, ensemble.parquet, nowcast.png, report.md, manifest.json")
    return 0


def main_job(particles: int | None, seed: int | None, out: Path | None, force: bool = False,
             posterior: Path | None = None, workers: int = 2) -> int:
    """``trucesim run`` with no scenario: the 2016-letter branches from the nowcast."""
    particles = particles or DEFAULT_MAIN_PARTICLES
    seed = 20160715 if seed is None else seed
    diagnostics.check_particles(particles)
    check_budget("--particles", "", particles, branches=True)
    read_posterior(posterior)
    out = Path(out) if out is not None else Path("results") / MAIN_JOB_NAME
    settings = {"particles": particles, "seed": seed, "posterior": str(posterior or "bundled"),
                "cutoff": NOWCAST_CUTOFF.isoformat(), "job": "main"}
    with result_folder(out, "run", settings, force=force) as stage:
        started = time.perf_counter()
        result = _filter(particles, posterior, seed, workers, keep_workers=True)
        branches = run_branches(result, workers=workers)
        elapsed = time.perf_counter() - started
        rel = pd.concat([branches.relative("hardline", "deaths_true"),
                         branches.relative("hardline", "homicides")], ignore_index=True)
        rel.to_csv(stage / "branches.csv", index=False)
        diagnostics.annotate_bands(result.table).to_csv(stage / "filtered.csv", index=False)
        frames = []
        for b, name in enumerate(branches.names):
            for metric in ("homicides", "deaths_true"):
                a = getattr(branches, metric)[b].astype(float)
                frames.append(pd.DataFrame({
                    "date": branches.dates, "branch": name, "metric": metric,
                    "mean": a.mean(axis=0), "p05": np.quantile(a, 0.05, axis=0),
                    "p50": np.quantile(a, 0.5, axis=0), "p95": np.quantile(a, 0.95, axis=0)}))
        write_parquet(stage / "branches_daily.parquet", pd.concat(frames, ignore_index=True))
        first14 = {n: float(branches.homicides[b, :, :14].mean())
                   for b, n in enumerate(branches.names)}
        last = result.table.iloc[-1]
        summary = {
            "job": "the 2016-letter branches from the protocol B nowcast",
            "particles": particles, "seed": seed, "cutoff": NOWCAST_CUTOFF.isoformat(),
            "branches_from": branches.start.isoformat(),
            "branches_to": branches.dates[-1].date().isoformat(),
            "intervals_carry": INTERVALS_CARRY,
            "filtered_2016_07_01_14": {"record_per_day": last["observed_per_day"],
                                       "filtered_mean": last["filtered_mean"],
                                       "p05": last["filtered_p05"], "p95": last["filtered_p95"]},
            "first_14_days_per_day": first14,
            "hardline_against_record": hardline_against_record(branches),
            "relative_to_hardline": rel.to_dict("records"),
            "seconds": {**result.seconds, "branches": branches.seconds,
                        "total": round(elapsed, 2)},
        }
        write_json(stage / "summary.json", summary)
        from trucesim.plots.nowcast import branches_chart

        _save(branches_chart(branches, result.periods, result.table, particles=particles,
                             posterior=Path(result.settings["posterior"]).name),
              stage / "branches.png")
        write_json(stage / "manifest.json", _manifest(
            "run", result, elapsed, job="main: 2016-letter branches from the nowcast",
            branches=branches.names,
            pairing="branch b of particle i starts from a copy of particle i's state, "
                    "parameters and generator state (same seed in every branch)"))
    _print_main(result, branches, rel, first14, out, elapsed)
    return 0


def hardline_against_record(branches) -> dict | None:
    """The branch that happened, judged against the record it never saw: hardline's mean
    recorded homicides per day from the branches' start to 2016-12-31, against the 2016
    total minus the record's January to mid-July (display only, never an input)."""
    from trucesim.calibration.observed import load_observed

    rows = {r.id: r for r in load_observed()}
    year = rows.get("homicides:2016-01-01:2016-12-31")
    if year is None or "hardline" not in branches.names:
        return None
    before = [r for r in rows.values() if r.quantity in ("homicides", "homicides_per_day")
              and r.start.year == 2016 and r.end < branches.start and r.days < 366]
    days = sum(r.days for r in before)
    if days != (branches.start - dt.date(2016, 1, 1)).days:  # the months must tile
        return None
    rest = year.value - sum(r.value if r.unit == "count" else r.per_day * r.days
                            for r in before)
    n = (dt.date(2016, 12, 31) - branches.start).days + 1
    per_particle = branches.homicides[branches.names.index("hardline"), :, :n].mean(axis=1)
    return {"from": branches.start.isoformat(), "to": "2016-12-31",
            "record_per_day": rest / n, "hardline_mean": float(per_particle.mean()),
            "hardline_p05": float(np.quantile(per_particle, 0.05)),
            "hardline_p95": float(np.quantile(per_particle, 0.95))}


def _warn_collapse(result: NowcastResult) -> None:
    """Say (stderr) when the ensemble rested on a few particles after some period."""
    import sys

    warning = diagnostics.collapse_warning(result.table, len(result.ensemble.particles))
    if warning:
        print(warning, file=sys.stderr)


def _print_main(result, branches, rel, first14, out, elapsed) -> None:
    last = result.table.iloc[-1]
    n = len(result.ensemble.particles)
    posterior = result.posterior
    print(f"\nThe 2016 letter from the nowcast: {n} particles filtered on the record "
          f"2010-01-01..{NOWCAST_CUTOFF}, then three paired branches "
          f"{branches.start}..{branches.dates[-1].date()} ({elapsed:.1f} s)")
    if posterior is not None:
        print(f"posterior: {posterior.source}\n  {posterior.description}")
    print(f"\nFiltered level, {last['period']}: {last['filtered_mean']:.1f} recorded homicides "
          f"a day (5-95%: {last['filtered_p05']:.1f}-{last['filtered_p95']:.1f}); record "
          f"{last['observed_per_day']:.1f}. First 14 days of each branch: "
          + ", ".join(f"{k} {v:.1f}" for k, v in first14.items()) + " a day.")
    print(f"\nDeaths {branches.start}..{branches.dates[-1].date()} by branch, relative to "
          "hardline continues (paired particle by particle; mean and 5-95% interval over the "
          f"ensemble). The intervals carry {INTERVALS_CARRY}.")
    for metric, title in (("deaths_true", "true deaths (recorded + disappeared)"),
                          ("homicides", "recorded homicides")):
        t = rel[rel["metric"] == metric]
        print(f"\n  {title}:")
        for _, r in t.iterrows():
            line = f"    {r['label']:22s} total {r['total_mean']:8,.0f} ({r['total_p05']:,.0f}-"
            line += f"{r['total_p95']:,.0f})"
            if r["branch"] != "hardline":
                line += (f"   vs hardline {r['vs_hardline']:+8,.0f} ({r['p05']:+,.0f} to "
                         f"{r['p95']:+,.0f}); lower in {r['share_below']:.0%} of particles")
            print(line)
    check = hardline_against_record(branches)
    if check is not None:
        print(f"\nThe branch that happened, against the record it never saw: hardline "
              f"continues, {check['from']}..{check['to']}: {check['hardline_mean']:.1f} "
              f"recorded homicides a day (5-95% of particles: {check['hardline_p05']:.1f}-"
              f"{check['hardline_p95']:.1f}); record {check['record_per_day']:.1f} (the 2016 "
              "total minus January to 14 July; shown, never an input).")
    _warn_collapse(result)
    print(f"\nwrote {out}/branches.csv, branches_daily.parquet, filtered.csv, branches.png, "
          "summary.json, manifest.json")
