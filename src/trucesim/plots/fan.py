"""Fan charts of a daily metric, and the comparison of variants with their paired difference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple

from trucesim.plots import style
from trucesim.plots.series import (
    FLOW_METRICS,
    axis_label,
    check_metric,
    divergence_date,
    metric_label,
    paired_difference,
    phase_runs,
    run_matrix,
    variants_of,
)
from trucesim.plots.timeaxis import (
    OBSERVED_NOTE,
    display_name,
    draw_events,
    draw_fan,
    draw_observed,
    events_key,
    scenario_events,
    scenario_name,
    start_panel,
    variant_panels,
    wants_observed,
)
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario


def _window(metric: str, window: int) -> int:
    return window if metric in FLOW_METRICS else 1


def fan_chart(
    daily: pd.DataFrame,
    metric: str = "homicides",
    *,
    window: int = 30,
    variants: Sequence[str] | None = None,
    scenario: Scenario | None = None,
    name: str | None = None,
    observed: bool | None = None,
    uncertainty: str | None = None,
) -> Figure:
    """Median with 50% and 90% bands over replicates of a daily metric, one panel per variant.

    Args:
        daily: stacked daily tables with ``variant`` and ``replicate`` columns (the
            ``daily.parquet`` of ``trucesim run``), or one run's table.
        metric: a daily column; event counts are drawn as a trailing ``window``-day mean.
        variants: the variants to draw (default: all, in run order).
        scenario: the scenario run (for its name and dated events).
        name: title name when no scenario is given.
        observed: overlay the observed record; default: when the scenario is El Salvador's.
        uncertainty: what the bands carry, for the caption (:mod:`trucesim.uncertainty`:
            noise only at one fitted point, or posterior parameters and noise).

    Regime phases are shaded and labelled, events are numbered dashed lines (listed in
    the caption), observed monthly or span means and annual means are drawn in black.
    """
    check_metric(daily, metric)
    label, _ = metric_label(metric)
    name = display_name(scenario, name)
    w = _window(metric, window)
    variants, events, fig, axes = variant_panels(daily, variants, scenario,
                                                 panel_height=(3.4, 2.5))
    show_obs = wants_observed(observed, scenario_name(scenario) or name)
    n_obs = 0
    labels = []
    reps = 0
    for v, ax in zip(variants, axes[:, 0], strict=True):
        labels += start_panel(ax, daily, v, events, titled=len(variants) > 1)
        m = run_matrix(daily, metric, v)
        reps = max(reps, len(m.values))
        draw_fan(ax, m.rolled(w), style.color(0), "simulated")
        if show_obs:
            n_obs += draw_observed(ax, metric, m.dates[0], m.dates[-1])
        ax.set_ylabel(axis_label(metric, w), fontsize=9)
    # y is shared by the panels; start at zero for non-negative metrics
    style.headroom(axes[0, 0], bottom=0.0 if np.nanmin(daily[metric]) >= 0 else None)
    axes[-1, 0].set_xlabel("date")
    handles, names = axes[0, 0].get_legend_handles_labels()
    order = sorted(range(len(names)), key=lambda k: ("median" not in names[k],
                                                      "50%" not in names[k], k))
    style.outside_legend(fig, axes[0, 0], [handles[k] for k in order], [names[k] for k in order])
    style.title(fig, f"{name}: {label}, median and 50% / 90% bands over replicates",
                 fontsize=11)
    style.add_caption(
        fig,
        f"{style.subject(name, scenario_name(scenario))}; "
        f"{style.replicates_text(reps, len(variants))}"
        + (f"; {w}-day trailing mean per day" if w > 1 else "") + "; shaded spans: regime phases.",
        style.intervals_text(uncertainty),
        events_key(events),
        OBSERVED_NOTE if n_obs else "",
    )
    style.declutter(fig, labels)
    return fig


def compare_chart(
    daily: pd.DataFrame,
    metric: str = "homicides",
    *,
    window: int = 30,
    variants: Sequence[str] | None = None,
    reference: str | None = None,
    scenario: Scenario | None = None,
    name: str | None = None,
    observed: bool | None = None,
    uncertainty: str | None = None,
) -> Figure:
    """Several variants' fans on one axis, and their paired differences from a reference.

    The top panel draws each variant's median with 50% and 90% bands. The bottom panel
    draws ``variant - reference`` computed replicate by replicate: replicate r of every
    variant was run from the same seed (common random numbers), so the difference
    removes the noise the variants share. Its median and bands are over replicate pairs.

    Args:
        reference: the variant differences are taken from (default: the scenario's
            counterfactual if it was run, else the first variant).
    """
    check_metric(daily, metric)
    variants = list(variants or variants_of(daily))
    if len(variants) < 2:
        raise ConfigError("--kind compare", "", f"needs at least two variants; the results "
                          f"hold {', '.join(variants)}")
    if reference is None:
        cf = scenario.counterfactual if scenario is not None else None
        reference = cf if cf in variants else variants[0]
    others = [v for v in variants if v != reference]
    label, unit = metric_label(metric)
    name = display_name(scenario, name)
    w = _window(metric, window)
    fig, axes = style.new_figure(2, 1, sharex=True, panel_height=2.9,
                                 gridspec_kw={"height_ratios": [3, 2]})
    top, bottom = axes[0, 0], axes[1, 0]
    split = divergence_date(daily, variants)
    dates, phases = phase_runs(daily, reference)
    spans = style.phase_spans(dates, phases)
    if split is not None:
        spans = [(s, min(e, split), lab) for s, e, lab in spans if s < split]
    labels = style.shade_phases(top, spans) + style.shade_phases(bottom, spans, labels=False)
    events = scenario_events(scenario, variants)
    for ax in (top, bottom):
        draw_events(ax, events)
        if split is not None:
            ax.axvline(split, color="0.15", lw=1.2, zorder=2, gid="divergence")
    if split is not None:
        labels.append(top.text(split, style.PHASE_LABEL_Y, " variants diverge",
                               transform=top.get_xaxis_transform(), ha="left", va="top",
                               fontsize=style.PHASE_LABEL_SIZE, color="0.1", gid="phase-label"))
    raw = {v: run_matrix(daily, metric, v) for v in variants}
    ref = raw[reference]
    reps = max(len(m.values) for m in raw.values())
    # Paired runs of variants are identical until the timelines part: draw that stretch once.
    shared = split is not None and _identical_before(raw, split)
    start = split - pd.Timedelta(days=1) if shared else None
    top_handles, top_labels = [], []
    if shared:
        top_handles.append(draw_fan(top, ref.rolled(w).between(end=start),
                                    style.SHARED_COLOR))
        top_labels.append("all variants (identical before they diverge)")
    for i, v in enumerate(variants):
        after = _phase_after(daily, v, split)
        top_handles.append(draw_fan(top, raw[v].rolled(w).between(start), style.color(i)))
        top_labels.append(v + (f" ({after})" if after and after != v else ""))
    n_obs = 0
    if wants_observed(observed, scenario_name(scenario) or name):
        n_obs = draw_observed(top, metric, ref.dates[0], ref.dates[-1])
        h, lab = top.get_legend_handles_labels()
        top_handles += h
        top_labels += lab
    top.set_ylabel(axis_label(metric, w), fontsize=9)
    style.headroom(top)
    bottom.axhline(0.0, color="0.2", lw=0.8, gid="zero")
    totals, bottom_handles, bottom_labels = [], [], []
    for v in others:
        i = variants.index(v)
        diff = paired_difference(raw[v], ref)
        bottom_handles.append(draw_fan(bottom, diff.rolled(w).between(start), style.color(i)))
        bottom_labels.append(f"{v} − {reference}")
        totals.append(_total_difference(diff, split, v, reference, metric))
    bottom.set_ylabel(f"paired difference\n({unit}" + (f", {w}-day mean)" if w > 1 else ")"),
                      fontsize=9)
    for ax in (top, bottom):
        ax.set_xlim(ref.dates[0], ref.dates[-1] + pd.Timedelta(days=1))
        style.date_axis(ax)
    bottom.set_xlabel("date")
    tuple_handler = {tuple: HandlerTuple(ndivide=None, pad=0.0)}
    style.outside_legend(fig, top, top_handles, top_labels, handler_map=tuple_handler,
                         title="median, 50% and 90% bands", title_fontsize=8)
    style.outside_legend(fig, bottom, bottom_handles, bottom_labels, handler_map=tuple_handler,
                         title="paired difference", title_fontsize=8)
    style.title(fig, f"{name}: {label} by variant, and paired difference from {reference}",
                 fontsize=11)
    style.add_caption(
        fig,
        f"{style.subject(name, scenario_name(scenario))}; {style.plural(reps, 'replicate')} per "
        f"variant, paired: replicate r of every variant uses the same seed (common random "
        f"numbers). Lines: medians; bands: 50% and 90% over replicates (bottom: over "
        f"replicate pairs)."
        + (f" {w}-day trailing means per day." if w > 1 else "")
        + (" " + style.intervals_text(uncertainty) if uncertainty else "")
        + (" Replicate r of every variant also runs the same posterior draw."
           if uncertainty and "posterior" in uncertainty else ""),
        " ".join(totals),
        events_key(events),
        OBSERVED_NOTE if n_obs else "",
    )
    style.declutter(fig, labels)
    return fig


def _identical_before(raw: dict, split: pd.Timestamp) -> bool:
    """Whether every variant's runs are equal, replicate by replicate, before ``split``."""
    ref = next(iter(raw.values()))
    before = ref.dates < split
    return all(m.dates.equals(ref.dates) and np.array_equal(m.replicates, ref.replicates)
               and np.array_equal(m.values[:, before], ref.values[:, before])
               for m in raw.values())


def _phase_after(daily: pd.DataFrame, variant: str, split: pd.Timestamp | None) -> str | None:
    if split is None:
        return None
    dates, phases = phase_runs(daily, variant)
    idx = np.searchsorted(pd.DatetimeIndex(dates), split)
    return str(phases[idx]) if idx < len(phases) else None


def _total_difference(diff, split, v, reference, metric) -> str:
    start = split if split is not None else diff.dates[0]
    cols = diff.dates >= start
    tot = np.nansum(diff.values[:, cols], axis=1)
    if metric not in FLOW_METRICS or len(tot) == 0:
        return ""
    lo, med, hi = np.percentile(tot, [5, 50, 95])
    text, _ = metric_label(metric)
    return (f"Total {text}, {v} − {reference}, {start.date()} to {diff.dates[-1].date()}: "
            f"{med:+,.0f} (90% of pairs {lo:+,.0f} to {hi:+,.0f}).")
