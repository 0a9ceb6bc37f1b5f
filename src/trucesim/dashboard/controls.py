"""The dashboard's model parameters, in the form Mesa's SolaraViz expects.

Each entry becomes a widget in the sidebar's *Model Parameters* card; SolaraViz builds a
new :class:`~trucesim.dashboard.model.DashboardModel` from their values on *Reset*.
"""

from __future__ import annotations

import math
from typing import Any

from trucesim.dashboard.model import BASE_TIMELINE
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.regimes import PRESETS
from trucesim.scenario.schema import bundled_scenarios, load_scenario
from trucesim.seeds import SEED_TEXT_MAX


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


def checked_values(params: dict[str, dict[str, Any]],
                   values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The control ``values`` sent by the page, checked on the server against ``params``.

    A value the widget could not have sent (a Select value not among its options, a
    slider value out of its range or not a finite number, a non-boolean checkbox, an
    over-long seed, an unknown control) is replaced by the control's initial value,
    with a notice. Nothing sent by the page is used as a file path unless it is one of
    the offered scenarios.
    """
    clean: dict[str, Any] = {}
    notices: list[str] = []
    for key in values:
        if key not in params:
            notices.append(f"ignored the unknown control {key[:40]!r}")
    for key, spec in params.items():
        default = spec["value"]
        value = values.get(key, default)
        kind = spec["type"]
        ok = True
        if kind == "Select":
            ok = isinstance(value, str) and value in spec["values"]
        elif kind == "Checkbox":
            ok = isinstance(value, bool)
        elif kind == "SliderFloat":
            ok = (isinstance(value, int | float) and not isinstance(value, bool)
                  and math.isfinite(value) and spec["min"] <= value <= spec["max"])
        elif kind == "InputText":
            ok = isinstance(value, str) and len(value) <= SEED_TEXT_MAX
        if not ok:
            notices.append(f"{spec.get('label', key)}: {str(value)[:40]!r} is not one of "
                           f"its values; using {default!r}")
            value = default
        clean[key] = value
    return clean, notices
