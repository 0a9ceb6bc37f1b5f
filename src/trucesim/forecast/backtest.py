"""The rolling-origin backtest: forecasts made at past dates, scored against the record.

**Origins.** An origin is the first day the forecaster does not know: at origin ``D`` the
known record is every row that ends before ``D`` (``end < D``); nothing else of the
record is ever passed to a forecaster. The latest origin is the day after the as-of
date (:func:`latest_origin`), whose targets can only come from a later record.

**Targets.** At origin ``D`` the rows to forecast are the rows of the chosen quantities
(homicides) that end on or after ``D`` and on or before the as-of date: every figure
not yet published at ``D``. A row that started before ``D`` (a year that was a quarter
gone) is forecast whole, since its figure was unknown at ``D``; the finer rows inside it
that ended before ``D`` are known. With a later record (``score_against``) the targets
are instead that record's rows ending on or after ``D``, whatever their end (within the
forecasters' last day): it is used only to score, never as an input. A target is handed
to a forecaster with its value hidden (NaN). Its **horizon** is the days from the last
known day (``D - 1``) to the row's last day: ``(end - D).days + 1``.

**Modes.** Each forecaster is called once per origin and mode, ``policy-known`` (the
events that really happened after the origin are given, as a scenario model is used for
"what if") and ``status-quo`` (policy frozen at the origin); the mode is a label the
forecaster receives (a baseline ignores it).

**Forecasters.** Any callable ``forecaster(task) -> (draws, targets)`` array of each
target's mean per day (:class:`Task`). Quantiles at :data:`~trucesim.forecast.scores.
QUANTILE_LEVELS` are taken from the draws.

**Output** (in ``out``): ``origins/<origin>.parquet`` per origin, written atomically when
the origin is done (a killed run resumes at the first origin missing), then
``forecasts.parquet`` (tidy: origin, mode, model, quantity, period_start, period_end,
horizon, quantile, value, observed) and ``scores.parquet`` (one row per origin, mode,
model and target: WIS and its parts, absolute error of the median, 50% and 90%
coverage). The folder carries trucesim's marker with the run's settings (a folder with
other settings is replaced only with ``force``; see :mod:`trucesim.folders`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from trucesim.atomic import write_json, write_parquet
from trucesim.calibration.observed import ObservedRow
from trucesim.folders import resumable_folder
from trucesim.forecast.scores import QUANTILE_LEVELS, quantiles_of, score
from trucesim.scenario.errors import ConfigError

#: The two modes, reported apart.
MODES = ("policy-known", "status-quo")
#: Record quantities forecast by default (recorded homicides, as a mean per day).
TARGET_QUANTITIES = ("homicides", "homicides_per_day")
#: Results folder kind (its marker).
KIND = "backtest"
#: Columns of the tidy forecast table.
FORECAST_COLUMNS = ("origin", "mode", "model", "quantity", "period_start", "period_end",
                    "horizon", "quantile", "value", "observed")
KEY_COLUMNS = ("origin", "mode", "quantity", "period_start", "period_end")
#: What the driver writes into the results folder.
WRITES = ("origins", "forecasts.parquet", "scores.parquet")


@dataclass(frozen=True)
class Task:
    """What a forecaster is given at one origin, in one mode.

    Attributes:
        origin: the first day not known.
        mode: one of :data:`MODES`.
        known: every record row that ends before ``origin`` (all quantities).
        targets: the rows to forecast, values hidden (NaN).
    """

    origin: dt.date
    mode: str
    known: tuple[ObservedRow, ...]
    targets: tuple[ObservedRow, ...]


Forecaster = Callable[[Task], np.ndarray]


class NoForecast(ValueError):  # noqa: N818 (a result, not a failure of the run)
    """A forecaster cannot forecast at this origin (too few known rows for its fit): the
    driver leaves it out there and lists why (:attr:`BacktestResult.skipped`)."""


def horizon(row: ObservedRow, origin: dt.date) -> int:
    """Days from the last known day (``origin - 1``) to the row's last day."""
    return (row.end - origin).days + 1


def known_rows(record: Sequence[ObservedRow], origin: dt.date) -> tuple[ObservedRow, ...]:
    """The rows of ``record`` known at ``origin``: those that end before it."""
    return tuple(r for r in record if r.end < origin)


def target_rows(record: Sequence[ObservedRow], origin: dt.date, as_of: dt.date, *,
                score_against: Sequence[ObservedRow] | None = None,
                quantities: Sequence[str] = TARGET_QUANTITIES,
                last_day: dt.date | None = None) -> list[ObservedRow]:
    """The rows to forecast at ``origin``, with their values (see the module docstring),
    ordered by end, then start."""
    if score_against is None:
        rows = [r for r in record if origin <= r.end <= as_of]
    else:
        rows = [r for r in score_against if r.end >= origin]
    rows = [r for r in rows if r.quantity in quantities
            and (last_day is None or r.end <= last_day)]
    return sorted(rows, key=lambda r: (r.end, r.start, r.quantity))


def hidden(row: ObservedRow) -> ObservedRow:
    """The row with its value hidden (NaN) and no note: what a forecaster sees of a
    target."""
    return dataclasses.replace(row, value=math.nan, note="", source="")


def latest_origin(as_of: dt.date) -> dt.date:
    """The latest origin a case allows: the day after its as-of date (the first day its
    analyst did not know). Its forecast can be scored only against a later record."""
    return as_of + dt.timedelta(days=1)


def check_origins(origins: Sequence[dt.date], as_of: dt.date, source: str = "backtest",
                  key: str = "origins") -> list[dt.date]:
    """The origins sorted, refused in one line if empty, repeated or after the day after
    ``as_of`` (:func:`latest_origin`)."""
    if not origins:
        raise ConfigError(source, key, "no origin given")
    out = sorted(origins)
    for a, b in zip(out, out[1:], strict=False):
        if a == b:
            raise ConfigError(source, key, f"{a} is given twice")
    if out[-1] > latest_origin(as_of):
        raise ConfigError(source, key, f"{out[-1]} is after the as-of date {as_of} "
                          f"(the latest origin is the day after it, {latest_origin(as_of)}): "
                          "nothing after the as-of date may be an input")
    return out


def next_quarter(d: dt.date) -> dt.date:
    """The first day of the quarter after the one holding ``d``."""
    m = (d.month - 1) // 3 * 3 + 4
    return dt.date(d.year + (m > 12), (m - 1) % 12 + 1, 1)


def quarterly_origins(first: dt.date, last: dt.date) -> list[dt.date]:
    """``first``, then the first day of every later quarter, up to ``last``."""
    out, d = [], first
    while d <= last:
        out.append(d)
        d = next_quarter(d)
    return out


def default_origins(as_of: dt.date, hindcast_cutoff: dt.date | None) -> list[dt.date]:
    """A case's default origins: with a hindcast cutoff, the day after it and the first
    day of every later quarter up to the as-of date (the hindcast posterior serves them
    all); without one, the day after the as-of date alone (:func:`latest_origin`: the
    only day a posterior fitted up to the as-of date may serve, scored only against a
    later record)."""
    if hindcast_cutoff is None:
        return [latest_origin(as_of)]
    return quarterly_origins(hindcast_cutoff + dt.timedelta(days=1), as_of)


@dataclass
class BacktestResult:
    """What the driver leaves: the tidy tables, seconds per origin and model, and the
    origins that were read back from an earlier (killed) run."""

    forecasts: pd.DataFrame
    scores: pd.DataFrame
    seconds: pd.DataFrame
    resumed: list[dt.date] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def forecast_origin(origin: dt.date, record: Sequence[ObservedRow],
                    targets: Sequence[ObservedRow], forecasters: dict[str, Forecaster],
                    modes: Sequence[str] = MODES,
                    levels: Sequence[float] = QUANTILE_LEVELS,
                    skipped: list[str] | None = None) -> tuple[pd.DataFrame, dict]:
    """Every forecaster's quantiles of ``targets`` at ``origin`` in every mode (the tidy
    table of the module docstring) and the seconds each forecaster took. A forecaster
    that raises :class:`NoForecast` is left out at this origin, its reason appended to
    ``skipped``."""
    known = known_rows(record, origin)
    masked = tuple(hidden(r) for r in targets)
    observed = np.array([r.per_day for r in targets])
    frames, seconds = [], {}
    for name, fc in forecasters.items():
        t0 = time.perf_counter()
        for mode in modes:
            try:
                draws = np.asarray(fc(Task(origin, mode, known, masked)), dtype=float)
            except NoForecast as exc:
                if skipped is not None:
                    skipped.append(f"{origin}: {name}: {exc}")
                break
            if draws.ndim != 2 or draws.shape[1] != len(targets):
                raise ValueError(f"forecaster {name!r} returned shape {draws.shape} for "
                                 f"{len(targets)} targets")
            q = quantiles_of(draws, levels)
            n, k = q.shape
            frames.append(pd.DataFrame({
                "origin": pd.Timestamp(origin), "mode": mode, "model": name,
                "quantity": np.repeat([r.quantity for r in targets], k),
                "period_start": pd.to_datetime(np.repeat([r.start for r in targets], k)),
                "period_end": pd.to_datetime(np.repeat([r.end for r in targets], k)),
                "horizon": np.repeat([horizon(r, origin) for r in targets], k),
                "quantile": np.tile(np.asarray(levels, dtype=float), n),
                "value": q.ravel(), "observed": np.repeat(observed, k)}))
        seconds[name] = round(time.perf_counter() - t0, 3)
    if not frames:
        return pd.DataFrame(columns=list(FORECAST_COLUMNS)), seconds
    return pd.concat(frames, ignore_index=True)[list(FORECAST_COLUMNS)], seconds


def score_table(forecasts: pd.DataFrame,
                levels: Sequence[float] = QUANTILE_LEVELS) -> pd.DataFrame:
    """One row per origin, mode, model and target with every score
    (:data:`~trucesim.forecast.scores.SCORE_COLUMNS`)."""
    keys = ["origin", "mode", "model", "quantity", "period_start", "period_end", "horizon",
            "observed"]
    wide = forecasts.pivot_table(index=keys, columns="quantile", values="value",
                                 aggfunc="first").reset_index()
    lv = np.asarray(levels, dtype=float)
    q = wide[list(lv)].to_numpy()
    scores = score(q, wide["observed"].to_numpy(), levels)
    out = pd.concat([wide[keys].reset_index(drop=True), scores], axis=1)
    return out.sort_values(keys[:6], ignore_index=True)


def digest(rows: Sequence[ObservedRow]) -> str:
    """A short hash of rows' dates, quantities, values and units (what a forecast or a
    score reads), so that a resumed backtest never mixes two records."""
    import hashlib

    text = "\n".join(f"{r.start},{r.end},{r.quantity},{r.value!r},{r.unit}" for r in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def origin_file(out: Path, origin: dt.date) -> Path:
    return Path(out) / "origins" / f"{origin.isoformat()}.parquet"


def run_backtest(record: Sequence[ObservedRow], origins: Sequence[dt.date],
                 forecasters: dict[str, Forecaster], *, as_of: dt.date, out: Path,
                 settings: dict, modes: Sequence[str] = MODES,
                 score_against: Sequence[ObservedRow] | None = None,
                 quantities: Sequence[str] = TARGET_QUANTITIES,
                 last_day: dt.date | None = None, force: bool = False,
                 levels: Sequence[float] = QUANTILE_LEVELS,
                 progress: bool | None = None,
                 also_writes: Sequence[str] = ()) -> BacktestResult:
    """Run (or resume) a backtest into ``out`` and return its tables.

    Args:
        record: the record known at the as-of date (rows after it are never inputs).
        origins: forecast origins, each on or before the day after ``as_of``.
        forecasters: name -> callable (:class:`Task` -> draws x targets).
        as_of: the case's as-of date.
        out: results folder (resumed when it holds a backtest with the same ``settings``).
        settings: everything that determines the result (written in the marker).
        score_against: a later record, used only to score.
        last_day: the last day the forecasters can forecast; later targets are skipped.
        force: replace a backtest made with other settings.
        also_writes: the files the caller writes into ``out`` afterwards (the report, the
            figures): listed in the folder's marker as trucesim's.

    Raises:
        ConfigError: bad origins or modes, or a folder that may not be written (one line).
    """
    origins = check_origins(origins, as_of)
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise ConfigError("backtest", "modes", f"{bad or 'none'}: valid modes are "
                          f"{', '.join(MODES)}")
    out = Path(out)
    full = {**settings, "origins": [o.isoformat() for o in origins], "modes": list(modes),
            "as_of": as_of.isoformat(), "models": list(forecasters),
            "levels": list(levels), "record": digest(record),
            "score_against": None if score_against is None else digest(score_against)}
    resumed, skipped, frames, seconds = [], [], [], []
    if last_day is not None:
        late = [r for r in (score_against if score_against is not None else record)
                if r.quantity in quantities and r.end > last_day]
        skipped += [f"{r.id}: ends after the forecasters' last day {last_day}" for r in late]
    with resumable_folder(out, KIND, full, force=force, files=[*WRITES, *also_writes]):
        (out / "origins").mkdir(exist_ok=True)
        with tqdm(origins, desc="backtest: origins", unit="origin", disable=progress is False
                  or None) as bar:
            for origin in bar:
                bar.set_postfix_str(origin.isoformat(), refresh=False)
                path = origin_file(out, origin)
                targets = target_rows(record, origin, as_of, score_against=score_against,
                                      quantities=quantities, last_day=last_day)
                if not targets:
                    skipped.append(f"{origin}: no record row to forecast")
                    continue
                if path.is_file():
                    frames.append(pd.read_parquet(path))
                    timing = path.with_suffix(".json")
                    if timing.is_file():
                        skipped += json.loads(timing.read_text()).get("skipped", [])
                    resumed.append(origin)
                    continue
                left_out: list[str] = []
                frame, secs = forecast_origin(origin, record, targets, forecasters, modes,
                                              levels, left_out)
                skipped += left_out
                write_json(path.with_suffix(".json"), {"origin": origin, "seconds": secs,
                                                       "skipped": left_out})
                write_parquet(path, frame)
                frames.append(pd.read_parquet(path))  # as a resumed run would read it
        for origin in origins:
            timing = origin_file(out, origin).with_suffix(".json")
            if timing.is_file():
                secs = json.loads(timing.read_text())["seconds"]
                seconds += [{"origin": origin, "model": k, "seconds": v}
                            for k, v in secs.items()]
        frames = [f for f in frames if len(f)]
        forecasts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=list(FORECAST_COLUMNS))
        scores = score_table(forecasts, levels) if frames else pd.DataFrame()
        write_parquet(out / "forecasts.parquet", forecasts)
        write_parquet(out / "scores.parquet", scores)
    return BacktestResult(forecasts, scores, pd.DataFrame(seconds), resumed, skipped)
