"""Helpers for the sweep tests: a tiny scenario and experiment files written to tmp folders."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from .conftest import phases, scenario_toml

#: The small test scenario on a 2012 window: a truce from March, a hardline variant.
TINY_SCENARIO = scenario_toml(
    name="tiny", start=dt.date(2012, 1, 1), end=dt.date(2012, 4, 30), seed=1,
    counterfactual="hard", world={"cliques": 50, "burn_in_days": 20},
    phases=phases((dt.date(2012, 1, 1), "baseline", "pre"),
                  (dt.date(2012, 3, 1), "truce", "truce")),
    variants={"hard": {"phases": phases((dt.date(2012, 3, 1), "hardline"))}, "truce": {}},
)

GRID_EXPERIMENT = """
name = "tiny-grid"
scenario = "tiny.toml"
replicates = {replicates}
seed = 7

[design]
method = "grid"

[parameters.cohesion]
paths = ["gangs.MS13.cohesion", "gangs.B18S.cohesion"]
values = {cohesion}

[parameters."phases.1.overrides.isolation"]
range = [0.0, 0.8]
steps = 2

[outcomes]
summary = ["truce_rate_ratio", "mean_homicides", "phase.*.homicides"]
daily = ["homicides", "deaths_true"]
"""


def write_tiny(folder: Path, experiment: str | None = None, *, replicates: int = 2,
               cohesion: str = "[0.2, 0.8]", name: str = "exp.toml") -> Path:
    """Write tiny.toml and an experiment (default: a 2 x 2 grid) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.toml").write_text(TINY_SCENARIO)
    text = experiment if experiment is not None else GRID_EXPERIMENT.format(
        replicates=replicates, cohesion=cohesion)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path
