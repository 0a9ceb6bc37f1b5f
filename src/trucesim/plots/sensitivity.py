"""Bars of global sensitivity indices: Sobol (S1, ST) or Morris (mu*, sigma)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from trucesim.plots import style
from trucesim.scenario.errors import ConfigError

METHODS = ("sobol", "morris")


def sensitivity_indices(folder: str | Path, outcome: str, method: str) -> pd.DataFrame:
    """Indices of ``outcome`` for a sobol or morris sweep folder.

    Computed by :func:`trucesim.runner.sensitivity.sensitivity_table` (the same numbers
    ``trucesim analyze`` prints): ``S1, S1_conf, ST, ST_conf`` for sobol, ``mu, mu_star,
    sigma, mu_star_conf`` for morris, indexed by parameter.
    """
    from trucesim.runner.results import SweepResults
    from trucesim.runner.sensitivity import sensitivity_table

    if method not in METHODS:
        raise ConfigError(str(folder), "design.method", f"sensitivity indices need a sobol or "
                          f"morris design, not {method!r}")
    return sensitivity_table(SweepResults(folder), method, outcome)


def sensitivity_chart(
    indices: pd.DataFrame,
    outcome: str,
    *,
    name: str = "sweep",
    points: int | None = None,
    replicates: int | None = None,
    uncertainty: str | None = None,
) -> Figure:
    """Bars of Sobol first-order and total indices with 95% intervals, or of Morris mu* (with
    its 95% interval) and sigma, for each parameter (from :func:`sensitivity_indices`)."""
    sobol = "S1" in indices
    params = list(indices.index)
    fig, axes = style.new_figure(1, 1, width=max(7.0, 3.5 + 0.9 * len(params)), panel_height=3.6)
    ax = axes[0, 0]
    x = np.arange(len(params))
    w = 0.38
    if sobol:
        series = [("S1", "S1_conf", "first order S1"), ("ST", "ST_conf", "total ST")]
        ylabel = "Sobol index\n(share of the outcome's variance)"
        title = f"{name}: Sobol sensitivity of {outcome}"
        note = ("S1: share of the variance of the outcome due to the parameter alone; ST: "
                "including its interactions. Error bars: 95% bootstrap intervals.")
    else:
        series = [("mu_star", "mu_star_conf", "mu* (mean absolute elementary effect)"),
                  ("sigma", None, "sigma (spread of elementary effects)")]
        ylabel = f"elementary effect on {outcome}\n(outcome units per parameter range)"
        title = f"{name}: Morris screening of {outcome}"
        note = ("mu*: overall influence; sigma: non-linearity or interactions. Error bars: 95% "
                "bootstrap intervals of mu*.")
    for i, (col, conf, label) in enumerate(series):
        err = indices[conf].to_numpy() if conf else None
        ax.bar(x + (i - 0.5) * w, indices[col].to_numpy(), w, yerr=err, capsize=3,
               color=style.color(i), label=label, gid=f"bar-{col}",
               error_kw={"elinewidth": 1.0, "ecolor": "0.2"})
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(x, params, rotation=20 if max(map(len, params)) > 12 else 0, ha="right"
                  if max(map(len, params)) > 12 else "center", fontsize=8)
    ax.set_xlabel("parameter")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(axis="y", color="0.9", lw=0.6)
    ax.set_axisbelow(True)
    style.outside_legend(fig, ax)
    style.title(fig, title, fontsize=11)
    style.add_caption(
        fig,
        f"Experiment {name}; {points or '?'} design points"
        + (f", {style.plural(replicates, 'replicate')} each (outcome averaged over them)"
           if replicates
           else "") + ". " + note,
        ("Replicates carry " + uncertainty + "." if uncertainty else ""),
    )
    return fig
