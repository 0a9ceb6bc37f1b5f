"""Figures of trucesim results, one function per kind, each returning a matplotlib Figure.

Daily-series figures take the stacked daily table of ``trucesim run`` (``daily.parquet``,
with ``variant`` and ``replicate`` columns)::

    import pandas as pd
    from trucesim import load_scenario
    from trucesim.plots import fan_chart, compare_chart
    daily = pd.read_parquet("results/el-salvador-2016-letter/daily.parquet")
    scenario = load_scenario("el-salvador-2016-letter")
    fig = compare_chart(daily, "homicides", scenario=scenario)
    fig.savefig("compare.png", dpi=110)

Sweep figures take the runs table (``runs.parquet``) of ``trucesim sweep``. Or open any
results folder with :func:`load_results`. Importing this package leaves matplotlib's
backend alone (a notebook keeps its inline backend); the ``trucesim`` commands that draw
select the non-interactive Agg backend, so they need no display.
"""

from trucesim.plots.annual import annual_chart
from trucesim.plots.composition import composition_chart, control_chart
from trucesim.plots.data import RunPlotData, SweepPlotData, load_results
from trucesim.plots.fan import compare_chart, fan_chart
from trucesim.plots.render import FORMATS, KINDS, fitting_kinds, plot_results
from trucesim.plots.response import response_chart
from trucesim.plots.sensitivity import sensitivity_chart, sensitivity_indices

__all__ = [
    "FORMATS",
    "KINDS",
    "RunPlotData",
    "SweepPlotData",
    "annual_chart",
    "compare_chart",
    "composition_chart",
    "control_chart",
    "fan_chart",
    "fitting_kinds",
    "load_results",
    "plot_results",
    "response_chart",
    "sensitivity_chart",
    "sensitivity_indices",
]
