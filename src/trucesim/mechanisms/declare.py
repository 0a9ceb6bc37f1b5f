"""How a mechanism declares itself: its parameter block, the columns it writes, the state
it owns.

Each mechanism module (and :mod:`trucesim.core.world`) ends its docstring's story with
one :class:`Mechanism`, ``DECLARATION``; :mod:`trucesim.core.registry` lists the modules
once, in the order of the day, and everything that used to list the mechanisms by hand
is derived from it: the kernels' :class:`~trucesim.core.day.Params`, the daily columns
(:data:`trucesim.core.metrics.METRICS`), which of them are kinds of death and so the sum
``deaths_true`` (:func:`trucesim.core.day.record`). docs/extending.md walks through
adding a mechanism.

Pure data: importing this module compiles nothing.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import BaseModel


class Metric(NamedTuple):
    """An output column: name, storage type, meaning, the one label and unit it is shown
    with (plots, tables, the dashboard), whether it is a flow (a count of the day's
    events, which sums over days) rather than a level, whether it is a component of true
    deaths (``deaths_true`` is the sum of these), and for a coded choice the names of its
    codes (code -1: missing)."""

    name: str
    dtype: type
    meaning: str
    label: str
    unit: str
    flow: bool = False
    death: bool = False  # a component of true deaths: deaths_true sums these
    categories: tuple[str, ...] | None = None  # a coded choice: its names, by code


class Mechanism(NamedTuple):
    """What a mechanism module brings to the model, by name.

    ``name`` is also the key of its parameter block in a scenario file (``[violence]``)
    and in :class:`~trucesim.core.day.Params`; ``params`` the pydantic class of that
    block (:mod:`trucesim.scenario.params`, where every parameter's unit and source
    live), or None for a mechanism without one; ``metrics`` the daily columns its step
    writes into the day's row (``row.<name> = ...`` in :func:`trucesim.core.day.day`);
    ``gang_metrics`` the columns it adds per gang (``<name>_<gang>``, written by
    :func:`trucesim.core.day.record` from the gangs' state);
    ``state`` the state arrays it owns, as ``"<container>.<field>"`` of
    :class:`~trucesim.core.state.State` (declared there with their type and meaning);
    ``steps`` the steps of the day it runs (docs/model.md, "One day") and ``doc`` one
    line on what it does."""

    name: str
    doc: str
    steps: tuple[int, ...]
    params: type[BaseModel] | None = None
    metrics: tuple[Metric, ...] = ()
    gang_metrics: tuple[Metric, ...] = ()
    state: tuple[str, ...] = ()
