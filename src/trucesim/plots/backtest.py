"""Figures of a backtest: each origin's fan against the record, and relative WIS and
coverage by horizon. Each figure names what it shows, the models, the mode and the
intervals in its title and caption, so that it stands alone."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

from trucesim.forecast.report import relative_table
from trucesim.plots.style import (
    OBSERVED_COLOR,
    add_caption,
    color,
    date_axis,
    new_figure,
    outside_legend,
    title,
)


def _q(g: pd.DataFrame, level: float) -> pd.Series:
    return g[np.isclose(g["quantile"], level)].set_index(["period_start", "period_end"])["value"]


def fan_chart(forecasts: pd.DataFrame, mode: str, *, models: Sequence[str],
              subject: str, caption: str = "") -> Figure:
    """One panel per origin: each target row's forecast (for the first model, 5-95% and
    25-75% bands and the median; for the others the median and 5-95% as lines) drawn
    over the row's days, against the record's mean per day over the same days."""
    f = forecasts[forecasts["mode"] == mode]
    origins = sorted(f["origin"].unique())
    ncols = 2 if len(origins) > 1 else 1
    nrows = int(np.ceil(len(origins) / ncols))
    fig, axes = new_figure(nrows, ncols, width=12, panel_height=2.6, sharey=True)
    for ax, origin in zip(axes.flat, origins, strict=False):
        g = f[f["origin"] == origin]
        for k, m in enumerate(models):
            gm = g[g["model"] == m]
            lo, hi = _q(gm, 0.05), _q(gm, 0.95)
            lo50, hi50, med = _q(gm, 0.25), _q(gm, 0.75), _q(gm, 0.5)
            for n, (a, b) in enumerate(med.index):
                x = [pd.Timestamp(a), pd.Timestamp(b) + pd.Timedelta(days=1)]
                first = n == 0
                if k == 0:
                    ax.fill_between(x, lo[(a, b)], hi[(a, b)], color=color(0), alpha=0.15,
                                    lw=0, label=f"{m} 5-95%" if first else None)
                    ax.fill_between(x, lo50[(a, b)], hi50[(a, b)], color=color(0),
                                    alpha=0.3, lw=0, label=f"{m} 25-75%" if first else None)
                    ax.plot(x, [med[(a, b)]] * 2, color=color(0), lw=1.8,
                            label=f"{m} median" if first else None)
                else:
                    ax.plot(x, [med[(a, b)]] * 2, color=color(k), lw=1.2, ls="--",
                            label=f"{m} median, 5-95%" if first else None)
                    for v in (lo[(a, b)], hi[(a, b)]):
                        ax.plot(x, [v, v], color=color(k), lw=0.7, ls=":")
        obs = g.drop_duplicates(["period_start", "period_end"])
        for n, r in enumerate(obs.itertuples()):
            ax.plot([r.period_start, r.period_end + pd.Timedelta(days=1)], [r.observed] * 2,
                    color=OBSERVED_COLOR, lw=2.4, zorder=5,
                    label="record (mean per day over the row)" if n == 0 else None)
        ax.axvline(pd.Timestamp(origin), color="0.4", lw=0.8, ls="-.")
        ax.set_title(f"origin {pd.Timestamp(origin).date()}", fontsize=9)
        ax.set_ylabel("recorded homicides per day")
        ax.set_ylim(bottom=0)
        date_axis(ax)
    for ax in list(axes.flat)[len(origins):]:
        ax.set_visible(False)
    outside_legend(fig, axes.flat[0])
    title(fig, f"{subject}: forecasts at each origin ({mode} mode) against the record")
    add_caption(fig, "Each bar spans a record row (annual, monthly, half-month); forecasts "
                "are of the row's mean recorded homicides per day. The dash-dot line is the "
                "origin (the first day not known).", caption)
    return fig


def horizon_chart(scores: pd.DataFrame, *, model: str, baselines: Sequence[str],
                  subject: str, caption: str = "") -> Figure:
    """Left: relative WIS of ``model`` against each baseline by horizon band and mode
    (below 1: the model is better). Right: its 50% and 90% interval coverage by horizon
    band and mode, with the nominal levels."""
    table = relative_table(scores, model, baselines, ("band",))
    fig, axes = new_figure(1, 2, width=12, panel_height=3.6)
    ax, ax2 = axes[0]
    bands = list(dict.fromkeys(table["band"]))
    x = np.arange(len(bands))
    modes = list(dict.fromkeys(table["mode"]))
    styles = ["-", "--"]
    for i, mode in enumerate(modes):
        t = table[table["mode"] == mode].set_index("band").reindex(bands)
        for k, b in enumerate(baselines):
            ax.plot(x, t[f"vs {b}"], marker="o", color=color(k + 1), ls=styles[i % 2],
                    label=f"vs {b} ({mode})")
        for c, nominal in ((0, 50), (1, 90)):
            ax2.plot(x, t[f"cover {nominal}%"], marker="o", color=color(c), ls=styles[i % 2],
                     label=f"{nominal}% interval ({mode})")
    ax.axhline(1.0, color="0.3", lw=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(FixedLocator([0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10]))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel(f"relative WIS of {model}\n(below 1: {model} better)")
    ax2.axhline(0.5, color=color(0), lw=0.7, ls=":")
    ax2.axhline(0.9, color=color(1), lw=0.7, ls=":")
    ax2.set_ylim(-0.03, 1.03)
    ax2.set_ylabel(f"share of record rows inside\n{model}'s interval")
    for a in (ax, ax2):
        a.set_xticks(x, bands, fontsize=8)
        a.set_xlabel("horizon (days from the last known day to the row's end)")
        a.legend(fontsize=7)
    title(fig, f"{subject}: relative WIS against the baselines and interval coverage, "
          "by horizon")
    n = table.groupby("band")["targets"].sum().reindex(bands).tolist()
    add_caption(fig, "Targets per band (both modes): " + ", ".join(
        f"{b} {k}" for b, k in zip(bands, n, strict=True)) + ". Relative WIS is pairwise "
        "with geometric means (Cramer et al. 2022); dotted lines are nominal coverage.",
        caption)
    return fig
