"""Simulated annual totals (box over replicates) beside the observed totals."""

from __future__ import annotations

import calendar
from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from trucesim.plots import style
from trucesim.plots.observed import annual_means
from trucesim.plots.series import FLOW_METRICS, check_metric, metric_label, of_variant, variants_of
from trucesim.plots.timeaxis import display_name, scenario_name, wants_observed
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario


def complete_years(daily: pd.DataFrame, variant: str) -> list[int]:
    """Calendar years that every replicate of ``variant`` covers day by day."""
    d = of_variant(daily, variant)
    if "replicate" not in d:
        d = d.assign(replicate=0)
    days = d.groupby([d["replicate"], d["date"].dt.year]).size().unstack()
    return [int(y) for y in days.columns
            if (days[y] == (366 if calendar.isleap(int(y)) else 365)).all()]


def annual_totals(daily: pd.DataFrame, metric: str, variant: str) -> pd.DataFrame:
    """Per replicate (rows) and complete calendar year (columns): the year's total."""
    d = of_variant(daily, variant)
    if "replicate" not in d:
        d = d.assign(replicate=0)
    totals = d.groupby([d["replicate"], d["date"].dt.year])[metric].sum().unstack()
    return totals[complete_years(daily, variant)]


def annual_chart(
    daily: pd.DataFrame,
    metric: str = "homicides",
    *,
    variants: Sequence[str] | None = None,
    scenario: Scenario | None = None,
    name: str | None = None,
    observed: bool | None = None,
    uncertainty: str | None = None,
) -> Figure:
    """Simulated annual totals per variant (box: median, quartiles, 5-95% whiskers) and
    observed totals (black diamonds) for each complete calendar year of the run."""
    check_metric(daily, metric)
    if metric not in FLOW_METRICS:
        raise ConfigError("--metric", "", f"annual totals need a count of events; "
                          f"{metric!r} is a level. Valid: {', '.join(FLOW_METRICS)}")
    variants = list(variants or variants_of(daily))
    name = display_name(scenario, name)
    label, _ = metric_label(metric)
    tables = {v: annual_totals(daily, metric, v) for v in variants}
    years = sorted({int(y) for t in tables.values() for y in t.columns})
    if not years:
        raise ConfigError("--kind annual", "", "the run covers no complete calendar year")
    show_obs = wants_observed(observed, scenario_name(scenario) or name)
    obs = (annual_means(metric, f"{years[0]}-01-01", f"{years[-1]}-12-31")
           if show_obs else pd.DataFrame())
    width_in = max(7.5, 2.0 + 0.6 * len(years) * (len(variants) + 1))
    fig, axes = style.new_figure(1, 1, width=width_in, panel_height=3.8)
    ax = axes[0, 0]
    slots = len(variants) + (1 if len(obs) else 0)
    width = 0.8 / slots
    handles = []
    reps = 0
    for i, v in enumerate(variants):
        t = tables[v]
        reps = max(reps, len(t))
        pos = [years.index(int(y)) + (i - (slots - 1) / 2) * width for y in t.columns]
        data = [t[y].to_numpy(dtype=float) for y in t.columns]
        c = style.color(i)
        ax.boxplot(data, positions=pos, widths=width * 0.85, whis=(5, 95), showfliers=False,
                   patch_artist=True, manage_ticks=False,
                   boxprops={"facecolor": c, "alpha": 0.55, "edgecolor": c},
                   medianprops={"color": "black", "lw": 1.4},
                   whiskerprops={"color": c, "lw": 1.2}, capprops={"color": c, "lw": 1.2})
        legend = f"simulated: {v}" if len(variants) > 1 else "simulated"
        handles.append(Patch(facecolor=c, alpha=0.55, edgecolor=c, label=legend))
    n_obs = 0
    if len(obs):
        for row in obs.itertuples(index=False):
            y = row.start.year
            if y in years:
                ax.plot(years.index(y) + (slots - 1) / 2 * width, row.value, "D",
                        color=style.OBSERVED_COLOR, ms=7, zorder=5, gid="observed-annual")
                n_obs += 1
        if n_obs:
            handles.append(Line2D([], [], marker="D", ls="", color=style.OBSERVED_COLOR,
                                  label="observed total"))
    ax.set_xticks(range(len(years)), [str(y) for y in years])
    ax.set_xlim(-0.6, len(years) - 0.4)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("calendar year")
    ax.set_ylabel(f"{label}\n(count per year)", fontsize=9)
    ax.grid(axis="y", color="0.9", lw=0.6)
    ax.set_axisbelow(True)
    style.outside_legend(fig, ax, handles, [h.get_label() for h in handles])
    style.title(fig, f"{name}: annual {label}", fontsize=11)
    seen = set(obs["start"].dt.year) if len(obs) else set()
    missing = [y for y in years if y not in seen] if len(obs) else []
    style.add_caption(
        fig,
        f"{style.subject(name, scenario_name(scenario))}; "
        f"{style.replicates_text(reps, len(variants))}. Boxes: median and quartiles of the "
        f"simulated totals over replicates; whiskers: 5% to 95%. Complete calendar years only.",
        style.intervals_text(uncertainty),
        ("Observed: El Salvador police (PNC) annual totals, data/el_salvador_observed.csv"
         + (f"; none for {', '.join(map(str, missing))}." if missing else ".")) if n_obs else "",
    )
    return fig
