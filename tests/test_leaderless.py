"""Leaderless cliques retaliate more (docs/model.md, mechanism 5, switch
``mechanisms.leaderless_retaliation``; Calderon, Robles, Diaz-Cayeros and Magaloni 2015;
Lindo and Padilla-Romo 2018).

With the switch on, the attacker a's retaliation weight on a front a -> b is
``eta_a = eta * (1 + leaderless_gain * autonomy_a)``. With police, leaders, demography
and other killings off, autonomy stays at each gang's baseline, so the front process is
a linear Hawkes process with per-attacker branching ``n_a = eta_a / (1 - exp(-omega))``
and stationary mean per front f = a -> b ``(mu_f + n_a mu_rev) / (1 - n_a n_b)``
(:func:`trucesim.mechanisms.violence.stationary_front_mean` with per-front n).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from tests.test_hawkes import front_base_rates, front_reverse
from trucesim.core.model import TruceModel
from trucesim.mechanisms.violence import stationary_front_mean
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario, load_scenario

OMEGA = 0.3


def leaderless_scenario(days: int, branching: float, gain: float, on: bool = True,
                        cliques: int = 120, burn_in: int = 300) -> Scenario:
    """Two gangs of different baseline autonomy (0.1 and 0.9), so n differs by gang."""
    eta = branching * -math.expm1(-OMEGA)
    return Scenario.parse(
        {
            "name": "leaderless-verification",
            "start": dt.date(2000, 1, 1),
            "end": dt.date(2000, 1, 1) + dt.timedelta(days=days - 1),
            "world": {"cliques": cliques, "burn_in_days": burn_in, "patch_size": 2.0},
            "gangs": {"A": {"share": 0.6, "autonomy": 0.1},
                      "B": {"share": 0.4, "autonomy": 0.9}},
            "mechanisms": {"leaders": False, "police": False, "demography": False,
                           "other_killings": False, "leaderless_retaliation": on},
            "violence": {"mu": 0.05, "eta": eta, "omega": OMEGA, "size_power": 2.0,
                         "leaderless_gain": gain},
            "phases": [{"start": dt.date(2000, 1, 1), "regime": "baseline"}],
        },
        "verification",
    )


def front_branching(model: TruceModel) -> np.ndarray:
    """Per front (by position in the front list), its attacker's branching ratio n_a."""
    p = model.config.violence
    autonomy = model.cliques.autonomy[model.edges.src[model.front_edges()]]
    return p.eta * (1.0 + p.leaderless_gain * autonomy) / -math.expm1(-p.omega)


def batch_means(scenario: Scenario, seed: int, batches: int):
    model = TruceModel(scenario, rng=seed, agents=False)  # burn-in done
    f = len(model.front_edges())
    total_days = (scenario.end - scenario.start).days + 1
    size = total_days // batches
    out = np.zeros((batches, f))
    mu, n, rev = front_base_rates(model), front_branching(model), front_reverse(model)
    autonomy = model.cliques.autonomy.copy()
    while not model.finished:
        b = min(model.day // size, batches - 1)
        model.step()
        out[b] += model.fronts.killings[:f]
    np.testing.assert_array_equal(model.cliques.autonomy, autonomy)  # stays at baseline
    return out / size, mu, n, rev


def check_against_theory(means, mu, n, rev, tail=0.05, slope_tol=0.03):
    theory = stationary_front_mean(mu, rev, n)
    observed = means.mean(axis=0)
    se = means.std(axis=0, ddof=1) / math.sqrt(len(means))
    z = (observed - theory) / se
    assert np.mean(np.abs(z) > 3) < tail, np.sort(np.abs(z))[-10:]
    slope = float(observed @ theory / (theory @ theory))
    assert 1 - slope_tol < slope < 1 + slope_tol, slope
    total = means.sum(axis=1)
    total_se = total.std(ddof=1) / math.sqrt(len(means))
    assert abs(total.mean() - theory.sum()) < 3 * total_se, (total.mean(), theory.sum())
    return theory, observed, z


@pytest.mark.slow
@pytest.mark.parametrize("branching, gain", [(0.4, 1.0), (0.5, 0.9)])
def test_front_killings_match_heterogeneous_stationary_mean(branching, gain):
    scenario = leaderless_scenario(8000, branching, gain)
    means, mu, n, rev = batch_means(scenario, seed=int(branching * 100), batches=40)
    assert n.max() > 1.5 * n.min()  # the gangs' attackers really differ
    theory, observed, _ = check_against_theory(means, mu, n, rev)
    assert np.corrcoef(observed, theory)[0, 1] > 0.8
    # The homogeneous formula at eta (the switch ignored) is clearly wrong here.
    plain = stationary_front_mean(mu, rev, scenario.violence.branching_ratio)
    assert theory.sum() > 1.2 * plain.sum()
    # Fronts attacked from the autonomous gang B carry more than fronts from A.
    from_b = n > n.mean()
    assert (observed / mu)[from_b].mean() > (observed / mu)[~from_b].mean()


def test_front_killings_match_heterogeneous_stationary_mean_fast():
    scenario = leaderless_scenario(3000, 0.45, 1.0, cliques=60, burn_in=200)
    means, mu, n, rev = batch_means(scenario, seed=3, batches=20)
    theory = stationary_front_mean(mu, rev, n)
    total = means.sum(axis=1)
    total_se = total.std(ddof=1) / math.sqrt(len(total))
    assert abs(total.mean() - theory.sum()) < 3.5 * total_se, (total.mean(), theory.sum())
    plain = stationary_front_mean(mu, rev, scenario.violence.branching_ratio)
    assert total.mean() > plain.sum() + 3.5 * total_se  # the switch really acts


def test_switch_off_ignores_the_gain():
    from trucesim.api import simulate
    off = simulate(leaderless_scenario(200, 0.5, 0.0, on=False, cliques=40, burn_in=20), seed=1)
    gain = simulate(leaderless_scenario(200, 0.5, 0.9, on=False, cliques=40, burn_in=20), seed=1)
    zero = simulate(leaderless_scenario(200, 0.5, 0.0, on=True, cliques=40, burn_in=20), seed=1)
    import pandas.testing as pdt
    pdt.assert_frame_equal(off, gain)
    pdt.assert_frame_equal(off, zero)  # gain 0: eta_a = eta exactly


def test_heterogeneous_formula_against_matrix_inverse():
    rng = np.random.default_rng(1)
    m = 6
    mu = rng.uniform(0.01, 0.1, 2 * m)
    rev = np.concatenate([np.arange(m, 2 * m), np.arange(m)])
    n = rng.uniform(0.1, 0.9, 2 * m)  # per front: its attacker's branching
    k = np.zeros((2 * m, 2 * m))
    k[np.arange(2 * m), rev] = n  # m_f = mu_f + n_f m_rev(f)
    np.testing.assert_allclose(stationary_front_mean(mu, rev, n),
                               np.linalg.solve(np.eye(2 * m) - k, mu))
    n[0], n[rev[0]] = 1.2, 0.9  # the pair's spectral radius sqrt(1.08) >= 1
    with pytest.raises(ValueError):
        stationary_front_mean(mu, rev, n)


def test_unstable_gain_is_refused_with_its_location():
    # n = 0.6 at autonomy 0; at autonomy 1, 0.6 * (1 + 0.7) = 1.02 >= 1.
    with pytest.raises(ConfigError, match=r"verification: violence\.leaderless_gain: effective "
                                          r"branching ratio .* = 1\.020 >= 1"):
        leaderless_scenario(10, 0.6, 0.7)
    leaderless_scenario(10, 0.6, 0.6)  # 0.96: accepted
    leaderless_scenario(10, 0.6, 0.7, on=False)  # the switch off: the gain plays no role
    with pytest.raises(ConfigError, match=r"violence\.leaderless_gain: .*greater than or equal"):
        leaderless_scenario(10, 0.5, -0.1)
    with pytest.raises(ConfigError, match=r"violence\.leaderless_gain: .*less than or equal"):
        leaderless_scenario(10, 0.05, 11.0, on=False)


def test_switch_defaults_off_and_defaults_are_stable():
    s = load_scenario("el-salvador-2010-2016")
    assert not s.mechanisms.leaderless_retaliation
    assert s.violence.leaderless_branching_ratio < 1.0
    from trucesim.scenario.params import ViolenceParams
    assert ViolenceParams().leaderless_branching_ratio < 1.0
