"""The compiled engine (numba) against the numpy engine: the same table for a seed.

The compiled day draws the same random numbers in the same order as the numpy day and
computes the same expressions, so every count must be identical. Float columns may
differ in the last bits where numpy's vectorised ``exp`` and the C library's round
differently (restraint decay, police deterrence), hence a relative tolerance of 1e-12
on those; counts, stances and dates must match exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trucesim import compiled
from trucesim.api import simulate
from trucesim.cli.main import main
from trucesim.compiled import ENGINE_ENV, resolve_engine
from trucesim.core.model import TruceModel
from trucesim.mechanisms.sampling import FusedPoisson
from trucesim.scenario.schema import load_scenario

from .conftest import SCENARIOS, simple_scenario, small

pytest.importorskip("numba")


def assert_same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Counts, categories and dates identical; floats equal to 1e-12 relative."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if a[col].dtype.kind == "f":
            np.testing.assert_allclose(y, x, rtol=1e-12, atol=1e-300, err_msg=col)
        else:
            assert np.array_equal(x, y), f"column {col} differs"


def both(scenario, seed, variant=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    return tuple(
        TruceModel(scenario, rng=seed, variant=variant, agents=False, engine=e).run()
        for e in ("numpy", "numba")
    )


@pytest.mark.parametrize("name", [
    "el-salvador-2010-2016", "el-salvador-2016-letter", "focused-deterrence", "honduras-2013",
])
def test_bundled_scenarios_identical(name):
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    variants = list(scenario.variants) or [None]
    for seed, variant in zip((3, 11), variants * 2, strict=False):
        a, b = both(small(scenario, cliques=150, burn_in=60), seed, variant)
        assert a.homicides.sum() > 0
        assert_same_table(a, b)


def test_full_el_salvador_identical():
    """The default 600-clique, 7-year run, every phase, event and regime."""
    scenario = load_scenario(SCENARIOS / "el-salvador-2010-2016.toml")
    a, b = both(scenario, 2)
    assert set(a.regime) >= {"truce", "hardline", "extraordinary"}
    assert_same_table(a, b)


@pytest.mark.parametrize("regime", ["baseline", "hardline", "extraordinary", "truce",
                                    "dialogue", "focused_deterrence"])
def test_each_regime_identical(regime):
    """Every allocation (uniform, hotspot, focused), pullback and conditional benefits."""
    scenario = simple_scenario(phases=[
        {"start": "2020-01-01", "regime": "baseline"},
        {"start": "2020-04-01", "regime": regime},
    ])
    a, b = both(scenario, 5)
    assert_same_table(a, b)


MECHANISMS = ("leaders", "police", "demography", "other_killings")


@pytest.mark.parametrize("off", MECHANISMS)
def test_mechanism_switched_off_identical(off):
    scenario = simple_scenario().with_overrides({f"mechanisms.{off}": False})
    a, b = both(scenario, 9)
    assert_same_table(a, b)


@pytest.mark.parametrize("overrides", [
    {"violence.size_power": 2.0},
    {"violence.size_power": 0.5},
    {"violence.size_power": 1.3},
    {"demography.release_rate": 1.0},
    {"violence.concealment": 0.0},
    {"gangs.MS13.cohesion": 0.0, "gangs.B18S.authority": 1.0},
    {"policing.attack_rate": 0.05, "policing.pressure_confrontations": 2.0},
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_edge_parameters_identical(overrides):
    scenario = simple_scenario(phases=[
        {"start": "2020-01-01", "regime": "extraordinary"},
        {"start": "2020-07-01", "regime": "truce"},
    ]).with_overrides(overrides)
    a, b = both(scenario, 4)
    assert_same_table(a, b)


def test_certain_arrests_identical():
    """An arrest probability of 1 (uniform and hotspot heat) arrests every member."""
    scenario = simple_scenario(phases=[
        {"start": "2020-01-01", "regime": "baseline"},
        {"start": "2020-03-01", "regime": "hardline", "overrides": {"arrest_rate": 0.9}},
        {"start": "2020-03-05", "regime": "baseline", "overrides": {"arrest_rate": 1.0}},
    ])
    a, b = both(scenario, 1)
    assert a.arrests.max() > 1000
    assert_same_table(a, b)


def test_large_world_identical():
    """Past FusedPoisson.FLAT_MAX rates the numpy engine places events in blocks while
    the compiled one uses one cumulative sum; the events must still be the same."""
    cliques = 12_000
    assert 3 * cliques > FusedPoisson.FLAT_MAX
    scenario = simple_scenario(
        end="2020-02-29", world={"cliques": cliques, "burn_in_days": 20},
        phases=[{"start": "2020-01-01", "regime": "baseline"},
                {"start": "2020-02-01", "regime": "truce"}])
    a, b = both(scenario, 8)
    assert a.gang_on_gang.sum() > 100
    assert_same_table(a, b)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    mu=st.floats(1e-4, 0.02),
    eta=st.floats(0.0, 0.3),
    restraint=st.floats(0.0, 1.0),
    contact=st.floats(0.0, 1.0),
    release=st.floats(0.0, 0.05),
    regime=st.sampled_from(["baseline", "hardline", "extraordinary", "truce", "dialogue",
                            "focused_deterrence"]),
)
def test_random_parameters_identical(seed, mu, eta, restraint, contact, release, regime):
    overrides = {"violence.mu": mu, "violence.eta": eta, "violence.omega": 0.4,
                 "violence.restraint_efficacy": restraint, "command.contact_rate": contact,
                 "demography.release_rate": release, "world.cliques": 60,
                 "world.burn_in_days": 10}
    scenario = simple_scenario(
        end="2020-06-30",
        phases=[{"start": "2020-01-01", "regime": "baseline"},
                {"start": "2020-03-01", "regime": regime}]).with_overrides(overrides)
    a, b = both(scenario, seed)
    assert_same_table(a, b)


def test_step_by_step_state_identical():
    """Stepping day by day, the state arrays and today's tallies agree."""
    scenario = small(load_scenario(SCENARIOS / "el-salvador-2010-2016.toml"), cliques=100)
    ma = TruceModel(scenario, rng=6, engine="numpy")
    mb = TruceModel(scenario, rng=6, engine="numba")
    for _ in range(400):
        ma.step()
        mb.step()
    for field in ("members", "prisoners", "autonomy", "restraint", "pressure", "heat",
                  "police_grievance", "own_excitation", "recent_violence"):
        np.testing.assert_allclose(getattr(mb.cliques, field), getattr(ma.cliques, field),
                                   rtol=1e-12, err_msg=field)
    np.testing.assert_allclose(mb.fronts.excitation, ma.fronts.excitation, rtol=1e-12)
    assert np.array_equal(ma.fronts.last_killing, mb.fronts.last_killing)
    for tally in ("gang_on_gang", "civilians", "police_killed", "killed_by_police_total",
                  "background", "disappearances", "arrests_total", "releases", "recruits"):
        assert getattr(ma.today, tally) == getattr(mb.today, tally), tally
    assert np.array_equal(np.sort(ma.today.front_events), np.sort(mb.today.front_events))
    # The Mesa agent views read the same arrays on either engine.
    assert [a.members for a in ma.clique_agents] == [a.members for a in mb.clique_agents]


def test_engine_is_reported_and_auto_prefers_numba():
    scenario = simple_scenario()
    assert TruceModel(scenario, engine="auto").engine == "numba"
    assert TruceModel(scenario, engine="numpy").engine == "numpy"
    assert_same_table(simulate(scenario, seed=1, engine="numpy"),
                      simulate(scenario, seed=1, engine="numba"))


def test_engine_from_environment(monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, "numpy")
    assert TruceModel(simple_scenario()).engine == "numpy"
    monkeypatch.setenv(ENGINE_ENV, "NumBa ")
    assert resolve_engine() == "numba"


def test_unknown_engine_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="engine: unknown engine 'gpu'; choose one of "
                                         "auto, numpy, numba"):
        TruceModel(simple_scenario(), engine="gpu")
    monkeypatch.setenv(ENGINE_ENV, "fortran")
    with pytest.raises(ValueError, match="TRUCESIM_ENGINE: unknown engine 'fortran'"):
        resolve_engine()


def test_numba_missing(monkeypatch):
    """Without numba, auto falls back to numpy and asking for numba says how to get it."""
    monkeypatch.setattr(compiled, "numba_available", lambda: False)
    assert resolve_engine("auto") == "numpy"
    with pytest.raises(ValueError, match=r"needs numba; install it with pip install "
                                         r"'trucesim\[fast\]'"):
        resolve_engine("numba")


def test_cli_engine_option(tmp_path, monkeypatch, capsys):
    """--engine applies to the command's runs, is recorded in the manifest, and a bad
    $TRUCESIM_ENGINE stops the command with exit 2 before anything is written."""
    import json

    monkeypatch.delenv(ENGINE_ENV, raising=False)
    out = tmp_path / "run"
    args = ["run", str(SCENARIOS / "honduras-2013.toml"), "-n", "1", "--out", str(out)]
    assert main(["--engine", "numpy", *args]) == 0
    assert json.loads((out / "manifest.json").read_text())["engine"] == "numpy"
    assert ENGINE_ENV not in __import__("os").environ  # restored after the command
    monkeypatch.setenv(ENGINE_ENV, "fortran")
    bad = tmp_path / "bad"
    assert main([*args[:-1], str(bad)]) == 2
    assert "TRUCESIM_ENGINE: unknown engine 'fortran'" in capsys.readouterr().err
    assert not bad.exists()


def test_first_use_note(tmp_path, monkeypatch):
    """With an empty numba cache a simulating command says that it compiles first."""
    from trucesim.compiled import first_use_note

    assert first_use_note("numpy") is None
    monkeypatch.setattr(compiled, "compiled_code_cached", lambda: False)
    assert "compiling the numba engine on first use" in first_use_note("numba")
    monkeypatch.setattr(compiled, "compiled_code_cached", lambda: True)
    assert first_use_note("numba") is None


def test_regime_switches_mid_run_identical(monkeypatch):
    """The dashboard rebuilds the timeline on each "regime from today on" switch; the
    compiled engine must pick up every new regime (freed regimes' ids get reused)."""
    import gc

    pytest.importorskip("solara")
    from trucesim.dashboard.model import DashboardModel

    tables = []
    for engine in ("numpy", "numba"):
        monkeypatch.setenv(ENGINE_ENV, engine)
        model = DashboardModel(scenario_name="el-salvador-2016-letter", seed="5")
        assert model.engine == engine
        for regime in ("truce", "hardline", "truce", "extraordinary", "dialogue", "truce"):
            model.switch_regime(regime)
            gc.collect()
            for _ in range(15):
                model.step()
        tables.append(model.to_frame())
    assert list(tables[0]["regime"].astype(str)[-15:]) == ["truce"] * 15
    assert_same_table(*tables)


def test_regime_constants_follow_the_regime_object():
    """A cached entry under a regime's id that belongs to another (freed) regime object
    is not used: ids of freed objects are reused by Python."""
    from trucesim.compiled import layout as L
    from trucesim.scenario.regimes import PRESETS

    model = TruceModel(simple_scenario(), engine="numba", agents=False)
    compiled_day = model._day.__self__
    hardline, truce = PRESETS["hardline"], PRESETS["truce"]
    stale = compiled_day.regime_array(hardline)
    compiled_day._regimes[id(truce)] = (hardline, stale)  # as if truce reused the id
    packed = compiled_day.regime_array(truce)
    assert packed[L.PULLBACK] == truce.pullback > 0.0
    assert packed[L.POLICE_FORCE] == truce.police_force != hardline.police_force
    assert compiled_day.regime_array(truce) is packed


def test_refresh_cache_follows_every_source(tmp_path):
    """numba checks only a cached function's own file; the package drops its whole
    cache when any of its sources changes (the day inlines the other modules)."""
    from trucesim.compiled import refresh_cache

    (tmp_path / "day.py").write_text("x = 1\n")
    (tmp_path / "sampling.py").write_text("y = 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    (cache / "day.simulate_day-1.py312.nbi").write_text("index")
    (cache / "day.simulate_day-1.py312.1.nbc").write_text("code")
    (cache / "day.cpython-312.pyc").write_text("bytecode")
    assert refresh_cache(tmp_path)  # no stamp yet: drop
    assert sorted(p.name for p in cache.iterdir()) == ["day.cpython-312.pyc",
                                                      "trucesim-compiled.stamp"]
    (cache / "day.simulate_day-1.py312.nbi").write_text("index")
    assert not refresh_cache(tmp_path)  # sources unchanged: keep
    assert (cache / "day.simulate_day-1.py312.nbi").exists()
    (tmp_path / "sampling.py").write_text("y = 2\n")  # a callee's module changes
    assert refresh_cache(tmp_path)
    assert not (cache / "day.simulate_day-1.py312.nbi").exists()


def test_quiet_days_run_in_one_call_and_match_stepping():
    """run() on the compiled engine steps in Python only the days where something
    changes (phases, events, ends of forced stances, every day of a conditional
    regime) and runs the days between in one compiled call; the table, Mesa's step
    count and the final state equal stepping day by day."""
    scenario = load_scenario(SCENARIOS / "el-salvador-2010-2016.toml")

    class Counting(TruceModel):
        python_steps = 0

        def step(self):
            type(self).python_steps += 1
            super().step()

    batched = Counting(scenario, rng=12, agents=False, engine="numba")
    table = batched.run()
    days = scenario.days + scenario.world.burn_in_days
    assert batched.steps == days and not batched.running
    changes = len(batched.timeline.events) + len(scenario.phases)
    assert Counting.python_steps <= 3 * changes + 2 < days / 20
    stepped = TruceModel(scenario, rng=12, agents=False, engine="numba")
    while not stepped.finished:
        stepped.step()
    assert_same_table(table, stepped.to_frame())
    assert np.array_equal(batched.cliques.members, stepped.cliques.members)
    np.testing.assert_allclose(batched.leaders.authority, stepped.leaders.authority,
                               rtol=1e-12)


def test_conditional_regime_is_stepped_daily():
    """Dialogue pays benefits only while recent violence is under target, so each of
    its days goes through Python (and the table still matches the numpy engine)."""
    scenario = simple_scenario(phases=[
        {"start": "2020-01-01", "regime": "baseline"},
        {"start": "2020-06-01", "regime": "dialogue"}])
    model = TruceModel(scenario, rng=2, agents=False, engine="numba")
    compiled_day = model._day.__self__
    while model.day < 200:
        model.step()
    assert model.regime.conditional
    assert compiled_day.quiet_until() == model.day
    a, b = both(scenario, 2)
    assert_same_table(a, b)
