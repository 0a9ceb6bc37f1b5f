"""TruceModel as Mesa users use it: steps, running, the DataCollector and batch_run."""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np
import pandas as pd
import pytest

from trucesim import ConfigError, TruceModel, load_scenario, simulate
from trucesim.core.agents import Clique, Leader
from trucesim.core.datacollector import DEFAULT_AGENT_REPORTERS, TruceDataCollector

from .conftest import REPO, simple_scenario, write_scenario

BUNDLED = "el-salvador-2010-2016"


def test_steps_count_calendar_days_from_the_start():
    s = simple_scenario()
    model = TruceModel(s, rng=1, agents=False)
    # burn-in ran at construction and is not a step
    assert model.steps == 0 and model.day == 0 and model.date == s.start
    assert model.burn_in == 30 and model.daily.homicides[:30].sum() > 0
    for k in range(1, 11):
        model.step()
        assert model.steps == k == model.day
        assert model.date == s.start + dt.timedelta(days=k)
    model.run()
    assert model.steps == s.days == model.day


def test_running_turns_false_on_the_last_day():
    s = simple_scenario()
    model = TruceModel(s, rng=1, agents=False)
    for _ in range(s.days - 1):
        model.step()
        assert model.running
    model.step()
    assert not model.running and model.steps == s.days
    df = model.datacollector.get_model_vars_dataframe()
    assert df["date"].iloc[-1] == pd.Timestamp(s.end) and len(df) == s.days


def test_datacollector_model_vars_are_the_daily_table():
    s = simple_scenario()
    model = TruceModel(s, rng=2)
    assert isinstance(model.datacollector, mesa.DataCollector)
    for _ in range(40):
        model.step()
    dc = model.datacollector
    df = dc.get_model_vars_dataframe()
    assert df.index.name == "Step" and list(df.index) == list(range(1, 41))
    pd.testing.assert_frame_equal(df.reset_index(drop=True), model.to_frame())
    assert dc.model_vars["homicides"] == model.to_frame()["homicides"].tolist()
    assert dc.model_vars["date"][0] == pd.Timestamp(s.start)
    # read again after more days: the cache follows the model
    for _ in range(5):
        model.step()
    assert len(dc.model_vars["homicides"]) == 45
    assert list(dc.get_model_vars_dataframe().index) == list(range(1, 46))
    # model variables cost nothing per step: no agent data, nothing collected
    assert not dc.collects_agents
    with pytest.warns(UserWarning, match="No agent-type reporters"):
        assert dc.get_agenttype_vars_dataframe(Clique).empty


def test_batch_run_reads_every_day_of_the_daily_table():
    """Mesa's batch_run, collecting every step, gives one row per day with the day's
    model variables (it finds the steps through the DataCollector)."""
    s = simple_scenario()
    rows = mesa.batch_run(TruceModel, parameters={"scenario": [s]}, rng=[2], max_steps=40,
                          data_collection_period=1, display_progress=False)
    model = TruceModel(s, rng=2)
    for _ in range(40):
        model.step()
    table = model.to_frame()
    assert [r["Step"] for r in rows] == list(range(1, 41))
    assert [r["homicides"] for r in rows] == table["homicides"].tolist()


def test_int_seed_gives_the_same_run_as_simulate():
    s = simple_scenario()
    for seed in (3, np.random.SeedSequence(4)):
        pd.testing.assert_frame_equal(TruceModel(s, rng=seed).run(), simulate(s, seed=seed))
    # default: the scenario's seed, as simulate
    pd.testing.assert_frame_equal(TruceModel(s).run(), simulate(s))


def test_scenario_by_bundled_name_or_path(tmp_path):
    model = TruceModel(BUNDLED, rng=1, agents=False)
    assert model.config == load_scenario(BUNDLED)
    path = write_scenario(tmp_path / "mine.toml")
    assert TruceModel(path, rng=1, agents=False).config == load_scenario(path)
    assert TruceModel(str(path), rng=1, agents=False).config.name == "test"


def test_overrides_by_dotted_path_as_mapping_or_keyword():
    s = simple_scenario()
    model = TruceModel(s, rng=1, agents=False, overrides={"violence.eta": 0.03})
    assert model.config.violence.eta == 0.03
    model = TruceModel(s, rng=1, agents=False, **{"violence.eta": 0.04, "world.cliques": 50})
    assert model.config.violence.eta == 0.04 and model.territory.n == 50
    pd.testing.assert_frame_equal(
        TruceModel(s, rng=1, overrides={"violence.eta": 0.03}).run(),
        simulate(s.with_overrides({"violence.eta": 0.03}), seed=1))


def test_bad_scenario_name_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        TruceModel("el-salvdor-2010-2016", rng=1)
    msg = str(err.value)
    assert msg.startswith("el-salvdor-2010-2016: scenario: no such file")
    assert BUNDLED in msg  # the valid names are listed


def test_bad_override_key_is_a_config_error():
    s = simple_scenario()
    with pytest.raises(ConfigError, match=r"^test\.toml: violence\.etaa: names no parameter"):
        TruceModel(s, overrides={"violence.etaa": 0.03})
    with pytest.raises(ConfigError, match=r"^test\.toml: violence\.etaa: names no parameter"):
        TruceModel(s, **{"violence.etaa": 0.03})
    with pytest.raises(ConfigError, match=r"^test\.toml: violence\.eta: given both"):
        TruceModel(s, overrides={"violence.eta": 0.03}, **{"violence.eta": 0.04})


def readme_mesa_example() -> str:
    """The code of the README's "Using trucesim from Mesa" section."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Using trucesim from Mesa", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_batch_run_collects_the_homicides_simulate_gives():
    namespace: dict = {}
    exec(readme_mesa_example(), namespace)  # two seeds, a bundled scenario, 100 steps
    df = namespace["results"]
    assert len(df) == 2 * 2 * 100 and set(df["rng"]) == {1, 2}
    scenario = load_scenario(BUNDLED)
    for (eta, seed), run in df.groupby(["violence.eta", "rng"]):
        assert list(run["Step"]) == list(range(1, 101))
        assert (run["scenario"] == BUNDLED).all()
        expected = simulate(scenario.with_overrides({"violence.eta": eta}), seed=seed)
        np.testing.assert_array_equal(run["homicides"], expected["homicides"][:100])
        np.testing.assert_array_equal(run["date"], expected["date"][:100])
    assert namespace["totals"].nunique() == 4  # the seeds and the parameter both matter


def test_batch_run_rows_carry_the_parameters_and_stop_on_the_last_day():
    s = simple_scenario()
    results = mesa.batch_run(
        TruceModel, parameters={"scenario": [s], "violence.eta": [0.02, 0.05]}, rng=[7],
        max_steps=1000, display_progress=False)  # default: the last step only
    assert len(results) == 2
    for row in results:
        assert row["Step"] == s.days  # running turned False on the scenario's last day
        assert row["date"] == pd.Timestamp(s.end)
        expected = simulate(s.with_overrides({"violence.eta": row["violence.eta"]}), seed=7)
        assert row["homicides"] == expected["homicides"].iloc[-1]
        assert row["members"] == expected["members"].iloc[-1]
    assert {row["violence.eta"] for row in results} == {0.02, 0.05}


def test_agent_reporters_only_when_asked():
    s = simple_scenario()
    model = TruceModel(s, rng=1, agent_reporters=True)
    for _ in range(3):
        model.step()
    dc = model.datacollector
    cliques = dc.get_agenttype_vars_dataframe(Clique)
    assert list(cliques.columns) == list(DEFAULT_AGENT_REPORTERS[Clique])
    assert len(cliques) == 3 * s.world.cliques
    assert sorted(set(cliques.index.get_level_values("Step"))) == [1, 2, 3]
    last = cliques.xs(3, level="Step")
    np.testing.assert_array_equal(last["members"], model.cliques.members)
    leaders = dc.get_agenttype_vars_dataframe(Leader)
    assert len(leaders) == 3 * len(s.gangs)
    # a custom reporter, and batch_run giving one row per agent
    model = TruceModel(s, rng=1, agent_reporters={Clique: {"size": "members"}})
    model.run()  # steps day by day so every day has its snapshot
    sizes = model.datacollector.get_agenttype_vars_dataframe(Clique)
    assert sorted(set(sizes.index.get_level_values("Step"))) == list(range(1, s.days + 1))
    rows = mesa.batch_run(TruceModel, parameters={"scenario": [s], "agent_reporters": True},
                          rng=[1], max_steps=2, display_progress=False)
    assert len(rows) == s.world.cliques + len(s.gangs)
    assert {"AgentID", "members", "homicides", "Step"} <= set(rows[0])
    with pytest.raises(ValueError, match="agents=True"):
        TruceModel(s, agents=False, agent_reporters=True)


def test_collector_reads_the_record_arrays():
    s = simple_scenario()
    model = TruceModel(s, rng=1, agents=False)
    model.step()
    assert isinstance(model.datacollector, TruceDataCollector)
    model.daily.homicides[model.burn_in] = 12345  # day 0's record, edited
    model.step()
    assert model.datacollector.model_vars["homicides"][0] == 12345
