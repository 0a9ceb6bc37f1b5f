"""Calibration and validation simulations: the executor, the seeding, the fit outputs."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Executor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from trucesim.calibration.fit import (
    executor,
    fit_figure,
    fit_report,
    overrides_toml,
    simulate_statistics,
)
from trucesim.calibration.observed import (
    STATISTIC_METRICS,
    ObservedRow,
    Statistic,
    simulated_statistics,
)
from trucesim.calibration.validation.simulate import COLUMNS, simulate_daily, simulate_replicates
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


def test_calibration_replicates_are_seeded_as_before(tiny):
    stats = [_stat(), _stat("2013-12-10", "2013-12-20")]
    for r in (0, 3):
        got, error = simulate_statistics(tiny, {"violence.background_rate": 2.5}, 7, r, stats)
        assert error is None
        want = simulated_statistics(
            _old_way(tiny.with_overrides({"violence.background_rate": 2.5}), 7, r), stats)
        assert got == want.tolist()
    # Common random numbers: replicate r's run depends on r, not on the other replicates.
    assert simulate_statistics(tiny, {}, 7, 0, stats) != simulate_statistics(tiny, {}, 7, 1, stats)


def test_invalid_values_give_the_reason_not_a_run(tiny):
    stats, error = simulate_statistics(tiny, {"violence.eta": 0.9}, 7, 0, [_stat()])
    assert stats is None and "branching" in error


def test_validation_replicates_are_seeded_as_before(tiny):
    daily = simulate_daily(tiny, 11, 2)
    want = _old_way(tiny, 11, 2)[list(COLUMNS)]
    assert list(daily.columns) == ["replicate", *COLUMNS]
    assert (daily["replicate"] == 2).all()
    pd.testing.assert_frame_equal(daily.drop(columns="replicate"), want)


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
    assert STATISTIC_METRICS == frozenset(TYPES) | {"members", "prisoners"}
    assert len(TYPES) == 9 and {"disappearances", "other_actors"} <= STATISTIC_METRICS


class _Spec:
    replicates = 2
    seed = 1
    targets = []
    parameters = {}

    class method:  # noqa: N801
        popsize, maxiter, accept_fraction = 2, 1, 0.2
        seed = 0


class _Problem:
    spec = _Spec()
    stats = []
    fit_end = dt.date(2014, 1, 31)
    future_data_used = True
    scenario = type("S", (), {"name": "tiny", "start": dt.date(2013, 12, 1)})()


def _stats_table():
    return pd.DataFrame({
        "target": ["a", "b"], "row": ["homicides:2013-12-01:2013-12-31",
                                      "homicides:2014-01-01:2014-01-31"],
        "metric": ["homicides", "homicides"], "days": [31, 31],
        "observed_per_day": [2.0, 4.0], "simulated_per_day": [3.0, 2.0],
        "sim_min": [2.5, 1.0], "sim_max": [4.0, 3.0], "baseline": [0.0, 0.0],
        "ratio": [1.5, 0.5],
    })


def test_future_data_warnings_name_the_cutoff():
    result = {"values": {}, "distance": 0.5, "evaluations": 4, "generations": 1,
              "message": "done"}
    toml = overrides_toml(_Problem(), result, {}, "cal.toml")
    assert "(INCLUDES DATA AFTER 2013-12-31: allow_future_data = true)." in toml
    report = fit_report(_Problem(), result, {}, _stats_table(), 1.0, "cal.toml")
    assert report.startswith("**WARNING: this fit uses data after 2013-12-31 "
                             "(allow_future_data = true); it is not an out-of-sample")


def test_fit_figure_plots_the_ratio_with_the_replicate_range():
    table = pd.DataFrame({"evaluation": [0, 1, 2], "distance": [3.0, np.inf, 1.0]})
    fig = fit_figure(_Problem(), _stats_table(), table)
    ax = fig.axes[0]
    line = next(c for c in ax.containers)  # the errorbar container
    x, y = line.lines[0].get_data()
    assert list(x) == [1.5, 0.5] and list(y) == [0, 1]
    # Error bars span sim_min/observed to sim_max/observed.
    segments = line.lines[2][0].get_segments()
    assert [tuple(s[:, 0]) for s in segments] == [(1.25, 2.0), (0.25, 0.75)]
    import matplotlib.pyplot as plt

    plt.close(fig)
