"""The model: a ``mesa.Model`` that owns the state and runs the day.

:class:`TruceModel` builds the world and the state containers from a scenario, runs
the burn-in at construction, and then simulates one calendar day per :meth:`step`
(or every remaining day with :meth:`run`), always through the one compiled day of
:mod:`trucesim.core.day`.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterable, Mapping
from typing import Any

import mesa
import numpy as np
import pandas as pd

from trucesim.core.agents import Clique, Leader, PoliceForce
from trucesim.core.datacollector import DEFAULT_AGENT_REPORTERS, TruceDataCollector
from trucesim.core.day import Params, simulate_days
from trucesim.core.metrics import DAILY, GANG_DAILY, GANG_METRICS, METRICS, gang_column
from trucesim.core.state import (
    Cliques,
    Clock,
    Edges,
    Fronts,
    Gangs,
    Nation,
    Scratch,
    State,
    allocate,
)
from trucesim.core.timeline import compile_timeline
from trucesim.core.world import build_territory, directed_edges, refresh_fronts
from trucesim.numerics.constants import constants
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.load import scenario_from
from trucesim.scenario.params import Regime
from trucesim.scenario.schema import Scenario


class TruceModel(mesa.Model):
    """Imprisoned leaders, street cliques and police under policy regimes, day by day.

    Args:
        scenario: a validated :class:`~trucesim.scenario.schema.Scenario`, or the path or
            bundled name of a scenario file (loaded with
            :func:`~trucesim.scenario.load.load_scenario`; the constructor reads no file
            itself).
        rng: seed or generator for all randomness (Mesa's ``rng=``); defaults to the
            scenario's seed. An integer or SeedSequence ``s`` gives the same run as
            ``simulate(scenario, seed=s)``.
        variant: name of a scenario variant to apply, or None for the base timeline.
        agents: create the Mesa agent views (turn off for the largest worlds if only
            the daily table is wanted).
        overrides: parameter values by dotted path (``{"violence.eta": 0.03}``), applied
            with :meth:`Scenario.with_overrides
            <trucesim.scenario.schema.Scenario.with_overrides>` before the variant.
        agent_reporters: per-agent data for :attr:`datacollector`, collected after every
            step: True for the default clique and leader reporters
            (:data:`~trucesim.core.datacollector.DEFAULT_AGENT_REPORTERS`), or a mapping
            agent type -> {name: attribute or function} as Mesa's
            ``agenttype_reporters``. Off by default (they are large).
        **parameters: more overrides, each keyword a dotted path; this lets
            ``mesa.batch_run`` sweep a parameter by name
            (``parameters={"violence.eta": [0.02, 0.03]}``).

    Raises:
        ConfigError: ``file: key: reason`` for an unknown scenario name, an override path
            that names no parameter, or an invalid value.

    The burn-in (``world.burn_in_days`` under the first phase's regime) runs at
    construction; ``steps`` then counts calendar days from the scenario's start, and
    ``running`` turns False once the scenario's last day has been simulated.

    Attributes:
        state: the state containers (:class:`~trucesim.core.state.State`): ``cliques``,
            ``edges``, ``fronts``, ``gangs``.
        territory: the fixed geography.
        timeline: the compiled phases and events.
        day: index of the next day to simulate (0 = the scenario's start).
        gang_names: every gang of the run (factions included), in column order.
        datacollector: a :class:`~trucesim.core.datacollector.TruceDataCollector`: the
            daily metrics as Mesa model variables, read from the record arrays.
    """

    def __init__(
        self,
        scenario: Scenario | str | os.PathLike,
        *,
        rng: int | np.random.SeedSequence | np.random.Generator | None = None,
        variant: str | None = None,
        agents: bool = True,
        overrides: Mapping[str, Any] | None = None,
        agent_reporters: bool | Mapping[type[mesa.Agent], Mapping[str, Any]] = False,
        **parameters: Any,
    ):
        scenario = scenario_from(scenario)
        changes = dict(overrides or {})
        both = sorted(changes.keys() & parameters.keys())
        if both:
            raise ConfigError(scenario.source, both[0], "given both in overrides and as a keyword")
        changes.update(parameters)
        if changes:
            scenario = scenario.with_overrides(changes)
        if agent_reporters is True:
            agent_reporters = DEFAULT_AGENT_REPORTERS
        if agent_reporters and not agents:
            raise ValueError("agent_reporters need the agent views (agents=True)")
        # A generator, as simulate() builds: Mesa then seeds its stdlib random from it the
        # same way whether rng was an int or a generator, so both give the same stream.
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(scenario.seed if rng is None else rng)
        super().__init__(rng=rng)
        self.config = cfg = scenario.variant(variant)
        self.gang_names = cfg.gang_names
        self.timeline = compile_timeline(cfg)
        self.territory = build_territory(
            cfg.world.cliques, cfg.world.patch_size, _shares(cfg), self.rng)
        self.state = initial_state(cfg, self.territory, self.rng)
        self.params = Params(**{name: constants(getattr(cfg, name)) for name in Params._fields})
        self.burn_in = cfg.world.burn_in_days
        rows = self.burn_in + self.timeline.days
        # Record arrays: fields read and written by name, compiled or not.
        self.daily = np.zeros(rows, dtype=DAILY).view(np.recarray)
        self.gang_daily = np.zeros((rows, len(self.gang_names)), dtype=GANG_DAILY).view(
            np.recarray)
        self.day = -self.burn_in
        self._simulate(0)  # burn-in
        if agents:
            self.leader_agents = [Leader(self, i, name) for i, name in enumerate(self.gang_names)]
            self.clique_agents = [Clique(self, i) for i in range(self.territory.n)]
            self.police = PoliceForce(self)
        self.datacollector = TruceDataCollector(self, agent_reporters or None)
        self.running = not self.finished

    # ------------------------------------------------------------------ state
    @property
    def cliques(self) -> Cliques:
        """Per-clique state arrays."""
        return self.state.cliques

    @property
    def edges(self) -> Edges:
        """Per-directed-edge state arrays."""
        return self.state.edges

    @property
    def fronts(self) -> Fronts:
        """The fronts (directed edges between hostile gangs)."""
        return self.state.fronts

    @property
    def gangs(self) -> Gangs:
        """Per-gang state arrays (the leaders)."""
        return self.state.gangs

    def front_edges(self) -> np.ndarray:
        """Indices into :attr:`edges` of today's fronts (in front order)."""
        return self.state.fronts.edge[: self.state.fronts.count[0]]

    def edge_values(self, field: str) -> np.ndarray:
        """Per directed edge, today's value of front field ``field`` (``excitation`` or
        ``last_killing``): the front's own for fronts, the edge's resting value else."""
        values = getattr(self.state.edges, field).copy()
        values[self.front_edges()] = getattr(self.state.fronts, field)[
            : self.state.fronts.count[0]]
        return values

    @property
    def regime(self) -> Regime:
        """The regime in force (with phase overrides)."""
        return self.timeline.regimes[self.timeline.phase(self.day)]

    @property
    def phase_name(self) -> str:
        """Label of the phase in force."""
        return self.timeline.phase_names[self.timeline.phase(self.day)]

    @property
    def date(self) -> dt.date:
        """Calendar date of the next day to simulate."""
        return self.config.start + dt.timedelta(days=self.day)

    @property
    def finished(self) -> bool:
        """True once the scenario's end date has been simulated."""
        return self.day >= self.timeline.days

    def replace_timeline(self, scenario: Scenario) -> None:
        """Continue under the timeline of ``scenario`` (same world and gangs) from today:
        days already simulated keep their record. Used for a regime switched mid-run."""
        if (scenario.gang_names != self.gang_names or scenario.start != self.config.start
                or scenario.end != self.config.end):
            raise ValueError("a replacement timeline must keep the gangs, the start and the end")
        timeline = compile_timeline(scenario)
        events = timeline.schedule.events
        self.state.clock.next_event[0] = np.searchsorted(events["day"], self.day)
        self.state.clock.phase[0] = -1  # enter today's phase afresh
        self.config, self.timeline = scenario, timeline

    # ------------------------------------------------------------------ running
    def _simulate(self, until: int) -> None:
        until = min(until, self.timeline.days)
        assert self.burn_in + until <= len(self.daily), "the record is shorter than the run"
        if until > self.day:
            simulate_days(self.rng, self.day, until, self.state, self.params,
                          self.timeline.schedule, self.daily, self.gang_daily)
            self.day = until

    def step(self) -> None:
        """Simulate one calendar day (then snapshot the agent reporters, if any)."""
        if not self.finished:
            self._simulate(self.day + 1)
            if self.datacollector.collects_agents:
                self.datacollector.collect(self)
        self.running = not self.finished

    def run(self) -> pd.DataFrame:
        """Simulate every remaining day; return the daily table."""
        if self.datacollector.collects_agents:  # a snapshot per day: step by step
            while not self.finished:
                self.step()
            return self.to_frame()
        days = self.timeline.days - max(self.day, 0)
        self._simulate(self.timeline.days)
        self.steps += days
        self.running = False
        return self.to_frame()

    def to_frame(self) -> pd.DataFrame:
        """The recorded days so far as a DataFrame (one row per day).

        Columns: ``date``, ``phase``, ``regime``, the metrics of
        :mod:`trucesim.core.metrics` in order, and per gang ``control_<gang>``,
        ``authority_<gang>`` and ``stance_<gang>`` (NaN while the gang does not exist).

        ``date`` is ``datetime64[s]``; ``phase`` is categorical over every phase label in
        timeline order; ``regime`` over the regimes of the days recorded, sorted (the
        categories pandas infers from the values); a coded per-gang metric (``stance``)
        over its declared names, in code order. The table owns its data: later days, or
        changes to the table, leave the other unchanged.
        """
        days = max(0, min(self.day, self.timeline.days))
        tl = self.timeline
        phase_idx = tl.phase_of_day[:days]
        # Plain structured views of the days recorded: a field of one is a plain view.
        daily = self.daily.view(np.ndarray)[self.burn_in : self.burn_in + days]
        gang_daily = self.gang_daily.view(np.ndarray)[self.burn_in : self.burn_in + days]
        # Phases and regimes are coded per phase, then per day by indexing.
        regimes = [p.regime for p in self.config.phases]
        recorded = np.flatnonzero(np.bincount(phase_idx, minlength=len(regimes)))
        start = np.datetime64(self.config.start, "D")
        data: dict[str, object] = {
            # what pd.to_datetime makes of datetime64[D]: seconds, the closest unit pandas has
            "date": (start + np.arange(days)).astype("datetime64[s]"),
            "phase": _categorical(tl.phase_names, dict.fromkeys(tl.phase_names), phase_idx),
            "regime": _categorical(regimes, sorted({regimes[i] for i in recorded}), phase_idx),
        }
        # Columns of the record are views: pd.DataFrame copies a dict's arrays into its
        # own blocks, so the table shares no memory with the record.
        for m in METRICS:
            data[m.name] = daily[m.name]
        for m in GANG_METRICS:
            values = gang_daily[m.name]
            dtype = None if m.categories is None else _categorical_dtype(m.categories)
            for j, gang in enumerate(self.gang_names):
                data[gang_column(m.name, gang)] = (
                    values[:, j] if dtype is None
                    else pd.Categorical.from_codes(values[:, j], dtype=dtype))
        return pd.DataFrame(data)


def _categorical(labels: list[str], categories: Iterable[str],
                 index: np.ndarray) -> pd.Categorical:
    """The categorical of ``labels[index]`` over ``categories`` (in their order): each
    label is coded once, and its code repeated by indexing."""
    categories = tuple(categories)
    code = {c: i for i, c in enumerate(categories)}
    codes = np.array([code.get(label, -1) for label in labels], dtype=np.int64)
    return pd.Categorical.from_codes(codes[index], dtype=_categorical_dtype(categories))


@functools.lru_cache(maxsize=256)
def _categorical_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """The unordered categorical dtype of ``categories``, in their order; built once per
    tuple of names, since pandas validates the categories of every dtype it builds (and
    a dtype is immutable, so tables can share it)."""
    return pd.CategoricalDtype(list(categories))


def _shares(cfg: Scenario) -> np.ndarray:
    shares = np.array([p.share for p in cfg.gangs.values()])
    return shares / shares.sum()


def initial_state(cfg: Scenario, territory, rng: np.random.Generator) -> State:
    """The state at the start of burn-in: clique sizes drawn, arms at their stationary
    level for those sizes, no restraint, pressure or excitation; the gangs (and the
    factions splits will create, not existing yet) with their parameters; the fronts
    derived from the world."""
    n, w = territory.n, cfg.world
    names = cfg.gang_names
    params = [cfg.gangs[_founder(cfg, g)] for g in names]
    baseline = np.array([p.autonomy for p in params])
    members = rng.poisson(w.members, size=n)
    cliques = allocate(
        Cliques, n,
        gang=territory.gang,
        x=territory.points[:, 0],
        members=members,
        prisoners=rng.poisson(w.prisoners, size=n),
        autonomy=baseline[territory.gang],
        baseline_autonomy=baseline[territory.gang],
        arms=members / w.members,  # each clique's stationary stock (truce_capacity)
        # drawn last and only when used, so that runs without command_state are unchanged
        disposition=rng.random(n) if cfg.mechanisms.command_state else np.zeros(n),
    )
    src, dst, rev = directed_edges(territory.edges)
    edges = allocate(Edges, len(src), src=src, dst=dst, rev=rev,
                     last_killing=np.full(len(src), -(10**9)))
    fronts = allocate(Fronts, len(src), count=np.zeros(1))  # derived below
    g = len(names)
    founders = len(cfg.gangs)
    hostile = ~np.eye(g, dtype=bool)
    for a, b in cfg.peace:
        i, j = names.index(a), names.index(b)
        hostile[i, j] = hostile[j, i] = False
    gangs = allocate(
        Gangs, g,
        exists=np.arange(g) < founders,
        hostile=hostile,
        cohesion=[p.cohesion for p in params],
        authority=[p.authority for p in params],
        baseline_autonomy=baseline,
        forced_until=np.full(g, -(10**9)),
        street_forced_until=np.full(g, -(10**9)),
        public_until=np.full(g, -(10**9)),
    )
    state = State(
        cliques=cliques,
        edges=edges,
        fronts=fronts,
        gangs=gangs,
        clock=allocate(Clock, 1, phase=[-1]),
        scratch=allocate(Scratch, n, cum=np.zeros(max(n, len(src))),
                         uniform=np.zeros(2 * max(n, len(src))),
                         events=np.zeros(max(n, len(src)), dtype=np.int64)),
        nation=allocate(Nation, 1),
    )
    refresh_fronts(cliques, edges, fronts, gangs)
    return state


def _founder(cfg: Scenario, gang: str) -> str:
    """The founding gang a faction descends from (a gang is its own founder)."""
    while gang not in cfg.gangs:
        gang = cfg.factions[gang]
    return gang
