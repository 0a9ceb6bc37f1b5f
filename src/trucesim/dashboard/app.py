"""The dashboard page: Mesa's SolaraViz with the trucesim panels and controls.

Run by ``trucesim dashboard`` (which passes the scenario in the environment variable
:data:`SCENARIO_ENV`), or directly with ``solara run trucesim.dashboard.app``.
"""

from __future__ import annotations

import os

import mesa.visualization.solara_viz as solara_viz
from mesa.visualization import SolaraViz

from trucesim.dashboard.components import (
    ControlPanel,
    HomicidePanel,
    StatusPanel,
    TerritoryMapPanel,
)
from trucesim.dashboard.controls import checked_values, model_params
from trucesim.dashboard.model import DashboardModel
from trucesim.dashboard.server import SCENARIO_ENV

DEFAULT_SCENARIO = "el-salvador-2016-letter"

#: Grid position of each panel (12 columns, rows of 40 px), in the order of ``components``.
LAYOUT = (
    {"x": 0, "y": 0, "w": 7, "h": 18},  # territory map
    {"x": 7, "y": 0, "w": 5, "h": 10},  # today: date, regime, stances
    {"x": 0, "y": 18, "w": 12, "h": 10},  # homicides, full width
    {"x": 7, "y": 10, "w": 5, "h": 8},  # leaders' control
)


def dashboard_layout(num_components: int) -> list[dict]:
    """Initial grid layout sized for the panels (Mesa's default gives each a 6 x 10 cell,
    which clips the map); falls back to Mesa's for any other number of components."""
    if num_components != len(LAYOUT):
        return _mesa_layout(num_components)
    return [{"i": i, "moved": False, **cell} for i, cell in enumerate(LAYOUT)]


# SolaraViz has no layout argument; its ComponentsView looks this function up at render time.
# Keep Mesa's original even if Solara executes this module again for a new session.
_mesa_layout = getattr(solara_viz, "_trucesim_mesa_layout", solara_viz.make_initial_grid_layout)
solara_viz._trucesim_mesa_layout = _mesa_layout
solara_viz.make_initial_grid_layout = dashboard_layout

scenario_name = os.environ.get(SCENARIO_ENV) or DEFAULT_SCENARIO
PARAMS = model_params(scenario_name)


class AppModel(DashboardModel):
    """The dashboard's model, built from control values checked on the server.

    SolaraViz builds it from whatever the page sends on *Reset*; a value no widget
    offers is replaced by its initial value (see
    :func:`~trucesim.dashboard.controls.checked_values`), and a model that cannot be
    built falls back to the scenario the dashboard was started with, with a one-line
    notice instead of a traceback.
    """

    def __init__(self, **values):
        clean, notices = checked_values(PARAMS, values)
        try:
            super().__init__(**clean)
        except Exception as exc:  # noqa: BLE001 - shown as one line, never a traceback
            notices.append(f"could not build that run ({str(exc).splitlines()[0][:200]}); "
                           f"showing {scenario_name}")
            super().__init__(scenario_name=scenario_name)
        self.notices = notices + self.notices


model = AppModel(scenario_name=scenario_name)

page = SolaraViz(
    model,
    components=[
        (TerritoryMapPanel, 0),
        (StatusPanel, 0),
        (HomicidePanel, 0),
        (ControlPanel, 0),
    ],
    model_params=PARAMS,
    name="trucesim dashboard",
    play_interval=150,
    render_interval=7,
)
page  # noqa: B018  (Solara shows the module's `page`)
