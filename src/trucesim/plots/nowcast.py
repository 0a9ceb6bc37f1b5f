"""Figures of the nowcast (protocol B): the filtered trajectory against the record with
the effective sample size, and a case's branches run from the filtered ensemble."""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

BRANCH_COLOURS = {"hardline": "#b2182b", "truce": "#2166ac", "dialogue": "#1b7837"}
#: Colours of branches with other names, in branch order.
PALETTE = ("#b2182b", "#1b7837", "#8c510a", "#e08214", "#4d4d4d")


def _colour(name: str, b: int) -> str:
    return BRANCH_COLOURS.get(name) or PALETTE[b % len(PALETTE)]
#: The filtered ensemble: a colour no branch uses (one colour per series).
FILTERED_COLOUR = "#6a3d9a"
#: What every line of the branches figure shows, as the terminal and summary.json do.
BRANCH_STATISTIC = "mean over particles, band 5-95%"


def _record(ax, periods, start=None) -> None:
    """The assimilated record: each period's observed mean per day as a black bar."""
    first = True
    for p in periods:
        for a, b in p.spans:
            if start is not None and pd.Timestamp(b) < start:
                continue
            ax.hlines(p.per_day, pd.Timestamp(a), pd.Timestamp(b) + pd.Timedelta(days=1),
                      color="black", lw=2.2, zorder=5,
                      label="record (assimilated periods)" if first else None)
            first = False


def _filtered(ax, table: pd.DataFrame, periods, start=None, prior: bool = True) -> None:
    """Each period's filtered mean and 5-95% band of simulated recorded homicides per
    day (after weighting by the period), and the prior mean (before), over its days."""
    for (_, r), p in zip(table.iterrows(), periods, strict=True):
        for a, b in p.spans:  # a residual period only over its own days
            s, e = pd.Timestamp(a), pd.Timestamp(b) + pd.Timedelta(days=1)
            if start is not None and e <= start:
                continue
            ax.fill_between([s, e], r["filtered_p05"], r["filtered_p95"],
                            color=FILTERED_COLOUR, alpha=0.18, lw=0)
            if prior:
                ax.hlines(r["prior_mean"], s, e, color="#ef8a62", lw=1.5, ls="--")
            ax.hlines(r["filtered_mean"], s, e, color=FILTERED_COLOUR, lw=1.8)
    if prior:
        ax.plot([], [], color="#ef8a62", ls="--",
                label="ensemble before the period is assimilated (mean)")
    ax.plot([], [], color=FILTERED_COLOUR,
            label="filtered: after weighting by the period (mean, 5-95%)")


def nowcast_chart(table: pd.DataFrame, periods, *, particles: int, posterior: str,
                  cutoff: str, case: str = "", first: str = "") -> Figure:
    """Top: each period's simulated recorded homicides per day before the period was
    assimilated (prior) and after (filtered, with its 5-95% band), against the record.
    Bottom: effective sample size after each period."""
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1]})
    _filtered(ax, table, periods)
    _record(ax, periods)
    ax.set_ylabel("recorded homicides per day")
    first = first or str(table["start"].min())
    ax.set_title(f"Nowcast of case {case}: bootstrap particle filter, {particles} particles,\n"
                 f"record assimilated {first} to {cutoff}; posterior: {posterior}",
                 fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_ylim(bottom=0)
    ax2.step(pd.to_datetime(table["end"]), table["ess"], where="post", color="black")
    res = table[table["resampled"]]
    ax2.plot(pd.to_datetime(res["end"]), res["ess"], "o", color="#b2182b", ms=4,
             label="resampled after this period")
    ax2.axhline(particles, color="grey", lw=0.8, ls=":")
    ax2.set_ylabel("effective sample size")
    ax2.set_ylim(0, particles * 1.05)
    ax2.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def branches_chart(branches, periods, table: pd.DataFrame, *, particles: int,
                   posterior: str, case: str = "", status_quo: str | None = None) -> Figure:
    """The record and the filtered ensemble over the 18 months to the cutoff, then each
    branch's mean over particles and 5-95% band of 30-day mean recorded homicides per day;
    below, each branch's paired difference from the status quo (cumulative true deaths),
    mean and 5-95%. Means, as the terminal and ``summary.json`` report
    (:data:`BRANCH_STATISTIC`)."""
    start = pd.Timestamp(branches.start) - pd.DateOffset(months=18)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 8), gridspec_kw={"height_ratios": [3, 2]})
    _filtered(ax, table, periods, start, prior=False)
    _record(ax, periods, start)
    for b, name in enumerate(branches.names):
        c = _colour(name, b)
        daily = pd.DataFrame(branches.homicides[b].T, index=branches.dates)
        m = daily.rolling(30, min_periods=1).mean()
        q = np.quantile(m.to_numpy(), [0.05, 0.95], axis=1)
        ax.fill_between(branches.dates, q[0], q[1], color=c, alpha=0.15, lw=0)
        ax.plot(branches.dates, m.to_numpy().mean(axis=1), color=c, lw=1.8,
                label=f"{branches.labels[b]} ({BRANCH_STATISTIC})")
    ax.axvline(branches.start, color="black", lw=0.8, ls=":")
    ax.text(branches.start, ax.get_ylim()[1] * 0.97, " the as-of date: branches start",
            fontsize=8, va="top")
    ax.set_ylabel("recorded homicides per day")
    ax.set_ylim(bottom=0)
    cut = branches.start - dt.timedelta(days=1)
    ax.set_title(f"Case {case}: its branches from the nowcast, {particles} filtered particles "
                 f"(posterior: {posterior});\nlines: {BRANCH_STATISTIC}; intervals carry "
                 f"posterior, state and noise uncertainty; the record after {cut} is not "
                 "shown nor used", fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    ref = branches.names.index(status_quo) if status_quo in branches.names else 0
    ref_label = branches.labels[ref]
    cum = branches.deaths_true.cumsum(axis=2)
    for b, name in enumerate(branches.names):
        if b == ref:
            continue
        d = cum[b] - cum[ref]
        q = np.quantile(d, [0.05, 0.95], axis=0)
        c = _colour(name, b)
        ax2.fill_between(branches.dates, q[0], q[1], color=c, alpha=0.2, lw=0)
        ax2.plot(branches.dates, d.mean(axis=0), color=c,
                 label=f"{branches.labels[b]} minus {ref_label} ({BRANCH_STATISTIC})")
    ax2.axhline(0, color="black", lw=0.8)
    ax2.set_ylabel(f"cumulative true deaths\nvs {ref_label} (paired)")
    ax2.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def main_job_chart(table: pd.DataFrame, *, title: str = "") -> Figure:
    """The main job's branches as saved (``branches_daily.parquet``): each branch's mean
    over particles (:data:`BRANCH_STATISTIC`) and 5-95% band, 30-day means of recorded
    homicides per day (top) and of true deaths per day (bottom)."""
    fig, axes = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    for ax, metric, unit in zip(axes, ("homicides", "deaths_true"),
                                ("recorded homicides per day", "true deaths per day"),
                                strict=True):
        for name, t in table[table["metric"] == metric].groupby("branch", sort=False):
            t = t.sort_values("date").set_index("date")
            roll = t[["mean", "p05", "p95"]].rolling(30, min_periods=1).mean()
            c = BRANCH_COLOURS.get(str(name))
            ax.fill_between(roll.index, roll["p05"], roll["p95"], color=c, alpha=0.15, lw=0)
            ax.plot(roll.index, roll["mean"], color=c, lw=1.8, label=f"{name}")
        ax.set_ylabel(f"{unit}\n(30-day mean)")
        ax.set_ylim(bottom=0)
        ax.legend(loc="lower left", fontsize=8)
    axes[0].set_title((title + "\n" if title else "") + f"The 2016 letter's branches from the "
                      f"nowcast: lines {BRANCH_STATISTIC} (30-day means of the daily points)",
                      fontsize=10)
    fig.tight_layout()
    return fig
