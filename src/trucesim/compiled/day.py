"""The compiled day: every mechanism of :meth:`trucesim.core.model.TruceModel.step` after
the leaders' decision, in one numba function.

It calls the generator in exactly the order, and for exactly the amounts, of the numpy
day, and computes every rate with the same expressions in the same order, so for a
seed both engines give the same daily table (``tests/test_compiled_day.py``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from trucesim.compiled import layout as L
from trucesim.compiled import refresh_cache
from trucesim.compiled.command import transmit, update_authority
from trucesim.compiled.demography import gains, losses, rates
from trucesim.compiled.policing import act, allocate, arrest_rates, confrontation_rates
from trucesim.compiled.sampling import BLOCK, float_sum, place_fused, segment
from trucesim.compiled.violence import civilian_rates, conceal, front_rates, fronts
from trucesim.core.model import ACTIVE_WINDOW
from trucesim.scenario.params import Allocation

refresh_cache()  # before any kernel is loaded from numba's cache


@njit(cache=True)
def simulate_day(
    rng, day, done, consts, regime, paid, memory,
    # cliques
    gang, members, prisoners, autonomy, baseline_relaxed, restraint, pressure,
    police_grievance, heat, own_excitation, recent_violence,
    # fronts
    src, dst, rev, excitation, last_killing,
    # leaders
    stance, isolation, cohesion, authority, clique_count, control,
    # the day's tallies and scratch
    arrests, killed_by_police, victims, killings_by, tallies, active_by_day,
    size, attacker, restraint_factor, certain, share_lost, received, releases,
    morning, morning_cum, morning_blocks, evening, evening_cum, evening_blocks,
    # records
    record, stances, recorded_prefix,
):
    """Simulate steps 3-9 of one day in place; return the day's front events."""
    n, n_fronts = len(gang), len(src)
    leaders_on = consts[L.LEADERS_ON] != 0.0
    police_on = consts[L.POLICE_ON] != 0.0
    others_on = consts[L.OTHER_KILLINGS_ON] != 0.0

    # 3. Orders travel.
    restrained = False
    if leaders_on:
        restrained = transmit(
            rng, gang, autonomy, restraint, pressure, own_excitation,
            stance, isolation, cohesion, authority, clique_count, control,
            consts[L.CONTACT_RATE], consts[L.DEFECTION_RATE],
            consts[L.DEFECTION_PER_EXCITATION], consts[L.PRESSURE_DECAY])

    # 4-6. The morning's rates: arrests, confrontations, fronts, civilians.
    scale, power = consts[L.SIZE_SCALE], consts[L.SIZE_POWER]
    for i in range(n):
        s = members[i] * scale
        if power == 2.0:
            s = s * s
        elif power == 0.5:
            s = math.sqrt(s)
        elif power != 1.0:
            s = s ** power
        size[i] = s
    uniform = True
    any_certain = False
    scalar_attacker = 1.0
    if police_on:
        uniform = allocate(heat, recent_violence, restraint, restrained, regime)
        any_certain = arrest_rates(members, heat, uniform, regime, morning[:n], certain)
        memory[0] = confrontation_rates(
            police_grievance, pressure, size, heat, uniform, regime, consts,
            memory[0] != 0, morning[n : 2 * n])
        if uniform:
            scalar_attacker = regime[L.UNIFORM_ATTACKER]
        else:
            deterrence = regime[L.DETERRENCE]
            for i in range(n):
                attacker[i] = math.exp(heat[i] * -deterrence)
    scalar = uniform or not police_on
    if restrained:
        rho = consts[L.RESTRAINT_EFFICACY]
        for i in range(n):
            restraint_factor[i] = 1.0 - rho * restraint[i]
            attacker[i] = (scalar_attacker if scalar else attacker[i]) * restraint_factor[i]
        scalar = False
    front_rates(src, excitation, size, attacker, scalar_attacker, scalar, consts,
                morning[2 * n : 2 * n + n_fronts])
    if others_on:
        civilian_rates(members, restraint_factor, restrained, consts[L.CIVILIAN_RATE],
                       morning[2 * n + n_fronts : 3 * n + n_fronts])
    events = place_fused(rng, morning, morning_cum, morning_blocks)
    arrest_darts = segment(events, 0, n)
    confrontations = segment(events, n, 2 * n)
    front_events = segment(events, 2 * n, 2 * n + n_fronts)
    civilians = segment(events, 2 * n + n_fronts, 3 * n + n_fronts)

    arrests_total = killed_total = police_killed = 0
    if police_on:
        arrests_total, killed_total, police_killed = act(
            rng, members, pressure, police_grievance, arrest_darts, certain, any_certain,
            confrontations, regime, consts, memory[0] != 0, arrests, killed_by_police)
    memory[1] = fronts(
        src, dst, rev, excitation, last_killing, own_excitation, members, front_events, day,
        consts, received, victims, killings_by, active_by_day, memory[1])
    background = 0
    if others_on:
        for i in civilians:
            killings_by[i] += 1
        background = rng.poisson(consts[L.BACKGROUND_RATE])

    # 7. Concealment.
    hidden = conceal(rng, killings_by, restraint, restrained, consts)
    decay = consts[L.RECENT_DECAY]
    for i in range(n):
        recent_violence[i] = recent_violence[i] * decay + killings_by[i] + victims[i]

    # 8. Cliques change.
    if consts[L.DEMOGRAPHY_ON] != 0.0:
        losses(members, prisoners, arrests, killed_by_police, victims, share_lost)
        rates(members, prisoners, regime[L.RECRUIT_COEFFICIENT], consts, evening)
        gained = place_fused(rng, evening, evening_cum, evening_blocks)
        recruits = segment(gained, n, 2 * n)
        tallies[L.RELEASES] = gains(
            rng, members, prisoners, autonomy, baseline_relaxed, share_lost,
            segment(gained, 0, n), recruits, consts, releases)
        tallies[L.RECRUITS] = len(recruits)

    tallies[L.GANG_ON_GANG] = len(front_events)
    tallies[L.CIVILIANS] = len(civilians)
    tallies[L.POLICE_KILLED] = police_killed
    tallies[L.KILLED_BY_POLICE_TOTAL] = killed_total
    tallies[L.BACKGROUND] = background
    tallies[L.DISAPPEARANCES] = hidden
    tallies[L.ARRESTS_TOTAL] = arrests_total

    # 9. Record.
    deaths = len(front_events) + tallies[L.CIVILIANS] + police_killed + killed_total + background
    recorded = deaths - hidden
    recorded_prefix[done + 1] = recorded_prefix[done] + recorded
    if day < 0:
        return front_events
    row = record[day]
    on_street = 0
    in_prison = 0
    restraining = 0
    pressing = 0
    for i in range(n):
        on_street += members[i]
        in_prison += prisoners[i]
        if restraint[i] >= 0.5:
            restraining += 1
        if pressure[i] >= 0.5:
            pressing += 1
    row[0] = recorded
    row[1] = deaths
    row[2] = len(front_events)
    row[3] = tallies[L.CIVILIANS]
    row[4] = police_killed
    row[5] = killed_total
    row[6] = background
    row[7] = hidden
    row[8] = arrests_total
    row[9] = tallies[L.RELEASES]
    row[10] = tallies[L.RECRUITS]
    row[11] = on_street
    row[12] = in_prison
    row[13] = restraining / n if restrained else 0.0
    row[14] = pressing / n
    row[15] = float_sum(autonomy) / n
    if not police_on:
        row[16] = 0.0
    elif uniform:
        row[16] = regime[L.POLICE_FORCE]
    else:
        row[16] = float_sum(heat) / n
    row[17] = memory[1]
    row[18] = paid
    g = len(stance)
    for j in range(g):
        row[19 + j] = control[j]
        row[19 + g + j] = authority[j]
        stances[day, j] = stance[j]
    return front_events


@njit(cache=True)
def simulate_quiet_days(
    first, last, burn_in, authority, authority_gain, authority_loss, restraining,
    any_restraining, rng, consts, regime, paid, memory, *state,
):
    """Days ``first`` to ``last - 1`` when nothing but the day itself happens: no phase
    change, event or end of a forced stance, and a regime whose benefits do not depend
    on recent violence. The leaders' stance then stays as decided, and each day is the
    leaders' authority update (as :meth:`trucesim.mechanisms.command.Command.decide`) followed by
    :func:`simulate_day`. ``state`` is :func:`simulate_day`'s arguments after
    ``memory`` (``authority`` is the leaders' array among them). Returns the last
    day's front events."""
    events = np.empty(0, dtype=np.int64)
    for day in range(first, last):
        if consts[L.LEADERS_ON] != 0.0 and any_restraining:
            update_authority(authority, restraining, paid, authority_gain, authority_loss)
        events = simulate_day(rng, day, day + burn_in, consts, regime, paid, memory, *state)
    return events


class CompiledDay:
    """Runs a :class:`~trucesim.core.model.TruceModel`'s days through :func:`simulate_day`.

    Holds the packed constants (:mod:`trucesim.compiled.layout`), one regime array per
    phase, and the scratch arrays; the state stays in the model's arrays.
    """

    def __init__(self, model):
        self.model = model
        cfg = model.config
        v, c, p, d = cfg.violence, cfg.command, cfg.policing, cfg.demography
        on = cfg.mechanisms
        n = model.territory.n
        values = {
            "size_scale": model._size_scale, "size_power": v.size_power,
            "restraint_efficacy": v.restraint_efficacy, "mu": v.mu, "eta": v.eta,
            "excitation_decay": model.violence.decay, "civilian_rate": v.civilian_rate,
            "background_rate": v.background_rate, "concealment": v.concealment,
            "recent_decay": model.policing.memory_decay, "contact_rate": c.contact_rate,
            "defection_rate": c.defection_rate,
            "defection_per_excitation": c.defection_per_excitation,
            "pressure_decay": model.command.pressure_decay,
            "grievance_decay": model.policing.grievance_decay,
            "grievance_weight": p.grievance_weight,
            "pressure_confrontations": p.pressure_confrontations,
            "attack_rate": p.attack_rate, "attack_lethality": p.attack_lethality,
            "release_darts": model.demography.release_darts,
            "release_all": float(model.demography.release_all),
            "autonomy_per_loss": d.autonomy_per_loss, "autonomy_relax": d.autonomy_relax,
            "capacity": model.demography.capacity,
            "leaders_on": float(on.leaders), "police_on": float(on.police),
            "demography_on": float(on.demography),
            "other_killings_on": float(on.other_killings),
        }
        self.consts = np.array([float(values[name]) for name in L.MODEL])
        self._regimes: dict[int, tuple[object, np.ndarray]] = {}
        self.memory = np.zeros(2, dtype=np.int64)  # [pressure seen, active fronts]
        # Fronts whose last killing was on day d, at d % ACTIVE_WINDOW.
        self.active_by_day = np.zeros(ACTIVE_WINDOW, dtype=np.int64)
        self.tallies = np.zeros(len(L.TALLIES), dtype=np.int64)
        self.baseline_relaxed = d.autonomy_relax * model.cliques.baseline_autonomy
        # The rate buffers of the model's fused draws (same segments, same padding).
        self.morning = model._morning.rates
        self.morning_cum = np.empty_like(self.morning)
        self.morning_blocks = np.empty(len(self.morning) // BLOCK)
        self.evening = model._evening.rates
        self.evening_cum = np.empty_like(self.evening)
        self.evening_blocks = np.empty(len(self.evening) // BLOCK)
        self.scratch = dict(
            size=np.empty(n), attacker=np.empty(n), restraint_factor=np.ones(n),
            certain=np.zeros(n, dtype=bool), share_lost=np.empty(n),
            received=np.zeros(n, dtype=np.int64), releases=np.zeros(n, dtype=np.int64))

    def regime_array(self, regime) -> np.ndarray:
        """The packed constants of ``regime`` (cached per regime object)."""
        cached = self._regimes.get(id(regime))
        if cached is not None and cached[0] is regime:
            return cached[1]
        model = self.model
        n = model.territory.n
        arrest_p = min(regime.arrest_rate * regime.police_force, 1.0)
        k = max(1, int(round(regime.focus_share * n)))
        fw = model.config.policing.focus_weight
        d = model.config.demography
        values = {
            "allocation": {Allocation.UNIFORM: L.UNIFORM, Allocation.HOTSPOT: L.HOTSPOT,
                           Allocation.FOCUSED: L.FOCUSED}[regime.allocation],
            "police_force": regime.police_force, "pullback": regime.pullback,
            "arrest_rate": regime.arrest_rate,
            "confrontation_rate": regime.confrontation_rate,
            "lethality": regime.lethality, "police_lethality": regime.police_lethality,
            "deterrence": regime.deterrence,
            "uniform_arrest_darts": 0.0 if arrest_p >= 1.0 else -np.log1p(-arrest_p),
            "uniform_certain": float(arrest_p >= 1.0),
            "uniform_attacker": math.exp(-regime.deterrence * regime.police_force),
            "focus_count": k,
            "focus_base": regime.police_force * (1.0 - fw),
            "focus_extra": regime.police_force * fw * n / k,
            "hotspot_force": regime.police_force * n,
            "recruit_coefficient":
                d.recruitment_rate * regime.recruitment_factor / model.demography.capacity,
        }
        packed = np.array([float(values[name]) for name in L.REGIME])
        # Keep the regime alive with its array, so that its id is never reused for
        # another regime (the dashboard rebuilds the timeline mid-run).
        self._regimes[id(regime)] = (regime, packed)
        return packed

    def _state(self) -> tuple:
        """:func:`simulate_day`'s array arguments after ``memory``, in order."""
        model, s, t = self.model, self.scratch, self.model.today
        c, fr, ld = model.cliques, model.fronts, model.leaders
        return (
            c.gang, c.members, c.prisoners, c.autonomy, self.baseline_relaxed, c.restraint,
            c.pressure, c.police_grievance, c.heat, c.own_excitation, c.recent_violence,
            fr.src, fr.dst, fr.rev, fr.excitation, fr.last_killing,
            ld.stance, ld.isolation, ld.cohesion, ld.authority, ld.clique_count, ld.control,
            t.arrests, t.killed_by_police, t.victims, t.killings_by, self.tallies,
            self.active_by_day, s["size"], s["attacker"], s["restraint_factor"], s["certain"],
            s["share_lost"],
            s["received"], s["releases"],
            self.morning, self.morning_cum, self.morning_blocks,
            self.evening, self.evening_cum, self.evening_blocks,
            model._record, model._stances, model._recorded_prefix)

    def _finish(self, events: np.ndarray) -> None:
        t = self.model.today
        (t.gang_on_gang, t.civilians, t.police_killed, t.killed_by_police_total,
         t.background, t.disappearances, t.arrests_total, t.releases,
         t.recruits) = self.tallies.tolist()
        t.front_events = events

    def step(self, day: int, regime) -> np.ndarray:
        """Simulate the rest of ``day`` (after the leaders' decision); return its front
        events."""
        model = self.model
        events = simulate_day(
            model.rng, day, day + model.burn_in, self.consts, self.regime_array(regime),
            model.today.benefits_paid, self.memory, *self._state())
        self._finish(events)
        return events

    def quiet_until(self) -> int:
        """First day from the model's next day on at which something besides the day
        itself happens (a phase change, an event, the end of a forced stance, the end
        of the run); the model's next day itself if its regime is conditional."""
        model = self.model
        if model.regime.conditional:
            return model.day
        end = model.timeline.next_change(model.day)
        if model.config.mechanisms.leaders:  # else the stance is never decided
            end = min(end, model.command.stance_until)
        return end

    def run_quiet_days(self) -> int:
        """Simulate the days up to :meth:`quiet_until` in one compiled call; return how
        many (the model's ``day`` advances by as many)."""
        model = self.model
        end = self.quiet_until()
        if end <= model.day:
            return 0
        first = model.day
        command, params = model.command, model.config.command
        restraining = command.restraining
        events = simulate_quiet_days(
            first, end, model.burn_in, model.leaders.authority,
            params.authority_gain, params.authority_loss,
            restraining if restraining is not None else np.zeros(0, dtype=bool),
            command.any_restraining, model.rng, self.consts, self.regime_array(model.regime),
            model.today.benefits_paid, self.memory, *self._state())
        self._finish(events)
        model.day = end
        return end - first
