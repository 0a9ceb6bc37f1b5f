"""The world can change during a run: a gang splits into hostile factions, territory
passes to a rival, and the fronts follow. Hand-checked on small worlds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trucesim import ConfigError, TruceModel, simulate
from trucesim.core.state import Cliques, Edges, Fronts, Gangs, allocate
from trucesim.core.world import (
    directed_edges,
    indices_where,
    refresh_fronts,
    split_gang,
    take_territory,
    westmost,
)

from .conftest import assert_cli_refuses_change, simple_scenario


def _world(gang, x, edges, hostile):
    """Containers for a hand-made world: cliques with ``gang`` and west-east ``x``,
    undirected ``edges``, and a gang hostility matrix."""
    n, g = len(gang), len(hostile)
    src, dst, rev = directed_edges(np.array(edges))
    cliques = allocate(Cliques, n, gang=gang, x=x, restraint=np.ones(n))
    edge_state = allocate(Edges, len(src), src=src, dst=dst, rev=rev,
                          excitation=np.ones(len(src)))
    fronts = allocate(Fronts, len(src), count=[0])
    gangs = allocate(Gangs, g, exists=[True] * (g - 1) + [False], hostile=hostile,
                     authority=np.arange(g) / 10, baseline_autonomy=[0.1, 0.2, 0.3][:g])
    refresh_fronts(cliques, edge_state, fronts, gangs)
    return cliques, edge_state, fronts, gangs


def _front_pairs(edges, fronts):
    count = fronts.count[0]
    f = fronts.edge[:count]
    pairs = list(zip(edges.src[f].tolist(), edges.dst[f].tolist(), strict=True))
    assert pairs == list(zip(fronts.src[:count].tolist(), fronts.dst[:count].tolist(),
                             strict=True))
    # Each front's reverse is the front the other way.
    assert [pairs[r] for r in fronts.rev[:count]] == [(b, a) for a, b in pairs]
    return sorted(pairs)


def test_split_takes_the_westmost_share_and_makes_new_fronts():
    # A path 0 - 1 - 2 - 3 - 4; gang 0 holds 0-3, gang 1 holds 4; gang 2 is the faction.
    hostile = ~np.eye(3, dtype=bool)
    hostile[0, 1] = hostile[1, 0] = False  # gang 0 and gang 1 at peace
    cliques, edges, fronts, gangs = _world(
        gang=[0, 0, 0, 0, 1], x=[0.9, 0.1, 0.5, 0.3, 0.7],
        edges=[[0, 1], [1, 2], [2, 3], [3, 4]], hostile=hostile)
    assert _front_pairs(edges, fronts) == [] and list(gangs.clique_count) == [4, 1, 0]

    split_gang(cliques, gangs, 0, 2, 0.5)  # half of 4 cliques: x = 0.1 (1) and 0.3 (3)
    refresh_fronts(cliques, edges, fronts, gangs)
    assert cliques.gang.tolist() == [0, 2, 0, 2, 1]
    assert cliques.restraint.tolist() == [1, 0, 1, 0, 1]  # the faction's cliques start afresh
    assert gangs.exists[2] and gangs.authority[2] == gangs.authority[0]
    # The faction fights its parent, and keeps the parent's peace with gang 1.
    assert gangs.hostile[2, 0] and gangs.hostile[0, 2] and not gangs.hostile[2, 1]
    assert gangs.hostile.tolist() == [[False, False, True], [False, False, False],
                                      [True, False, False]]  # row and column copied
    assert _front_pairs(edges, fronts) == [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)]
    assert list(gangs.clique_count) == [2, 1, 2]
    # Edges that are not fronts keep no excitation, so new fronts start without.
    assert edges.excitation[(edges.src == 3) & (edges.dst == 4)] == 0.0
    assert not fronts.excitation[: fronts.count[0]].any()


def test_takeover_passes_the_westmost_bordering_share_to_the_winner():
    # A star: 0 (gang 1) in the middle, bordering 1, 2, 3 (gang 0); 4 (gang 0) borders 3.
    hostile = ~np.eye(3, dtype=bool)
    cliques, edges, fronts, gangs = _world(
        gang=[1, 0, 0, 0, 0], x=[0.5, 0.8, 0.2, 0.4, 0.0],
        edges=[[0, 1], [0, 2], [0, 3], [3, 4]], hostile=hostile)
    assert len(_front_pairs(edges, fronts)) == 6
    # Of gang 0's three bordering territories, two thirds (rounded): x = 0.2 (2), 0.4 (3).
    # Give every front its own state, to see it carried through the rebuild.
    count = fronts.count[0]
    fronts.excitation[:count] = np.arange(count) + 1.0
    fronts.last_killing[:count] = np.arange(count) + 100
    before = {(a, b): (x, day) for a, b, x, day in zip(
        fronts.src[:count].tolist(), fronts.dst[:count].tolist(),
        fronts.excitation[:count].tolist(), fronts.last_killing[:count].tolist(), strict=True)}
    take_territory(cliques, edges, gangs, 0, 1, 2 / 3)
    refresh_fronts(cliques, edges, fronts, gangs)
    assert cliques.gang.tolist() == [1, 0, 1, 1, 0]
    assert cliques.baseline_autonomy.tolist() == [0, 0, 0.2, 0.2, 0]
    assert _front_pairs(edges, fronts) == [(0, 1), (1, 0), (3, 4), (4, 3)]
    assert list(gangs.clique_count) == [2, 3, 0]
    # A front that stays keeps its state; a new one starts without excitation.
    after = {(a, b): (x, day) for a, b, x, day in zip(
        fronts.src[:4].tolist(), fronts.dst[:4].tolist(), fronts.excitation[:4].tolist(),
        fronts.last_killing[:4].tolist(), strict=True)}
    assert after[(0, 1)] == before[(0, 1)] and after[(1, 0)] == before[(1, 0)]
    assert after[(3, 4)][0] == after[(4, 3)][0] == 0.0
    # Each clique's drive to retaliate is its excitation on today's fronts.
    assert cliques.own_excitation.tolist() == [after[(0, 1)][0], after[(1, 0)][0], 0, 0, 0]


SPLIT = {"date": "2020-04-01", "kind": "split", "gang": "MS13", "faction": "MS503",
         "share": 0.4}


def test_a_split_in_a_run_adds_a_faction_with_columns_from_its_split():
    s = simple_scenario(events=[SPLIT])
    assert s.gang_names == ["MS13", "B18S", "B18R", "MS503"]
    model = TruceModel(s, rng=3, agents=True)
    fronts_before = len(model.front_edges())
    ms13_before = int((model.cliques.gang == 0).sum())
    df = model.run()
    before = df["date"] < "2020-04-01"
    assert df.loc[before, "control_MS503"].isna().all()
    assert df.loc[before, "stance_MS503"].isna().all()
    assert df.loc[~before, "authority_MS503"].notna().all()
    assert int((model.cliques.gang == 3).sum()) == round(0.4 * ms13_before)
    assert len(model.front_edges()) > fronts_before
    leader = model.agents_by_type[type(model.leader_agents[0])].to_list()[3]
    assert leader.gang == "MS503" and leader.exists


def test_a_takeover_in_a_run_moves_cliques_to_the_winner():
    s = simple_scenario(events=[{"date": "2020-02-01", "kind": "takeover", "gang": "B18S",
                                 "to": "MS13", "share": 1.0}])
    a = TruceModel(s, rng=3, agents=False)
    b18s = int((a.cliques.gang == 1).sum())
    a.run()
    assert 0 < int((a.cliques.gang == 1).sum()) < b18s  # the bordering ones only
    assert simulate(s, seed=3).equals(simulate(s, seed=3))


def test_a_tiny_share_moves_at_least_one_clique():
    hostile = ~np.eye(3, dtype=bool)
    cliques, edges, fronts, gangs = _world(
        gang=[0, 0, 0, 1], x=[0.3, 0.2, 0.1, 0.9], edges=[[0, 1], [1, 2], [2, 3]],
        hostile=hostile)
    split_gang(cliques, gangs, 0, 2, 0.01)
    assert cliques.gang.tolist() == [0, 0, 2, 1]


def test_a_communique_before_a_split_does_not_bind_the_faction():
    s = simple_scenario(events=[
        {"date": "2020-03-01", "kind": "communique", "stance": "pressure", "days": 60},
        {**SPLIT, "date": "2020-03-05"},
    ])
    df = simulate(s, seed=1).set_index("date")
    assert (df.loc["2020-03-05":"2020-04-29", "stance_MS13"] == "pressure").all()
    assert (df.loc["2020-03-05":"2020-04-29", "stance_MS503"] == "none").all()


@pytest.mark.parametrize(("event", "key", "reason"), [
    ({**SPLIT, "gang": "XX"}, "events.0.gang", "unknown gang 'XX'"),
    ({**SPLIT, "share": 1.5}, "events.0.share", "less than or equal to 1"),
    ({**SPLIT, "share": 0.0}, "events.0.share", "greater than 0"),
    ({**SPLIT, "date": "2021-01-05"}, "events.0.date", "outside the scenario"),
    ({**SPLIT, "faction": "B18S"}, "events.0.faction", "already exists"),
    ({**SPLIT, "faction": "1bad"}, "events.0.faction", "gang names are letters"),
    ({k: v for k, v in SPLIT.items() if k != "faction"}, "events.0", "needs 'faction'"),
    ({**SPLIT, "isolation": 0.5}, "events.0", "'isolation' is only for transfer"),
    ({"date": "2020-02-01", "kind": "takeover", "gang": "B18S", "to": "B18S", "share": 0.5},
     "events.0.to", "from itself"),
    ({"date": "2020-03-01", "kind": "takeover", "gang": "B18S", "to": "MS503", "share": 0.5},
     "events.0.to", "unknown gang 'MS503' on 2020-03-01"),
    ({"date": "2020-03-01", "kind": "communique", "gangs": ["MS503"], "stance": "restraint",
      "days": 5}, "events.0.gangs", "unknown gang 'MS503' on 2020-03-01"),
])
def test_bad_world_events_are_refused_with_their_key(event, key, reason):
    with pytest.raises(ConfigError) as info:
        simple_scenario(events=[event, {**SPLIT, "date": "2020-06-01"}])
    assert key in str(info.value) and reason in str(info.value)


@pytest.mark.parametrize(("change", "key", "reason"), [
    ({"events": [{**SPLIT, "gang": "XX"}]}, "events.0.gang", "unknown gang 'XX'"),
    ({"events": [{**SPLIT, "share": 1.5}]}, "events.0.share", "less than or equal to 1"),
    ({"events": [{**SPLIT, "date": "2021-01-05"}]}, "events.0.date", "outside the scenario"),
    ({"mechanisms": {"other_actors": "yes"}}, "mechanisms.other_actors", "not a boolean"),
    ({"mechanisms": {"police_gang_retaliation": 1}}, "mechanisms.police_gang_retaliation",
     "not a boolean"),
])
def test_bad_new_keys_stop_the_cli_with_their_location(tmp_path, capsys, change, key, reason):
    """`check` and `run` exit 2 with `file: key: reason`, and `run` writes nothing."""
    assert_cli_refuses_change(tmp_path, capsys, change, key, reason)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=0, max_size=40), st.data())
def test_westmost_is_a_stable_sort_west_to_east(xs, data):
    """westmost orders indices as numpy's stable argsort does, ties in their given order
    (split and takeover pick the westmost cliques with it)."""
    x = np.array(xs, dtype=np.float64)
    idx = np.array(data.draw(st.permutations(range(len(xs)))), dtype=np.int64)
    expected = idx[np.argsort(x[idx], kind="mergesort")]
    assert westmost(x, idx).tolist() == expected.tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), max_size=40))
def test_indices_where_is_flatnonzero(mask):
    m = np.array(mask, dtype=np.bool_)
    assert indices_where(m).tolist() == np.flatnonzero(m).tolist()
