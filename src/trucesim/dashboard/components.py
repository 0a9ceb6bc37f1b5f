"""The dashboard's Solara panels; each takes the model and re-renders after every step.

The figures are built once per model (``solara.use_memo`` keyed on the model) and only
updated in place; ``FigureMatplotlib`` re-encodes the image when the step count or a
view option changes.
"""

from __future__ import annotations

import html

import solara
from mesa.visualization.utils import force_update, update_counter

from trucesim.dashboard.charts import ControlChart, HomicideChart
from trucesim.dashboard.model import DashboardModel, day_label
from trucesim.dashboard.territory_map import SHADINGS, TerritoryMap
from trucesim.scenario.regimes import PRESETS

IMAGE_FORMAT = "png"


@solara.component
def TerritoryMapPanel(model: DashboardModel):
    """The territory map with its view options (shading, police heat overlay)."""
    update_counter.get()
    shading, set_shading = solara.use_state(SHADINGS[0])
    show_heat, set_show_heat = solara.use_state(True)
    tmap = solara.use_memo(lambda: TerritoryMap(model), dependencies=[model])
    tmap.update(shading, show_heat)
    with solara.Card("Territory map", classes=["trucesim-map"]):
        with solara.Row(style={"align-items": "center"}):
            solara.Text("shade cliques by")
            solara.ToggleButtonsSingle(value=shading, values=list(SHADINGS), on_value=set_shading)
            solara.Switch(label="police heat", value=show_heat, on_value=set_show_heat)
        solara.FigureMatplotlib(
            tmap.figure, dependencies=[model, model.day, shading, show_heat],
            format=IMAGE_FORMAT,
        )


@solara.component
def HomicidePanel(model: DashboardModel):
    """Daily recorded homicides by type, with hidden deaths."""
    update_counter.get()
    chart = solara.use_memo(lambda: HomicideChart(model), dependencies=[model])
    chart.update()
    with solara.Card("Homicides", classes=["trucesim-homicides"]):
        solara.FigureMatplotlib(chart.figure, dependencies=[model, model.day],
                                format=IMAGE_FORMAT)


@solara.component
def ControlPanel(model: DashboardModel):
    """Each gang's share of cliques following its leaders' order."""
    update_counter.get()
    chart = solara.use_memo(lambda: ControlChart(model), dependencies=[model])
    chart.update()
    with solara.Card("Leaders' control", classes=["trucesim-control"]):
        solara.FigureMatplotlib(chart.figure, dependencies=[model, model.day],
                                format=IMAGE_FORMAT)


def status_html(model: DashboardModel) -> str:
    """The status panel's text: date, phase and regime, and a table of the leaderships.

    Plain HTML rather than Markdown: Solara's Markdown loads KaTeX from a CDN, and the
    dashboard must work offline.
    """
    r = model.regime
    rows = "".join(
        f"<tr><td>{gang}</td><td>{stance}</td><td>{model.gangs.authority[i]:.2f}</td>"
        f"<td>{model.gangs.isolation[i]:.2f}</td>"
        f"<td>{model.gangs.control[i]:.0%} of cliques</td></tr>"
        for i, (gang, stance) in enumerate(model.stances.items())
    )
    switched = "".join(
        f"<p>Regime switched to <b>{html.escape(regime)}</b> from {date}.</p>"
        for date, regime in model.overrides
    )
    return (
        f'<p class="trucesim-date"><b>Date:</b> {day_label(model)}</p>'
        f"<p><b>Phase:</b> {html.escape(model.phase_name)}<br>"
        f"<b>Regime:</b> isolation {r.isolation:.2f}, benefits {r.benefits:.2f}, "
        f"repression {r.repression:.2f}, police allocation {r.allocation}</p>"
        '<table style="width:100%;text-align:left"><tr><th>gang</th><th>stance</th>'
        "<th>authority</th><th>isolation</th><th>obeyed by</th></tr>"
        f"{rows}</table>{switched}"
    )


@solara.component
def StatusPanel(model: DashboardModel):
    """Current date, phase, regime and leader stances; switch the regime from today on."""
    update_counter.get()
    choice, set_choice = solara.use_state("truce")
    with solara.Card("Today", classes=["trucesim-status"]):
        solara.HTML(tag="div", unsafe_innerHTML=status_html(model))
        for notice in model.notices:
            solara.Warning(notice)
        with solara.Row(style={"align-items": "center"}):
            solara.Select(label="Regime from today on", value=choice, values=list(PRESETS),
                          on_value=set_choice)

            def switch():
                if choice in PRESETS:  # the page's value, checked on the server
                    model.switch_regime(choice)
                else:
                    model.notices.append(f"{str(choice)[:40]!r} is not a regime preset")
                force_update()

            solara.Button("Switch regime", on_click=switch, disabled=model.finished,
                          color="primary", outlined=True)
