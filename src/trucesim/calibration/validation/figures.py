"""The validation figures: trajectory, annual totals, and the panels behind the facts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from trucesim.calibration.observed import ObservedRow
from trucesim.calibration.validation.stats import FIT_CUTOFF, TRANSFERS, span_means


def _band(ax, daily: pd.DataFrame, metric: str, window: int, color: str, label: str):
    wide = daily.pivot(index="date", columns="replicate", values=metric).astype(float)
    rolled = wide.rolling(window, min_periods=window).mean()
    q = rolled.quantile([0.05, 0.5, 0.95], axis=1).T
    ax.fill_between(q.index, q[0.05], q[0.95], color=color, alpha=0.25, lw=0,
                    label=f"{label}: 90% of replicates")
    ax.plot(q.index, q[0.5], color=color, lw=1.3, label=f"{label}: median")


def trajectory_figure(daily: pd.DataFrame, rows: list[ObservedRow], title: str):
    """30-day homicide rate, simulated band vs observed spans; the fit window marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4.8), layout="constrained")
    _band(ax, daily, "homicides", 30, "#0072B2", "simulated 30-day mean")
    first = True
    for r in rows:
        if r.metric != "homicides" or r.start.year < 2010:
            continue
        color = "black" if r.end <= FIT_CUTOFF else "#D55E00"
        lw = 2.5 if r.days < 365 else 1.6
        ax.plot([r.start, r.end], [r.per_day, r.per_day], color=color, lw=lw,
                label=("observed (fitted)" if first and r.end <= FIT_CUTOFF else None))
        first = first and r.end > FIT_CUTOFF
    ax.plot([], [], color="#D55E00", lw=1.6, label="observed, not fitted (2014-2016)")
    ax.axvspan(FIT_CUTOFF, daily["date"].max(), color="0.9", zorder=0,
               label="out of sample")
    ax.axvline(TRANSFERS, color="0.4", ls="--", lw=0.8)
    ax.text(TRANSFERS, ax.get_ylim()[0], " 2012-03-08 transfers", fontsize=8, va="bottom")
    ax.set_ylabel("recorded homicides per day")
    ax.set_xlabel("date")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8, loc="upper left", ncols=2)
    return fig


def annual_figure(table: pd.DataFrame, title: str):
    """Annual totals: observed vs simulated median and 90% interval, fit/validation split."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    x = table["year"].to_numpy()
    ax.errorbar(x, table["simulated"], yerr=[table["simulated"] - table["p05"],
                                            table["p95"] - table["simulated"]],
                fmt="o", color="#0072B2", capsize=4, label="simulated median, 90% interval")
    ax.plot(x, table["observed"], "s", color="black", label="observed (PNC)")
    ax.axvspan(2013.5, x.max() + 0.5, color="0.9", zorder=0, label="out of sample")
    ax.set_xticks(x)
    ax.set_ylabel("homicides per year")
    ax.set_xlabel("year")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    return fig


def facts_figure(daily: pd.DataFrame, honduras: pd.DataFrame, rows: list[ObservedRow],
                 baseline: float, title: str):
    """Four panels behind the checklist: the drop, police deaths, reports, Honduras."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8), layout="constrained")
    ax = axes[0, 0]
    zoom = daily[(daily["date"] >= "2011-12-01") & (daily["date"] <= "2012-06-30")]
    _band(ax, zoom, "homicides", 7, "#0072B2", "simulated 7-day mean")
    for r in rows:
        if (r.metric == "homicides" and r.start >= dt.date(2012, 1, 1)
                and r.end <= dt.date(2012, 6, 30)):
            ax.plot([r.start, r.end], [r.per_day, r.per_day], color="black", lw=2.5)
    ax.plot([], [], color="black", lw=2.5, label="observed")
    ax.axvline(TRANSFERS, color="0.4", ls="--", lw=0.8)
    ax.set_title("(a) The drop after the 2012-03-08 transfers", fontsize=10)
    ax.set_ylabel("recorded homicides per day")
    ax.legend(fontsize=7)
    ax.tick_params(axis="x", labelrotation=30)

    ax = axes[0, 1]
    years = daily["date"].dt.year.rename("year")
    for metric, color, label in (
        ("police_killed", "#D55E00", "police killed"),
        ("gang_killed_by_police", "#009E73", "gang members killed by police"),
    ):
        t = daily.groupby([years, "replicate"])[metric].sum().unstack("replicate")
        q = t.quantile([0.05, 0.5, 0.95], axis=1).T
        ax.fill_between(q.index, q[0.05], q[0.95], color=color, alpha=0.25, lw=0)
        ax.plot(q.index, q[0.5], "o-", color=color, label=f"{label} (simulated)")
    for r in rows:
        if r.metric in ("police_killed", "gang_killed_by_police"):
            ax.plot(r.start.year, r.value, "s", color="#D55E00" if r.metric == "police_killed"
                    else "#009E73", mec="black")
    ax.plot([], [], "s", color="white", mec="black", label="observed (squares)")
    ax.axvspan(2014.4, 2016.5, color="0.92", zorder=0, label="hardline / extraordinary")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_title("(b) Police deaths and killings by police per year", fontsize=10)
    ax.set_ylabel("deaths per year")
    ax.legend(fontsize=7)

    ax = axes[1, 0]
    halves = [(dt.date(y, m, 1), dt.date(y, m + 5, 30 if m == 1 else 31))
              for y in range(2010, 2017) for m in (1, 7)]
    mids = [a + (b - a) / 2 for a, b in halves]
    sims = np.array([span_means(daily, "disappearances", a, b) + baseline for a, b in halves])
    ax.fill_between(mids, np.quantile(sims, 0.05, axis=1), np.quantile(sims, 0.95, axis=1),
                    color="#CC79A7", alpha=0.3, lw=0)
    ax.plot(mids, np.median(sims, axis=1), "o-", color="#CC79A7",
            label=f"simulated reports (baseline {baseline:.2f}/day + concealed killings)")
    for r in rows:
        if r.quantity == "disappearance_reports":
            ax.plot([r.start, r.end], [r.per_day] * 2, color="black", lw=2.5)
    ax.plot([], [], color="black", lw=2.5, label="observed missing-person reports")
    ax.axvspan(TRANSFERS, dt.date(2014, 5, 31), color="0.92", zorder=0, label="truce and rollback")
    ax.set_title("(c) Missing-person reports per day (half-years)", fontsize=10)
    ax.set_ylabel("reports per day")
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + 0.35 * (high - low))
    ax.legend(fontsize=7, loc="upper left")

    ax = axes[1, 1]
    for d, color, label, start in ((daily, "#0072B2", "El Salvador", TRANSFERS),
                                   (honduras, "#E69F00", "Honduras-like", dt.date(2013, 5, 28))):
        wide = d.pivot(index="date", columns="replicate", values="homicides").astype(float)
        pre = wide[wide.index < pd.Timestamp(start)].tail(365).mean()
        rel = (wide.rolling(30, min_periods=30).mean() / pre)
        rel.index = (rel.index - pd.Timestamp(start)).days
        rel = rel[(rel.index >= -180) & (rel.index <= 240)]
        q = rel.quantile([0.05, 0.5, 0.95], axis=1).T
        ax.fill_between(q.index, q[0.05], q[0.95], color=color, alpha=0.25, lw=0)
        ax.plot(q.index, q[0.5], color=color, label=f"{label} truce")
    ax.axvline(0, color="0.4", ls="--", lw=0.8)
    ax.axhline(1, color="0.6", lw=0.8)
    ax.set_xlabel("days since the truce began")
    ax.set_ylabel("30-day rate / previous year's mean")
    ax.set_title("(d) High- vs low-cohesion gangs under a truce", fontsize=10)
    ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    return fig
