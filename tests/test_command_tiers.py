"""Two tiers of command (docs/model.md, mechanism 1, switch ``mechanisms.command_tiers``).

The imprisoned leadership (the ranfla) passes its stance to a street tier of leaders at
liberty with daily probability ``(1 - isolation) * street_link_rate``; the street tier
relays the stance it holds to each clique with probability ``cohesion * authority *
(1 - autonomy) * contact_rate * street_reach`` (no isolation factor; ``street_arrest``
events cut the reach); a public communique reaches each clique directly with
probability ``communique_reach * authority * (1 - autonomy)`` a day. Before a gang's
street tier exists its orders travel as without the switch.

The small worlds below have no violence, police or demography, and no defection, so a
clique that obeys a restraint order stays restrained: the share restrained after k days
of an order is ``mean_c 1 - (1 - q_c)^k`` with q_c the clique's daily chance.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas.testing as pdt
import pytest

from trucesim.api import simulate
from trucesim.core.model import TruceModel
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario, bundled_scenarios, load_scenario

from .conftest import assert_cli_refuses_change, simple_scenario

START = dt.date(2000, 1, 1)
AUTHORITY, AUTONOMY, CONTACT = 0.9, 0.1, 0.6
GANGS = {"A": {"share": 0.5, "cohesion": 1.0, "authority": AUTHORITY, "autonomy": AUTONOMY},
         "B": {"share": 0.5, "cohesion": 1.0, "authority": AUTHORITY, "autonomy": AUTONOMY}}


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def tier_scenario(events, on=True, isolation=0.9, days=80, cliques=400, command=None,
                  truce_from=None) -> Scenario:
    """No killings, police or demography; no defection; leaders' natural stance none
    (no benefits, no repression), restraint from ``truce_from`` (benefits 0.8) if given."""
    phases = [{"start": START, "regime": "baseline",
               "overrides": {"isolation": isolation, "repression": 0.0}}]
    if truce_from is not None:
        phases.append({"start": day(truce_from), "regime": "truce",
                       "overrides": {"isolation": isolation}})
    return Scenario.parse({
        "name": "tiers",
        "start": START,
        "end": day(days - 1),
        "world": {"cliques": cliques, "burn_in_days": 0},
        "gangs": GANGS,
        "mechanisms": {"police": False, "demography": False, "other_killings": False,
                       "command_tiers": on},
        "violence": {"mu": 0.0, "eta": 0.0},
        "command": {"contact_rate": CONTACT, "defection_rate": 0.0,
                    "defection_per_excitation": 0.0, "authority_gain": 0.0,
                    "authority_loss": 0.0, **(command or {})},
        "phases": phases,
        "events": events,
    }, "tiers.toml")


def communique(n, stance="restraint", days=60, **extra):
    return {"date": day(n), "kind": "communique", "stance": stance, "days": days, **extra}


def share_after(df, first_day, k, column="restraint_share"):
    """The column at the end of the k-th day from ``first_day`` (k days of orders)."""
    return float(df[column].iloc[first_day + k - 1])


def expected_share(q, k):
    """Expected share following after k days at a daily chance q per clique."""
    return 1.0 - (1.0 - q) ** k


def mean_share(scenario, first_day, k, seeds=range(4), column="restraint_share"):
    return np.mean([share_after(simulate(scenario, seed=s), first_day, k, column)
                    for s in seeds])


# ---------------------------------------------------------------- a public communique
def test_a_public_communique_reaches_cliques_despite_isolation():
    """Isolation 0.9: off, a communique barely moves the cliques in 2 days (it travels
    through the isolated leaders' channel); on, it reaches them directly, most within 2
    days and nearly all within 5, as the theory says."""
    events = [communique(10)]
    direct = (1 - 0.9) * 1.0 * CONTACT * AUTHORITY * (1 - AUTONOMY)  # 0.0486
    public = 0.5 * AUTHORITY * (1 - AUTONOMY)  # communique_reach default 0.5: 0.405
    both = 1 - (1 - direct) * (1 - public)  # no street tier: the old channel remains
    off = tier_scenario(events, on=False)
    on = tier_scenario(events, on=True)
    for k in (2, 5):
        assert mean_share(off, 10, k) == pytest.approx(expected_share(direct, k), abs=0.02)
        assert mean_share(on, 10, k) == pytest.approx(expected_share(both, k), abs=0.03)
    assert mean_share(off, 10, 2) < 0.12
    assert mean_share(on, 10, 2) > 0.6
    assert mean_share(on, 10, 5) > 0.9


def test_public_reach_has_no_isolation_factor():
    """At isolation 1 nothing but the public communique reaches the cliques."""
    on = tier_scenario([communique(10)], isolation=1.0, command={"communique_reach": 0.3})
    q = 0.3 * AUTHORITY * (1 - AUTONOMY)
    assert mean_share(on, 10, 3) == pytest.approx(expected_share(q, 3), abs=0.03)
    off = tier_scenario([communique(10)], isolation=1.0, on=False)
    assert mean_share(off, 10, 10) == 0.0


# ---------------------------------------------------------------- the street tier
def test_the_street_tier_relays_without_isolation_and_arrests_cut_it():
    """A street-tier communique with the public channel shut (communique_reach 0) travels
    only by relay: cohesion * authority * (1 - autonomy) * contact_rate * reach a day,
    whatever the isolation; a street_arrest of share 0.75 cuts the reach to a quarter."""
    tier = {"date": day(1), "kind": "street_tier", "reach": 0.8}
    order = communique(10, tier="street")
    shut = {"communique_reach": 0.0}
    relay = AUTHORITY * (1 - AUTONOMY) * CONTACT * 0.8  # 0.389
    on = tier_scenario([tier, order], command=shut)
    arrested = tier_scenario(
        [tier, {"date": day(5), "kind": "street_arrest", "share": 0.75}, order], command=shut)
    off = tier_scenario([tier, order], on=False, command=shut)
    assert mean_share(on, 10, 3) == pytest.approx(expected_share(relay, 3), abs=0.03)
    assert mean_share(arrested, 10, 3) == pytest.approx(expected_share(relay / 4, 3), abs=0.03)
    direct = 0.1 * CONTACT * AUTHORITY * (1 - AUTONOMY)  # off: a ranfla communique
    assert mean_share(off, 10, 3) == pytest.approx(expected_share(direct, 3), abs=0.02)


def test_isolation_cuts_the_channel_from_the_ranfla_to_the_street_tier():
    """The truce phase from day 20 makes the ranfla order restraint. At isolation 1 the
    street tier (created while the stance was none) never hears it, and no clique is
    ordered anything; at isolation 0 it hears it at street_link_rate a day and relays it."""
    tier = {"date": day(1), "kind": "street_tier", "reach": 1.0}
    cut = simulate(tier_scenario([tier], isolation=1.0, truce_from=20), seed=1)
    assert (cut["stance_A"].iloc[20:] == "restraint").all()
    assert cut["street_stance_A"].iloc[:1].isna().all()  # the tier exists from day 1
    for g in "AB":
        assert (cut[f"street_stance_{g}"].iloc[1:] == "none").all()
    assert cut["restraint_share"].max() == 0.0
    link = 0.7
    open_ = tier_scenario([tier], isolation=0.0, truce_from=20,
                          command={"street_link_rate": link})
    heard = []
    for seed in range(30):
        df = simulate(open_, seed=seed)
        for g in "AB":
            following = np.flatnonzero(df[f"street_stance_{g}"].to_numpy() == "restraint")
            heard.append(following[0] - 20 + 1)  # days until heard: geometric(link)
            assert (df[f"street_stance_{g}"].iloc[following[0]:] == "restraint").all()
    assert np.mean(heard) == pytest.approx(1 / link, rel=0.2)
    assert simulate(open_, seed=1)["restraint_share"].iloc[-1] > 0.9


def test_before_the_street_tier_exists_orders_travel_as_without_the_switch():
    """No street tier and no communique: switching it on changes nothing, bit for bit."""
    s = tier_scenario([], truce_from=20, isolation=0.5)
    off = simulate(s.with_overrides({"mechanisms.command_tiers": False}), seed=3)
    on = simulate(s, seed=3)
    assert off["restraint_share"].iloc[-1] > 0.5
    pdt.assert_frame_equal(off, on)


def test_a_street_communique_without_the_switch_is_the_leaders_communique():
    tier = {"date": day(1), "kind": "street_tier", "reach": 0.5}
    street = tier_scenario([tier, communique(10, tier="street")], on=False)
    ranfla = tier_scenario([communique(10)], on=False)
    a, b = simulate(street, seed=2), simulate(ranfla, seed=2)
    pdt.assert_frame_equal(a, b)
    assert a["street_stance_A"].isna().all()  # no street tier without the switch


def test_the_street_tiers_own_communique_overrides_what_it_heard():
    """Street communique pressure while the ranfla orders restraint (truce): the street
    tier relays pressure for the communique's days, then restraint again."""
    tier = {"date": day(1), "kind": "street_tier", "reach": 1.0}
    s = tier_scenario([tier, communique(30, "pressure", days=5, tier="street")],
                      isolation=0.0, truce_from=1, command={"street_link_rate": 1.0})
    df = simulate(s, seed=0)
    assert (df["street_stance_A"].iloc[30:35] == "pressure").all()
    assert (df["street_stance_A"].iloc[35:] == "restraint").all()
    assert (df["stance_A"].iloc[1:] == "restraint").all()


def test_a_faction_has_no_street_tier_until_one_is_created():
    events = [{"date": day(1), "kind": "street_tier", "reach": 1.0},
              {"date": day(5), "kind": "split", "gang": "A", "faction": "A2", "share": 0.5}]
    df = simulate(tier_scenario(events), seed=0)
    assert df["street_stance_A2"].isna().all() and df["street_stance_A"].iloc[5:].notna().all()


# ---------------------------------------------------------------- bundled tables
STREET_KINDS = ("street_tier", "street_arrest", "refusal")


def without_new_events(scenario: Scenario) -> Scenario:
    """The scenario as before mechanisms 1 and 2: their events as markers, communiques
    from the leadership."""
    data = scenario.to_data()
    events = []
    for e in data["events"]:
        e = dict(e)
        if e["kind"] in STREET_KINDS:
            e = {"date": e["date"], "kind": "marker", "label": e["label"]}
        e["tier"] = None
        events.append(e)
    data["events"] = events
    return Scenario.parse(data, scenario.source)


@pytest.mark.parametrize("name", sorted(bundled_scenarios()))
def test_switches_off_every_bundled_table_is_as_before(name):
    """With both switches off (as in the parameter table's defaults), the new events and
    the new parameters change nothing, bit for bit, and the new columns are empty."""
    scenario = load_scenario(name).with_overrides({"mechanisms.command_tiers": False,
                                                   "mechanisms.bargaining_violence": False})
    before = without_new_events(scenario)
    changed = scenario.with_overrides({
        "command.street_link_rate": 1.0, "command.communique_reach": 1.0,
        "bargaining.refusal_grievance": 50.0, "bargaining.escalation_threshold": 0.0,
        "bargaining.civilian_escalation": 50.0, "bargaining.authority_erosion": 1.0})
    a = simulate(changed, seed=4)
    b = simulate(before, seed=4)
    pdt.assert_frame_equal(a, b)
    gangs = scenario.gang_names
    assert a[[f"street_stance_{g}" for g in gangs]].isna().all().all()
    # zero, or NaN before a faction exists
    assert (a[[f"grievance_{g}" for g in gangs]].fillna(0.0) == 0.0).all().all()


def test_the_bundled_el_salvador_timeline_has_the_tiers_events():
    s = load_scenario("el-salvador-2010-2016")
    kinds = {(e.date.isoformat(), e.kind, e.tier) for e in s.events}
    assert ("2012-06-01", "street_tier", None) in kinds
    assert ("2014-05-09", "street_arrest", None) in kinds
    assert ("2016-03-29", "street_arrest", None) in kinds
    assert ("2016-04-18", "communique", "street") in kinds
    assert ("2014-06-01", "refusal", None) in kinds
    assert ("2015-01-17", "refusal", None) in kinds


# ---------------------------------------------------------------- validation
TIER = {"date": "2020-02-01", "kind": "street_tier", "reach": 0.8}


@pytest.mark.parametrize(("events", "key", "reason"), [
    ([{**TIER, "reach": 1.5}], "events.0.reach", "less than or equal to 1"),
    ([{**TIER, "reach": 0.0}], "events.0.reach", "greater than 0"),
    ([{k: v for k, v in TIER.items() if k != "reach"}], "events.0", "needs 'reach'"),
    ([{**TIER, "gangs": ["XX"]}], "events.0.gangs", "unknown gang 'XX'"),
    ([{**TIER, "date": "2021-01-05"}], "events.0.date", "outside the scenario"),
    ([{**TIER, "share": 0.5}], "events.0", "'share' is only for split"),
    ([TIER, {"date": "2020-03-01", "kind": "street_arrest", "share": 1.2}],
     "events.1.share", "less than or equal to 1"),
    ([TIER, {"date": "2020-03-01", "kind": "street_arrest"}], "events.1", "needs 'share'"),
    ([TIER, {"date": "2020-03-01", "kind": "street_arrest", "share": 0.5,
             "gangs": ["B18X"]}], "events.1.gangs", "unknown gang 'B18X'"),
    ([{"date": "2020-03-01", "kind": "street_arrest", "share": 0.5}], "events.0",
     "needs the street tier of MS13, B18S, B18R"),
    ([{**TIER, "gangs": ["MS13"]}, {"date": "2020-03-01", "kind": "street_arrest",
                                    "share": 0.5, "gangs": ["B18S"]}],
     "events.1.gangs", "needs the street tier of B18S"),
    ([{"date": "2020-03-01", "kind": "street_arrest", "share": 0.5},
      {**TIER, "date": "2020-04-01"}], "events.0",
     "no street_tier event for it on or before 2020-03-01"),
    ([{"date": "2020-03-01", "kind": "communique", "stance": "restraint", "days": 5,
       "tier": "street"}], "events.0", "a street-tier communique needs the street tier"),
    ([{"date": "2020-03-01", "kind": "communique", "stance": "restraint", "days": 5,
       "tier": "prison"}], "events.0.tier", "'ranfla' or 'street'"),
    ([{"date": "2020-03-01", "kind": "transfer", "isolation": 0.5, "tier": "street"}],
     "events.0", "'tier' is only for communique"),
    ([{"date": "2020-03-01", "kind": "communique", "stance": "restraint", "days": 5,
       "reach": 0.5}], "events.0", "'reach' is only for street_tier"),
])
def test_bad_tier_events_are_refused_with_their_key(events, key, reason):
    with pytest.raises(ConfigError) as info:
        simple_scenario(events=events)
    assert key in str(info.value) and reason in str(info.value), str(info.value)


def test_a_street_communique_after_its_tier_is_accepted():
    simple_scenario(events=[TIER, {"date": "2020-02-01", "kind": "communique", "days": 5,
                                   "stance": "restraint", "tier": "street"}])


@pytest.mark.parametrize(("change", "key", "reason"), [
    ({"events": [{**TIER, "reach": 1.5}]}, "events.0.reach", "less than or equal to 1"),
    ({"events": [{**TIER, "gangs": ["XX"]}]}, "events.0.gangs", "unknown gang 'XX'"),
    ({"events": [{**TIER, "date": "2021-01-05"}]}, "events.0.date", "outside the scenario"),
    ({"events": [{"date": "2020-03-01", "kind": "street_arrest", "share": 0.5}]}, "events.0",
     "needs the street tier"),
    ({"command": {"communique_reach": 1.5}}, "command.communique_reach",
     "less than or equal to 1"),
    ({"command": {"street_link_rate": -0.1}}, "command.street_link_rate",
     "greater than or equal to 0"),
    ({"mechanisms": {"command_tiers": "on"}}, "mechanisms.command_tiers", "not a boolean"),
])
def test_bad_tier_input_stops_the_cli_with_its_location(tmp_path, capsys, change, key, reason):
    """`check` and `run` exit 2 with `file: key: reason`, and `run` writes nothing."""
    assert_cli_refuses_change(tmp_path, capsys, change, key, reason)


def test_the_model_exposes_the_street_tier_state():
    model = TruceModel(tier_scenario([{"date": day(1), "kind": "street_tier", "reach": 0.6},
                                      {"date": day(3), "kind": "street_arrest",
                                       "share": 0.5}], days=5), rng=0, agents=False)
    model.run()
    np.testing.assert_allclose(model.gangs.street_reach[:2], [0.3, 0.3])
    assert model.gangs.street_tier[:2].all()
