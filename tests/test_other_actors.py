"""Other armed actors (docs/model.md, mechanism 7) verified against theory.

Their killings are a national discrete-time Hawkes process with base rate mu_o,
excitation eta_o and decay omega_o; its stationary mean is ``mu_o / (1 - n_o)`` with
``n_o = eta_o / (1 - exp(-omega_o))``
(:func:`trucesim.mechanisms.other_actors.stationary_mean`). Mirrors ``test_hawkes.py``.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from trucesim.api import simulate
from trucesim.core.metrics import DEATH_TYPES
from trucesim.core.model import TruceModel
from trucesim.mechanisms.other_actors import stationary_mean
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario


def other_actors_scenario(branching: float, days: int, mu: float = 2.0,
                          omega: float = 0.3, **mechanisms) -> Scenario:
    eta = branching * -math.expm1(-omega)
    switches = {"leaders": False, "police": False, "demography": False,
                "other_killings": False, "other_actors": True, **mechanisms}
    return Scenario.parse(
        {
            "name": "other-actors-verification",
            "start": dt.date(2000, 1, 1),
            "end": dt.date(2000, 1, 1) + dt.timedelta(days=days - 1),
            "world": {"cliques": 20, "burn_in_days": 300},
            "mechanisms": switches,
            "violence": {"mu": 0.0},
            "other_actors": {"mu": mu, "eta": eta, "omega": omega},
            "phases": [{"start": dt.date(2000, 1, 1), "regime": "baseline"}],
        },
        "verification",
    )


def batch_means(scenario: Scenario, seed: int, batches: int, runs: int = 1) -> np.ndarray:
    """Means of ``batches`` equal batches of days of each of ``runs`` runs."""
    means = []
    for child in np.random.SeedSequence(seed).spawn(runs):
        killings = simulate(scenario, seed=child)["other_actors"].to_numpy()
        means.append(killings.reshape(batches, -1).mean(axis=1))
    return np.concatenate(means)


@pytest.mark.slow
@pytest.mark.parametrize("branching", [0.5, 0.8])
def test_other_actors_match_stationary_mean(branching):
    days, batches, runs = 36_000, 30, 6  # the longest runs a scenario allows
    scenario = other_actors_scenario(branching, days)
    means = batch_means(scenario, seed=int(branching * 100) + 7, batches=batches, runs=runs)
    theory = stationary_mean(scenario.other_actors.mu, scenario.other_actors.branching_ratio)
    se = means.std(ddof=1) / math.sqrt(len(means))
    assert abs(means.mean() - theory) < 3 * se, (means.mean(), theory, se)
    assert se < 0.01 * theory  # precise enough to tell a wrong branching ratio apart
    # The excitation matters: theory is far from the base rate alone.
    assert theory > 1.9 * scenario.other_actors.mu


def test_other_actors_mean_small():
    days, batches = 20_000, 20
    scenario = other_actors_scenario(0.6, days)
    means = batch_means(scenario, seed=3, batches=batches)
    theory = stationary_mean(scenario.other_actors.mu, scenario.other_actors.branching_ratio)
    assert theory == pytest.approx(5.0)
    se = means.std(ddof=1) / math.sqrt(batches)
    assert abs(means.mean() - theory) < 4 * se, (means.mean(), theory, se)
    assert abs(means.mean() - theory) < 0.1 * theory


def test_other_actors_count_as_homicides_and_need_their_switch():
    scenario = other_actors_scenario(0.5, 400, other_killings=True, leaders=True,
                                     police=True)
    df = simulate(scenario, seed=1)
    assert df["other_actors"].sum() > 0
    # the kinds of death are declared once (core.metrics); record() must sum them all
    np.testing.assert_array_equal(df[list(DEATH_TYPES)].sum(axis=1), df["deaths_true"])
    np.testing.assert_array_equal(df["deaths_true"] - df["disappearances"], df["homicides"])
    off = simulate(other_actors_scenario(0.5, 400, other_actors=False), seed=1)
    assert (off["other_actors"] == 0).all()


def test_other_actors_excitation_is_national_state():
    model = TruceModel(other_actors_scenario(0.5, 50), rng=2, agents=False)
    assert model.state.nation.other_excitation.shape == (1,)
    assert model.state.nation.other_excitation[0] > 0  # burn-in ran the process


def test_other_actors_untouched_by_restraint():
    """Under full restraint with full efficacy the gangs kill no one; other actors go on."""
    scenario = other_actors_scenario(0.5, 2000, other_killings=True).with_overrides(
        {"violence.restraint_efficacy": 1.0, "violence.mu": 0.01, "violence.background_rate": 0.0})
    model = TruceModel(scenario, rng=4, agents=False)
    while not model.finished:
        model.cliques.restraint[:] = 1.0
        model.step()
    df = model.to_frame()
    assert df["gang_on_gang"].sum() == 0 and df["gang_on_civilian"].sum() == 0
    assert df["other_actors"].mean() == pytest.approx(4.0, rel=0.15)


def test_branching_ratio_at_or_above_one_is_refused():
    with pytest.raises(ConfigError, match=r"other_actors: branching ratio .* = 1\.000 >= 1"):
        other_actors_scenario(1.0, 10)
    with pytest.raises(ConfigError, match="branching ratio"):
        other_actors_scenario(1.5, 10)
    with pytest.raises(ValueError):
        stationary_mean(1.0, 1.0)


def test_honduras_is_el_salvador_calibrated_with_structural_differences():
    """honduras-like-2013 runs on El Salvador's calibration file, overrides none of its fitted
    values, and differs by low-cohesion gangs and the other armed actors (docs/model.md,
    mechanism 7)."""
    import tomllib

    from trucesim.scenario.schema import bundled_scenarios, load_scenario

    path = bundled_scenarios()["honduras-like-2013"]
    raw = tomllib.loads(path.read_text())
    salvador = load_scenario("el-salvador-2010-2016")
    assert raw["calibration"] == salvador.calibration
    cal = tomllib.loads((path.parent / raw["calibration"]).read_text())["overrides"]
    honduras = load_scenario("honduras-like-2013")
    for dotted, value in cal.items():
        block, name = dotted.split(".")
        assert block not in raw or name not in raw[block], dotted  # not overridden
        assert getattr(getattr(honduras, block), name) == value, dotted
    assert honduras.mechanisms.other_actors and not salvador.mechanisms.other_actors
    assert max(g.cohesion for g in honduras.gangs.values()) < min(
        g.cohesion for g in salvador.gangs.values())
    # The other actors' stationary mean is about half of Honduras's 18.5 a day.
    assert 8.0 < honduras.other_actors.stationary_mean < 11.0
