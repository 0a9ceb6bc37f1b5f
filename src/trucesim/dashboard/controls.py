"""The dashboard's model parameters, in the form Mesa's SolaraViz expects.

Each entry becomes a widget in the sidebar's *Model Parameters* card; SolaraViz builds a
new :class:`~trucesim.dashboard.model.DashboardModel` from their values on *Reset*.
"""

from __future__ import annotations

from typing import Any

from trucesim.dashboard.model import BASE_TIMELINE
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.regimes import PRESETS
from trucesim.scenario.schema import bundled_scenarios, load_scenario


def scenario_choices(default: str) -> list[str]:
    """The scenarios offered: the one the dashboard was started with, then the bundled ones."""
    return list(dict.fromkeys([default, *bundled_scenarios()]))


def variant_choices(scenarios: list[str]) -> list[str]:
    """:data:`BASE_TIMELINE` and every variant of the offered scenarios (in order, unique)."""
    names: list[str] = [BASE_TIMELINE]
    for spec in scenarios:
        try:
            names += list(load_scenario(spec).variants)
        except ConfigError:
            continue
    return list(dict.fromkeys(names))


def model_params(default: str) -> dict[str, dict[str, Any]]:
    """SolaraViz ``model_params`` for a dashboard started on scenario ``default``.

    The initial values reproduce the scenario as written (its seed, no overrides), so that
    the model shown before the first *Reset* is the one these controls describe.
    """
    scenario = load_scenario(default)
    choices = scenario_choices(default)
    return {
        "scenario_name": {
            "type": "Select", "value": default, "values": choices, "label": "Scenario",
        },
        "variant": {
            "type": "Select", "value": BASE_TIMELINE, "values": variant_choices(choices),
            "label": "Variant (if the scenario has it)",
        },
        "regime_override": {
            "type": "Select", "value": BASE_TIMELINE, "values": [BASE_TIMELINE, *PRESETS],
            "label": "Regime override from the start",
        },
        "isolation_override": {
            "type": "Checkbox", "value": False,
            "label": "Impose the leaders' isolation below in every phase",
        },
        "isolation": {
            "type": "SliderFloat", "value": 0.8, "min": 0.0, "max": 1.0, "step": 0.05,
            "label": "Leaders' isolation",
        },
        "cohesion_scale": {
            "type": "SliderFloat", "value": 1.0, "min": 0.0, "max": 1.5, "step": 0.05,
            "label": "Gang cohesion (x the scenario's)",
        },
        "seed": {"type": "InputText", "value": str(scenario.seed), "label": "Seed"},
    }
