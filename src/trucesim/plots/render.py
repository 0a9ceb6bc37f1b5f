"""``trucesim plot RESULTS``: draw the figures that fit a run or sweep results folder.

Every requested figure is built in memory before anything is written, so bad input
(not a results folder, an unknown kind or metric, a kind that does not fit the
results) stops with a clear message and writes nothing. Files are written atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from trucesim.atomic import atomic_path
from trucesim.plots.annual import annual_chart, complete_years
from trucesim.plots.composition import (
    KILLING_TYPES,
    OPTIONAL_TYPES,
    composition_chart,
    control_chart,
    control_columns,
)
from trucesim.plots.data import (
    MainJobPlotData,
    PlotData,
    RunPlotData,
    SweepPlotData,
    load_results,
)
from trucesim.plots.fan import compare_chart, fan_chart
from trucesim.plots.response import response_chart
from trucesim.plots.sensitivity import METHODS, sensitivity_chart, sensitivity_indices
from trucesim.plots.series import FLOW_METRICS, check_metric, daily_metrics, variants_of
from trucesim.scenario.errors import ConfigError

KINDS = ("fan", "compare", "annual", "composition", "control", "response", "sensitivity")
DAILY_KINDS = ("fan", "compare", "annual", "composition", "control")
SWEEP_KINDS = ("response", "sensitivity")
FORMATS = ("png", "svg", "pdf")
DEFAULT_METRIC = "homicides"
DEFAULT_OUTCOMES = ("truce_rate_ratio", "mean_homicides")

Builder = Callable[[], Figure]


def plot_results(
    folder: str | Path,
    kind: str | None = None,
    metric: str | None = None,
    out: str | Path | None = None,
    fmt: str = "png",
    dpi: int = 110,
) -> list[Path]:
    """Draw the figures of a results folder and write them to ``out`` (default ``folder/plots``).

    Returns the written paths. Raises ConfigError (and writes nothing) on bad input.
    """
    if fmt not in FORMATS:
        raise ConfigError("--format", "", f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    if kind is not None and kind not in KINDS:
        raise ConfigError("--kind", "", f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    if not 10 <= dpi <= 1200:
        raise ConfigError("--dpi", "", f"{dpi} is outside 10 to 1200")
    results = load_results(folder)
    target = Path(out) if out is not None else results.folder / "plots"
    if target.exists() and not target.is_dir():
        raise ConfigError(str(target), "", "exists and is not a folder; give --out a folder "
                          "for the figures")
    if isinstance(results, MainJobPlotData):
        if kind not in (None, "fan") or metric not in (None, "homicides"):
            raise ConfigError("--kind" if kind not in (None, "fan") else "--metric", "",
                              "the main job's folder has one figure, the branches (homicides "
                              "and true deaths); drop --kind and --metric")
        from trucesim.plots.nowcast import main_job_chart

        plans = [("branches", lambda: main_job_chart(results.branches))]
    else:
        plans = plan_figures(results, kind, metric)
    figures = []
    try:
        for filename, build in plans:
            figures.append((filename, build()))
        out = Path(out) if out is not None else results.folder / "plots"
        written = []
        for filename, fig in figures:
            path = out / f"{filename}.{fmt}"
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi)
            written.append(path)
        return written
    finally:
        for _, fig in figures:
            plt.close(fig)


def fitting_kinds(results: PlotData) -> list[str]:
    """The kinds of figure that fit these results."""
    kinds: list[str] = []
    if _has_daily(results):
        daily = _daily(results)
        kinds += ["fan"]
        if len(variants_of(daily)) >= 2:
            kinds.append("compare")
        if complete_years(daily, variants_of(daily)[0]):
            kinds.append("annual")
        if all(c in daily or c in OPTIONAL_TYPES
               for c in [*KILLING_TYPES, "homicides", "deaths_true"]):
            kinds.append("composition")
        if control_columns(daily):
            kinds.append("control")
    if isinstance(results, SweepPlotData):
        if len(results.varied) >= 2:
            kinds.append("response")
        if results.method in METHODS:
            kinds.append("sensitivity")
    return kinds


def plan_figures(results: PlotData, kind: str | None, metric: str | None
                 ) -> list[tuple[str, Builder]]:
    """(file stem, builder) of each figure to draw; validates kind and metric first."""
    fits = fitting_kinds(results)
    if kind is not None and kind not in fits:
        raise ConfigError("--kind", "", _why_not(results, kind, fits))
    kinds = [kind] if kind is not None else fits
    if not kinds:
        raise ConfigError(str(results.folder), "", "nothing to plot: the folder holds no daily "
                          "series and no design to draw")
    daily_metric = outcome = None
    if any(k in DAILY_KINDS for k in kinds):
        daily = _daily(results)
        if metric is None or kind is not None or metric in daily_metrics(daily):
            daily_metric = metric or _default_metric(daily)
            if any(k in ("fan", "compare", "annual") for k in kinds):
                check_metric(daily, daily_metric)
    if any(k in SWEEP_KINDS for k in kinds):
        assert isinstance(results, SweepPlotData)
        outcome = _outcome(results, metric, strict=kind is not None or daily_metric is None)
    if metric is not None and daily_metric is None and outcome is None:
        valid = (daily_metrics(_daily(results)) if _has_daily(results) else []) + (
            results.outcomes if isinstance(results, SweepPlotData) else [])
        raise ConfigError("--metric", "", f"unknown metric {metric!r}; valid: {', '.join(valid)}")
    plans: list[tuple[str, Builder]] = []
    for k in kinds:
        if k in DAILY_KINDS and daily_metric is None:
            continue
        if k in SWEEP_KINDS and outcome is None:
            continue
        if k == "annual" and daily_metric not in FLOW_METRICS and kind is None:
            continue  # drawing everything: annual totals only for counts of events
        plans.append(_plan(results, k, daily_metric, outcome))
    if not plans:
        raise ConfigError("--metric", "", f"metric {metric!r} fits none of the kinds "
                          f"{', '.join(kinds)}")
    return plans


def _plan(results: PlotData, kind: str, metric: str | None, outcome: str | None
          ) -> tuple[str, Builder]:
    name = results.name
    scenario = results.scenario
    uncertainty = results.uncertainty
    if kind in DAILY_KINDS:
        daily = _daily(results)
        if kind == "fan":
            return f"fan-{metric}", lambda: fan_chart(daily, metric, scenario=scenario, name=name,
                                                      uncertainty=uncertainty)
        if kind == "compare":
            reference = results.counterfactual if isinstance(results, RunPlotData) else None
            return f"compare-{metric}", lambda: compare_chart(
                daily, metric, scenario=scenario, name=name, reference=reference,
                uncertainty=uncertainty)
        if kind == "annual":
            return f"annual-{metric}", lambda: annual_chart(daily, metric, scenario=scenario,
                                                            name=name, uncertainty=uncertainty)
        if kind == "composition":
            return "composition", lambda: composition_chart(daily, scenario=scenario, name=name)
        return "control", lambda: control_chart(daily, scenario=scenario, name=name)
    assert isinstance(results, SweepPlotData)
    if kind == "response":
        x, y, *rest = results.varied
        panel = rest[0] if rest else None
        labels = _parameter_labels(results)
        return f"response-{outcome}", lambda: response_chart(
            results.runs, outcome, x, y, panel, name=name, replicates=results.replicates,
            labels=labels, grid=results.method == "grid", uncertainty=uncertainty)
    def build() -> Figure:
        idx = sensitivity_indices(results.folder, outcome, results.method)
        points = int(results.runs["point"].nunique()) if "point" in results.runs else None
        return sensitivity_chart(idx, outcome, name=name, points=points,
                                 replicates=results.replicates, uncertainty=uncertainty)

    return f"sensitivity-{outcome}", build


def _default_metric(daily) -> str:
    """Recorded homicides, or else the first count of events the daily series hold."""
    held = daily_metrics(daily)
    if DEFAULT_METRIC in held:
        return DEFAULT_METRIC
    return next((m for m in FLOW_METRICS if m in held), DEFAULT_METRIC)


def _has_daily(results: PlotData) -> bool:
    if isinstance(results, RunPlotData):
        return True
    return results.has_daily and "variant" in results.runs


def _daily(results: PlotData):
    return results.daily if isinstance(results, RunPlotData) else results.daily()


def _outcome(results: SweepPlotData, metric: str | None, strict: bool) -> str | None:
    outcomes = results.outcomes
    if metric is not None:
        if metric in outcomes:
            return metric
        if strict:
            raise ConfigError("--metric", "", f"unknown outcome {metric!r}; valid: "
                              f"{', '.join(outcomes) or 'none (the sweep kept no outcomes)'}")
        return None
    ok = results.ok_runs
    for name in DEFAULT_OUTCOMES:
        if name in outcomes and np.isfinite(ok[name].to_numpy(dtype=float)).all():
            return name
    finite = [o for o in outcomes if np.isfinite(ok[o].to_numpy(dtype=float)).all()]
    if not finite:
        raise ConfigError(str(results.folder), "runs.parquet", "no outcome with finite values "
                          "at every run; nothing to draw")
    return finite[0]


def _parameter_labels(results: SweepPlotData) -> dict[str, str]:
    params = results.manifest.get("experiment", {}).get("parameters", {}) or {}
    labels = {}
    for key, spec in params.items():
        paths = (spec or {}).get("paths") or [(spec or {}).get("path") or key]
        if paths == [key]:
            labels[key] = key
        else:
            more = f" + {len(paths) - 1} more" if len(paths) > 1 else ""
            labels[key] = f"{key}\n({paths[0]}{more})"
    return labels


def _why_not(results: PlotData, kind: str, fits: list[str]) -> str:
    valid = ", ".join(fits) or "none"
    where = f"{results.kind} results"
    if kind == "response" and isinstance(results, SweepPlotData):
        varied = ", ".join(results.varied) or "none"
        reason = (f"'response' needs a sweep with at least two varied parameters; this sweep "
                  f"varies {len(results.varied)} ({varied})")
    elif kind in SWEEP_KINDS and isinstance(results, RunPlotData):
        reason = f"'{kind}' needs sweep results (from `trucesim sweep`), not a run folder"
    elif kind == "sensitivity":
        reason = f"'sensitivity' needs a sobol or morris design, not {results.method!r}"
    elif kind == "compare":
        reason = "'compare' needs at least two variants"
    elif kind == "annual":
        reason = "'annual' needs at least one complete calendar year"
    elif kind in ("composition", "control") and _has_daily(results):
        reason = (f"'{kind}' needs daily columns the results do not hold (the killings by type "
                  f"and true deaths, or control_<gang>)")
    else:
        reason = (f"'{kind}' needs daily series of a variants design (outcomes.daily in the "
                  f"experiment)")
    return f"{reason}. Kinds that fit these {where}: {valid}"
