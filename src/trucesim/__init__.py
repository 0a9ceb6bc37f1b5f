"""trucesim: agent-based simulation of gang truces.

Imprisoned gang leaders with limited operational control, street cliques with
territory, rivalries and retaliation, and police under configurable policy regimes,
simulated day by day to give homicide trajectories.

Quick start::

    from trucesim import load_scenario, simulate
    scenario = load_scenario("el-salvador-2010-2016")
    daily = simulate(scenario, seed=1)
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

try:
    __version__ = version("trucesim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

#: The public names and the module each comes from. They are imported on first use
#: (PEP 562), so that ``import trucesim.numerics.jit`` or ``trucesim --help`` does not
#: import Mesa, pandas and the model (about 1.1 of the 1.5 s an import of the package took).
_EXPORTS = {
    "METRIC_NAMES": "trucesim.core.metrics",
    "ConfigError": "trucesim.scenario.errors",
    "Scenario": "trucesim.scenario.schema",
    "TruceModel": "trucesim.core.model",
    "load_scenario": "trucesim.scenario.load",
    "simulate": "trucesim.api",
    "simulate_variants": "trucesim.api",
}

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

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from trucesim.api import simulate, simulate_variants
    from trucesim.core.metrics import METRIC_NAMES
    from trucesim.core.model import TruceModel
    from trucesim.scenario.errors import ConfigError
    from trucesim.scenario.load import load_scenario
    from trucesim.scenario.schema import Scenario


def __getattr__(name: str):
    """Import a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trucesim' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
