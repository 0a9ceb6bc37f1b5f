"""The backtest's report: relative WIS against each baseline, coverage, per origin and
horizon, and plain sentences where the model loses.

Horizons are grouped into bands (:data:`HORIZON_BANDS`, days from the last known day to
the row's end) for the summaries; the per-target table keeps each exact horizon.
Relative WIS is computed within a mode over the targets every model forecast
(:func:`~trucesim.forecast.scores.relative_wis`, pairwise with geometric means).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trucesim.forecast.scores import relative_wis

#: Horizon bands (first day, last day, label).
HORIZON_BANDS: tuple[tuple[int, int, str], ...] = (
    (1, 90, "1-90 days"), (91, 180, "91-180 days"), (181, 365, "181-365 days"),
    (366, 730, "1-2 years"), (731, 10**6, "over 2 years"),
)
TARGET_KEYS = ("origin", "quantity", "period_start", "period_end")


def band(h: int) -> str:
    """The label of the horizon band holding ``h`` days."""
    for lo, hi, label in HORIZON_BANDS:
        if lo <= h <= hi:
            return label
    raise ValueError(f"horizon {h} is before the first band")


def band_order() -> list[str]:
    return [label for _, _, label in HORIZON_BANDS]


def relative_table(scores: pd.DataFrame, model: str, baselines: Sequence[str],
                   by: Sequence[str] = ()) -> pd.DataFrame:
    """Relative WIS of ``model`` against each baseline, per mode and the ``by`` groups,
    with the number of targets and the model's 50% and 90% coverage."""
    rows = []
    s = scores.assign(band=scores["horizon"].map(band))
    for key, g in s.groupby(["mode", *by], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(["mode", *by], key, strict=True))
        mine = g[g["model"] == model]
        row["targets"] = len(mine)
        for b in baselines:
            try:
                row[f"vs {b}"] = float(relative_wis(g, b, TARGET_KEYS)[model])
            except (ValueError, KeyError):
                row[f"vs {b}"] = np.nan
        row["cover 50%"] = float(mine["cover_50"].mean()) if len(mine) else np.nan
        row["cover 90%"] = float(mine["cover_90"].mean()) if len(mine) else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    if "band" in by and len(out):
        out["band"] = pd.Categorical(out["band"], band_order(), ordered=True)
        out = out.sort_values(["mode", "band"], ignore_index=True)
        out["band"] = out["band"].astype(str)
    return out


def losses(table: pd.DataFrame, model: str, baselines: Sequence[str],
           where: str = "band") -> list[str]:
    """A plain sentence for every group of ``table`` (from :func:`relative_table`) in
    which ``model`` does not beat a baseline (relative WIS at least 1), and for every
    group whose 90% intervals cover clearly less than 90% of the record."""
    out = []
    for _, r in table.iterrows():
        place = f"in {r['mode']} mode" + (f" at horizons of {r[where]}" if where in r else "")
        for b in baselines:
            v = r[f"vs {b}"]
            if np.isfinite(v) and v >= 1:
                out.append(f"{model} loses to the {b} baseline {place}: relative WIS "
                           f"{v:.2f} over {r['targets']} targets.")
        c90 = r["cover 90%"]
        if np.isfinite(c90) and c90 < 0.8:
            out.append(f"{model}'s 90% intervals are too narrow {place}: they hold "
                       f"{c90:.0%} of the record over {r['targets']} targets.")
    return out


def _md(df: pd.DataFrame, floatfmt: str = "{:.2f}") -> list[str]:
    def cell(v) -> str:
        if isinstance(v, float | np.floating):
            return "" if not np.isfinite(v) else floatfmt.format(v)
        if isinstance(v, pd.Timestamp):
            return v.date().isoformat()
        return str(v)

    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return lines


def report(forecasts: pd.DataFrame, scores: pd.DataFrame, *, model: str,
           baselines: Sequence[str], header: Sequence[str] = (),
           seconds: pd.DataFrame | None = None, skipped: Sequence[str] = ()) -> str:
    """``report.md``: the summaries, the sentences where ``model`` loses, the per-origin
    table and every target's forecasts and scores."""
    lines = ["# Backtest: rolling-origin forecasts scored against baselines", "", *header, ""]
    lines += ["Scores: weighted interval score (WIS, Bracher et al. 2021) of the 23 hub "
              "quantiles of each row's mean recorded homicides per day; relative WIS "
              "pairwise with geometric means (Cramer et al. 2022): below 1 the model beats "
              "the baseline. Coverage: share of rows inside the central 50% and 90% "
              "intervals. Horizon: days from the last known day to the row's last day.", ""]
    overall = relative_table(scores, model, baselines)
    by_band = relative_table(scores, model, baselines, ("band",))
    by_origin = relative_table(scores, model, baselines, ("origin",))
    lines += ["## Where the model loses", ""]
    said = losses(overall, model, baselines) + losses(by_band, model, baselines)
    lines += [f"- {s}" for s in said] if said else [
        f"- {model} beats both baselines in every mode and horizon band, and its 90% "
        "intervals hold at least 80% of the record."]
    lines += ["", "## Overall (per mode)", "", *_md(overall), ""]
    lines += ["## By horizon", "", *_md(by_band), ""]
    lines += ["## By origin", "", *_md(by_origin), ""]
    lines += ["## Each model's mean WIS and its parts, per mode", ""]
    parts = (scores.groupby(["mode", "model"])[["wis", "dispersion", "overprediction",
                                                "underprediction", "ae_median", "cover_50",
                                                "cover_90"]].mean().reset_index())
    lines += [*_md(parts), ""]
    lines += ["## Every target", "", "Median and 5-95% of each model's forecast, and its "
              "WIS.", ""]
    wide = forecasts[forecasts["quantile"].round(3).isin([0.05, 0.5, 0.95])].pivot_table(
        index=["origin", "mode", "period_start", "period_end", "horizon", "observed"],
        columns=["model", "quantile"], values="value").sort_index()
    wis = scores.pivot_table(index=["origin", "mode", "period_start", "period_end", "horizon",
                                    "observed"], columns="model", values="wis")
    models = [model, *baselines]
    rows = []
    for key, r in wide.iterrows():
        row = dict(zip(["origin", "mode", "period_start", "period_end", "horizon",
                        "observed"], key, strict=True))
        for m in models:
            row[m] = (f"{r[(m, 0.5)]:.1f} [{r[(m, 0.05)]:.1f}, {r[(m, 0.95)]:.1f}] "
                      f"WIS {wis.loc[key, m]:.2f}")
        rows.append(row)
    lines += [*_md(pd.DataFrame(rows)), ""]
    if seconds is not None and len(seconds):
        per = seconds.pivot_table(index="origin", columns="model", values="seconds")
        lines += ["## Seconds per origin (both modes)", "", *_md(per.reset_index(),
                                                                  "{:.1f}"), ""]
    if skipped:
        lines += ["## Not forecast", "", *[f"- {s}" for s in skipped], ""]
    return "\n".join(lines) + "\n"
