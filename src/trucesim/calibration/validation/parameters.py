"""The parameter table of the report: fitted values with their interval, fixed values
with their source."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from trucesim.scenario.files import named_path
from trucesim.scenario.load import read_toml
from trucesim.scenario.posterior import Posterior
from trucesim.scenario.schema import Scenario


def calibration_of(scenario: Scenario) -> tuple[Path | None, dict[str, Any]]:
    """The scenario's calibration file and its contents (None and {} if uncalibrated)."""
    if not scenario.calibration:
        return None, {}
    path = named_path(scenario.calibration, scenario.source, "calibration")
    return path, read_toml(path)


def parameter_table(scenario: Scenario, calibration: dict[str, Any],
                    posterior: Posterior | None = None) -> pd.DataFrame:
    """Every parameter: its value in this scenario, and fitted interval or source.

    With a ``posterior``, its parameters show the posterior median and 5-95% interval
    (what the replicates drew from) instead of the point fit.
    """
    from trucesim.scenario.params import parameter_rows

    drawn = posterior.quantiles((0.05, 0.5, 0.95)) if posterior is not None else {}
    fitted = calibration.get("overrides", {})
    spans = calibration.get("fit", {}).get("intervals", {})
    data = scenario.to_data()
    out = []
    for r in parameter_rows():
        name = r["parameter"]
        value = r["default"]
        node: Any = data
        for k in name.split("."):
            node = node.get(k) if isinstance(node, dict) else None
        if node is not None and not isinstance(node, dict):
            value = str(node)
        elif name.startswith("gangs.<GANG>."):
            field = name.rsplit(".", 1)[1]
            value = ", ".join(f"{g} {v[field]}" for g, v in data["gangs"].items())
        elif name.startswith("regime"):
            value = f"{r['default']} (preset-dependent)"
        if name in drawn:
            lo, med, hi = drawn[name]
            out.append({"parameter": name, "value": f"{med:.4g}",
                        "interval": f"{lo:.4g} to {hi:.4g}", "unit": r["unit"],
                        "source": f"posterior median, 5-95% (protocol {posterior.protocol}, "
                                  f"data up to {posterior.data_until})"})
        elif name in fitted:
            lo, hi = spans.get(name, (math.nan, math.nan))
            out.append({"parameter": name, "value": f"{fitted[name]:.4g}",
                        "interval": f"{lo:.4g} to {hi:.4g}", "unit": r["unit"],
                        "source": "fitted (this calibration, data up to 2013)"})
        else:
            out.append({"parameter": name, "value": value, "interval": "", "unit": r["unit"],
                        "source": r["source"]})
    return pd.DataFrame(out)
