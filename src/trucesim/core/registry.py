"""The registry of mechanisms: every mechanism module, listed once, in the order of the day.

Each module declares itself (``DECLARATION``, a
:class:`~trucesim.mechanisms.declare.Mechanism`): its parameter block, the daily and
per-gang columns it writes and the state it owns. From this list come the kernels'
:class:`~trucesim.core.day.Params` (one field per parameter block), the columns
(:data:`trucesim.core.metrics.METRICS`, :data:`~trucesim.core.metrics.GANG_METRICS`)
and so the kinds of death summed into ``deaths_true``. The scenario's parameter blocks
(:data:`trucesim.scenario.params.BLOCKS`, below the core, so it cannot import this) must
name the same blocks; ``tests/test_declare.py`` checks that they do.
"""

from __future__ import annotations

from trucesim.core import world
from trucesim.mechanisms import (
    bargaining,
    command,
    demography,
    other_actors,
    policing,
    retaliation,
    violence,
)
from trucesim.mechanisms.declare import Mechanism

#: The mechanism modules, in the order of the day's steps (docs/model.md, "One day").
MODULES = (world, command, bargaining, policing, retaliation, violence, other_actors,
           demography)
#: Their declarations, in the same order.
MECHANISMS: tuple[Mechanism, ...] = tuple(module.DECLARATION for module in MODULES)
