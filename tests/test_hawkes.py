"""Verification against theory.

With police, leaders, demography and other killings switched off, killings on directed
fronts form a linear discrete-time Hawkes process whose stationary mean per front-day is
``(I - K)^-1 mu`` (:func:`trucesim.mechanisms.violence.stationary_front_mean`). The simulator must
match it within sampling error, front by front, on a heterogeneous world.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from trucesim.core.model import TruceModel
from trucesim.mechanisms.violence import stationary_front_mean
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario

DAYS = 8000
BATCHES = 40


def front_base_rates(model: TruceModel) -> np.ndarray:
    """mu * s_a for each directed front at the model's current sizes."""
    p = model.config.violence
    size = (model.cliques.members / model.config.world.members) ** p.size_power
    return p.mu * size[model.edges.src[model.front_edges()]]


def front_reverse(model: TruceModel) -> np.ndarray:
    """For each front (by position in the front list), the position of its reverse."""
    fronts = model.front_edges()
    position = np.full(len(model.edges.src), -1)
    position[fronts] = np.arange(len(fronts))
    return position[model.edges.rev[fronts]]


def verification_scenario(branching: float, omega: float = 0.3) -> Scenario:
    eta = branching * -math.expm1(-omega)
    return Scenario.parse(
        {
            "name": "hawkes-verification",
            "start": dt.date(2000, 1, 1),
            "end": dt.date(2000, 1, 1) + dt.timedelta(days=DAYS - 1),
            "world": {"cliques": 120, "burn_in_days": 300, "patch_size": 2.0},
            "gangs": {"A": {"share": 0.6}, "B": {"share": 0.3}, "C": {"share": 0.1}},
            "mechanisms": {"leaders": False, "police": False, "demography": False,
                           "other_killings": False},
            "violence": {"mu": 0.05, "eta": eta, "omega": omega, "size_power": 2.0},
            "phases": [{"start": dt.date(2000, 1, 1), "regime": "baseline"}],
        },
        "verification",
    )


def per_front_batch_means(
    scenario: Scenario, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    model = TruceModel(scenario, rng=seed, agents=False)  # burn-in done
    f = len(model.front_edges())
    batches = np.zeros((BATCHES, f))
    size = DAYS // BATCHES
    mu = front_base_rates(model)
    while not model.finished:
        b = model.day // size
        model.step()
        batches[b] += model.fronts.killings[:f]
    assert batches.sum() == model.to_frame()["gang_on_gang"].sum()
    return batches / size, mu, front_reverse(model)


@pytest.mark.slow
@pytest.mark.parametrize("branching", [0.5, 0.8])
def test_front_killings_match_stationary_mean(branching):
    scenario = verification_scenario(branching)
    means, mu, rev = per_front_batch_means(scenario, seed=int(branching * 100))
    theory = stationary_front_mean(mu, rev, scenario.violence.branching_ratio)
    assert np.ptp(mu) > 0.5 * mu.mean()  # the world is heterogeneous

    observed = means.mean(axis=0)
    se = means.std(axis=0, ddof=1) / math.sqrt(BATCHES)
    z = (observed - theory) / se
    # Front by front: few z-scores beyond 3 (batch means of clustered counts are skewed,
    # so the tails are a little heavier than normal), and theory explains the spread of
    # per-front means across the heterogeneous world.
    assert np.mean(np.abs(z) > 3) < 0.05, np.sort(np.abs(z))[-10:]
    assert abs(z.mean()) < 0.35
    slope = float(observed @ theory / (theory @ theory))
    assert 0.97 < slope < 1.03
    assert np.corrcoef(observed, theory)[0, 1] > 0.8
    # In aggregate: total killings per day within 3 standard errors of theory.
    total = means.sum(axis=1)
    total_se = total.std(ddof=1) / math.sqrt(BATCHES)
    assert abs(total.mean() - theory.sum()) < 3 * total_se
    # And the retaliation really matters: theory is far from the no-retaliation mean.
    assert theory.sum() > 1.9 * mu.sum()


def test_branching_ratio_at_or_above_one_is_refused():
    with pytest.raises(ConfigError, match=r"violence: branching ratio .* = 1\.000 >= 1"):
        verification_scenario(1.0)
    with pytest.raises(ConfigError, match="branching ratio"):
        verification_scenario(1.3)


def test_stationary_mean_formula_against_matrix_inverse():
    rng = np.random.default_rng(0)
    m = 5
    mu = rng.uniform(0.01, 0.1, 2 * m)
    rev = np.concatenate([np.arange(m, 2 * m), np.arange(m)])
    n = 0.6
    k = np.zeros((2 * m, 2 * m))
    k[rev, np.arange(2 * m)] = n
    np.testing.assert_allclose(
        stationary_front_mean(mu, rev, n), np.linalg.solve(np.eye(2 * m) - k, mu)
    )
    with pytest.raises(ValueError):
        stationary_front_mean(mu, rev, 1.0)
