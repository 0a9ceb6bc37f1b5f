"""Invariants under random parameters (hypothesis): no negative members or prisoners,
finite rates, shares in [0, 1], recorded homicides never above true deaths, and
determinism from a seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trucesim import TruceModel
from trucesim.scenario.regimes import PRESETS

from .conftest import simple_scenario

unit = st.floats(0.0, 1.0)
regimes = st.sampled_from(sorted(PRESETS))


@st.composite
def scenarios(draw):
    eta = draw(st.floats(0.0, 0.05))
    omega = draw(st.floats(0.06, 1.0))
    overrides = {
        "world.cliques": draw(st.integers(2, 60)),
        "world.burn_in_days": draw(st.integers(0, 20)),
        "world.patch_size": draw(st.floats(1.0, 10.0)),
        "violence.mu": draw(st.floats(0.0, 0.05)),
        "violence.eta": min(eta, 0.95 * (1 - np.exp(-omega))),
        "violence.omega": omega,
        "violence.size_power": draw(st.floats(0.0, 3.0)),
        "violence.restraint_efficacy": draw(unit),
        "violence.concealment": draw(unit),
        "violence.civilian_rate": draw(st.floats(0.0, 0.01)),
        "command.contact_rate": draw(unit),
        "command.defection_per_excitation": draw(st.floats(0.0, 2.0)),
        "demography.recruitment_rate": draw(st.floats(0.0, 0.05)),
        "demography.release_rate": draw(st.floats(0.0, 1.0)),
        "demography.autonomy_per_loss": draw(st.floats(0.0, 20.0)),
        "gangs.MS13.cohesion": draw(unit),
        "gangs.B18S.authority": draw(unit),
        "phases.0.regime": draw(regimes),
        "phases.1.regime": draw(regimes),
        "phases.1.overrides.arrest_rate": draw(st.floats(0.0, 1.0)),
        "phases.1.overrides.lethality": draw(unit),
        "phases.1.overrides.police_force": draw(st.floats(0.0, 20.0)),
        "phases.1.overrides.pullback": draw(unit),
    }
    base = simple_scenario(end="2020-03-31", phases=[
        {"start": "2020-01-01", "regime": "baseline"},
        {"start": "2020-02-15", "regime": "truce"},
    ])
    return base.with_overrides(overrides)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_invariants_hold_every_day(scenario, seed):
    model = TruceModel(scenario, rng=seed, agents=False)
    while not model.finished:
        model.step()
        c = model.cliques
        assert (c.members >= 0).all() and (c.prisoners >= 0).all()
        for arr in (c.autonomy, c.restraint, c.pressure):
            assert np.isfinite(arr).all() and (arr >= 0).all() and (arr <= 1 + 1e-12).all()
        assert np.isfinite(model.fronts.excitation).all() and (model.fronts.excitation >= 0).all()
        assert np.isfinite(c.heat).all() and (c.heat >= 0).all()
        assert ((model.leaders.authority >= 0) & (model.leaders.authority <= 1)).all()
    df = model.to_frame()
    assert (df["homicides"] <= df["deaths_true"]).all()
    assert (df["homicides"] >= 0).all()
    shares = df.filter(regex="^(control_|restraint_share|pressure_share|mean_autonomy)")
    assert ((shares >= 0) & (shares <= 1)).all().all()
    numeric = df.select_dtypes("number")
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()


@settings(max_examples=10, deadline=None)
@given(scenario=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_determinism_from_a_seed(scenario, seed):
    a = TruceModel(scenario, rng=seed, agents=False).run()
    b = TruceModel(scenario, rng=seed, agents=False).run()
    pd.testing.assert_frame_equal(a, b)
