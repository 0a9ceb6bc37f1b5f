"""The optimised daily step against a plain dense implementation of the same day.

The engine draws the day's rare events with fused sparse samplers
(:class:`trucesim.mechanisms.sampling.FusedPoisson`, dart binomials), which changes the order of
random numbers but must not change the distribution of outcomes. Here
:class:`DenseDayModel` re-implements the stochastic part of one day (steps 4-8 of
docs/model.md) the straightforward way, with one ``rng.poisson`` / ``rng.binomial``
variate per clique or front; the leaders' decisions, police allocation and recording
are shared. Replicates of the El Salvador scenario from both must agree, per phase,
within sampling error (Welch t-test on replicate means, Bonferroni-corrected).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trucesim.core.model import TruceModel
from trucesim.scenario.schema import load_scenario

from .conftest import SCENARIOS, small

REPLICATES = 14
OUTCOMES = ("homicides", "gang_on_gang", "disappearances", "arrests", "members",
            "gang_killed_by_police", "recruits")


class DenseDayModel(TruceModel):
    """TruceModel whose day draws every count densely (the reference implementation)."""

    def __init__(self, *args, **kwargs):
        # The numpy engine: on the compiled one, run() would hand the quiet days between
        # two changes to the compiled day instead of this reference.
        super().__init__(*args, engine="numpy", **kwargs)
        self.dense_days = 0

    def _numpy_day(self, day, regime) -> None:
        """Steps 3-9 of the day, densely; steps 1-2 (regime, events, the leaders'
        decision) are the model's own :meth:`TruceModel.step`."""
        self.dense_days += 1
        rng = self.rng
        c, f, leaders, t = self.cliques, self.fronts, self.leaders, self.today
        cfg = self.config
        v, pol, dem = cfg.violence, cfg.policing, cfg.demography
        assert all(dict(cfg.mechanisms).values()), "the reference needs every mechanism on"

        restrained = self.command.transmit(c, leaders, rng)

        # 4. Police (allocation shared; every draw dense).
        members = c.members.copy()
        size = (members / cfg.world.members) ** v.size_power
        self.policing.allocate(c, regime, restrained)
        heat = c.heat
        arrests = rng.binomial(members, np.minimum(regime.arrest_rate * heat, 1.0))
        conf_rate = (size * regime.confrontation_rate * heat
                     * (1 + pol.grievance_weight * c.police_grievance)
                     * (1 + pol.pressure_confrontations * c.pressure))
        confrontations = rng.poisson(conf_rate)
        killed = np.minimum(rng.binomial(confrontations, regime.lethality), members)
        c.police_grievance *= math.exp(-pol.grievance_decay)
        c.police_grievance += killed
        police_killed = rng.binomial(confrontations.sum(), regime.police_lethality)
        police_killed += rng.poisson(pol.attack_rate * pol.attack_lethality * c.pressure.sum())

        # 5. Fronts.
        restraint_factor = 1.0 - v.restraint_efficacy * c.restraint
        attacker = np.exp(-regime.deterrence * heat) * restraint_factor
        lam = (v.mu * size[f.src] + v.eta * f.excitation) * attacker[f.src]
        k = rng.poisson(lam)
        f.excitation *= math.exp(-v.omega)
        c.own_excitation *= math.exp(-v.omega)
        f.excitation += k[f.rev]  # a killing on a -> b excites b -> a
        f.last_killing[k > 0] = day
        n = len(members)
        received = np.bincount(f.dst, weights=k, minlength=n).astype(np.int64)
        c.own_excitation += received
        victims = np.minimum(received, members)
        killings_by = np.bincount(f.src, weights=k, minlength=n).astype(np.int64)

        # 6-7. Civilians, background, concealment.
        civilians = rng.poisson(v.civilian_rate * members * restraint_factor)
        killings_by += civilians
        hidden = rng.binomial(killings_by, v.concealment * c.restraint).sum()
        c.recent_violence *= self.policing.memory_decay
        c.recent_violence += killings_by + victims

        # 8. Demography.
        losses = np.minimum(arrests + killed + victims, members)
        share = losses / np.maximum(members, 1)
        c.members -= losses
        c.prisoners += arrests
        releases = rng.binomial(c.prisoners, dem.release_rate)
        c.prisoners -= releases
        cap = cfg.world.capacity
        growth = np.maximum(
            dem.recruitment_rate * regime.recruitment_factor / cap * c.members
            * (cap - c.members), 0.0)
        recruits = rng.poisson(growth)
        c.members += releases + recruits
        a = c.autonomy
        a[:] = np.where(losses > 0, np.minimum(a + dem.autonomy_per_loss * share * (1 - a), 1), a)
        a += dem.autonomy_relax * (c.baseline_autonomy - a)

        # 9. Record (shared).
        t.arrests, t.arrests_total = arrests, int(arrests.sum())
        t.killed_by_police[:] = killed
        t.killed_by_police_total = int(killed.sum())
        t.police_killed = int(police_killed)
        t.gang_on_gang, t.civilians = int(k.sum()), int(civilians.sum())
        t.background = int(rng.poisson(v.background_rate))
        t.disappearances = int(hidden)
        t.releases, t.recruits = int(releases.sum()), int(recruits.sum())
        self._restrained = restrained
        self._record_day(day, None)


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


def test_dense_reference_simulates_every_day():
    """run() must not hand any day of the reference to another engine."""
    scenario = small(load_scenario(SCENARIOS / "el-salvador-2010-2016.toml"), cliques=40,
                     burn_in=20)
    model = DenseDayModel(scenario, rng=1, agents=False)
    model.run()
    assert model.engine == "numpy"
    assert model.dense_days == scenario.days + scenario.world.burn_in_days


@pytest.mark.slow
def test_engine_matches_dense_reference_in_distribution():
    # The scenario file's own values (not a calibration that may be refitted).
    el_salvador = load_scenario(SCENARIOS / "el-salvador-2010-2016.toml", calibrated=False)
    scenario = small(el_salvador, cliques=120, burn_in=120)
    engine = phase_means(TruceModel, scenario, range(REPLICATES))
    dense = phase_means(DenseDayModel, scenario, range(1000, 1000 + REPLICATES))
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
