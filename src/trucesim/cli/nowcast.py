"""``trucesim nowcast [CASE]``, and a case's branches (``trucesim run CASE``; with no
argument, the main job: the main case's branches).

``nowcast`` runs the bootstrap particle filter of :mod:`trucesim.calibration.nowcast`
over a case's record up to its as-of date (or an earlier ``--as-of``) and writes, into a
results folder built aside and moved into place (:func:`trucesim.folders.result_folder`):
``filtered.csv`` (one row per assimilated period: observed, prior and filtered per day,
ESS, resampling),
``ensemble.parquet`` (the filtered ensemble on the cutoff day: each particle's
posterior draw, drifted parameter values and state summary), ``nowcast.png``,
``report.md`` and ``manifest.json``.

``run CASE`` runs the same filter (fewer particles) to the case's as-of date and then the
case's branches from the filtered ensemble, paired particle by particle, to the branch
scenario's end; it prints deaths by branch relative to the status quo and writes
``branches.csv``, ``branches_daily.parquet``, ``filtered.csv``, ``branches.png``,
``summary.json`` and ``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from trucesim import budget
from trucesim.atomic import write_json, write_parquet
from trucesim.calibration import diagnostics
from trucesim.calibration.branches import run_branches
from trucesim.calibration.drift import DEFAULT_DRIFT
from trucesim.calibration.nowcast import NowcastResult, read_posterior, run_filter
from trucesim.calibration.periods import HOMICIDE_QUANTITIES, check_cutoff
from trucesim.calibration.state_noise import DEFAULT_STATE_NOISE
from trucesim.cases import Case, load_case, main_case_path
from trucesim.folders import manifest, result_folder
from trucesim.stats import quantiles

DEFAULT_NOWCAST_PARTICLES = 500
DEFAULT_MAIN_PARTICLES = 200


def check_budget(case: Case, what: str, key: str, particles: int,
                 as_of: dt.date | None = None, branches: bool = False) -> None:
    """:func:`trucesim.budget.check_particles` for a case's nowcast up to ``as_of`` (default
    its as-of date; ``branches``: and its branches), sized from the case's scenarios."""
    base = case.scenario
    as_of = case.as_of if as_of is None else as_of
    days = (as_of - base.start).days + 1
    extra = {}
    if branches:
        letter = case.branch_scenario
        extra = {"branches": len(letter.variants), "branch_days": (letter.end - as_of).days}
    budget.check_particles(what, key, particles, days, base.world.cliques,
                           base.world.burn_in_days, **extra)


def intervals_carry(as_of: dt.date, state_noise: str = "off",
                    draws: int | None = None) -> str:
    """What the branches' intervals carry, in words; ``draws``: how many distinct
    posterior draws the filtered ensemble still holds (said, since one draw carries no
    parameter uncertainty)."""
    noise = (", and the latent-state process noise (grievance, authority, arms, autonomy, "
             "members) going on in the branches" if state_noise == "on" else "")
    held = ""
    if draws is not None:
        held = (f": {draws} distinct draw{'s' if draws != 1 else ''} left in the ensemble"
                + (": the posterior's spread is barely in the intervals"
                   if draws < 10 else ""))
    return (f"posterior (each particle's parameter draw, as filtered{held}), state (the "
            "filtered "
            f"ensemble of model states on {as_of}) and noise (each branch's own future "
            f"randomness{noise})")


def distinct_draws(result) -> int:
    """How many distinct posterior draws the filtered ensemble holds on its cutoff day."""
    return len({d.posterior for d in result.ensemble.draws})


def get_case(spec: str | Path | Case | None) -> Case:
    """A loaded case: ``spec`` (a case file, folder or bundled name) or the main job's."""
    if isinstance(spec, Case):
        return spec
    return load_case(main_case_path() if spec is None else spec)


def _filter(case, particles, posterior_path, seed, workers, keep_workers=False,
            as_of=None, drift=DEFAULT_DRIFT, state_noise=DEFAULT_STATE_NOISE) -> NowcastResult:
    posterior = read_posterior(posterior_path, case, as_of)  # every check before anything runs
    with tqdm(total=1, desc="nowcast: periods", unit="period", disable=None) as bar:
        def progress(done, total, label):
            bar.total = total
            bar.set_postfix_str(label, refresh=False)
            bar.update(done - bar.n)

        return run_filter(particles, posterior=posterior, seed=seed, workers=workers,
                          progress=progress, keep_workers=keep_workers, case=case,
                          cutoff=as_of, drift=drift, state_noise=state_noise)


def _ensemble_frame(result: NowcastResult) -> pd.DataFrame:
    rows = []
    cut = result.day_of(dt.date.fromisoformat(result.settings["cutoff"]))
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
        f"# Nowcast of case {result.settings.get('case', '')}: bootstrap particle filter", "",
        f"{result.settings['particles']} particles, seed {result.settings['seed']}, "
        f"record assimilated from {result.scenario.start} to {result.settings['cutoff']} "
        f"({len(t)} periods), {elapsed:.1f} s.", "",
        f"Posterior: `{result.settings['posterior']}`"
        + (f" - {result.posterior.description}" if result.posterior is not None else ""), "",
        "Likelihood: negative binomial on each period's recorded homicides, mean = the "
        f"particle's simulated count, relative error cv = {result.settings['cv']}. "
        f"Resampling: systematic, when ESS < {result.settings['ess_threshold']} N and after "
        f"the last period. {drift_line(result)} {state_noise_line(result)}", "",
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
    return manifest(kind, **{
        **result.settings, "seconds": {**result.seconds, "total": round(elapsed, 2)},
        "seeding": "numpy SeedSequence(seed).spawn(particles + 1): child i seeds particle i, "
                   "the last the resampling and the filter's drift; each copy of a resampled "
                   "particle after the first gets a further child of the root; the drift in "
                   "the branches a child of the last; the latent-state noise draws from each "
                   "particle's own generator, and in the branches from SeedSequence(seed, "
                   "spawn_key=(particles, 1, i)), created afresh for each branch", **extra})


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)


def nowcast_command(particles: int | None, posterior: Path | None, seed: int | None,
                    out: Path | None, force: bool = False, workers: int = 2,
                    case: str | Path | Case | None = None, as_of: dt.date | None = None,
                    drift: str = DEFAULT_DRIFT, state_noise: str = DEFAULT_STATE_NOISE) -> int:
    """``trucesim nowcast [CASE] [--as-of DATE]``: run the filter and write its results
    folder (an earlier as-of date than the case's is allowed, a later one refused)."""
    case = get_case(case)
    as_of = case.as_of if as_of is None else as_of
    check_cutoff(as_of, case)
    particles = particles or DEFAULT_NOWCAST_PARTICLES
    seed = case.spec.seeds.nowcast if seed is None else seed
    diagnostics.check_particles(particles)
    check_budget(case, "--particles", "", particles, as_of)
    read_posterior(posterior, case, as_of)  # a bad file stops here: one line, exit 2
    out = Path(out) if out is not None else Path("results") / f"nowcast-{case.name}"
    settings = {"particles": particles, "seed": seed, "posterior": str(posterior or "bundled"),
                "cutoff": as_of.isoformat(), "case": str(case.path), "drift": drift,
                "state_noise": state_noise}
    with result_folder(out, "nowcast", settings, force=force) as stage:
        started = time.perf_counter()
        result = _filter(case, particles, posterior, seed, workers, as_of=as_of, drift=drift,
                         state_noise=state_noise)
        result.settings["case"] = case.name
        elapsed = time.perf_counter() - started
        diagnostics.annotate_bands(result.table).to_csv(stage / "filtered.csv", index=False)
        write_parquet(stage / "ensemble.parquet", _ensemble_frame(result))
        from trucesim.plots.nowcast import nowcast_chart

        _save(nowcast_chart(result.table, result.periods, particles=particles,
                            posterior=Path(result.settings["posterior"]).name,
                            cutoff=result.settings["cutoff"], case=case.name,
                            first=str(result.scenario.start)), stage / "nowcast.png")
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
             posterior: Path | None = None, workers: int = 2,
             case: str | Path | Case | None = None, drift: str = DEFAULT_DRIFT,
             state_noise: str = DEFAULT_STATE_NOISE) -> int:
    """``trucesim run [CASE]``: a case's branches from the nowcast on its as-of date (no
    CASE: the main job's case)."""
    case = get_case(case)
    status_quo = case.spec.branches.status_quo
    particles = particles or DEFAULT_MAIN_PARTICLES
    seed = case.spec.seeds.run if seed is None else seed
    diagnostics.check_particles(particles)
    check_budget(case, "--particles", "", particles, branches=True)
    read_posterior(posterior, case)
    out = (Path(out) if out is not None
           else Path("results") / f"{case.branch_scenario.name}-nowcast")
    settings = {"particles": particles, "seed": seed, "posterior": str(posterior or "bundled"),
                "cutoff": case.as_of.isoformat(), "job": "main", "case": str(case.path),
                "drift": drift, "state_noise": state_noise}
    with result_folder(out, "run", settings, force=force) as stage:
        started = time.perf_counter()
        result = _filter(case, particles, posterior, seed, workers, keep_workers=True,
                         drift=drift, state_noise=state_noise)
        result.settings["case"] = case.name
        branches = run_branches(result, workers=workers)
        elapsed = time.perf_counter() - started
        rel = pd.concat([branches.relative(status_quo, "deaths_true"),
                         branches.relative(status_quo, "homicides")], ignore_index=True)
        rel.to_csv(stage / "branches.csv", index=False)
        diagnostics.annotate_bands(result.table).to_csv(stage / "filtered.csv", index=False)
        frames = []
        for b, name in enumerate(branches.names):
            for metric in ("homicides", "deaths_true"):
                a = getattr(branches, metric)[b].astype(float)
                p05, p50, p95 = quantiles(a, axis=0)
                frames.append(pd.DataFrame({
                    "date": branches.dates, "branch": name, "metric": metric,
                    "mean": a.mean(axis=0), "p05": p05, "p50": p50, "p95": p95}))
        write_parquet(stage / "branches_daily.parquet", pd.concat(frames, ignore_index=True))
        first14 = {n: float(branches.homicides[b, :, :14].mean())
                   for b, n in enumerate(branches.names)}
        last = result.table.iloc[-1]
        summary = {
            "job": f"case {case.name}: its branches from the nowcast on {case.as_of}",
            "case": case.name, "status_quo": status_quo,
            "particles": particles, "seed": seed, "cutoff": case.as_of.isoformat(),
            "branches_from": branches.start.isoformat(),
            "branches_to": branches.dates[-1].date().isoformat(),
            "intervals_carry": intervals_carry(case.as_of, state_noise, distinct_draws(result)),
            "distinct_draws": distinct_draws(result),
            "drift": drift_settings(result),
            "state_noise": result.settings["state_noise_prior"],
            "log_evidence": float(result.table["log_evidence"].sum()),
            "ess_min": float(result.table["ess"].min()),
            "filtered_last_period": {"period": last["period"],
                                     "record_per_day": last["observed_per_day"],
                                     "filtered_mean": last["filtered_mean"],
                                     "p05": last["filtered_p05"], "p95": last["filtered_p95"]},
            "first_14_days_per_day": first14,
            "status_quo_against_record": status_quo_against_record(branches, case),
            "relative_to_status_quo": rel.to_dict("records"),
            "seconds": {**result.seconds, "branches": branches.seconds,
                        "total": round(elapsed, 2)},
        }
        write_json(stage / "summary.json", summary)
        from trucesim.plots.nowcast import branches_chart

        _save(branches_chart(branches, result.periods, result.table, particles=particles,
                             posterior=Path(result.settings["posterior"]).name,
                             case=case.name, status_quo=status_quo),
              stage / "branches.png")
        write_json(stage / "manifest.json", _manifest(
            "run", result, elapsed, job=f"case {case.name}: branches from the nowcast",
            branches=branches.names,
            pairing="branch b of particle i starts from a copy of particle i's state, "
                    "parameters and generator state (same seed in every branch)"))
    _print_main(case, result, branches, rel, first14, out, elapsed)
    return 0


def drift_settings(result: NowcastResult) -> dict:
    """The filter's drift setting as the summary records it: the setting, what drifts,
    its prior, and the drifted values against the draws on the cutoff day."""
    s = result.settings
    return {"setting": s["drift"], "drifting": s["drifting"], "sd": s["drift_sd"],
            "reversion_days": s["drift_reversion_days"], "at_cutoff": s["drift_at_cutoff"],
            "in_branches": "the reverting drift goes on, one path per particle shared by its "
                           "branches" if s["drifting"] else "every parameter at the draw"}


def drift_line(result: NowcastResult) -> str:
    """One sentence on the parameter drift the filter ran with."""
    s = result.settings
    if not s["drifting"]:
        return (f"Parameter drift: {s['drift']} (every parameter at its posterior draw, in "
                "the filter and in the branches).")
    at = "; ".join(f"{n} x{v['median_ratio']:.2f} ({v['p05']:.2f}-{v['p95']:.2f})"
                   for n, v in s["drift_at_cutoff"].items())
    return (f"Parameter drift: {s['drift']} (Ornstein-Uhlenbeck in log space toward the draw, "
            f"stationary sd {s['drift_sd']}, reversion time {s['drift_reversion_days']:g} days) "
            f"of {', '.join(s['drifting'])}; on the cutoff day, value / draw: {at}; the "
            "drift goes on in the branches.")


def state_noise_line(result: NowcastResult) -> str:
    """One sentence on the latent-state noise the filter ran with."""
    prior = result.settings.get("state_noise_prior") or {"setting": "off", "perturbed": {}}
    if not prior["perturbed"]:
        return "Latent-state noise: off (the state moves only by the model's mechanisms)."
    each = ", ".join(f"{n} ({v['space']} sd {v['sd']:g}, {v['reversion_days']:g} days)"
                     for n, v in prior["perturbed"].items())
    return ("Latent-state noise: on (per gang, Ornstein-Uhlenbeck offsets after each period "
            f"and every 30 days in the branches): {each}.")


def status_quo_against_record(branches, case: Case) -> list[dict]:
    """The status-quo branch judged against the record it never saw (display only, never
    an input): for each homicide row of the case's record that ends inside the branches'
    days, the branch's mean recorded homicides per day over the row's days after the as-of
    date, against the record over those days. A row that starts on or before the as-of
    date counts only if the record's finer homicide rows tile its days up to
    then (its count minus theirs is the record after the as-of date; both homicide
    quantities count, as in the nowcast)."""
    status_quo = case.spec.branches.status_quo
    if status_quo not in branches.names:
        return []
    first, last_day = branches.start, branches.dates[-1].date()
    rows = [r for r in case.record if r.quantity in HOMICIDE_QUANTITIES]
    out = []
    for row in rows:
        if not first <= row.end <= last_day:
            continue
        count = row.value if row.unit == "count" else row.per_day * row.days
        if row.start < first:
            before = sorted((r for r in rows if r is not row
                             and row.start <= r.start and r.end < first),
                            key=lambda r: r.start)
            if not _tiles(before, row.start, first - dt.timedelta(days=1)):
                continue  # the finer rows do not tile the row's days before the branches
            count -= sum(r.value if r.unit == "count" else r.per_day * r.days for r in before)
        lo = max(row.start, first)
        a, b = (lo - first).days, (row.end - first).days + 1
        per_particle = branches.homicides[branches.names.index(status_quo), :, a:b].mean(axis=1)
        out.append({"row": row.id, "from": lo.isoformat(), "to": row.end.isoformat(),
                    "record_per_day": count / (b - a),
                    "status_quo_mean": float(per_particle.mean()),
                    "status_quo_p05": float(quantiles(per_particle, 0.05)),
                    "status_quo_p95": float(quantiles(per_particle, 0.95))})
    return out


def _tiles(rows, start: dt.date, end: dt.date) -> bool:
    """True if ``rows`` (sorted by start) cover ``start``..``end`` day by day, once each."""
    day = start
    for r in rows:
        if r.start != day:
            return False
        day = r.end + dt.timedelta(days=1)
    return day == end + dt.timedelta(days=1)


def _warn_collapse(result: NowcastResult) -> None:
    """Say (stderr) when the ensemble rested on a few particles after some period."""
    import sys

    warning = diagnostics.collapse_warning(result.table, len(result.ensemble.particles))
    if warning:
        print(warning, file=sys.stderr)


def _print_main(case, result, branches, rel, first14, out, elapsed) -> None:
    last = result.table.iloc[-1]
    n = len(result.ensemble.particles)
    posterior = result.posterior
    status_quo = case.spec.branches.status_quo
    sq_label = branches.labels[branches.names.index(status_quo)]
    print(f"\nCase {case.name} from the nowcast: {n} particles filtered on the record "
          f"{result.scenario.start}..{case.as_of}, then {len(branches.names)} paired branches "
          f"{branches.start}..{branches.dates[-1].date()} ({elapsed:.1f} s)")
    if posterior is not None:
        print(f"posterior: {posterior.source}\n  {posterior.description}")
    print(drift_line(result))
    print(state_noise_line(result))
    print(f"\nFiltered level, {last['period']}: {last['filtered_mean']:.1f} recorded homicides "
          f"a day (5-95%: {last['filtered_p05']:.1f}-{last['filtered_p95']:.1f}); record "
          f"{last['observed_per_day']:.1f}. First 14 days of each branch: "
          + ", ".join(f"{k} {v:.1f}" for k, v in first14.items()) + " a day.")
    print(f"\nDeaths {branches.start}..{branches.dates[-1].date()} by branch, relative to "
          f"{sq_label} (the status quo; paired particle by particle; mean and 5-95% interval "
          f"over the ensemble). The intervals carry "
          + intervals_carry(case.as_of, result.settings.get("state_noise", "off"),
                            distinct_draws(result)) + ".")
    for metric, title in (("deaths_true", "true deaths (recorded + disappeared)"),
                          ("homicides", "recorded homicides")):
        t = rel[rel["metric"] == metric]
        print(f"\n  {title}:")
        for _, r in t.iterrows():
            line = f"    {r['label']:22s} total {r['total_mean']:8,.0f} ({r['total_p05']:,.0f}-"
            line += f"{r['total_p95']:,.0f})"
            if r["branch"] != status_quo:
                line += (f"   vs {status_quo} {r['vs_' + status_quo]:+8,.0f} ({r['p05']:+,.0f} "
                         f"to {r['p95']:+,.0f}); lower in {r['share_below']:.0%} of particles")
            print(line)
    for check in status_quo_against_record(branches, case):
        print(f"\nThe status quo against the record it never saw: {sq_label}, "
              f"{check['from']}..{check['to']}: {check['status_quo_mean']:.1f} recorded "
              f"homicides a day (5-95% of particles: {check['status_quo_p05']:.1f}-"
              f"{check['status_quo_p95']:.1f}); record {check['record_per_day']:.1f} (row "
              f"{check['row']}, after {case.as_of}; shown, never an input).")
    _warn_collapse(result)
    print(f"\nwrote {out}/branches.csv, branches_daily.parquet, filtered.csv, branches.png, "
          "summary.json, manifest.json")
