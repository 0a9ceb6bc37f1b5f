"""Response surfaces: an outcome over two swept parameters, one panel per third-parameter value."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.figure import Figure

from trucesim.plots import style
from trucesim.plots.series import outcome_label
from trucesim.scenario.errors import ConfigError

#: Above this many distinct values a third parameter is binned into ranges.
MAX_PANEL_VALUES = 6
#: A sampled design is split by a third parameter only with this many points per panel.
MIN_POINTS_PER_PANEL = 16
#: Grid cells are annotated with their value when the grid is at most this many cells wide/high.
ANNOTATE_CELLS = 8


def response_points(runs: pd.DataFrame, outcome: str, parameters: list[str]) -> pd.DataFrame:
    """Mean of ``outcome`` over replicates at each design point (failed runs left out)."""
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    keys = ["point"] if "point" in ok else parameters
    agg = ok.groupby(keys, sort=True).agg(
        **{p: (p, "first") for p in parameters if p not in keys},
        mean=(outcome, "mean"), n=(outcome, "count"))
    return agg.reset_index()


def _is_grid(df: pd.DataFrame, cols: list[str]) -> bool:
    """Whether the points are the full product of the values each parameter takes."""
    sizes = [df[c].nunique() for c in cols]
    return (len(df.drop_duplicates(cols)) == int(np.prod(sizes)) and min(sizes) > 1
            and sizes[0] * sizes[1] <= 2500)


def _panels(df: pd.DataFrame, panel: str | None, grid: bool
            ) -> tuple[list[tuple[str, pd.DataFrame]], str]:
    """Panels (title, rows) by the third parameter, and a note for the caption.

    A grid gets one panel per value (up to :data:`MAX_PANEL_VALUES`, else value ranges).
    A sampled design is split into three ranges of the third parameter only when each
    holds enough points for contours; otherwise it is drawn in one panel.
    """
    if panel is None:
        return [("", df)], ""
    values = np.sort(df[panel].unique())
    if grid and len(values) <= MAX_PANEL_VALUES:
        return [(f"{panel} = {_fmt(v)}", df[df[panel] == v]) for v in values], \
            f" Panels: values of {panel}."
    if len(df) < 3 * MIN_POINTS_PER_PANEL:
        return [("", df)], (f" {panel} also varies (too few points to split by it: "
                            f"averaged over it in each cell)" if grid else
                            f" {panel} also varies; each dot is one design point.")
    bins = pd.qcut(df[panel], 3, duplicates="drop")
    return [(f"{panel} in [{iv.left:.3g}, {iv.right:.3g}]", df[bins == iv])
            for iv in bins.cat.categories], f" Panels: ranges of {panel} (thirds of the points)."


def _short(parameter: str) -> str:
    """Last part of a dotted parameter name, for titles."""
    return parameter.rsplit(".", 1)[-1]


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, float | np.floating) else str(v)


def response_chart(
    runs: pd.DataFrame,
    outcome: str,
    x: str,
    y: str,
    panel: str | None = None,
    *,
    name: str = "sweep",
    replicates: int | None = None,
    labels: dict[str, str] | None = None,
    grid: bool | None = None,
    uncertainty: str | None = None,
) -> Figure:
    """Mean ``outcome`` over replicates as a function of parameters ``x`` and ``y``.

    A grid design is drawn as a heatmap (cells annotated when the grid is small); a
    sampled design (lhs, sobol, morris) as filled contours through the design points,
    which are marked. With ``panel``, one panel per value of that parameter (or per
    range of values, when it takes many). All panels share one colour scale.

    Args:
        runs: the sweep's runs table (``runs.parquet``).
        labels: axis label per parameter (e.g. the dotted paths it sets).
        grid: whether the design is a full grid (default: detected from the points).
    """
    for p in (x, y, panel):
        if p is not None and p not in runs:
            raise ConfigError("runs.parquet", p, "no such design parameter column")
    params = [p for p in (x, y, panel) if p is not None]
    df = response_points(runs, outcome, params)
    df = df[np.isfinite(df["mean"].to_numpy(dtype=float))]
    if df.empty:
        raise ConfigError("--metric", "", f"outcome {outcome!r} has no finite value at any "
                          "design point")
    labels = labels or {}
    if grid is None:
        grid = _is_grid(df, params)
    panels, panel_note = _panels(df, panel, grid)
    ncols = min(len(panels), 3)
    nrows = -(-len(panels) // ncols)
    fig, axes = style.new_figure(nrows, ncols, width=max(7.0, 3.6 * ncols + 2.2), panel_height=3.3,
                                 sharex=True, sharey=True)
    norm = mcolors.Normalize(float(df["mean"].min()), float(df["mean"].max()))
    cmap = "viridis"
    mappable = None
    for k, ax in enumerate(axes.flat):
        if k >= len(panels):
            ax.set_visible(False)
            continue
        title, d = panels[k]
        if grid:
            table = d.pivot_table(index=y, columns=x, values="mean", aggfunc="mean")
            xs, ys = table.columns.to_numpy(dtype=float), table.index.to_numpy(dtype=float)
            mappable = ax.pcolormesh(_edges(xs), _edges(ys), table.to_numpy(), cmap=cmap,
                                     norm=norm, shading="flat", gid="heatmap")
            if len(xs) <= 2 * ANNOTATE_CELLS:
                ax.set_xticks(xs, [f"{v:g}" for v in xs])
            if len(ys) <= 2 * ANNOTATE_CELLS:
                ax.set_yticks(ys, [f"{v:g}" for v in ys])
            if len(xs) <= ANNOTATE_CELLS and len(ys) <= ANNOTATE_CELLS:
                for i, yv in enumerate(ys):
                    for j, xv in enumerate(xs):
                        v = table.to_numpy()[i, j]
                        if np.isfinite(v):
                            ax.text(xv, yv, f"{v:.3g}", ha="center", va="center", fontsize=7,
                                    color="white" if norm(v) < 0.55 else "black", gid="cell")
        else:
            if len(d) >= 4 and d[x].nunique() > 1 and d[y].nunique() > 1:
                mappable = ax.tricontourf(d[x], d[y], d["mean"], levels=12, cmap=cmap, norm=norm,
                                          gid="contour")
            ax.scatter(d[x], d[y], c=d["mean"], cmap=cmap, norm=norm, s=14, edgecolors="white",
                       linewidths=0.5, zorder=3, gid="points")
            if mappable is None:
                mappable = ax.collections[-1]
        if title:
            ax.set_title(title, fontsize=9)
        if k // ncols == nrows - 1 or k + ncols >= len(panels):
            ax.set_xlabel(labels.get(x, x), fontsize=9)
        if k % ncols == 0:
            ax.set_ylabel(labels.get(y, y), fontsize=9)
    cbar = fig.colorbar(mappable, ax=axes.ravel().tolist(), shrink=0.9)
    text, unit = outcome_label(outcome)
    cbar.set_label("\n".join(textwrap.wrap(f"{text} ({unit}; mean over replicates)", 38)),
                   fontsize=9)
    kind = "heatmap of the grid" if grid else "contours through the sampled design points (dots)"
    style.title(fig, f"{name}: {outcome} over {_short(x)} and {_short(y)}", fontsize=11)
    n = int(df["n"].max()) if replicates is None else replicates
    style.add_caption(
        fig,
        f"Experiment {name}; {len(df)} design points, {style.plural(n, 'replicate')} each "
        f"(common random numbers across points); colour: mean of {outcome} over replicates; {kind}."
        + panel_note,
        ("Replicates carry " + uncertainty + ".") if uncertainty else "",
    )
    return fig


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around sorted centres (half-way between neighbours)."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])
