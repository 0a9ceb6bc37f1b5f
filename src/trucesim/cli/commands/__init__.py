"""The commands of ``trucesim``, registered (:mod:`trucesim.cli.registry`) by importing
this package: one module per job, imported in the order ``trucesim --help`` lists them.

* :mod:`.forecast`: ``run``, ``nowcast``, ``backtest``
* :mod:`.files`: ``scenarios``, ``cases``, ``case``, ``check``, ``params``, ``regimes``
* :mod:`.experiments`: ``sweep``, ``attribute``, ``discover``, ``analyze``, ``plot``
* :mod:`.calibration`: ``calibrate``, ``validate``, ``observed``
* :mod:`.dashboard`: ``dashboard``

Each module declares its commands and their arguments only; the work is imported when a
command runs, so ``trucesim --help`` stays quick.
"""

from __future__ import annotations

import importlib

#: The modules that register commands, in the order ``trucesim --help`` lists them.
MODULES = ("forecast", "files", "experiments", "calibration", "dashboard")

for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
