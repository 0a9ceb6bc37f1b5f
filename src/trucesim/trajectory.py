"""The basic trajectory plot that ``trucesim run`` saves: recorded homicides over time.

Median and 90% band over replicates of the 30-day rate for each variant, with the
phases of the first variant shaded and labelled.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .summary import rolling_rate  # noqa: E402

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442"]


def trajectory_figure(daily: pd.DataFrame, title: str, window: int = 30):
    """Figure of recorded homicides per day (trailing ``window``-day mean) by variant."""
    fig, ax = plt.subplots(figsize=(10, 4.8), layout="constrained")
    variants = list(dict.fromkeys(daily["variant"])) if "variant" in daily else [None]
    n_reps = daily["replicate"].nunique() if "replicate" in daily else 1
    first = daily[daily["variant"] == variants[0]] if variants[0] is not None else daily
    one = first[first["replicate"] == first["replicate"].min()] if "replicate" in first else first
    phases = one["phase"].astype(str).to_numpy()
    dates = one["date"].to_numpy()
    starts = np.flatnonzero(np.r_[True, phases[1:] != phases[:-1]])
    for k, s in enumerate(starts):
        e = starts[k + 1] if k + 1 < len(starts) else len(phases) - 1
        ax.axvspan(dates[s], dates[e], color="0.5" if k % 2 else "0.85", alpha=0.25, lw=0)
        ax.text(dates[s], 1.0, " " + phases[s], transform=ax.get_xaxis_transform(),
                va="top", ha="left", fontsize=7, rotation=90, color="0.25")
    for i, v in enumerate(variants):
        d = daily[daily["variant"] == v] if v is not None else daily
        runs = [rolling_rate(g["homicides"].to_numpy(), window)
                for _, g in (d.groupby("replicate") if "replicate" in d else [(0, d)])]
        m = np.vstack(runs)
        x = d["date"].iloc[: m.shape[1]].to_numpy()
        color = PALETTE[i % len(PALETTE)]
        label = v if v is not None else "simulated"
        with np.errstate(all="ignore"):
            ax.plot(x, np.nanmedian(m, axis=0), color=color, lw=1.6, label=f"{label} (median)")
            if len(runs) > 1:
                lo, hi = np.nanpercentile(m, [5, 95], axis=0)
                ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0,
                                label=f"{label} (90% band)")
    ax.set_title(title)
    ax.set_xlabel("date")
    ax.set_ylabel(f"recorded homicides per day ({window}-day mean)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.text(0.01, 0.005, f"{n_reps} replicate(s); shaded spans are regime phases",
             fontsize=7, color="0.3")
    return fig
