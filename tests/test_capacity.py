"""Capacity built during a truce (docs/model.md, mechanism 3, switch ``mechanisms.truce_capacity``).

With the switch on, a clique's carrying capacity is ``world.capacity * (1 + growth_order *
restraint)`` (the leaders' growth order), and each clique keeps an arms stock

    arms <- (1 - delta) * arms + delta * members / world.members

(income from extortion in proportion to members, depreciation ``delta =
demography.arms_depreciation``), counted in stationary stocks of a clique of
``world.members`` members, which multiplies its size factor:
``s_a = (members_a / world.members) ** size_power * arms_a ** arms_power``.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas.testing as pdt
import pytest

from trucesim.api import simulate
from trucesim.core.model import TruceModel
from trucesim.scenario.params import DemographyParams, Mechanisms, ViolenceParams
from trucesim.scenario.schema import Scenario, bundled_scenarios, load_scenario

START = dt.date(2000, 1, 1)


def truce_world(on: bool, truce_days: int = 1460, cliques: int = 150,
                **overrides) -> Scenario:
    """A small world: a year without truce, then a long truce (leaders order restraint),
    then a year without (the truce's end)."""
    truce = START + dt.timedelta(days=365)
    after = truce + dt.timedelta(days=truce_days)
    scenario = Scenario.parse(
        {
            "name": "capacity",
            "start": START,
            "end": after + dt.timedelta(days=364),
            "world": {"cliques": cliques, "burn_in_days": 365},
            "mechanisms": {"truce_capacity": on},
            "phases": [{"start": START, "regime": "baseline"},
                       {"start": truce, "regime": "truce"},
                       {"start": after, "regime": "baseline"}],
        },
        "capacity",
    )
    return scenario.with_overrides(overrides) if overrides else scenario


def members_and_arms_at_truce_end(on: bool, seed: int) -> tuple[float, float, float]:
    """Mean members and arms per clique on the truce's last day, and the mean restraint
    share during the truce."""
    scenario = truce_world(on)
    model = TruceModel(scenario, rng=seed, agents=False)
    end = 365 + 1460
    model._simulate(end)
    daily = model.daily[model.burn_in + 365: model.burn_in + end]
    return (float(model.cliques.members.mean()), float(model.cliques.arms.mean()),
            float(daily.restraint_share.mean()))


def test_long_restraint_leaves_more_members_and_arms():
    seeds = range(4)
    off = np.array([members_and_arms_at_truce_end(False, s) for s in seeds])
    on = np.array([members_and_arms_at_truce_end(True, s) for s in seeds])
    assert off[:, 2].mean() > 0.3 and on[:, 2].mean() > 0.3  # the cliques did restrain
    # Without the switch arms never move: each clique keeps its initial stock.
    start = TruceModel(truce_world(False), rng=0, agents=False)
    assert start.cliques.arms.mean() == pytest.approx(1.0, abs=0.02)
    # The growth order: clearly more members at the truce's end, seed by seed and on
    # average (a difference of several standard errors of the paired differences).
    gain = on[:, 0] - off[:, 0]
    assert np.all(gain > 0), (on[:, 0], off[:, 0])
    assert gain.mean() > 0.05 * off[:, 0].mean(), (on[:, 0], off[:, 0])
    # Arms follow the members they are paid by, above the reference stock of 1.
    assert np.all(on[:, 1] > off[:, 1] + 0.05), (on[:, 1], off[:, 1])
    assert np.all(on[:, 1] > 1.05)


def test_more_capacity_means_more_violence_after_the_truce():
    """The year after the truce: recorded homicides are higher with the switch on
    (paired seeds)."""
    after = slice(365 + 1460, None)
    diffs = []
    for seed in range(3):
        a = simulate(truce_world(False), seed=seed).homicides.to_numpy()[after].sum()
        b = simulate(truce_world(True), seed=seed).homicides.to_numpy()[after].sum()
        diffs.append(b - a)
    assert np.mean(diffs) > 0, diffs


@pytest.mark.parametrize("name", bundled_scenarios())
def test_switch_off_changes_nothing(name):
    """Off, the capacity parameters play no role; on with no growth order and arms
    power 0 the model is exactly the one without the switch (every bundled scenario)."""
    base = load_scenario(name).with_overrides({"world.cliques": 120,
                                               "mechanisms.truce_capacity": False})
    off = simulate(base, seed=7)
    extreme = {"demography.growth_order": 50.0, "demography.arms_depreciation": 0.5,
               "violence.arms_power": 3.0}
    pdt.assert_frame_equal(off, simulate(base.with_overrides(extreme), seed=7))
    neutral = {"mechanisms.truce_capacity": True, "demography.growth_order": 0.0,
               "violence.arms_power": 0.0}
    pdt.assert_frame_equal(off, simulate(base.with_overrides(neutral), seed=7))


def stationary_world(days: int, depreciation: float, cliques: int = 200,
                     burn_in: int = 0) -> Scenario:
    """No leaders (so no restraint) and no police: members fluctuate by recruitment and
    killings around their logistic level; arms should track members / world.members."""
    return Scenario.parse(
        {
            "name": "arms-stationary",
            "start": START,
            "end": START + dt.timedelta(days=days - 1),
            "world": {"cliques": cliques, "burn_in_days": burn_in, "members": 60.0,
                      "capacity": 100.0},
            "mechanisms": {"leaders": False, "police": False, "truce_capacity": True},
            "demography": {"arms_depreciation": depreciation, "recruitment_rate": 0.01},
            "violence": {"mu": 0.02},
            "phases": [{"start": START, "regime": "baseline"}],
        },
        "stationary",
    )


def test_arms_stationary_level_without_restraint():
    """Stationary arms: with no restraint, E[arms_i] = E[members_i] / world.members clique
    by clique. Members first settle at their logistic level (burn-in, 1,000 days, from
    60 toward the capacity 100); arms then start at 0, far from theirs, and after 10 time
    constants the per-clique means over 24 batches of 5 time constants are tested
    against members / world.members."""
    delta = 0.02
    scenario = stationary_world(6500, delta, burn_in=1000)
    model = TruceModel(scenario, rng=11, agents=False)
    model.cliques.arms[:] = 0.0
    ref = scenario.world.members
    model._simulate(500)  # 10 time constants: exp(-10) of the start is left
    batches, size = 24, 250
    arms = np.zeros((batches, len(model.cliques.arms)))
    level = np.zeros_like(arms)
    for b in range(batches):
        for _ in range(size):
            model.step()
            arms[b] += model.cliques.arms
            level[b] += model.cliques.members / ref
    arms /= size
    level /= size
    assert level.mean() > 1.3  # the reference is world.members (60), not the capacity
    assert level.std(axis=0).mean() > 0.02  # members really fluctuate
    diff = arms - level
    se = diff.std(axis=0, ddof=1) / math.sqrt(batches)
    z = diff.mean(axis=0) / np.maximum(se, 1e-12)
    assert np.mean(np.abs(z) > 3) < 0.05, np.sort(np.abs(z))[-5:]
    total = diff.sum(axis=1)
    total_se = total.std(ddof=1) / math.sqrt(batches)
    assert abs(total.mean()) < 3 * total_se, (total.mean(), total_se)
    assert abs(arms.mean() - level.mean()) < 0.005 * level.mean()


def test_arms_converge_to_members_when_sizes_are_fixed():
    """Demography off: members fixed, so arms_t = m / ref + (arms_0 - m / ref) (1 - delta)^t
    exactly."""
    delta = 0.01
    scenario = stationary_world(300, delta).with_overrides({"mechanisms.demography": False})
    model = TruceModel(scenario, rng=2, agents=False)
    model.cliques.arms[:] = 2.0
    model.run()
    target = model.cliques.members / scenario.world.members
    expected = target + (2.0 - target) * (1 - delta) ** 300
    np.testing.assert_allclose(model.cliques.arms, expected, rtol=1e-9)


def test_arms_scale_the_size_factor():
    scenario = stationary_world(2, 0.01).with_overrides(
        {"mechanisms.demography": False, "violence.arms_power": 0.5,
         "violence.size_power": 2.0})
    model = TruceModel(scenario, rng=3, agents=False)
    model.cliques.arms[:] = np.linspace(0.5, 2.0, len(model.cliques.arms))
    arms = model.cliques.arms.copy()
    model.step()
    ref = scenario.world.members
    np.testing.assert_allclose(model.cliques.size,
                               (model.cliques.members / ref) ** 2 * np.sqrt(arms))


def test_defaults_and_switch():
    assert not Mechanisms().truce_capacity
    assert DemographyParams().growth_order == 0.25
    assert DemographyParams().arms_depreciation == pytest.approx(1 / 730, rel=0.01)
    assert ViolenceParams().arms_power == 1.0
    assert load_scenario("el-salvador-2010-2016").mechanisms.truce_capacity  # on there
