"""TruceModel: determinism, Mesa integration, outputs, and each mechanism's effect."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trucesim import METRIC_NAMES, TruceModel, simulate
from trucesim.core.agents import Clique, Leader, PoliceForce
from trucesim.core.metrics import BY_NAME, DEATH_TYPES, GANG_METRICS, gang_column
from trucesim.core.state import Cliques, allocate
from trucesim.core.timeline import REGIME
from trucesim.mechanisms import policing
from trucesim.numerics.constants import constants, records
from trucesim.scenario.params import STANCE_NAMES, PolicingParams, Regime
from trucesim.scenario.schema import Scenario

from .conftest import phases, simple_scenario, small


def test_same_seed_same_table_different_seed_differs():
    s = simple_scenario()
    a, b, c = simulate(s, seed=1), simulate(s, seed=1), simulate(s, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a["homicides"].equals(c["homicides"])


def test_default_seed_comes_from_the_scenario():
    s = simple_scenario()
    pd.testing.assert_frame_equal(simulate(s), simulate(s, seed=s.seed))


def test_output_columns_and_dates():
    s = simple_scenario()
    df = simulate(s, seed=3)
    assert len(df) == 366  # 2020 is a leap year
    assert df["date"].iloc[0] == pd.Timestamp("2020-01-01")
    for col in ("date", "phase", "regime", *METRIC_NAMES):
        assert col in df
    for g in s.gang_names:
        assert {f"control_{g}", f"authority_{g}", f"stance_{g}"} <= set(df.columns)
    assert list(df["phase"].cat.categories) == ["baseline", "truce"]
    assert (df.loc[df["date"] >= "2020-07-01", "regime"] == "truce").all()
    # the kinds of death are declared once (core.metrics); record() must sum them all
    np.testing.assert_array_equal(df[list(DEATH_TYPES)].sum(axis=1), df["deaths_true"])
    np.testing.assert_array_equal(df["deaths_true"] - df["disappearances"], df["homicides"])


def _plain_table(model: TruceModel) -> pd.DataFrame:
    """The daily table built column by column the plain way: object arrays of labels
    made categorical, the dates through ``pd.to_datetime``, each column copied (as
    ``to_frame`` built it before it was made cheaper). The reference for its types."""
    days = max(0, min(model.day, model.timeline.days))
    tl = model.timeline
    phase_idx = tl.phase_of_day[:days]
    daily = model.daily[model.burn_in : model.burn_in + days]
    gang_daily = model.gang_daily[model.burn_in : model.burn_in + days]
    regimes = np.array([p.regime for p in model.config.phases], dtype=object)
    data = {
        "date": pd.to_datetime(model.config.dates[:days]),
        "phase": pd.Categorical(np.array(tl.phase_names, dtype=object)[phase_idx],
                                categories=list(dict.fromkeys(tl.phase_names))),
        "regime": pd.Categorical(regimes[phase_idx]),
    }
    for name in METRIC_NAMES:
        data[name] = daily[name].copy()
    for m in GANG_METRICS:
        for j, gang in enumerate(model.gang_names):
            values = gang_daily[m.name][:, j].copy()
            data[gang_column(m.name, gang)] = (
                values if m.categories is None
                else pd.Categorical.from_codes(values, categories=list(m.categories)))
    return pd.DataFrame(data)


def _assert_same_table(table: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal values, column order and types: for a categorical its categories, their
    order and type, and whether it is ordered."""
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    assert list(table.columns) == list(expected.columns)
    for col in table.columns:
        assert table[col].dtype == expected[col].dtype, col
        if isinstance(expected[col].dtype, pd.CategoricalDtype):
            got, want = table[col].cat, expected[col].cat
            assert list(got.categories) == list(want.categories), col
            assert got.categories.dtype == want.categories.dtype, col
            assert got.ordered == want.ordered, col


def test_to_frame_keeps_its_column_types_on_every_day():
    # Labels repeated (one is also the number a repeat would get), a regime in two
    # phases, phases not yet reached, a faction (NaN before its split): the table of the
    # days recorded so far, at phase boundaries and at the end, is the plain one.
    s = simple_scenario(
        phases=phases(("2020-01-01", "truce"), ("2020-02-01", "hardline", "truce (2)"),
                      ("2020-03-01", "truce"), ("2020-04-01", "baseline"),
                      ("2020-12-31", "extraordinary", "last")),
        events=[{"date": "2020-05-01", "kind": "split", "gang": "MS13", "faction": "MS503",
                 "share": 0.3}])
    model = TruceModel(s, rng=4, agents=False)
    for day in (0, 1, 31, 32, 125, 365, 366):
        while model.day < day:
            model.step()
        table = model.to_frame()
        assert len(table) == day
        _assert_same_table(table, _plain_table(model))
        if day == 31:  # the regimes recorded so far; every phase already
            assert list(table["regime"].cat.categories) == ["truce"]
            assert list(table["phase"].cat.categories) == ["truce", "truce (2)", "baseline",
                                                           "last"]
    assert table["date"].dtype == "datetime64[s]"
    assert list(table["regime"].cat.categories) == ["baseline", "extraordinary", "hardline",
                                                    "truce"]
    for col in ("phase", "regime", "stance_MS13", "stance_MS503"):
        assert not table[col].cat.ordered
    assert list(table["stance_MS503"].cat.categories) == list(STANCE_NAMES)
    assert table["control_MS503"].iloc[:120].isna().all()
    declared = {name: BY_NAME[name] for name in METRIC_NAMES} | {
        gang_column(m.name, g): m for m in GANG_METRICS for g in model.gang_names}
    assert list(table.columns) == ["date", "phase", "regime", *declared]
    for col, metric in declared.items():
        if metric.categories is None:
            assert table[col].dtype == metric.dtype, col
            # the table owns its data: the record goes on being written
            assert not np.shares_memory(table[col].to_numpy(), model.daily), col
            assert not np.shares_memory(table[col].to_numpy(), model.gang_daily), col


def test_model_is_a_mesa_model_with_agent_views():
    s = simple_scenario()
    model = TruceModel(s, rng=5)
    assert isinstance(model, mesa.Model)
    assert len(model.agents_by_type[Clique]) == s.world.cliques
    assert len(model.agents_by_type[Leader]) == len(s.gangs)
    assert len(model.agents_by_type[PoliceForce]) == 1
    ms13 = model.agents_by_type[Clique].select(lambda c: c.gang == "MS13")
    assert 0 < len(ms13) < s.world.cliques
    for _ in range(40):
        model.step()
    clique = model.agents_by_type[Clique].to_list()[0]
    assert clique.members == model.cliques.members[clique.index]
    model.cliques.members[clique.index] = 12345  # views read the arrays, no copies
    assert clique.members == 12345
    leader = model.agents_by_type[Leader].to_list()[0]
    assert leader.stance.value in {"none", "restraint", "pressure"}
    assert model.day == 40 and model.steps == 40  # burn-in ran at construction
    assert model.date.isoformat() == "2020-02-10"


def test_model_runs_to_the_end_and_stops():
    s = simple_scenario()
    model = TruceModel(s, rng=1, agents=False)
    model.run()
    assert model.finished and not model.running
    model.step()  # a step past the end does nothing
    assert len(model.to_frame()) == s.days


def _truce_world(**overrides) -> Scenario:
    return simple_scenario(
        world={"cliques": 150, "burn_in_days": 60},
        **overrides,
    )


def test_isolation_one_stops_orders():
    s = _truce_world().with_overrides({"phases.1.overrides.isolation": 1.0})
    df = simulate(s, seed=4)
    truce = df[df["phase"] == "truce"]
    assert (truce["stance_MS13"] == "restraint").all()  # leaders do order restraint
    assert truce["restraint_share"].max() == 0.0  # ... but no clique hears it
    assert truce[[f"control_{g}" for g in s.gang_names]].to_numpy().max() == 0.0


def test_cohesion_zero_makes_a_truce_do_nothing():
    s = _truce_world().with_overrides({f"gangs.{g}.cohesion": 0.0 for g in
                                       ["MS13", "B18S", "B18R"]})
    df = simulate(s, seed=4)
    assert df["restraint_share"].max() == 0.0
    assert df["disappearances"].sum() == 0


def test_truce_with_cohesion_reaches_cliques_and_lowers_killings():
    s = _truce_world()
    df = simulate(s, seed=4)
    truce = df[df["phase"] == "truce"]
    assert truce["restraint_share"].iloc[60:].mean() > 0.5
    pre = df[df["phase"] == "baseline"]["gang_on_gang"].mean()
    assert truce["gang_on_gang"].iloc[30:].mean() < 0.7 * pre


def test_restraint_lowers_front_killings():
    """Same world and seed, restraint efficacy 0.9 vs 0: fewer killings on fronts."""
    base = _truce_world()
    with_rho = simulate(base.with_overrides({"violence.restraint_efficacy": 0.9}), seed=8)
    without = simulate(base.with_overrides({"violence.restraint_efficacy": 0.0}), seed=8)
    late = with_rho["date"] >= "2020-08-01"
    assert with_rho.loc[late, "gang_on_gang"].sum() < 0.6 * without.loc[late, "gang_on_gang"].sum()


def _cliques(recent: np.ndarray) -> Cliques:
    return allocate(Cliques, len(recent), members=np.full(len(recent), 100),
                    recent_violence=recent)


def _allocate(cliques: Cliques, regime: Regime, restrained: bool) -> None:
    policing.allocate(cliques, records([regime], REGIME)[0], restrained,
                      constants(PolicingParams()))


@pytest.mark.parametrize("allocation", ["uniform", "hotspot", "focused"])
def test_allocation_keeps_the_force_and_focused_concentrates_heat(allocation):
    rng = np.random.default_rng(0)
    recent = rng.exponential(1.0, 200)
    cliques = _cliques(recent)
    _allocate(cliques, Regime(police_force=1.5, allocation=allocation, focus_share=0.1),
              restrained=False)
    assert cliques.heat.mean() == pytest.approx(1.5)
    top = np.argsort(recent)[-20:]
    share_top = cliques.heat[top].sum() / cliques.heat.sum()
    if allocation == "uniform":
        assert share_top == pytest.approx(0.1)
    elif allocation == "hotspot":
        assert 0.1 < share_top < 0.8
    else:
        assert share_top > 0.8  # 80% of the force on the top 10% (focus_weight 0.8)


def test_pullback_lowers_heat_on_complying_territories():
    cliques = _cliques(np.ones(10))
    cliques.restraint[:5] = 1.0
    _allocate(cliques, Regime(police_force=1.0, pullback=0.5), restrained=True)
    assert np.allclose(cliques.heat[:5], 0.5) and np.allclose(cliques.heat[5:], 1.0)


def test_hardline_raises_police_killed_and_killed_by_police_together():
    """Hardline from July against baseline continuing, same world and seeds: more police
    killed and more gang members killed by police, together."""
    s = simple_scenario(world={"cliques": 1000, "burn_in_days": 30}).with_overrides(
        {"phases.1.regime": "baseline"})
    hard = s.with_overrides({"phases.1.regime": "hardline"})
    totals = {}
    for name, scenario in (("baseline", s), ("hardline", hard)):
        runs = [simulate(scenario, seed=seed) for seed in range(3)]
        late = [df[df["date"] >= "2020-07-01"] for df in runs]
        totals[name] = {col: sum(int(df[col].sum()) for df in late)
                        for col in ("police_killed", "gang_killed_by_police")}
    assert totals["hardline"]["police_killed"] > 1.5 * totals["baseline"]["police_killed"] > 0
    assert (totals["hardline"]["gang_killed_by_police"]
            > 1.5 * totals["baseline"]["gang_killed_by_police"] > 0)


def test_communique_forces_a_stance_for_its_days():
    s = simple_scenario(events=[{"date": "2020-03-01", "kind": "communique",
                                 "stance": "restraint", "days": 10, "gangs": ["MS13"]}])
    df = simulate(s, seed=1).set_index("date")
    assert (df.loc["2020-03-01":"2020-03-10", "stance_MS13"] == "restraint").all()
    assert (df.loc["2020-03-11":"2020-06-30", "stance_MS13"] == "none").all()
    assert (df.loc["2020-03-01":"2020-03-10", "stance_B18S"] == "none").all()


def test_transfer_sets_isolation_until_next_phase():
    s = simple_scenario(events=[{"date": "2020-03-01", "kind": "transfer", "isolation": 1.0}])
    model = TruceModel(s, rng=1, agents=False)
    while model.date.isoformat() < "2020-03-02":
        model.step()
    assert (model.gangs.isolation == 1.0).all()
    while model.date.isoformat() < "2020-07-02":
        model.step()
    assert (model.gangs.isolation == s.phases[1].resolved_regime().isolation).all()


def test_dialogue_pays_benefits_only_under_target():
    s = simple_scenario().with_overrides({"phases.1.regime": "dialogue"})
    low = simulate(s.with_overrides({"phases.1.overrides.violence_target": 1000.0}), seed=1)
    high = simulate(s.with_overrides({"phases.1.overrides.violence_target": 0.01}), seed=1)
    d = low["phase"] == "dialogue"
    assert (low.loc[d, "benefits_paid"] > 0).all()
    assert (high.loc[d, "benefits_paid"] == 0).all()
    # unpaid restraint erodes leaders' authority
    assert high.loc[d, "authority_MS13"].iloc[-1] < low.loc[d, "authority_MS13"].iloc[-1]


def test_small_el_salvador_runs(el_salvador):
    df = simulate(small(el_salvador), seed=1)
    assert len(df) == el_salvador.days


def test_step_by_step_gives_the_table_of_run():
    s = simple_scenario(events=[{"date": "2020-04-01", "kind": "split", "gang": "MS13",
                                 "faction": "MS503", "share": 0.3}])
    stepped = TruceModel(s, rng=9, agents=False)
    while stepped.running:
        stepped.step()
    pd.testing.assert_frame_equal(stepped.to_frame(), TruceModel(s, rng=9, agents=False).run())


def test_a_replacement_timeline_must_keep_the_dates_and_gangs():
    s = simple_scenario()
    model = TruceModel(s, rng=1, agents=False)
    for _ in range(10):
        model.step()
    for changed in (s.with_overrides({"end": "2021-06-30"}),
                    s.with_overrides({"gangs.B18R.share": 0.1, "gangs.MS13.share": 0.65})
                    .model_copy(update={"gangs": {"A": s.gangs["MS13"], "B": s.gangs["B18S"],
                                                  "C": s.gangs["B18R"]}})):
        with pytest.raises(ValueError, match="must keep"):
            model.replace_timeline(changed)
    model.replace_timeline(s.with_overrides({"phases.1.regime": "hardline"}))
    df = model.run()
    assert (df.loc[df["date"] >= "2020-07-01", "regime"] == "hardline").all()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=50), st.data())
def test_kth_smallest_is_numpy_partition(values, data):
    """The focused allocation's threshold: the k-th smallest value, ties included."""
    v = np.array(values, dtype=np.float64)
    k = data.draw(st.integers(0, len(values) - 1))
    assert policing.kth_smallest(v, k) == np.partition(v, k)[k]
    assert v.tolist() == [float(x) for x in values]  # the input is left as it was
