"""What the killings are (stacked by type, with the hidden share) and who follows orders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from trucesim.core.metrics import BY_NAME, DEATH_TYPES
from trucesim.plots import style
from trucesim.plots.series import run_matrix
from trucesim.plots.timeaxis import (
    display_name,
    draw_fan,
    events_key,
    scenario_name,
    start_panel,
    variant_panels,
)
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario

#: Types of killing stacked in the composition chart (they sum to true deaths).
KILLING_TYPES = {name: BY_NAME[name].label for name in DEATH_TYPES}
#: Types drawn only when a run has them (mechanisms off by default; older results lack them).
OPTIONAL_TYPES = ("other_actors",)


def _mean_rate(daily, metric, variant, window) -> tuple[pd.DatetimeIndex, np.ndarray, int]:
    m = run_matrix(daily, metric, variant).rolled(window)
    return m.dates, m.values.mean(axis=0), len(m.values)


def composition_chart(
    daily: pd.DataFrame,
    *,
    window: int = 30,
    variants: Sequence[str] | None = None,
    scenario: Scenario | None = None,
    name: str | None = None,
) -> Figure:
    """Stacked daily killings by type (mean over replicates), one panel per variant.

    The stack sums to true deaths; the black line is recorded homicides, and the hatched
    area between the line and the top of the stack is hidden deaths (killings concealed
    as disappearances, counted in their type but never recorded).
    """
    types = {m: label for m, label in KILLING_TYPES.items()
             if m not in OPTIONAL_TYPES or (m in daily and daily[m].any())}
    missing = [c for c in [*types, "homicides", "deaths_true"] if c not in daily]
    if missing:
        raise ConfigError("--kind composition", "", f"the daily series lack {', '.join(missing)}")
    name = display_name(scenario, name)
    variants, events, fig, axes = variant_panels(daily, variants, scenario,
                                                 panel_height=(3.2, 2.4))
    labels, reps = [], 0
    for v, ax in zip(variants, axes[:, 0], strict=True):
        labels += start_panel(ax, daily, v, events, titled=len(variants) > 1)
        layers = []
        for metric in types:
            x, y, reps = _mean_rate(daily, metric, v, window)
            layers.append(y)
        stack = np.vstack(layers)
        ax.stackplot(x, stack, colors=[style.color(i) for i in range(len(layers))],
                     alpha=0.85, lw=0, zorder=2, gid="stack")
        x, recorded, _ = _mean_rate(daily, "homicides", v, window)
        _, true, _ = _mean_rate(daily, "deaths_true", v, window)
        ax.fill_between(x, recorded, true, facecolor="none", edgecolor="black", hatch="////",
                        lw=0, zorder=3, gid="hidden")
        ax.plot(x, recorded, color="black", lw=1.3, zorder=4, gid="recorded")
        ax.set_ylabel(f"killings per day\n(mean of runs, {window}-day mean)", fontsize=9)
    style.headroom(axes[0, 0])  # y is shared by the panels
    axes[-1, 0].set_xlabel("date")
    handles = [Patch(color=style.color(i), alpha=0.85, label=lab)
               for i, lab in enumerate(types.values())][::-1]
    handles += [Patch(facecolor="none", edgecolor="black", hatch="////",
                      label="hidden deaths (disappearances)"),
                Line2D([], [], color="black", lw=1.3, label="recorded homicides")]
    style.outside_legend(fig, axes[0, 0], handles, [h.get_label() for h in handles])
    style.title(fig, f"{name}: killings by type and hidden deaths", fontsize=11)
    style.add_caption(
        fig,
        f"{style.subject(name, scenario_name(scenario))}; "
        f"{style.replicates_text(reps, len(variants))}, averaged. Stacked areas sum to true "
        f"deaths; hatched: deaths concealed by cliques under restraint (counted in their type, "
        f"not recorded). {window}-day trailing means; shaded spans: regime phases.",
        events_key(events),
    )
    style.declutter(fig, labels)
    return fig


def control_columns(daily: pd.DataFrame) -> list[str]:
    """The ``control_<gang>`` columns."""
    return [c for c in daily.columns if c.startswith("control_")]


def control_chart(
    daily: pd.DataFrame,
    *,
    variants: Sequence[str] | None = None,
    scenario: Scenario | None = None,
    name: str | None = None,
) -> Figure:
    """Each gang's share of cliques following the leaders' orders, one panel per variant.

    This is the leaders' operational control: median and 50% / 90% bands over replicates
    of the daily share of the gang's cliques that heard and obey the current order.
    """
    cols = control_columns(daily)
    if not cols:
        raise ConfigError("--kind control", "", "the daily series have no control_<gang> columns")
    name = display_name(scenario, name)
    variants, events, fig, axes = variant_panels(daily, variants, scenario,
                                                 panel_height=(3.2, 2.4))
    labels, reps = [], 0
    handles, names = [], []
    for v, ax in zip(variants, axes[:, 0], strict=True):
        labels += start_panel(ax, daily, v, events, titled=len(variants) > 1)
        for i, col in enumerate(cols):
            m = run_matrix(daily, col, v)
            reps = max(reps, len(m.values))
            h = draw_fan(ax, m, style.color(i))
            if v == variants[0]:
                handles.append(h)
                names.append(col.removeprefix("control_"))
        ax.set_ylim(0, 1.0 / (1 - style.HEADROOM))
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_ylabel("share of the gang's cliques\nfollowing orders", fontsize=9)
    axes[-1, 0].set_xlabel("date")
    style.outside_legend(fig, axes[0, 0], handles, names, title="gang (median, 50%, 90%)",
                         title_fontsize=8, handler_map={tuple: HandlerTuple(ndivide=None, pad=0)})
    style.title(fig, f"{name}: leaders' operational control by gang", fontsize=11)
    style.add_caption(
        fig,
        f"{style.subject(name, scenario_name(scenario))}; "
        f"{style.replicates_text(reps, len(variants))}. Daily share of each gang's cliques "
        f"that heard and follow the leaders' current order (restraint or pressure); lines: "
        f"medians, bands: 50% and 90% over replicates; shaded spans: regime phases.",
        events_key(events),
    )
    style.declutter(fig, labels)
    return fig
