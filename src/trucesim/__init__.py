"""trucesim: agent-based simulation of gang truces.

Imprisoned gang leaders with limited operational control, street cliques with
territory, rivalries and retaliation, and police under configurable policy regimes,
simulated day by day to give homicide trajectories.

Quick start::

    from trucesim import load_scenario, simulate
    scenario = load_scenario("el-salvador-2010-2016")
    daily = simulate(scenario, seed=1)
"""

from importlib.metadata import PackageNotFoundError, version

from trucesim.api import simulate, simulate_variants
from trucesim.core.metrics import METRIC_NAMES
from trucesim.core.model import TruceModel
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.load import load_scenario
from trucesim.scenario.schema import Scenario

try:
    __version__ = version("trucesim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "METRIC_NAMES",
    "ConfigError",
    "Scenario",
    "TruceModel",
    "__version__",
    "load_scenario",
    "simulate",
    "simulate_variants",
]
