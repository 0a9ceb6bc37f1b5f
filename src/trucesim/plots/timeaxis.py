"""What every time-series panel shares: phases, dated events, observed data, fans."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from trucesim.plots import style
from trucesim.plots.observed import annual_means, covers_el_salvador, period_means
from trucesim.plots.series import RunMatrix, phase_runs, variants_of
from trucesim.scenario.schema import Scenario

#: A numbered event marker on a time axis: (number, date, label).
EventMark = tuple[int, pd.Timestamp, str]


def scenario_name(scenario: Scenario | None) -> str | None:
    """The scenario's name (None without a scenario)."""
    return scenario.name if scenario is not None else None


def display_name(scenario: Scenario | None, name: str | None) -> str:
    """The name a figure is titled with: ``name``, else the scenario's, else "simulation"."""
    return name or scenario_name(scenario) or "simulation"


def variant_panels(
    daily: pd.DataFrame,
    variants: Sequence[str] | None,
    scenario: Scenario | None,
    *,
    panel_height: tuple[float, float],
) -> tuple[list[str], list[EventMark], Figure, np.ndarray]:
    """(variants, events, figure, axes) of a figure with one time panel per variant.

    ``variants`` defaults to all, in run order; the panels share both axes and are
    ``panel_height[0]`` high when there is one, ``panel_height[1]`` each when several.
    """
    variants = list(variants or variants_of(daily))
    events = scenario_events(scenario, variants)
    one, many = panel_height
    fig, axes = style.new_figure(len(variants), 1, sharex=True, sharey=True,
                                 panel_height=one if len(variants) == 1 else many)
    return variants, events, fig, axes


def start_panel(ax: Axes, daily: pd.DataFrame, variant: str, events: Sequence[EventMark],
                *, titled: bool) -> list[Text]:
    """A variant's time panel before its data: shaded phases, events, title, dated x axis.

    The x axis spans the variant's days; ``titled`` names the variant above the panel.
    Returns the phase labels (for :func:`style.declutter`).
    """
    dates, phases = phase_runs(daily, variant)
    labels = style.shade_phases(ax, style.phase_spans(dates, phases))
    draw_events(ax, events)
    if titled:
        ax.set_title(f"variant: {variant}", loc="left", fontsize=9, color="0.2")
    ax.set_xlim(pd.Timestamp(dates[0]), pd.Timestamp(dates[-1]) + pd.Timedelta(days=1))
    style.date_axis(ax)
    return labels


def scenario_events(scenario: Scenario | None, variants: Sequence[str]) -> list[EventMark]:
    """Dated events of the shown variants, numbered once in date order."""
    if scenario is None:
        return []
    seen: dict[tuple[pd.Timestamp, str], None] = {}
    for v in variants:
        try:
            s = scenario.variant(None if v == "base" or v not in scenario.variants else v)
        except Exception:  # noqa: BLE001 - an unknown variant just has the base events
            s = scenario
        for e in s.events:
            seen[(pd.Timestamp(e.date), e.label or e.kind)] = None
    return [(i + 1, d, label) for i, (d, label) in enumerate(sorted(seen))]


def draw_events(ax: Axes, events: Sequence[EventMark]) -> None:
    """Dashed lines at events, with their numbers along the top edge of the axes."""
    for n, date, _ in events:
        ax.axvline(date, color="0.35", lw=0.8, ls=(0, (3, 3)), zorder=1, gid="event-line")
        ax.text(date, 0.975, str(n), transform=ax.get_xaxis_transform(), ha="center",
                va="top", fontsize=7, color="0.1", gid="event-number", zorder=6,
                bbox={"boxstyle": "circle,pad=0.18", "fc": "white", "ec": "0.35", "lw": 0.6})


def events_key(events: Sequence[EventMark]) -> str:
    """Caption text listing the numbered events."""
    if not events:
        return ""
    return "Dashed lines, dated events: " + "; ".join(
        f"({n}) {d.date()} {label}" for n, d, label in events) + "."


def draw_fan(ax: Axes, m: RunMatrix, color: str, label: str | None = None) -> tuple:
    """Median line with 90% and 50% bands over replicates; returns the drawn handles.

    With ``label`` the three artists get legend entries ``label: median`` etc.; without,
    the caller builds a combined legend entry from the returned handles.
    """
    q = m.quantiles()
    x = m.dates
    handles = []
    if len(m.values) > 1:
        handles.append(ax.fill_between(x, q[0.05], q[0.95], color=color, alpha=0.18, lw=0,
                                       label=f"{label}: 90% band" if label else None,
                                       gid="band-90"))
        handles.append(ax.fill_between(x, q[0.25], q[0.75], color=color, alpha=0.38, lw=0,
                                       label=f"{label}: 50% band" if label else None,
                                       gid="band-50"))
    (line,) = ax.plot(x, q[0.5], color=color, lw=1.6, label=f"{label}: median" if label else None,
                      gid="median", zorder=4)
    handles.append(line)
    return tuple(handles)


def wants_observed(observed: bool | None, scenario_name: str | None) -> bool:
    """Overlay observed data? ``None`` means: when the scenario stands for El Salvador."""
    return covers_el_salvador(scenario_name) if observed is None else bool(observed)


def draw_observed(ax: Axes, metric: str, start, end) -> int:
    """Observed means per day (periods as points with span bars, years as steps); returns count."""
    periods = period_means(metric, start, end)
    years = annual_means(metric, start, end)
    n = 0
    for k, row in enumerate(years.itertuples(index=False)):
        ax.hlines(row.per_day, max(row.start, pd.Timestamp(start)), min(row.end, pd.Timestamp(end)),
                  colors=style.OBSERVED_COLOR, lw=2.0, linestyles="solid", zorder=5,
                  label="observed annual mean" if k == 0 else None, gid="observed-annual")
        n += 1
    if len(periods):
        x = periods["mid"].to_numpy()
        xerr = np.vstack([(periods["mid"] - periods["start"]).to_numpy(),
                          (periods["end"] - periods["mid"]).to_numpy()])
        ax.errorbar(x, periods["per_day"].to_numpy(), xerr=xerr, fmt="o", ms=4.5,
                    mfc="white", mec=style.OBSERVED_COLOR, ecolor=style.OBSERVED_COLOR,
                    elinewidth=1.0, capsize=0, zorder=6, label="observed, month or span mean",
                    gid="observed-periods")
        n += len(periods)
    return n


OBSERVED_NOTE = ("Observed: El Salvador police (PNC) and forensic institute (IML) counts as "
                 "reported by the press (data/el_salvador_observed.csv), as a mean per day over "
                 "each period; bars show the period.")
