"""A Mesa ``DataCollector`` whose model variables are the model's recorded daily table.

The compiled day already writes every metric of every day into the model's record arrays
(:attr:`TruceModel.daily <trucesim.core.model.TruceModel.daily>` and ``gang_daily``), so
:class:`TruceDataCollector` does not call a Python reporter per metric per day: its
``model_vars`` (what :meth:`get_model_vars_dataframe` and ``mesa.batch_run`` read) are
built from those arrays when they are read, and cached until the model simulates another
day. Collecting them costs nothing per step.

Rows are numbered by Mesa step: step ``k`` (``k >= 1``) is the ``k``-th calendar day
simulated, dated ``start + (k - 1)`` days; the burn-in, run at construction, is not a
step and has no row.

Agent reporters (per clique and per leader) are large, so they are collected only when
asked: the model calls :meth:`TruceDataCollector.collect` after each step only if agent
reporters were given.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from typing import Any

import mesa
import pandas as pd

from trucesim.core.agents import Clique, Leader

#: Agent reporters collected with ``agent_reporters=True``: attributes of the agent views.
DEFAULT_AGENT_REPORTERS: dict[type[mesa.Agent], dict[str, str]] = {
    Clique: {name: name for name in (
        "gang", "members", "prisoners", "autonomy", "restraint", "pressure", "heat")},
    Leader: {name: name for name in ("gang", "exists", "stance", "authority", "control")},
}

_IMMUTABLE = (str, int, bool, float, tuple)


class TruceDataCollector(mesa.DataCollector):
    """The daily table as Mesa model variables, plus optional per-agent snapshots.

    Args:
        model: the :class:`~trucesim.core.model.TruceModel` whose record arrays are read
            (its ``day``, ``timeline`` and ``to_frame()``).
        agenttype_reporters: per agent type (:class:`~trucesim.core.agents.Clique`,
            :class:`~trucesim.core.agents.Leader`), a mapping of reporter name to an
            attribute name or a function of the agent, as in Mesa; collected after every
            step. None or empty: no agent data.

    ``model_vars`` maps each column of :meth:`TruceModel.to_frame
    <trucesim.core.model.TruceModel.to_frame>` (``date``, ``phase``, ``regime``, the
    metrics, the per-gang columns) to its list of daily values; ``_collection_steps``
    lists the step of each row (1, 2, ...). Both are read-only views of the record.
    """

    def __init__(
        self,
        model: mesa.Model,
        agenttype_reporters: Mapping[type[mesa.Agent], Mapping[str, Any]] | None = None,
    ):
        # The base constructor is not called: it assigns model_vars and
        # _collection_steps, which here are derived from the model's record.
        self.model_reporters: dict[str, Any] = {}
        self.agent_reporters: dict[str, Any] = {}
        self.agenttype_reporters: dict[type, dict[str, Any]] = {}
        self._agent_records: dict[int, list] = {}
        self._agenttype_records: dict[int, dict[type, list]] = {}
        self.tables: dict[str, dict[str, list]] = {}
        self._validated = True
        self._model = model
        self._cache_key: tuple[int, int] | None = None
        self._frame: pd.DataFrame | None = None  # built when first read
        self._vars: dict[str, list] | None = None
        for agent_type, reporters in (agenttype_reporters or {}).items():
            for name, reporter in reporters.items():
                self._new_agenttype_reporter(agent_type, name, reporter)

    # ------------------------------------------------------------ model variables
    def _refresh(self) -> None:
        model = self._model
        key = (model.day, id(model.timeline))
        if key != self._cache_key:
            frame = model.to_frame()
            frame.index = pd.RangeIndex(1, len(frame) + 1, name="Step")
            self._frame = frame
            self._vars = None  # built from the frame when first read
            self._cache_key = key

    @property
    def model_vars(self) -> dict[str, list]:
        """Each daily column's values, one per step so far (read from the record)."""
        self._refresh()
        if self._vars is None:
            self._vars = {col: self._frame[col].tolist() for col in self._frame.columns}
        return self._vars

    @property
    def _collection_steps(self) -> list[int]:
        """The step of each row of ``model_vars`` (Mesa's batch_run reads this)."""
        self._refresh()
        return list(self._frame.index)

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """The daily table so far, indexed by ``Step`` (1 = the scenario's first day), with
        a ``date`` column; the same columns as ``TruceModel.to_frame()``."""
        self._refresh()
        return self._frame.copy()

    # ------------------------------------------------------------ agent variables
    @property
    def collects_agents(self) -> bool:
        """Whether agent reporters were given (so :meth:`collect` has work to do)."""
        return bool(self.agenttype_reporters)

    def collect(self, model: mesa.Model) -> None:
        """Snapshot the agent reporters at the model's current step.

        The model variables need no collecting: the compiled day records them.
        """
        for agent_type, reporters in self.agenttype_reporters.items():
            funcs = list(reporters.values())
            rows = []
            for agent in model.agents_by_type.get(agent_type, ()):
                values = [f(agent) for f in funcs]
                rows.append((model.steps, agent.unique_id, *(
                    v if isinstance(v, _IMMUTABLE) else deepcopy(v) for v in values)))
            self._agenttype_records.setdefault(model.steps, {})[agent_type] = rows
