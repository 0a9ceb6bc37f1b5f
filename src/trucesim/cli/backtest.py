"""``trucesim backtest [CASE]``: rolling-origin forecasts of a case's record, scored
against two baselines.

Everything comes from the case (:mod:`trucesim.cases`; no CASE: the main job's): its
record up to its as-of date, its scenario (the timeline as it happened), its events, its
as-of date and its posteriors. At each origin (default:
:func:`~trucesim.forecast.backtest.default_origins`: with a hindcast cutoff, the day
after it and every later quarter to the as-of date; without one, the day after the as-of
date, scored only against a later record) the model is the case's nowcast on the rows
known then, from the case's posterior fitted on the most data ending before the origin,
run on to every later row (:mod:`trucesim.forecast.model`); the baselines are those of
:mod:`trucesim.forecast.baselines`. Results go to ``results/backtest-<case>`` (or
``--out``): ``forecasts.parquet``, ``scores.parquet``, ``report.md``,
``fan-policy-known.png``, ``fan-status-quo.png``, ``horizon.png``, ``manifest.json`` and
the per-origin files (``origins/``) a killed run resumes from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from pathlib import Path

from trucesim.atomic import atomic_path
from trucesim.calibration.drift import DEFAULT_DRIFT
from trucesim.calibration.observed import ObservedRow, load_observed
from trucesim.calibration.state_noise import DEFAULT_STATE_NOISE
from trucesim.cases import Case
from trucesim.cli.registry import MAX_PARTICLES
from trucesim.folders import write_manifest
from trucesim.scenario.errors import ConfigError
from trucesim.seeds import parse_seed

DEFAULT_PARTICLES = 200
MAX_WORKERS = 64
#: What the command writes besides the driver's tables (:func:`write_outputs`).
WRITES = ("report.md", "fan-policy-known.png", "fan-status-quo.png", "horizon.png",
          "manifest.json")


def parse_origins(text: str | None, case: Case) -> list[dt.date]:
    """``--origins``: comma-separated ISO dates (default: the case's,
    :func:`~trucesim.forecast.backtest.default_origins`); one line on a bad date."""
    from trucesim.forecast.backtest import check_origins, default_origins

    if text is None:
        return default_origins(case.as_of, case.spec.hindcast_cutoff)
    out = []
    for part in text.split(","):
        try:
            out.append(dt.date.fromisoformat(part.strip()))
        except ValueError:
            raise ConfigError("backtest", "--origins", f"{part.strip()!r} is not a date "
                              "(YYYY-MM-DD)") from None
    return check_origins(out, case.as_of, "backtest", "--origins")


def parse_count(text: str | None, name: str, default: int, low: int, high: int) -> int:
    """An integer option, refused in one line outside ``low``..``high``."""
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError("backtest", name, f"{text!r} is not an integer") from None
    if not low <= value <= high:
        raise ConfigError("backtest", name, f"{value} is outside {low} to {high}")
    return value


def _seed(text: str) -> int:
    """``--seed`` (:func:`trucesim.seeds.parse_seed`), refused in one line."""
    try:
        return parse_seed(text)
    except ValueError as exc:
        raise ConfigError("backtest", "--seed", str(exc)) from None


def check_scorable(case: Case, origins: list[dt.date], record: list[ObservedRow],
                   later: list[ObservedRow] | None, last_day: dt.date) -> None:
    """Refuse, in one line, origins none of which has a row to forecast (a case whose
    record ends at the day its only posterior's data end, with no later record)."""
    from trucesim.forecast.backtest import target_rows

    if any(target_rows(record, o, case.as_of, score_against=later, last_day=last_day)
           for o in origins):
        return
    shown = ", ".join(str(o) for o in origins)
    where = ("the later record has no homicide row ending on or after them, by the model's "
             f"last day {last_day}" if later is not None else
             f"no homicide row of its record ends on or after the origin and by its as-of "
             f"date {case.as_of}; a later record (--score-against FILE) could score it")
    why = "" if case.spec.hindcast_cutoff is not None or later is not None else (
        " (it has no hindcast cutoff: its posteriors' data run to its as-of date, so "
        "the only origin they may serve is the day after it)")
    raise ConfigError(str(case.path), "origins", f"no origin of case {case.name} can be "
                      f"scored{why}: at {shown} {where}")


def file_digest(path: str | Path) -> str:
    """A short hash of a file's bytes (a posterior refitted in place is another one)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def backtest_command(origins: str | None = None, particles: str | None = None,
                     score_against: Path | None = None, seed: str | None = None,
                     out: Path | None = None, force: bool = False, workers: str | None = None,
                     progress: bool | None = None, case: str | Path | Case | None = None,
                     drift: str = DEFAULT_DRIFT,
                     state_noise: str = DEFAULT_STATE_NOISE) -> int:
    """Run (or resume) a case's backtest and write its results folder.

    Every argument is checked before anything runs or is written (one line, exit 2)."""
    from trucesim.calibration import diagnostics
    from trucesim.calibration.nowcast import nowcast_scenario
    from trucesim.cli.nowcast import check_budget, get_case
    from trucesim.forecast.backtest import run_backtest
    from trucesim.forecast.baselines import FlatBaseline, NegBinBaseline
    from trucesim.forecast.model import ModelForecaster

    case = get_case(case)
    when = parse_origins(origins, case)
    n = parse_count(particles, "--particles", DEFAULT_PARTICLES, 1, MAX_PARTICLES)
    diagnostics.check_particles(n)
    check_budget(case, "--particles", "", n)
    seed_value = case.spec.seeds.nowcast if seed is None else _seed(seed)
    n_workers = parse_count(workers, "--workers", 2, 1, MAX_WORKERS)
    record = case.rows_until()  # nothing after the as-of date is an input
    later = load_observed(score_against) if score_against is not None else None
    scenario = nowcast_scenario(case)
    check_scorable(case, when, record, later, scenario.end)
    model = ModelForecaster(case, n, seed=seed_value, workers=n_workers, drift=drift,
                            state_noise=state_noise, scenario=scenario)
    served = {o: model.posterior_for(o) for o in when}  # refuses an origin none may serve
    out = Path(out) if out is not None else Path("results") / f"backtest-{case.name}"
    baselines = {"flat": FlatBaseline(seed_value), "negbin": NegBinBaseline(seed_value)}
    posteriors = {p.source: file_digest(p.source) for p in served.values()}
    settings = {"case": case.name, "case_file": str(case.path), "particles": n,
                "seed": seed_value, "drift": drift, "state_noise": state_noise,
                "posteriors": posteriors,
                "scenario": hashlib.sha256(json.dumps(model.scenario.to_data(), default=str,
                                                      sort_keys=True).encode()).hexdigest()[:16],
                "score_against_file": None if score_against is None else str(score_against)}
    started = time.perf_counter()
    result = run_backtest(record, when, {"trucesim": model, **baselines}, as_of=case.as_of,
                          out=out, settings=settings, score_against=later,
                          last_day=model.last_day, force=force, progress=progress,
                          also_writes=WRITES)
    elapsed = time.perf_counter() - started
    write_outputs(out, result, case, served, list(baselines), settings, score_against,
                  elapsed, model.seconds)
    print_summary(result, list(baselines), out, elapsed)
    return 0


def served_lines(served: dict) -> list[str]:
    """Which posterior served which origins, one line each."""
    by: dict = {}
    for origin, p in sorted(served.items()):
        by.setdefault(p.source, (p, []))[1].append(origin)
    return [f"`{Path(p.source).name}` (protocol {p.protocol}, data to {p.data_until}): "
            f"origins {', '.join(str(o) for o in origins)}" for p, origins in by.values()]


def write_outputs(out: Path, result, case: Case, served: dict, baselines: list[str],
                  settings: dict, score_against: Path | None, elapsed: float,
                  model_seconds: dict) -> None:
    """``report.md``, the figures and ``manifest.json`` from the driver's tables;
    ``settings`` are the backtest's (particles, seed, drift, state_noise, ...)."""
    import matplotlib.pyplot as plt

    from trucesim.forecast.backtest import MODES
    from trucesim.forecast.report import report
    from trucesim.plots.backtest import fan_chart, horizon_chart

    if result.forecasts.empty:
        return
    particles, seed, drift, state_noise = (settings[k] for k in (
        "particles", "seed", "drift", "state_noise"))
    scored = (f"scored against {score_against} (a later record, never an input)"
              if score_against else f"scored against the record up to {case.as_of}")
    origins = sorted(result.forecasts["origin"].unique())
    first = min(o.date() for o in origins)
    events = [e for e in case.events if first <= e.date <= case.as_of]
    header = [f"Case: {case.name} (`{case.path}`), as of {case.as_of}.", "",
              f"Model: trucesim, the case's nowcast (bootstrap particle filter, {particles} "
              f"particles, seed {seed}, drift {drift}, state noise {state_noise}) on the "
              "rows known at each origin, "
              "from the case's posterior fitted on the most data ending before it:", "",
              *[f"- {s}" for s in served_lines(served)], "",
              "then run on in two modes: policy-known (the timeline as it happened after "
              "the origin is given, up to the as-of date) and status-quo (policy frozen at "
              "the origin).", "",
              f"Baselines: {', '.join(baselines)} (see trucesim.forecast.baselines), fitted "
              f"on the rows known at each origin. Origins: "
              f"{', '.join(str(o.date()) for o in origins)}; {scored}. Time: {elapsed:.0f} s "
              f"({len(result.resumed)} origins read back from an earlier run).", ""]
    if events:
        header += [f"Events of the case from {first} to {case.as_of} (in the timeline of "
                   "policy-known mode after each origin; not in status-quo mode):", "",
                   *[f"- {e.date}: {e.event}" for e in events], ""]
    text = report(result.forecasts, result.scores, model="trucesim", baselines=baselines,
                  header=header, seconds=result.seconds, skipped=result.skipped)
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(text)
    caption = (f"trucesim: {particles} particles from the case's posteriors; baselines "
               f"{', '.join(baselines)}; {scored}.")
    subject = f"Backtest of case {case.name}"
    models = ["trucesim", *baselines]
    for mode in MODES:
        fig = fan_chart(result.forecasts, mode, models=models, subject=subject, caption=caption)
        with atomic_path(out / f"fan-{mode}.png") as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
    fig = horizon_chart(result.scores, model="trucesim", baselines=baselines,
                        subject=subject, caption=caption)
    with atomic_path(out / "horizon.png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    write_manifest(
        out, "backtest", case=case.name, case_file=str(case.path), as_of=case.as_of,
        particles=particles, seed=seed, drift=drift, state_noise=state_noise,
        posteriors={str(o): {"file": p.source, "protocol": p.protocol,
                             "data_until": p.data_until} for o, p in sorted(served.items())},
        score_against=score_against, seconds_total=round(elapsed, 1),
        seconds_model={str(k): v for k, v in model_seconds.items()},
        resumed_origins=result.resumed, skipped=result.skipped)


def print_summary(result, baselines: list[str], out: Path, elapsed: float) -> None:
    from trucesim.forecast.report import losses, relative_table

    if result.scores.empty:
        print(f"backtest: no record row to forecast at any origin; wrote {out}")
        return
    table = relative_table(result.scores, "trucesim", baselines)
    per_mode = len(result.scores) // (len(baselines) + 1) // result.scores["mode"].nunique()
    print(f"\nbacktest: {result.scores['origin'].nunique()} origins, {per_mode} forecasts "
          f"per model and mode, {elapsed:.0f} s")
    print(table.to_string(index=False, float_format="{:.2f}".format))
    for s in losses(table, "trucesim", baselines):
        print(f"  {s}")
    print(f"wrote {out}/report.md, forecasts.parquet, scores.parquet, fan-*.png, horizon.png")
