"""The bundled El Salvador scenario, with default parameters, shows the record's shape:
a clear drop within two weeks of the 2012-03-08 transfers and a rise after the truce
collapses."""

from __future__ import annotations

import numpy as np
import pytest

from trucesim import simulate_variants
from trucesim.scenario.schema import load_scenario

from .conftest import SCENARIOS


@pytest.mark.slow
def test_drop_after_transfers_and_rise_after_collapse():
    # Default parameters (the model issue's claim), not the fitted El Salvador values.
    scenario = load_scenario(SCENARIOS / "el-salvador-2010-2016.toml", calibrated=False)
    daily = simulate_variants(scenario, seed=2012, replicates=4)
    by_run = daily.set_index("date").groupby("replicate")
    before = by_run.apply(lambda d: d.loc["2012-01-01":"2012-03-07", "homicides"].mean())
    two_weeks = by_run.apply(lambda d: d.loc["2012-03-09":"2012-03-22", "homicides"].mean())
    truce = by_run.apply(lambda d: d.loc["2012-04-01":"2013-04-30", "homicides"].mean())
    after = by_run.apply(lambda d: d.loc["2014-06-01":"2015-12-31", "homicides"].mean())
    drop = (two_weeks / before).to_numpy()
    rise = (after / truce).to_numpy()
    print(f"two weeks after / before: {drop.round(2)}; after collapse / truce: {rise.round(2)}")
    assert np.all(drop < 0.75)
    assert np.all(rise > 1.4)
