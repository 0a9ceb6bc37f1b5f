"""Shared look of every trucesim figure: palette, phases, events, captions, layout.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies). Every figure carries a title, labelled axes with units, a legend and a
caption line naming the scenario and the number of replicates.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

#: Okabe-Ito colours, in the order series are drawn (black and yellow last: low contrast
#: on bands and on white).
OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "reddish purple": "#CC79A7",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE = list(OKABE_ITO.values())
OBSERVED_COLOR = "#000000"
#: Colour of what several series share (runs identical before variants diverge).
SHARED_COLOR = "#666666"
PHASE_SHADES = ("0.92", "0.98")
CAPTION_SIZE = 8
PHASE_LABEL_SIZE = 8
#: Height (axes fraction) of the first row of phase labels; event numbers sit above it.
PHASE_LABEL_Y = 0.925
#: Step (axes fraction) down to the next row of phase labels.
PHASE_ROW_STEP = 0.075
#: Share of each time panel kept free at the top for event numbers and phase labels.
HEADROOM = 0.27


def plural(n: int, word: str) -> str:
    """``1 replicate``, ``2 replicates``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def replicates_text(reps: int, n_variants: int) -> str:
    """``20 replicates per variant``, or ``20 replicates`` for a single variant."""
    return plural(reps, "replicate") + (" per variant" if n_variants > 1 else "")


def intervals_text(uncertainty: str | None) -> str:
    """``Intervals carry posterior parameters and noise.`` (empty when not known)."""
    return f"Intervals carry {uncertainty}." if uncertainty else ""


def subject(name: str, scenario_name: str | None) -> str:
    """Caption subject: ``Scenario X``, or ``Experiment E (scenario X)`` for a sweep."""
    if scenario_name is None or scenario_name == name:
        return f"Scenario {name}"
    return f"Experiment {name} (scenario {scenario_name})"


def color(i: int) -> str:
    """The i-th series colour."""
    return PALETTE[i % len(PALETTE)]


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 11.0,
               panel_height: float = 3.4, **kw) -> tuple[Figure, np.ndarray]:
    """A figure with constrained layout and a grid of axes (always returned as a 2-D array)."""
    fig = plt.figure(figsize=(width, 1.4 + panel_height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def title(fig: Figure, text: str, fontsize: float = 11) -> Text:
    """The figure's title, wrapped to the figure's width."""
    width_chars = int(fig.get_figwidth() * 72 / (fontsize * 0.55))
    return fig.suptitle("\n".join(textwrap.wrap(text, width_chars)), fontsize=fontsize)


def add_caption(fig: Figure, *parts: str) -> Text:
    """Put the caption (scenario, replicates, what the bands mean...) under the figure.

    The caption is the figure's ``supxlabel`` so the constrained layout makes room for
    it; long lines are wrapped to the figure width.
    """
    width_chars = int(fig.get_figwidth() * 72 / (CAPTION_SIZE * 0.6))  # wide glyphs fit
    lines: list[str] = []
    for p in parts:
        if p:
            lines.extend(textwrap.wrap(p, width_chars) or [""])
    return fig.supxlabel("\n".join(lines), x=0.01, ha="left", fontsize=CAPTION_SIZE,
                         color="0.25", linespacing=1.35)


def date_axis(ax: Axes) -> None:
    """Concise dates on the x axis."""
    loc = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def phase_spans(dates: Sequence, phases: Sequence[str]
                ) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """(start, end, label) of each run of equal phase labels; end is the next start."""
    dates = pd.to_datetime(pd.Series(dates)).to_numpy()
    phases = np.asarray([str(p) for p in phases])
    if len(phases) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, phases[1:] != phases[:-1]])
    out = []
    for k, s in enumerate(starts):
        end = dates[starts[k + 1]] if k + 1 < len(starts) else dates[-1] + np.timedelta64(1, "D")
        out.append((pd.Timestamp(dates[s]), pd.Timestamp(end), str(phases[s])))
    return out


def shade_phases(ax: Axes, spans, *, labels: bool = True) -> list[Text]:
    """Shade alternate regime phases and write each phase's name at the top of its span."""
    texts = []
    for k, (start, end, label) in enumerate(spans):
        ax.axvspan(start, end, color=PHASE_SHADES[k % 2], lw=0, zorder=0,
                   gid="phase-span")
        if k:
            ax.axvline(start, color="0.6", lw=0.6, zorder=0.5)
        if labels:
            t = ax.text(start, PHASE_LABEL_Y, " " + label, transform=ax.get_xaxis_transform(),
                        ha="left", va="top", fontsize=PHASE_LABEL_SIZE, color="0.2",
                        gid="phase-label", clip_on=False)
            texts.append(t)
    return texts


def headroom(ax: Axes, bottom: float | None = 0.0) -> None:
    """Leave the top :data:`HEADROOM` of the axes free for phase labels."""
    lo, hi = ax.get_ylim()
    if bottom is not None:
        lo = bottom
    ax.set_ylim(lo, lo + (hi - lo) / (1.0 - HEADROOM))


def laid_out(fig: Figure):
    """Run the figure's layout and return the renderer to measure its texts with.

    Axes positions (constrained layout) and text extents are known only once the figure
    is drawn. ``fig.canvas.draw()`` would also rasterize every artist, and the pixels
    would be thrown away: ``savefig`` draws the whole figure again at its own dpi.
    :meth:`~matplotlib.figure.Figure.draw_without_rendering` runs the same draw (layout,
    ticks, legends, text positions) with the renderer's drawing calls disabled: a third
    to a half cheaper than ``canvas.draw()`` for the time-series figures, and it leaves
    the figure in the same state, so the saved files are identical byte for byte. On an
    Agg canvas (the commands', a notebook's) with the default ``savefig.format`` (png),
    it draws with the canvas's own renderer, returned here, which the constrained
    layout measures with too.
    """
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def declutter(fig: Figure, texts: Sequence[Text]) -> None:
    """Move phase labels that would overlap a neighbour down a row; keep them inside the axes.

    Runs the layout first (:func:`laid_out`), so the decision is made at the final size;
    the labels' positions are in axes units, so they stay right at any dpi.
    """
    if not texts:
        return
    renderer = laid_out(fig)
    if stagger_event_numbers(fig, renderer):
        # The numbers' boxes are placed when drawn. The whole layout runs again, as it
        # did before: it is not exactly idempotent, and the labels below are placed on
        # this second pass (placing only the boxes moved them by ~1e-4 days, a pixel
        # here and there in the saved files).
        laid_out(fig)
    numbers = {id(ax): [_extent(t, renderer) for t in ax.texts if t.get_gid() == "event-number"]
               for ax in fig.axes}
    placed: list = [b for boxes in numbers.values() for b in boxes]
    for t in texts:
        ax = t.axes
        box = ax.get_window_extent(renderer)
        ext = t.get_window_extent(renderer)
        for num in sorted(numbers[id(ax)], key=lambda b: b.x0):
            # an event number where the label starts (events often open a phase): step past it
            if ext.overlaps(num) and num.x0 <= ext.x0 + num.width:
                t.set_x(ax.transData.inverted().transform((num.x1 + 1.0, 0.0))[0])
                ext = t.get_window_extent(renderer)
        if ext.x1 > box.x1 and " " in t.get_text().strip():  # past the right edge: wrap it
            words = t.get_text().strip().split(" ")
            half = (len(words) + 1) // 2
            t.set_text(" " + " ".join(words[:half]) + "\n " + " ".join(words[half:]))
            ext = t.get_window_extent(renderer)
        if ext.x1 > box.x1:  # still past the edge: anchor it to the edge instead
            t.set_horizontalalignment("right")
            t.set_x(ax.get_xlim()[1])
            t.set_text("\n".join(line.strip() + " " for line in t.get_text().split("\n")))
        x, y = t.get_position()
        for _ in range(4):
            ext = t.get_window_extent(renderer)
            if not any(ext.overlaps(p) for p in placed if p is not None):
                break
            y -= PHASE_ROW_STEP
            t.set_position((x, y))
        placed.append(t.get_window_extent(renderer))


def stagger_event_numbers(fig: Figure, renderer=None) -> bool:
    """Move an event number that would overlap an earlier one down a row (events a few
    days apart, e.g. a ceasefire and an isolation order), so that every number stays
    readable at its date. Call after the layout (the decision is made in pixels): pass
    the renderer of :func:`laid_out`, or none to run the layout here.
    Returns whether any number moved (their boxes are then stale until the next draw)."""
    moved = False
    if renderer is None:
        renderer = laid_out(fig)
    for ax in fig.axes:
        numbers = [(t, _extent(t, renderer)) for t in ax.texts if t.get_gid() == "event-number"]
        axes_height = max(ax.get_window_extent(renderer).height, 1.0)
        rows: list[list] = []  # the boxes placed in each row, in pixels
        for t, box in sorted(numbers, key=lambda item: item[1].x0):
            step = box.height * 1.15
            k = 0
            while k < len(rows) and any(
                    box.translated(0, -k * step).overlaps(p) for p in rows[k]):
                k += 1
            if k == len(rows):
                rows.append([])
            rows[k].append(box.translated(0, -k * step))
            if k:
                x, y = t.get_position()
                t.set_position((x, y - k * step / axes_height))
                moved = True
    return moved


def _shown_texts(fig: Figure) -> list[Text]:
    """Texts that are drawn: tick labels only for ticks inside the view limits."""
    out: list[Text] = list(fig.texts)
    for t in (fig._suptitle, fig._supxlabel, fig._supylabel):  # noqa: SLF001
        if t is not None:
            out.append(t)
    for ax in fig.axes:
        out += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label,  # noqa: SLF001
                ax.yaxis.label, *ax.texts]
        for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = min(lim), max(lim)
            for tick in axis.get_major_ticks():
                if lo <= tick.get_loc() <= hi:
                    out += [tick.label1, tick.label2]
        leg = ax.get_legend()
        if leg is not None:
            out += list(leg.get_texts()) + [leg.get_title()]
    for leg in fig.legends:
        out += list(leg.get_texts()) + [leg.get_title()]
    unique = {id(t): t for t in out}
    return [t for t in unique.values() if t.get_visible() and t.get_text().strip()]


def _extent(t: Text, renderer):
    """Window extent of a text, including its box when it has one."""
    patch = t.get_bbox_patch()
    if patch is not None:
        return patch.get_window_extent(renderer)
    return t.get_window_extent(renderer)


def overlapping_texts(fig: Figure, tolerance: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose boxes overlap by more than ``tolerance`` pixels (a check).

    Titles, axis and tick labels, in-axes texts (phase labels, event numbers), legends
    and the caption are compared with each other.
    """
    r = laid_out(fig)
    items = [(t.get_text(), _extent(t, r)) for t in _shown_texts(fig)]
    bad = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            a, b = items[i][1], items[j][1]
            ox = min(a.x1, b.x1) - max(a.x0, b.x0)
            oy = min(a.y1, b.y1) - max(a.y0, b.y0)
            if ox > tolerance and oy > tolerance:
                bad.append((items[i][0], items[j][0]))
    return bad


def outside_legend(fig: Figure, ax: Axes, handles=None, labels=None, **kw):
    """A legend to the right of the axes (never over the data)."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                     borderaxespad=0.0, fontsize=8, frameon=False, **kw)
