"""The compiled day against a plain dense implementation of the same day.

The model draws the day's rare events with sparse exact samplers
(:mod:`trucesim.mechanisms.sampling`: a Poisson total placed by rate, dart binomials),
and each mechanism is a compiled kernel. :func:`dense_day` re-implements the whole day
(steps 1-9 of docs/model.md) independently, the straightforward way, in numpy with one
``rng.poisson`` / ``rng.binomial`` variate per clique or front. Replicates of the El
Salvador scenario from both must agree, per phase, within sampling error (Welch t-test
on replicate means, Bonferroni-corrected).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trucesim.core.model import TruceModel
from trucesim.core.timeline import COMMUNIQUE, REFUSAL, STREET_ARREST, STREET_TIER, TRANSFER
from trucesim.scenario.load import load_scenario
from trucesim.scenario.params import Mechanisms
from trucesim.scenario.schema import Scenario

from .conftest import SCENARIOS, small

REPLICATES = 14
OUTCOMES = ("homicides", "gang_on_gang", "gang_on_civilian", "police_killed",
            "gang_killed_by_police", "attacks_on_police", "disappearances", "arrests",
            "releases", "recruits", "members", "prisoners", "restraint_share", "mean_autonomy")
NONE, RESTRAINT, PRESSURE = 0, 1, 2


def check_reference_applies(model: TruceModel) -> None:
    """The dense reference implements the first model (plus mechanism 4) only."""
    on = dict(model.config.mechanisms)
    first_model = ("leaders", "police", "demography", "other_killings")
    assert all(on[k] for k in first_model), "the reference needs the first model's mechanisms"
    assert not (on.get("civilian_split") or on.get("other_actors")), "no mechanisms 6-7 in it"
    assert not (on.get("command_tiers") or on.get("bargaining_violence")), "nor mechanisms 1-2"


def dense_day(model: TruceModel, day: int, events: np.ndarray) -> None:
    """Simulate day ``day`` of ``model`` densely, on its state; record into its rows.
    ``events``: the rows of the timeline's schedule of events on that day."""
    rng, cfg = model.rng, model.config
    v, cmd, pol, dem = cfg.violence, cfg.command, cfg.policing, cfg.demography
    c, e, g = model.cliques, model.edges, model.gangs
    row = model.daily[day + model.burn_in]
    tl = model.timeline
    phase = int(tl.phase_of_day[day])
    regime = tl.regimes[phase]

    # 1. Regime and events (no splits or takeovers in the scenarios compared).
    if phase != model.state.clock.phase[0]:
        model.state.clock.phase[0] = phase
        g.isolation[:] = regime.isolation
    for ev in events:
        if ev["kind"] in (STREET_TIER, STREET_ARREST, REFUSAL):
            continue  # nothing without their mechanisms' switches (docs/model.md, mechanisms 1-2)
        assert ev["kind"] in (TRANSFER, COMMUNIQUE), "the reference has no world changes"
        if ev["kind"] == TRANSFER:
            g.isolation[ev["gang"]] = ev["value"]
        else:
            g.forced_stance[ev["gang"]] = ev["other"]
            g.forced_until[ev["gang"]] = day + ev["days"]

    # 2. Leaders decide.
    paid = regime.benefits
    if regime.conditional:
        done = day + model.burn_in
        w = min(regime.verification_days, done)
        recent = model.daily["homicides"][done - w:done].mean() if w else 0.0
        paid = 0.0 if recent > regime.violence_target else paid
    stance = np.where(g.isolation * regime.repression >= cmd.pressure_threshold, PRESSURE, NONE)
    if regime.benefits >= cmd.benefit_threshold:
        stance[:] = RESTRAINT
    forced = day < g.forced_until
    stance[forced] = g.forced_stance[forced]
    g.stance[:] = stance
    restraining = stance == RESTRAINT
    if paid > 0:
        g.authority[:] += restraining * cmd.authority_gain * paid * (1 - g.authority)
    else:
        g.authority[:] -= restraining * cmd.authority_loss * g.authority
    row["benefits_paid"] = paid

    # 3. Orders travel.
    order = stance[c.gang]
    hear = ((1 - g.isolation) * g.cohesion * g.authority * cmd.contact_rate)[c.gang]
    obey = (order != NONE) & (rng.random(len(order)) < hear * (1 - c.autonomy))
    c.restraint[obey & (order == RESTRAINT)] = 1.0
    c.pressure[obey & (order == RESTRAINT)] = 0.0
    c.pressure[obey & (order == PRESSURE)] = 1.0
    c.restraint[obey & (order == PRESSURE)] = 0.0
    c.restraint[:] *= np.exp(-cmd.defection_rate - cmd.defection_per_excitation * c.own_excitation)
    c.restraint[c.restraint < 1e-6] = 0.0
    c.pressure[:] *= math.exp(-cmd.pressure_decay)
    restrained = bool(c.restraint.any())

    # 4. Police.
    members = c.members.copy()
    size = (members / cfg.world.members) ** v.size_power
    n = len(members)
    force = regime.police_force
    if regime.allocation == "hotspot":
        w = c.recent_violence + 0.5
        heat = w * force * n / w.sum()
    elif regime.allocation == "focused":
        k = max(1, round(regime.focus_share * n))
        heat = np.full(n, force * (1 - pol.focus_weight))
        heat[np.argsort(-c.recent_violence, kind="stable")[:k]] += force * pol.focus_weight * n / k
    else:
        heat = np.full(n, force)
    if restrained:
        heat = heat * (1 - regime.pullback * c.restraint)
    c.heat[:] = heat
    arrests = rng.binomial(members, np.minimum(regime.arrest_rate * heat, 1.0))
    conf = rng.poisson(size * regime.confrontation_rate * heat
                       * (1 + pol.grievance_weight * c.police_grievance)
                       * (1 + pol.pressure_confrontations * c.pressure))
    killed = np.minimum(rng.binomial(conf, regime.lethality), members)
    c.police_grievance[:] *= math.exp(-pol.grievance_decay)
    c.police_grievance[:] += killed
    police_killed = rng.binomial(conf.sum(), regime.police_lethality)
    attacks = np.zeros(n, dtype=np.int64)
    if cfg.mechanisms.police_gang_retaliation:  # police and gangs retaliate
        ret = cfg.retaliation
        extra = rng.poisson(ret.police_excitation * c.force_excitation)
        more = np.minimum(rng.binomial(extra, regime.lethality), members - killed)
        c.police_grievance[:] += more
        killed = killed + more
        police_killed += rng.binomial(extra.sum(), regime.police_lethality)
        attacks = rng.poisson(ret.base_attack_rate * size * (1 + ret.pressure_weight * c.pressure)
                              + ret.gang_excitation * c.attack_excitation)
        police_killed += rng.binomial(attacks.sum(), pol.attack_lethality)
        keep = math.exp(-ret.decay)
        c.attack_excitation[:] = keep * c.attack_excitation + killed
        c.force_excitation[:] = keep * c.force_excitation + attacks
    else:
        police_killed += rng.poisson(pol.attack_rate * pol.attack_lethality * c.pressure.sum())

    # 5. Fronts: every directed edge between hostile gangs (their state on the edges).
    front = g.hostile[c.gang[e.src], c.gang[e.dst]]
    excitation = model.edge_values("excitation")
    attacker = np.exp(-regime.deterrence * heat) * (1 - v.restraint_efficacy * c.restraint)
    lam = (v.mu * size[e.src] + v.eta * excitation) * attacker[e.src] * front
    k = rng.poisson(lam)
    excitation *= math.exp(-v.omega)
    c.own_excitation[:] *= math.exp(-v.omega)
    excitation += k[e.rev]  # a killing on a -> b excites b -> a
    fronts = model.front_edges()
    model.fronts.excitation[: len(fronts)] = excitation[fronts]
    model.fronts.last_killing[: len(fronts)][k[fronts] > 0] = day
    received = np.bincount(e.dst, weights=k, minlength=n).astype(np.int64)
    c.own_excitation[:] += received
    killings_by = np.bincount(e.src, weights=k, minlength=n).astype(np.int64)

    # 6-7. Civilians, background, concealment.
    civilians = rng.poisson(v.civilian_rate * members * (1 - v.restraint_efficacy * c.restraint))
    killings_by += civilians
    hidden = rng.binomial(killings_by, v.concealment * c.restraint).sum()
    c.recent_violence[:] *= math.exp(-1 / pol.hotspot_memory)
    c.recent_violence[:] += killings_by + np.minimum(received, members)

    # 8. Demography.
    losses = np.minimum(arrests + killed + received, members)
    share = losses / np.maximum(members, 1)
    c.members[:] -= losses
    c.prisoners[:] += arrests
    cap = cfg.world.capacity
    recruits = rng.poisson(np.maximum(dem.recruitment_rate * regime.recruitment_factor / cap
                                      * c.members * (cap - c.members), 0.0))
    releases = rng.binomial(c.prisoners, dem.release_rate)
    c.prisoners[:] -= releases
    c.members[:] += releases + recruits
    a = c.autonomy
    a[:] = np.where(losses > 0, np.minimum(a + dem.autonomy_per_loss * share * (1 - a), 1), a)
    a += dem.autonomy_relax * (c.baseline_autonomy - a)

    # 9. Record.
    background = rng.poisson(v.background_rate)
    deaths = k.sum() + civilians.sum() + police_killed + killed.sum() + background
    row["deaths_true"], row["homicides"] = deaths, deaths - hidden
    for name, value in (("gang_on_gang", k.sum()), ("gang_on_civilian", civilians.sum()),
                        ("police_killed", police_killed), ("arrests", arrests.sum()),
                        ("attacks_on_police", attacks.sum()),
                        ("gang_killed_by_police", killed.sum()), ("recruits", recruits.sum()),
                        ("releases", releases.sum()), ("disappearances", hidden),
                        ("members", c.members.sum()), ("prisoners", c.prisoners.sum()),
                        ("restraint_share", (c.restraint >= 0.5).mean() if restrained else 0.0),
                        ("mean_autonomy", c.autonomy.mean())):
        row[name] = value


class DenseModel(TruceModel):
    """A TruceModel whose days after construction are :func:`dense_day`."""

    def run(self):
        # The switches and the schedule are the model's constants: checked and split by
        # day once, not every day (they were 8% of the reference's time).
        check_reference_applies(self)
        schedule = self.timeline.schedule.events
        by_day = {int(d): schedule[schedule["day"] == d] for d in np.unique(schedule["day"])}
        none = schedule[:0]
        while not self.finished:
            dense_day(self, self.day, by_day.get(self.day, none))
            self.day += 1
        return self.to_frame()


def el_salvador_without_splits(calibrated: bool = True) -> Scenario:
    """The bundled El Salvador scenario without its split events (2014 and 2016) and with
    every mechanism switch of docs/model.md off: the dense reference has no world changes
    and implements the first model (plus mechanism 4, which a test switches on)."""
    scenario = load_scenario(SCENARIOS / "el-salvador-2010-2016.toml", calibrated=calibrated)
    data = scenario.to_data()
    data["events"] = [e for e in data["events"] if e["kind"] != "split"]
    data["mechanisms"].update({m: False for m in Mechanisms.design_2b()})
    return Scenario.parse(data, scenario.source)


def phase_means(model_class, scenario, seeds) -> dict[str, np.ndarray]:
    """Per (phase, outcome): the replicates' mean daily values."""
    out: dict[str, list[float]] = {}
    for seed in seeds:
        daily = model_class(scenario, rng=np.random.default_rng(seed), agents=False).run()
        means = daily.groupby("phase", observed=True)[list(OUTCOMES)].mean()
        for phase, row in means.iterrows():
            for outcome, value in row.items():
                out.setdefault(f"{phase}.{outcome}", []).append(value)
    return {k: np.array(v) for k, v in out.items()}


def test_dense_reference_records_every_day():
    scenario = small(el_salvador_without_splits(), cliques=40, burn_in=20)
    daily = DenseModel(scenario, rng=1, agents=False).run()
    assert len(daily) == scenario.days and (daily["members"] > 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("retaliation", [False, True])
def test_engine_matches_dense_reference_in_distribution(retaliation):
    # The scenario file's own values (not a calibration that may be refitted).
    el_salvador = el_salvador_without_splits(calibrated=False)
    scenario = small(el_salvador, cliques=120, burn_in=120,
                     **{"mechanisms.police_gang_retaliation": retaliation})
    engine = phase_means(TruceModel, scenario, range(REPLICATES))
    dense = phase_means(DenseModel, scenario, range(1000, 1000 + REPLICATES))
    assert engine.keys() == dense.keys()
    alpha = 0.01 / len(engine)  # family-wise 1%
    failures = []
    for key in engine:
        a, b = engine[key], dense[key]
        if np.all(a == a[0]) and np.all(b == b[0]):
            assert a[0] == b[0], key
            continue
        p = stats.ttest_ind(a, b, equal_var=False).pvalue
        rel = abs(a.mean() - b.mean()) / max(abs(b.mean()), 1e-9)
        print(f"{key:45s} engine {a.mean():9.3f} dense {b.mean():9.3f} "
              f"diff {100 * rel:5.1f}% p={p:.3f}")
        if p < alpha:
            failures.append((key, a.mean(), b.mean(), p))
    assert not failures, failures
    # The comparison has power: the standard error of the difference in mean homicides
    # is under 4% of the mean in every phase, so a shift of ~15% would be flagged.
    for key in (k for k in engine if k.endswith(".homicides")):
        a, b = engine[key], dense[key]
        se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert se < 0.04 * b.mean(), key
