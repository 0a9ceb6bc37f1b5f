"""Live charts: daily recorded homicides by type with hidden deaths, and leaders' control.

Like the map, each chart builds its figure and lines once; :meth:`update` sets the lines'
data from the model's recorded days and rescales the axes. A dotted line marks the
start of each phase reached so far (including a regime switched from the dashboard).
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from trucesim.core.metrics import BY_NAME
from trucesim.core.model import TruceModel
from trucesim.dashboard.model import day_label
from trucesim.dashboard.territory_map import gang_colour

#: Days in the moving average drawn (daily counts are small integers and noisy).
SMOOTHING = 7

#: Death types drawn, with colour, line style and width (labels: each metric's own).
HOMICIDE_STYLES = {
    "homicides": ("black", "-", 1.8),
    "gang_on_gang": ("#c0152f", "-", 1.0),
    "gang_on_civilian": ("#e6ab02", "-", 1.0),
    "gang_killed_by_police": ("#08306b", "-", 1.0),
    "police_killed": ("#4292c6", "-", 1.0),
    "background": ("#969696", "-", 1.0),
    "disappearances": ("#7a0177", "--", 1.4),
}
HOMICIDE_SERIES = tuple((name, BY_NAME[name].label, *style)
                        for name, style in HOMICIDE_STYLES.items())


def _moving_average(values: np.ndarray, window: int = SMOOTHING) -> np.ndarray:
    """Trailing mean over up to ``window`` days (shorter at the start)."""
    return pd.Series(values, dtype=float).rolling(window, min_periods=1).mean().to_numpy()


class _LiveChart:
    """A figure with one line per series; subclasses say which columns."""

    def __init__(self, model: TruceModel, title: str, ylabel: str, size=(6.5, 3.4), dpi=90,
                 bottom: float = 0.6):
        self.model = model
        # Fixed margins (no layout engine): the layout solver would run on every render.
        self.figure = Figure(figsize=size, dpi=dpi)
        left = 0.8 / size[0]  # inches for the y label and ticks
        height = 1 - (bottom + 0.65) / size[1]
        self.ax = self.figure.add_axes((left, bottom / size[1], 0.97 - left, height))
        self.ax.set_ylabel(ylabel)
        self.ax.grid(alpha=0.3)
        locator = mdates.AutoDateLocator(maxticks=8)
        self.ax.xaxis.set_major_locator(locator)
        self.ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        self._title = title
        self.lines: dict[str, object] = {}
        self._phase_marks: set[tuple[int, str]] = set()

    def _mark_phases(self, days: int) -> None:
        """A dotted line and label where each phase begun so far starts (once per phase)."""
        tl = self.model.timeline
        for first, name in zip(tl.phase_starts, tl.phase_names, strict=True):
            if 0 < first < days and (int(first), name) not in self._phase_marks:
                self._phase_marks.add((int(first), name))
                when = np.datetime64(self.model.config.start) + np.timedelta64(int(first), "D")
                self.ax.axvline(when, color="#444444", ls=":", lw=0.9)
                self.ax.annotate(name, (when, 1.0), xycoords=("data", "axes fraction"),
                                 xytext=(2, -2), textcoords="offset points", rotation=90,
                                 va="top", fontsize=7, color="#444444",
                                 bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 1})

    def _set_x(self, dates: np.ndarray) -> None:
        self._mark_phases(len(dates))
        start = np.datetime64(self.model.config.start)
        end = max(dates[-1] if len(dates) else start, start + np.timedelta64(30, "D"))
        self.ax.set_xlim(start, end)
        self.ax.set_title(f"{self._title}\n{day_label(self.model)}", fontsize=10, loc="left")


class HomicideChart(_LiveChart):
    """Daily recorded homicides by type, and the deaths hidden as disappearances."""

    def __init__(self, model: TruceModel, size=(11.0, 3.4), **kwargs):
        super().__init__(
            model, "Daily homicides by type", f"deaths per day ({SMOOTHING}-day mean)",
            size=size, bottom=1.2, **kwargs,
        )
        for col, label, colour, style, width in HOMICIDE_SERIES:
            (self.lines[col],) = self.ax.plot([], [], color=colour, ls=style, lw=width,
                                              label=label)
        self.ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.12),
                       frameon=False)
        self.update()

    def update(self) -> None:
        """Redraw the lines from the days recorded so far."""
        daily = self.model.to_frame()
        dates = daily["date"].to_numpy()
        top = 1.0
        for col, *_ in HOMICIDE_SERIES:
            y = _moving_average(daily[col].to_numpy())
            self.lines[col].set_data(dates, y)
            if len(y):
                top = max(top, float(y.max()))
        self.ax.set_ylim(0, top * 1.1)
        self._set_x(dates)


class ControlChart(_LiveChart):
    """Each gang's share of cliques following its leaders' order today."""

    def __init__(self, model: TruceModel, size=(6.0, 3.4), **kwargs):
        super().__init__(
            model, "Leaders' operational control", "share of cliques\nfollowing orders",
            size=size, **kwargs,
        )
        for i, gang in enumerate(model.gang_names):
            (self.lines[gang],) = self.ax.plot([], [], color=gang_colour(i), lw=1.4, label=gang)
        self.ax.set_ylim(0, 1)
        self.ax.legend(fontsize=8, loc="upper left")
        self.update()

    def update(self) -> None:
        """Redraw the lines from the days recorded so far."""
        daily = self.model.to_frame()
        dates = daily["date"].to_numpy()
        for gang in self.model.gang_names:
            self.lines[gang].set_data(dates, daily[f"control_{gang}"].to_numpy())
        self._set_x(dates)
