"""Calibration and validation simulations: the executor, the seeding, the fit outputs."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Executor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from trucesim.calibration.observed import (
    STATISTIC_METRICS,
    ObservedRow,
    Statistic,
    simulated_statistics,
)
from trucesim.calibration.validation.simulate import (
    COLUMNS,
    executor,
    simulate_replicates,
)
from trucesim.core.model import TruceModel
from trucesim.outcomes import TYPES
from trucesim.scenario.errors import ConfigError

from .conftest import phases, simple_scenario


@pytest.fixture(scope="module")
def tiny():
    """The small test scenario as two months of baseline around the fit cutoff."""
    return simple_scenario(name="tiny", start=dt.date(2013, 12, 1), end=dt.date(2014, 1, 31),
                           seed=None, world={"cliques": 30, "burn_in_days": 10},
                           phases=phases((dt.date(2013, 12, 1), "baseline")))


def _old_way(scenario, root_seed, replicate):
    """The runs as calibrate and validation built them before calling api.simulate."""
    seed = np.random.SeedSequence(root_seed, spawn_key=(replicate,))
    return TruceModel(scenario, rng=np.random.default_rng(seed), agents=False).run()


def _stat(start="2013-12-01", end="2013-12-31"):
    row = ObservedRow(dt.date.fromisoformat(start), dt.date.fromisoformat(end), "homicides",
                      60.0, "count", "test")
    return Statistic(row, "homicides")


def test_one_local_worker_means_no_pool():
    with executor("process", 1) as pool:
        assert pool is None


def test_several_workers_give_the_runners_executor():
    with executor("process", 2) as pool:
        assert isinstance(pool, Executor)
        assert pool.submit(abs, -3).result() == 3


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown backend"), executor("spark", 2):
        pass


def _simulator(tiny, stats, seed=7):
    pytest.importorskip("pyabc")
    from trucesim.calibration.problem import Prior
    from trucesim.calibration.smc import Simulator

    priors = {"violence.background_rate": Prior(low=0.5, high=3.0),
              "violence.mu": Prior(prior="loguniform", low=0.001, high=0.01)}
    return Simulator(tiny, priors, stats, seed)


def test_a_particle_is_simulated_with_a_seed_of_its_values(tiny):
    from trucesim.calibration.smc import particle_seed

    stats = [_stat(), _stat("2013-12-10", "2013-12-20")]
    model = _simulator(tiny, stats)
    pars = {"violence.background_rate": 2.5, "ln_violence.mu": np.log(0.004)}
    got = model(pars)["s"]
    u = np.array([2.5, np.log(0.004)])
    values = {"violence.background_rate": 2.5, "violence.mu": float(np.exp(np.log(0.004)))}
    seed = np.random.default_rng(particle_seed(7, u))
    want = simulated_statistics(
        TruceModel(tiny.with_overrides(values), rng=seed, agents=False).run(), stats)
    assert got.tolist() == want.tolist()
    assert model(dict(pars))["s"].tolist() == got.tolist()  # the same particle, the same run
    other = model({**pars, "violence.background_rate": 2.5 + 1e-12})["s"]
    assert other.tolist() != got.tolist()  # another particle, another seed
    assert _simulator(tiny, stats, seed=8)(pars)["s"].tolist() != got.tolist()


def test_invalid_values_give_nan_statistics_and_an_infinite_distance(tiny):
    from trucesim.calibration.smc import Distance

    model = _simulator(tiny, [_stat()])
    s = model.run({"violence.eta": 0.9}, np.random.SeedSequence(1))
    assert np.isnan(s).all()
    problem = type("P", (), {"stats": [_stat()], "target_of": np.array([0]),
                             "weights": np.array([1.0])})()
    assert Distance(problem)({"s": s}) == np.inf
    assert Distance(problem)({"s": np.array([60 / 31])}) == 0.0


def test_validation_replicates_are_seeded_as_before(tiny):
    daily = simulate_replicates(tiny, 3, 11, None)
    assert list(daily.columns) == ["replicate", *COLUMNS]
    third = daily[daily["replicate"] == 2].drop(columns="replicate").reset_index(drop=True)
    pd.testing.assert_frame_equal(third, _old_way(tiny, 11, 2)[list(COLUMNS)])


class _Bar:
    def __init__(self):
        self.n = 0

    def update(self, n=1):
        self.n += n


def test_replicates_are_the_same_in_this_process_and_in_a_pool(tiny):
    bar = _Bar()
    here = simulate_replicates(tiny, 3, 5, None, bar)
    with ThreadPoolExecutor(2) as pool:
        pooled = simulate_replicates(tiny, 3, 5, pool, bar)
    assert bar.n == 6
    assert here["replicate"].tolist() == sorted(here["replicate"].tolist())
    assert set(here["replicate"]) == {0, 1, 2}
    pd.testing.assert_frame_equal(here, pooled)


def test_statistic_metrics_are_the_summary_death_types_and_the_member_stocks():
    assert STATISTIC_METRICS == frozenset(TYPES) | {"members", "prisoners", "attacks_on_police",
                                                    "arrests", "gang_member_victims"}
    assert len(TYPES) == 9 and {"disappearances", "other_actors"} <= STATISTIC_METRICS
