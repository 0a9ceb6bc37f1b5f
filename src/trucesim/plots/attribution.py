"""Horizontal bars of each mechanism's Shapley contribution to an outcome, with intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from trucesim.outcomes import outcome_unit
from trucesim.plots import style


def attribution_chart(table: pd.DataFrame, outcome: str, *, scenario_name: str,
                      variant: str, replicates: int, v_all: float, v_none: float) -> Figure:
    """Bars of the Shapley contribution of each mechanism to ``outcome``.

    ``table`` is :attr:`trucesim.runner.attribution.AttributionResult.table` (columns
    ``mechanism, shapley, p05, p95``): the bar is the contribution on the replicate-mean
    outcome, the whisker the 5-95% range of the per-replicate contributions.
    """
    mechanisms = list(table["mechanism"])
    fig, axes = style.new_figure(1, 1, width=8.0,
                                 panel_height=max(2.4, 0.55 * len(mechanisms) + 1.2))
    ax = axes[0, 0]
    y = np.arange(len(mechanisms))[::-1]
    value = table["shapley"].to_numpy(float)
    low = table["p05"].to_numpy(float)
    high = table["p95"].to_numpy(float)
    err = np.vstack([np.clip(value - low, 0, None), np.clip(high - value, 0, None)])
    colors = [style.color(0) if v >= 0 else style.color(1) for v in value]
    ax.barh(y, value, 0.6, xerr=None if np.isnan(err).all() else err, capsize=3,
            color=colors, gid="bar-shapley", error_kw={"elinewidth": 1.0, "ecolor": "0.2"})
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, mechanisms, fontsize=9)
    ax.set_ylabel("mechanism switched on")
    ax.set_xlabel(f"Shapley contribution to {outcome}\n({outcome_unit(outcome)})", fontsize=9)
    ax.grid(axis="x", color="0.9", lw=0.6)
    ax.set_axisbelow(True)
    style.title(fig, f"{scenario_name} ({variant}): what each mechanism contributes to "
                f"{outcome}", fontsize=11)
    style.add_caption(
        fig,
        f"Exact Shapley values over all {2 ** len(mechanisms)} on/off combinations of the "
        f"mechanisms, {style.plural(replicates, 'replicate')} each with the same seeds in "
        f"every combination. Bars: contribution to the replicate-mean outcome; whiskers: "
        f"5-95% range of the per-replicate contributions. They sum to {outcome} with all "
        f"on ({v_all:.4g}) minus all off ({v_none:.4g}). Other switches keep the "
        "scenario's values.",
    )
    return fig
