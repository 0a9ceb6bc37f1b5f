"""The territory map: drawn once per model, recoloured each step.

Each territory is its Voronoi cell (clipped to the unit square) coloured by the gang
holding it, light when the clique's shading value (restraint or autonomy) is 0 and
full when it is 1. The Delaunay adjacency graph is drawn in thin grey, the fronts
(edges between rival gangs) on top: red when a killing happened on them in the last
30 days, grey otherwise. Police heat is an overlay of hollow circles sized by heat
(relative to the largest heat seen so far in the run) that can be switched off.

All artists are created in :class:`TerritoryMap`'s constructor; :meth:`TerritoryMap.update`
only changes colours, line widths, marker sizes and the title, so that a world of
600 cliques redraws at interactive speed.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy.spatial import Voronoi

from trucesim.core.metrics import ACTIVE_WINDOW
from trucesim.core.model import TruceModel
from trucesim.dashboard.model import day_label

#: Gang colours (a colour-blind-safe qualitative palette without red, kept for fronts).
GANG_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e6ab02", "#66a61e", "#a6761d", "#666666")
FRONT_ACTIVE = "#c0152f"
FRONT_QUIET = "#9a9a9a"
HEAT_COLOUR = "#08306b"
#: What a clique's shade can show.
SHADINGS = ("restraint", "autonomy")


def gang_colour(index: int) -> str:
    """Colour of the gang with position ``index`` in the scenario."""
    return GANG_COLOURS[index % len(GANG_COLOURS)]


def voronoi_cells(points: np.ndarray) -> list[np.ndarray]:
    """Voronoi cell polygon of each point, clipped to the unit square.

    The points are mirrored across the four sides of the square, so every original
    point's cell is finite and its edges on the square's border lie on the border.
    """
    n = len(points)
    if n < 3:
        # Too few points for a diagram: split the square into vertical strips.
        order = np.argsort(points[:, 0]) if n else np.array([], dtype=int)
        cells: list[np.ndarray] = [np.empty((0, 2))] * n
        for k, i in enumerate(order):
            x0, x1 = k / n, (k + 1) / n
            cells[i] = np.array([[x0, 0], [x1, 0], [x1, 1], [x0, 1]], dtype=float)
        return cells
    mirrored = [points]
    for axis in (0, 1):
        for edge in (0.0, 1.0):
            m = points.copy()
            m[:, axis] = 2 * edge - m[:, axis]
            mirrored.append(m)
    vor = Voronoi(np.concatenate(mirrored))
    cells = []
    for i in range(n):
        region = vor.regions[vor.point_region[i]]
        poly = vor.vertices[region]
        cells.append(np.clip(poly, 0.0, 1.0))
    return cells


def shade_colours(gang: np.ndarray, shade: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """RGBA face colours: the gang's colour mixed with white, fuller as ``shade`` -> 1."""
    s = np.clip(shade, 0.0, 1.0)[:, None]
    weight = 0.15 + 0.85 * s
    rgb = palette[gang] * weight + (1.0 - weight)
    return np.concatenate([rgb, np.ones((len(gang), 1))], axis=1)


class TerritoryMap:
    """A matplotlib figure of one model's territory, updated in place each step.

    Args:
        model: the model to draw (its geography is fixed; holders and fronts change).
        size: figure size in inches.
        dpi: resolution of the rendered image.

    Attributes:
        figure: the figure; pass it to ``solara.FigureMatplotlib``.
        cells, graph, fronts, heat: the artists (created once).
        builds: how many times the static geometry was built (always 1).
    """

    def __init__(self, model: TruceModel, size: float = 6.0, dpi: int = 90):
        self.model = model
        terr = model.territory
        # Fixed margins (no layout engine): the layout solver would run on every render.
        self.figure = Figure(figsize=(size, size + 0.5), dpi=dpi)
        ax = self.figure.add_axes((0.03, 0.09, 0.94, 0.82))
        self.ax = ax
        self.palette = np.array([to_rgb(gang_colour(i)) for i in range(len(model.gang_names))])

        self.cells = PolyCollection(
            voronoi_cells(terr.points), edgecolors="white", linewidths=0.4, zorder=1
        )
        ax.add_collection(self.cells)
        segments = terr.points[terr.edges] if len(terr.edges) else np.zeros((0, 2, 2))
        self.graph = LineCollection(segments, colors="#555555", linewidths=0.25, alpha=0.35,
                                    zorder=2)
        ax.add_collection(self.graph)
        # Every undirected edge (a -> b with a < b, and its reverse) is drawn; those that
        # are not fronts today are drawn with no width.
        edges = model.edges
        self._forward = np.flatnonzero(edges.src < edges.dst)
        self._reverse = edges.rev[self._forward]
        pairs = np.stack([edges.src[self._forward], edges.dst[self._forward]], axis=1)
        self.fronts = LineCollection(terr.points[pairs] if len(pairs) else
                                     np.zeros((0, 2, 2)), zorder=3)
        ax.add_collection(self.fronts)
        self.heat = ax.scatter(terr.points[:, 0], terr.points[:, 1], s=np.zeros(terr.n),
                               facecolors="none", edgecolors=HEAT_COLOUR, linewidths=0.8,
                               zorder=4)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        self.title = ax.set_title("", fontsize=10, loc="left")
        self._legend(ax)
        self.builds = 1
        self._heat_reference = 1e-9  # largest heat seen so far: circle sizes are comparable
        self.shading = SHADINGS[0]
        self.update()

    def _legend(self, ax) -> None:
        handles = [
            Patch(facecolor=gang_colour(i), label=name)
            for i, name in enumerate(self.model.gang_names)
        ]
        handles += [
            Line2D([], [], color=FRONT_ACTIVE, lw=1.6, label=f"front, killing < {ACTIVE_WINDOW} d"),
            Line2D([], [], color=FRONT_QUIET, lw=0.8, label="front, quiet"),
            Line2D([], [], ls="", marker="o", mfc="none", mec=HEAT_COLOUR, label="police heat"),
        ]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=3,
                  fontsize=7.5, frameon=False)

    def update(self, shading: str | None = None, show_heat: bool = True) -> None:
        """Recolour for the model's current state (no geometry is rebuilt).

        Args:
            shading: ``"restraint"`` or ``"autonomy"``: what the cell shade shows.
            show_heat: draw the police heat overlay.
        """
        if shading is not None:
            if shading not in SHADINGS:
                raise ValueError(f"unknown shading {shading!r}; valid: {', '.join(SHADINGS)}")
            self.shading = shading
        m = self.model
        c = m.cliques
        shade = c.restraint if self.shading == "restraint" else c.autonomy
        self.cells.set_facecolor(shade_colours(c.gang, shade, self.palette))

        if len(self._forward):
            e = m.edges
            killed = m.edge_values("last_killing")
            last = np.maximum(killed[self._forward], killed[self._reverse])
            active = last > m.day - 1 - ACTIVE_WINDOW
            gang = c.gang
            front = m.gangs.hostile[gang[e.src[self._forward]], gang[e.dst[self._forward]]]
            self.fronts.set_color(np.where(active[:, None], to_rgb(FRONT_ACTIVE),
                                           to_rgb(FRONT_QUIET)))
            self.fronts.set_linewidth(np.where(front, np.where(active, 1.6, 0.6), 0.0))
            self.fronts.set_alpha(None)

        self.heat.set_visible(show_heat)
        if show_heat:
            heat = c.heat
            self._heat_reference = max(self._heat_reference, float(heat.max()))
            self.heat.set_sizes(60.0 * heat / self._heat_reference)
        label = "restraint (following a restraint order)" if self.shading == "restraint" \
            else "autonomy (independence from the leaders)"
        self.title.set_text(f"Territories, {day_label(m)}\nshade = clique {label}: light 0, full 1")
