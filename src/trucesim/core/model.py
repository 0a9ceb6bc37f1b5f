"""The model: composes the mechanisms over arrays owned by a ``mesa.Model``.

One call to :meth:`TruceModel.step` is one calendar day, in the order of DESIGN
section 2: regime and events, leaders decide, orders travel, police act, inter-gang
violence, other killings and concealment, cliques change, record.
"""

from __future__ import annotations

import datetime as dt
import math

import mesa
import numpy as np
import pandas as pd

from trucesim.compiled import resolve_engine
from trucesim.core.agents import Clique, Leader, PoliceForce
from trucesim.core.state import initial_state, new_today
from trucesim.core.timeline import STANCE_NAMES, compile_timeline
from trucesim.core.world import build_territory
from trucesim.mechanisms.command import Command
from trucesim.mechanisms.demography import Demography
from trucesim.mechanisms.policing import Policing
from trucesim.mechanisms.sampling import FusedPoisson
from trucesim.mechanisms.violence import Violence
from trucesim.scenario.params import Regime
from trucesim.scenario.schema import Scenario

#: Daily metrics recorded for every run, in column order (per-gang columns follow).
METRICS = (
    "homicides",
    "deaths_true",
    "gang_on_gang",
    "gang_on_civilian",
    "police_killed",
    "gang_killed_by_police",
    "background",
    "disappearances",
    "arrests",
    "releases",
    "recruits",
    "members",
    "prisoners",
    "restraint_share",
    "pressure_share",
    "mean_autonomy",
    "mean_heat",
    "active_fronts",
    "benefits_paid",
)
#: Metrics that are counts (stored as integers).
COUNT_METRICS = frozenset(METRICS[:13]) | {"active_fronts"}
ACTIVE_WINDOW = 30  # days: a front is active if it saw a killing in this window
RECENT_MAX = 365  # days: longest window of recent_recorded_per_day


class TruceModel(mesa.Model):
    """Imprisoned leaders, street cliques and police under policy regimes, day by day.

    Args:
        scenario: a validated :class:`~trucesim.scenario.schema.Scenario`.
        rng: seed or generator for all randomness (Mesa's ``rng=``); defaults to the
            scenario's seed.
        variant: name of a scenario variant to apply, or None for the base timeline.
        agents: create the Mesa agent views (turn off for the largest worlds if only
            the daily table is wanted).
        engine: ``"numpy"``, ``"numba"`` (the compiled day, :mod:`trucesim.compiled`) or
            ``"auto"`` (numba if installed); None reads ``TRUCESIM_ENGINE`` (default
            auto). Both engines give the same table for a seed.

    Attributes:
        cliques, fronts, leaders: the state arrays (struct of arrays).
        territory: the static geography.
        timeline: the compiled phases and events.
        day: index of the next day to simulate (negative during burn-in).
        engine: the engine in use, ``"numpy"`` or ``"numba"``.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        rng: int | np.random.Generator | None = None,
        variant: str | None = None,
        agents: bool = True,
        engine: str | None = None,
    ):
        super().__init__(rng=scenario.seed if rng is None else rng)
        self.config = scenario.variant(variant)
        cfg = self.config
        self.gang_names = cfg.gang_names
        g = len(self.gang_names)
        rivalry = ~np.eye(g, dtype=bool)
        for a, b in cfg.peace:
            i, j = self.gang_names.index(a), self.gang_names.index(b)
            rivalry[i, j] = rivalry[j, i] = False
        shares = np.array([p.share for p in cfg.gangs.values()])
        self.territory = build_territory(
            cfg.world.cliques, cfg.world.patch_size, shares / shares.sum(), rivalry, self.rng
        )
        self.cliques, self.fronts, self.leaders = initial_state(cfg, self.territory, self.rng)
        self.timeline = compile_timeline(cfg)
        self.command = Command(cfg.command)
        self.policing = Policing(cfg.policing)
        self.violence = Violence(cfg.violence)
        self.demography = Demography(cfg.demography, cfg.world)
        self.today = new_today(self.territory.n, self.territory.fronts)
        self._size_scale = 1.0 / cfg.world.members
        self._size_power = cfg.violence.size_power
        self._restraint_efficacy = cfg.violence.restraint_efficacy
        self._on = cfg.mechanisms
        n, f = self.territory.n, self.territory.fronts
        # The day's rare events, drawn together (see trucesim.mechanisms.sampling.FusedPoisson).
        # A switched-off mechanism leaves its segment at rate 0.
        self._morning = FusedPoisson(
            {"arrests": n, "confrontations": n, "fronts": f, "civilians": n})
        self._evening = FusedPoisson({"releases": n, "recruits": n})
        self._size = np.empty(n)

        self.burn_in = cfg.world.burn_in_days
        self.day = -self.burn_in
        self._phase = -1
        self._restrained = False
        # Prefix sums of recorded homicides per simulated day (burn-in included), so that
        # the mean over any recent window is one subtraction.
        self._recorded_prefix = np.zeros(self.burn_in + self.timeline.days + 1, dtype=np.int64)
        self._recent_decay = self.policing.memory_decay

        n_days = self.timeline.days
        self._columns = list(METRICS) + [f"control_{name}" for name in self.gang_names] + [
            f"authority_{name}" for name in self.gang_names
        ]
        self._record = np.zeros((n_days, len(self._columns)))
        self._stances = np.zeros((n_days, g), dtype=np.int64)
        self._enter_phase(0)

        self.engine = resolve_engine(engine)
        if self.engine == "numba":
            from trucesim.compiled.day import CompiledDay

            compiled = CompiledDay(self)
            self._day = compiled.step
            self._quiet_days = compiled.run_quiet_days
        else:
            self._day = self._numpy_day
            self._quiet_days = None

        if agents:
            self.leader_agents = [Leader(self, i, name) for i, name in enumerate(self.gang_names)]
            self.clique_agents = [Clique(self, i) for i in range(self.territory.n)]
            self.police = PoliceForce(self)

    # ------------------------------------------------------------------ state
    @property
    def regime(self) -> Regime:
        """The regime in force (with phase overrides)."""
        return self.timeline.regimes[self._phase]

    @property
    def phase_name(self) -> str:
        """Label of the phase in force."""
        return self.timeline.phase_names[self._phase]

    @property
    def date(self):
        """Calendar date of the next day to simulate."""
        return self.config.start + dt.timedelta(days=self.day)

    @property
    def finished(self) -> bool:
        """True once the scenario's end date has been simulated."""
        return self.day >= self.timeline.days

    def recent_recorded_per_day(self, window: int) -> float:
        """Mean recorded homicides per day over the last ``window`` days (up to 365)."""
        done = self.day + self.burn_in  # days simulated so far
        w = min(window, done, RECENT_MAX)
        if w == 0:
            return 0.0
        prefix = self._recorded_prefix
        return float(prefix[done] - prefix[done - w]) / w

    def _enter_phase(self, phase: int) -> None:
        self._phase = phase
        self.leaders.isolation[:] = self.regime.isolation
        self.command.invalidate()

    def _apply_events(self, day: int) -> None:
        self.command.invalidate()
        for ev in self.timeline.events.get(day, ()):
            if ev.kind == "transfer":
                self.leaders.isolation[ev.gang_mask] = ev.isolation
            elif ev.kind == "communique":
                self.leaders.forced_stance[ev.gang_mask] = ev.stance
                self.leaders.forced_until[ev.gang_mask] = day + ev.days

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Simulate one day (a burn-in day before the start date is not recorded)."""
        if self.finished:
            self.running = False
            return
        day = self.day
        leaders, today = self.leaders, self.today

        # 1. Regime and events.
        if day >= 0:
            phase = self.timeline.phase_of_day[day]
            if phase != self._phase:
                self._enter_phase(phase)
            if day in self.timeline.events:
                self._apply_events(day)
        regime = self.regime

        # 2. Leaders decide.
        if self._on.leaders:
            recent = (
                self.recent_recorded_per_day(regime.verification_days)
                if regime.conditional else 0.0
            )
            paid = self.command.benefits_paid(regime, recent)
            today.benefits_paid = paid
            self.command.decide(leaders, regime, paid, day)

        # 3-9. The rest of the day, on the numpy or the compiled engine.
        self._day(day, regime)
        self.day += 1
        if self.finished:
            self.running = False

    def _numpy_day(self, day: int, regime: Regime) -> None:
        """Steps 3-9 of a day with numpy (the reference engine)."""
        rng = self.rng
        cliques, fronts, leaders, today = self.cliques, self.fronts, self.leaders, self.today

        # 3. Orders travel.
        if self._on.leaders:
            restrained = self.command.transmit(cliques, leaders, rng)
        else:
            restrained = False

        # 4-6. Police act; killings on fronts and of civilians. Their rates all depend
        # on the morning's state only, so the day's events are drawn in one go.
        draws = self._morning
        size = np.multiply(cliques.members, self._size_scale, out=self._size)
        if self._size_power != 1.0:
            size **= self._size_power
        uniform_heat = 0.0
        certain = None
        on = self._on
        if on.police:
            uniform_heat = self.policing.allocate(cliques, regime, restrained)
            certain = self.policing.arrest_rates(
                cliques, regime, uniform_heat, draws.segment("arrests"))
            self.policing.confrontation_rates(
                cliques, size, regime, uniform_heat, draws.segment("confrontations"))
            if uniform_heat is None:
                attacker = np.exp(cliques.heat * -regime.deterrence)
            else:
                attacker = math.exp(-regime.deterrence * uniform_heat)
        else:
            attacker = 1.0
        if restrained:
            restraint_factor = 1.0 - self._restraint_efficacy * cliques.restraint
            attacker = attacker * restraint_factor
        else:
            restraint_factor = 1.0
        self.violence.front_rates(fronts, size, attacker, draws.segment("fronts"))
        if on.other_killings:
            self.violence.civilian_rates(cliques, restraint_factor, draws.segment("civilians"))
        arrest_darts, confrontations, front_events, civilians = draws.draw(rng)

        if on.police:
            self.policing.act(
                cliques, regime, arrest_darts, certain, confrontations, today, rng)
        self.violence.fronts(cliques, fronts, front_events, today, day)
        if on.other_killings:
            self.violence.others(civilians, today, rng)

        # 7. Concealment.
        self.violence.conceal(cliques, today, restrained, rng)
        cliques.recent_violence *= self._recent_decay
        cliques.recent_violence += today.killings_by
        cliques.recent_violence += today.victims
        self._restrained = restrained

        # 8. Cliques change: releases use today's prisoners (after arrests) and
        # recruitment today's members (after losses), so they are drawn after.
        if on.demography:
            demography = self.demography
            demography.losses(cliques, today)
            evening = self._evening
            demography.release_rates(cliques, evening.segment("releases"))
            demography.recruit_rates(cliques, regime, evening.segment("recruits"))
            release_darts, recruits = evening.draw(rng)
            demography.gains(cliques, release_darts, recruits, today, rng)

        # 9. Record.
        self._record_day(day, uniform_heat)

    def _record_day(self, day: int, uniform_heat: float | None) -> None:
        t = self.today
        deaths = (
            t.gang_on_gang + t.civilians + t.police_killed + t.killed_by_police_total
            + t.background
        )
        recorded = deaths - t.disappearances
        done = day + self.burn_in
        self._recorded_prefix[done + 1] = self._recorded_prefix[done] + recorded
        if day < 0:
            return
        c = self.cliques
        n = len(c.members)
        heat = uniform_heat if uniform_heat is not None else np.add.reduce(c.heat) / n
        row = self._record[day]
        row[: len(METRICS)] = (
            recorded,
            deaths,
            t.gang_on_gang,
            t.civilians,
            t.police_killed,
            t.killed_by_police_total,
            t.background,
            t.disappearances,
            t.arrests_total,
            t.releases,
            t.recruits,
            np.add.reduce(c.members),
            np.add.reduce(c.prisoners),
            np.count_nonzero(c.restraint >= 0.5) / n if self._restrained else 0.0,
            np.count_nonzero(c.pressure >= 0.5) / n,
            np.add.reduce(c.autonomy) / n,
            heat,
            np.count_nonzero(self.fronts.last_killing > day - ACTIVE_WINDOW),
            t.benefits_paid,
        )
        g = len(self.gang_names)
        row[len(METRICS) : len(METRICS) + g] = self.leaders.control
        row[len(METRICS) + g :] = self.leaders.authority
        self._stances[day] = self.leaders.stance

    # ------------------------------------------------------------------ running
    def run(self) -> pd.DataFrame:
        """Simulate burn-in and every day to the end; return the daily table.

        Days are stepped directly (not through Mesa's event scheduler, whose per-step
        cost is a sizeable share of a small world's day); ``steps`` is advanced to match.
        On the compiled engine, the days between two changes (phase, event, end of a
        forced stance) run in one compiled call after the first of them is stepped.
        """
        step = type(self).step
        quiet_days = self._quiet_days
        while not self.finished:
            step(self)
            self.steps += 1
            if quiet_days is not None and not self.finished:
                self.steps += quiet_days()
        self.running = False
        return self.to_frame()

    def to_frame(self) -> pd.DataFrame:
        """The recorded days so far as a DataFrame (one row per day).

        Columns: ``date``, ``phase``, ``regime``, the :data:`METRICS`, and per gang
        ``control_<gang>``, ``authority_<gang>`` and ``stance_<gang>``.
        """
        days = max(0, min(self.day, self.timeline.days))
        tl = self.timeline
        phase_idx = tl.phase_of_day[:days]
        phases = np.array(tl.phase_names, dtype=object)[phase_idx]
        regimes = np.array([p.regime for p in self.config.phases], dtype=object)[phase_idx]
        data: dict[str, object] = {
            "date": pd.to_datetime(self.config.dates[:days]),
            "phase": pd.Categorical(phases, categories=list(dict.fromkeys(tl.phase_names))),
            "regime": pd.Categorical(regimes),
        }
        for i, col in enumerate(self._columns):
            values = self._record[:days, i]
            data[col] = values.astype(np.int64) if col in COUNT_METRICS else values
        for j, name in enumerate(self.gang_names):
            data[f"stance_{name}"] = pd.Categorical(
                STANCE_NAMES[self._stances[:days, j]], categories=list(STANCE_NAMES)
            )
        return pd.DataFrame(data)

