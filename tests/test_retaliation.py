"""Police and gangs retaliate against each other (docs/model.md, mechanism 4), verified
against theory as the front process is.

With leaders, demography and other killings off, uniform police heat and no grievance
feedback, each clique's (attacks on police, members killed by police) is a linear
bivariate Hawkes process whose stationary mean per clique-day is ``(I - K)^-1 mu``
(:func:`trucesim.mechanisms.retaliation.stationary_mean`). The simulator must match it
within sampling error, clique by clique, on a world of unequal cliques.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from trucesim import load_scenario, simulate
from trucesim.core.model import TruceModel
from trucesim.mechanisms.retaliation import branching_matrix, stationary_mean
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.params import Mechanisms, RetaliationParams
from trucesim.scenario.schema import Scenario

BATCHES = 40


def retaliation_scenario(days: int, cliques: int, lethality: float,
                         gang_branching: float = 0.8, police_branching: float = 1.0,
                         decay: float = 0.3, **mechanisms) -> Scenario:
    start = dt.date(2000, 1, 1)
    per_unit = -math.expm1(-decay)
    return Scenario.parse(
        {
            "name": "retaliation-verification",
            "start": start,
            "end": start + dt.timedelta(days=days - 1),
            "world": {"cliques": cliques, "burn_in_days": 300, "patch_size": 2.0},
            "gangs": {"A": {"share": 0.6}, "B": {"share": 0.4}},
            "mechanisms": {"leaders": False, "police": True, "demography": False,
                           "other_killings": False, "police_gang_retaliation": True}
            | mechanisms,
            "violence": {"mu": 0.0, "eta": 0.0, "size_power": 2.0},
            "policing": {"grievance_weight": 0.0},
            "retaliation": {"decay": decay, "base_attack_rate": 0.01,
                            "gang_excitation": gang_branching * per_unit,
                            "police_excitation": police_branching * per_unit},
            "phases": [{"start": start, "regime": "baseline",
                        "overrides": {"arrest_rate": 0.0, "confrontation_rate": 0.01,
                                      "lethality": lethality, "allocation": "uniform",
                                      "police_force": 1.0}}],
        },
        "verification",
    )


def theory(model: TruceModel, p: RetaliationParams | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Stationary (attacks, members killed by police) per clique-day at the model's sizes
    (with the scenario's retaliation parameters, or ``p``)."""
    cfg = model.config
    regime = model.timeline.regimes[0]
    size = (model.cliques.members / cfg.world.members) ** cfg.violence.size_power
    base_attacks = cfg.retaliation.base_attack_rate * size
    base_confrontations = regime.confrontation_rate * regime.police_force * size
    return stationary_mean(base_attacks, base_confrontations, regime.lethality,
                           p or cfg.retaliation)


def per_clique_batch_means(scenario: Scenario, seed: int):
    model = TruceModel(scenario, rng=seed, agents=False)  # burn-in done
    n = scenario.world.cliques
    attacks = np.zeros((BATCHES, n))
    killed = np.zeros((BATCHES, n))
    size = scenario.days // BATCHES
    while not model.finished:
        b = model.day // size
        model.step()
        attacks[b] += model.cliques.attacks_on_police
        killed[b] += model.cliques.killed_by_police
    table = model.to_frame()
    assert attacks.sum() == table["attacks_on_police"].sum()
    assert killed.sum() == table["gang_killed_by_police"].sum()
    return attacks / size, killed / size, theory(model)


def check_stream(means: np.ndarray, expected: np.ndarray) -> None:
    observed = means.mean(axis=0)
    se = means.std(axis=0, ddof=1) / math.sqrt(BATCHES)
    z = (observed - expected) / se
    assert np.mean(np.abs(z) > 3) < 0.05, np.sort(np.abs(z))[-10:]
    assert abs(z.mean()) < 0.35, z.mean()
    total = means.sum(axis=1)
    total_se = total.std(ddof=1) / math.sqrt(BATCHES)
    assert abs(total.mean() - expected.sum()) < 3 * total_se, (total.mean(), expected.sum())
    # Theory explains the spread across unequal cliques: the regression slope of the
    # observed on the expected means is 1 within about 3 standard errors of the total.
    slope = float(observed @ expected / (expected @ expected))
    assert abs(slope - 1.0) < min(0.05, 3 * total_se / total.mean()), slope
    assert np.corrcoef(observed, expected)[0, 1] > 0.6


@pytest.mark.slow
@pytest.mark.parametrize("lethality", [0.5, 0.9])
def test_police_gang_streams_match_stationary_mean(lethality):
    scenario = retaliation_scenario(20000, 120, lethality)
    attacks, killed, (mean_attacks, mean_killed) = per_clique_batch_means(
        scenario, seed=int(lethality * 100))
    assert np.ptp(mean_attacks) > 0.4 * mean_attacks.mean()  # unequal cliques
    check_stream(attacks, mean_attacks)
    check_stream(killed, mean_killed)
    # Retaliation matters: theory is far from the means without excitation.
    model = TruceModel(scenario.with_overrides({"world.burn_in_days": 0}), rng=0, agents=False)
    quiet = RetaliationParams(gang_excitation=0.0, police_excitation=0.0)
    base_attacks, base_killed = theory(model, quiet)
    assert mean_attacks.sum() > 1.4 * base_attacks.sum()
    assert mean_killed.sum() > 1.4 * base_killed.sum()


def test_police_gang_streams_small_world():
    """Fast: national totals of both streams within 3.5 standard errors of theory."""
    scenario = retaliation_scenario(4000, 30, lethality=0.7)
    model = TruceModel(scenario, rng=3, agents=False)
    mean_attacks, mean_killed = theory(model)
    model.run()
    table = model.to_frame()
    size = scenario.days // BATCHES
    for column, expected in (("attacks_on_police", mean_attacks),
                             ("gang_killed_by_police", mean_killed)):
        batches = table[column].to_numpy()[: size * BATCHES].reshape(BATCHES, size).mean(axis=1)
        se = batches.std(ddof=1) / math.sqrt(BATCHES)
        assert abs(batches.mean() - expected.sum()) < 3.5 * se, (column, batches.mean(),
                                                                  expected.sum())
    # The excitation matters: the stationary means are well above the immigrant means.
    quiet = RetaliationParams(gang_excitation=0.0, police_excitation=0.0)
    base_attacks, base_killed = theory(model, quiet)
    assert mean_attacks.sum() > 1.4 * base_attacks.sum()
    assert mean_killed.sum() > 1.4 * base_killed.sum()


def test_stationary_mean_against_series_and_refusal():
    p = RetaliationParams(decay=0.3, gang_excitation=0.8 * -math.expm1(-0.3),
                          police_excitation=1.0 * -math.expm1(-0.3))
    mu = np.array([[0.01, 0.02], [0.004, 0.001]])
    lethality = 0.5
    k = branching_matrix(lethality, p.gang_branching, p.police_branching)
    series = sum(np.linalg.matrix_power(k, j) for j in range(200)) @ np.vstack(
        [mu[0], lethality * mu[1]])
    attacks, killed = stationary_mean(mu[0], mu[1], lethality, p)
    np.testing.assert_allclose(np.vstack([attacks, killed]), series)
    assert math.isclose(p.spectral_radius(lethality), math.sqrt(0.5 * 0.8 * 1.0))
    # At lethality 1 K's radius is sqrt(n_pg n_gp) < 1 (the validator's bound).
    assert p.spectral_radius(1.0) < 1.0


def test_explosive_exchange_is_refused_with_its_location():
    with pytest.raises(ConfigError, match=r"verification: retaliation: spectral radius .* "
                       r"= 1\.000 >= 1"):
        retaliation_scenario(100, 10, 0.5, gang_branching=1.0, police_branching=1.0)
    with pytest.raises(ConfigError, match="retaliation: spectral radius"):
        retaliation_scenario(100, 10, 0.5, gang_branching=2.0, police_branching=0.6)


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("mechanisms.police_gang_retaliation", "yes", "boolean"),
    ("mechanisms.police_gang_retaliation", 1, "boolean"),
    ("retaliation.base_attack_rate", -0.1, "greater than or equal to 0"),
    ("retaliation.decay", 0.0, "greater than 0"),
    ("retaliation.pressure_weight", math.inf, "finite"),
])
def test_bad_retaliation_input_is_located(key, value, reason):
    scenario = retaliation_scenario(100, 10, 0.5)
    with pytest.raises(ConfigError) as err:
        scenario.with_overrides({key: value}, source="s.toml")
    assert f"s.toml: {key}: " in str(err.value)
    assert reason in str(err.value)


def test_switch_off_leaves_the_run_unchanged():
    """Off, the retaliation parameters do nothing and no attack is drawn."""
    scenario = retaliation_scenario(200, 20, 0.5, police_gang_retaliation=False)
    a = simulate(scenario, seed=5)
    b = simulate(scenario.with_overrides({"retaliation.gang_excitation": 0.2,
                                          "retaliation.base_attack_rate": 0.5}), seed=5)
    assert a.equals(b)
    assert (a["attacks_on_police"] == 0).all()
    on = simulate(scenario.with_overrides({"mechanisms.police_gang_retaliation": True}), seed=5)
    assert on["attacks_on_police"].sum() > 0


def test_switch_off_by_default_and_on_for_el_salvador():
    """Off in the parameter table; the El Salvador scenario turns it on, fitted up to 2013."""
    assert Mechanisms().police_gang_retaliation is False
    scenario = load_scenario("el-salvador-2010-2016")
    assert scenario.mechanisms.police_gang_retaliation is True
