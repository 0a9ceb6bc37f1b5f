"""``trucesim backtest``: rolling-origin forecasts of El Salvador's record, scored against
two baselines (provisional: the bundled El Salvador setting until cases exist).

At each origin (default: the first day of every quarter from 2014-01-01 to the as-of
date 2016-07-14) the model is the nowcast's particle filter on the rows known then,
started from the protocol-A posterior (data to 2013-12-31), run on to every later row
(:mod:`trucesim.forecast.model`); the baselines are those of
:mod:`trucesim.forecast.baselines`. Results go to ``results/backtest`` (or ``--out``):
``forecasts.parquet``, ``scores.parquet``, ``report.md``, ``fan-policy-known.png``,
``fan-status-quo.png``, ``horizon.png``, ``manifest.json`` and the per-origin files
(``origins/``) a killed run resumes from.
"""

from __future__ import annotations

import datetime as dt
import time
from importlib import resources
from pathlib import Path

from trucesim.atomic import atomic_path, write_json
from trucesim.calibration.nowcast import NOWCAST_CUTOFF
from trucesim.calibration.observed import load_observed
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.posterior import load_posterior

DEFAULT_PARTICLES = 200
MAX_PARTICLES = 20_000
DEFAULT_SEED = 20140101
#: The posterior that serves every origin from 2014-01-01 (data to 2013-12-31).
BACKTEST_POSTERIOR = "el-salvador-A.toml"
FIRST_ORIGIN = dt.date(2014, 1, 1)
SUBJECT = "El Salvador backtest"


def _posterior_path() -> Path:
    return Path(str(resources.files("trucesim") / "bundled" / "posterior" / BACKTEST_POSTERIOR))


def parse_origins(text: str | None) -> list[dt.date]:
    """``--origins``: comma-separated ISO dates (default: quarterly from 2014-01-01 to
    the as-of date); one line on a bad date."""
    from trucesim.forecast.backtest import check_origins, quarterly_origins

    if text is None:
        return quarterly_origins(FIRST_ORIGIN, NOWCAST_CUTOFF)
    out = []
    for part in text.split(","):
        try:
            out.append(dt.date.fromisoformat(part.strip()))
        except ValueError:
            raise ConfigError("backtest", "--origins", f"{part.strip()!r} is not a date "
                              "(YYYY-MM-DD)") from None
    return check_origins(out, NOWCAST_CUTOFF, "backtest: --origins")


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


def backtest_command(origins: str | None = None, particles: str | None = None,
                     score_against: Path | None = None, seed: str | None = None,
                     out: Path | None = None, force: bool = False, workers: str | None = None,
                     progress: bool | None = None) -> int:
    """Run (or resume) the El Salvador backtest and write its results folder.

    Every argument is checked before anything runs or is written (one line, exit 2)."""
    from trucesim.forecast.backtest import run_backtest
    from trucesim.forecast.baselines import FlatBaseline, NegBinBaseline
    from trucesim.forecast.model import ModelForecaster

    when = parse_origins(origins)
    n = parse_count(particles, "--particles", DEFAULT_PARTICLES, 1, MAX_PARTICLES)
    seed_value = parse_count(seed, "--seed", DEFAULT_SEED, 0, 2**63 - 1)
    n_workers = parse_count(workers, "--workers", 2, 1, 64)
    as_of = NOWCAST_CUTOFF
    record = [r for r in load_observed() if r.end <= as_of]  # nothing after it is an input
    later = load_observed(score_against) if score_against is not None else None
    posterior_path = _posterior_path()
    posterior = load_posterior(posterior_path)
    model = ModelForecaster(posterior, n, seed=seed_value, workers=n_workers)
    for o in when:
        model.check_origin(o)
    out = Path(out) if out is not None else Path("results") / "backtest"
    baselines = {"flat": FlatBaseline(seed_value), "negbin": NegBinBaseline(seed_value)}
    settings = {"particles": n, "seed": seed_value, "posterior": BACKTEST_POSTERIOR,
                "score_against_file": None if score_against is None else str(score_against)}
    started = time.perf_counter()
    result = run_backtest(record, when, {"trucesim": model, **baselines}, as_of=as_of,
                          out=out, settings=settings, score_against=later,
                          last_day=model.last_day, force=force, progress=progress)
    elapsed = time.perf_counter() - started
    write_outputs(out, result, model, list(baselines), n, seed_value, score_against, elapsed)
    print_summary(result, list(baselines), out, elapsed)
    return 0


def write_outputs(out: Path, result, model, baselines: list[str], particles: int, seed: int,
                  score_against: Path | None, elapsed: float) -> None:
    """``report.md``, the figures and ``manifest.json`` from the driver's tables."""
    import matplotlib.pyplot as plt

    from trucesim import __version__
    from trucesim.forecast.backtest import MODES
    from trucesim.forecast.report import report
    from trucesim.plots.backtest import fan_chart, horizon_chart

    if result.forecasts.empty:
        return
    scored = (f"scored against {score_against} (a later record, never an input)"
              if score_against else f"scored against the record up to {NOWCAST_CUTOFF}")
    header = [f"Model: trucesim, the nowcast's particle filter ({particles} particles, seed "
              f"{seed}) from the protocol-A posterior `{BACKTEST_POSTERIOR}` on the rows "
              "known at each origin, run on in two modes: policy-known (the events that "
              "happened after the origin are given) and status-quo (policy frozen at the "
              "origin).", "",
              f"Baselines: {', '.join(baselines)} (see trucesim.forecast.baselines), fitted "
              f"on the rows known at each origin. Origins: "
              f"{', '.join(str(o.date()) for o in sorted(result.forecasts['origin'].unique()))};"
              f" {scored}. Time: {elapsed:.0f} s "
              f"({len(result.resumed)} origins read back from an earlier run).", ""]
    text = report(result.forecasts, result.scores, model="trucesim", baselines=baselines,
                  header=header, seconds=result.seconds, skipped=result.skipped)
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(text)
    caption = (f"trucesim: {particles} particles from the protocol-A posterior; baselines "
               f"{', '.join(baselines)}; {scored}.")
    models = ["trucesim", *baselines]
    for mode in MODES:
        fig = fan_chart(result.forecasts, mode, models=models, subject=SUBJECT, caption=caption)
        with atomic_path(out / f"fan-{mode}.png") as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
    fig = horizon_chart(result.scores, model="trucesim", baselines=baselines,
                        subject=SUBJECT, caption=caption)
    with atomic_path(out / "horizon.png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    write_json(out / "manifest.json", {
        "kind": "backtest", "trucesim_version": __version__, "particles": particles,
        "seed": seed, "posterior": BACKTEST_POSTERIOR, "as_of": NOWCAST_CUTOFF,
        "score_against": score_against, "seconds_total": round(elapsed, 1),
        "seconds_model": {str(k): v for k, v in model.seconds.items()},
        "resumed_origins": result.resumed, "skipped": result.skipped,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})


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
