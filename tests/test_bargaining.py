"""Violence as bargaining capital (docs/model.md, mechanism 2, switch
``mechanisms.bargaining_violence``; Lessing 2015; Jones and Lloyd 2024).

Per gang, ``G(t) = exp(-grievance_decay) G(t-1) + withdrawal_grievance * max(0, paid(t-1)
- offered(t)) + refusal_grievance * refusals(t)``; while ``G > escalation_threshold`` the
leaders order escalation (the pressure stance); civilian killings are multiplied by
``1 + civilian_escalation * pressure``; authority is multiplied by
``exp(-authority_erosion * G)`` a day.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas.testing as pdt
import pytest

from trucesim.api import simulate
from trucesim.core.model import TruceModel
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario

from .conftest import assert_cli_refuses_change, simple_scenario

START = dt.date(2000, 1, 1)
GANGS = {"A": {"share": 0.5, "cohesion": 1.0, "authority": 0.9, "autonomy": 0.1},
         "B": {"share": 0.5, "cohesion": 1.0, "authority": 0.9, "autonomy": 0.1}}


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def refusal(n: int, **extra) -> dict:
    return {"date": day(n), "kind": "refusal", **extra}


def bargaining_scenario(events, on=True, tiers=False, days=200, truce_until=None,
                        isolation=0.5, police=False, killings=False, bargaining=None,
                        cliques=200, command=None) -> Scenario:
    """A small world under a baseline regime that orders nothing (no benefits, no
    repression), after a truce (benefits 0.8) until ``truce_until`` if given."""
    quiet = {"isolation": isolation, "repression": 0.0}
    phases = [{"start": START, "regime": "baseline", "overrides": quiet}]
    if truce_until is not None:
        phases = [{"start": START, "regime": "truce", "overrides": {"isolation": isolation}},
                  {"start": day(truce_until), "regime": "baseline", "overrides": quiet}]
    return Scenario.parse({
        "name": "bargaining",
        "start": START,
        "end": day(days - 1),
        "world": {"cliques": cliques, "burn_in_days": 0},
        "gangs": GANGS,
        "mechanisms": {"police": police, "demography": False, "other_killings": killings,
                       "bargaining_violence": on, "command_tiers": tiers},
        "violence": {"mu": 0.0, "eta": 0.0, "civilian_rate": 0.0005, "background_rate": 0.0},
        "command": {"authority_gain": 0.0, "authority_loss": 0.0, **(command or {})},
        "bargaining": bargaining or {},
        "phases": phases,
        "events": events,
    }, "bargaining.toml")


def expected_grievance(days, jumps, decay):
    """G day by day from the jumps (day -> amount)."""
    g, out = 0.0, []
    for t in range(days):
        g = math.exp(-decay) * g + jumps.get(t, 0.0)
        out.append(g)
    return np.array(out)


def test_grievance_escalation_and_authority_follow_their_equations():
    """A withdrawal (truce benefits 0.8 to 0 on day 30) and two refusals (days 120, 121):
    the grievance column, the escalation (pressure exactly while G > threshold) and the
    authority (a0 exp(-erosion * cumulative G)) match the equations to rounding."""
    b = {"grievance_decay": 0.02, "withdrawal_grievance": 1.5, "refusal_grievance": 0.4,
         "escalation_threshold": 0.3, "authority_erosion": 0.001}
    s = bargaining_scenario([refusal(120), refusal(121, gangs=["A"])], truce_until=30,
                            bargaining=b)
    df = simulate(s, seed=0)
    for g, jumps in (("A", {30: 1.2, 120: 0.4, 121: 0.4}), ("B", {30: 1.2, 120: 0.4})):
        theory = expected_grievance(len(df), jumps, b["grievance_decay"])
        np.testing.assert_allclose(df[f"grievance_{g}"], theory, rtol=1e-12)
        escalating = theory > b["escalation_threshold"]
        assert escalating[30] and not escalating[29] and escalating[120:130].all()
        assert not escalating.all() and escalating[30:].any()
        stance = df[f"stance_{g}"].to_numpy()
        assert (stance[escalating] == "pressure").all()
        assert (stance[:30] == "restraint").all()
        assert (stance[30:][~escalating[30:]] == "none").all()
        authority = 0.9 * np.exp(-b["authority_erosion"] * np.cumsum(theory))
        np.testing.assert_allclose(df[f"authority_{g}"], authority, rtol=1e-12)


def test_a_conditional_regime_withholding_payment_is_no_withdrawal():
    """Dialogue offers 0.8 but pays nothing while violence exceeds its target: what is
    offered does not fall, so no grievance (the state did not withdraw the offer)."""
    data = bargaining_scenario([], killings=True).to_data()
    data["phases"] = [{"start": START, "regime": "dialogue",
                       "overrides": {"violence_target": 0.01, "verification_days": 1}}]
    df = simulate(Scenario.parse(data, "dialogue"), seed=1)
    assert (df["benefits_paid"] == 0.0).any() and (df["benefits_paid"] > 0).any()
    assert (df["grievance_A"] == 0.0).all()


def test_an_escalation_after_a_refusal_raises_pressure_confrontations_and_civilians():
    """Police and civilian killings on: after a refusal on day 100 the escalation raises
    the pressure share, gang members killed by police (confrontations grow with pressure)
    and civilian killings, against the same runs with the switch off."""
    on = bargaining_scenario([refusal(100)], police=True, killings=True, isolation=0.3,
                             days=160)
    off = on.with_overrides({"mechanisms.bargaining_violence": False})
    cols = ["pressure_share", "gang_on_civilian", "gang_killed_by_police"]
    a = np.mean([simulate(on, seed=s)[cols].iloc[100:].mean() for s in range(6)], axis=0)
    b = np.mean([simulate(off, seed=s)[cols].iloc[100:].mean() for s in range(6)], axis=0)
    pressure_on, civilians_on, police_on = a
    pressure_off, civilians_off, police_off = b
    assert pressure_off == 0.0 and pressure_on > 0.4
    assert civilians_on > 1.2 * civilians_off
    assert police_on > 1.2 * police_off


def test_civilian_killings_scale_with_pressure_as_the_equation_says():
    """Each day's civilian killings are Poisson(civilian_rate * sum_c members_c (1 +
    civilian_escalation * pressure_c)), pressure as after today's orders."""
    s = bargaining_scenario([refusal(10)], killings=True, days=150,
                            bargaining={"civilian_escalation": 3.0})
    model = TruceModel(s, rng=2, agents=False)
    members = model.cliques.members.astype(float)
    expected = 0.0
    while not model.finished:
        model.step()
        expected += 0.0005 * np.sum(members * (1.0 + 3.0 * model.cliques.pressure))
    observed = model.to_frame()["gang_on_civilian"].sum()
    flat = 0.0005 * members.sum() * 150
    assert expected > 1.5 * flat  # the escalation matters here
    assert abs(observed - expected) < 4 * math.sqrt(expected), (observed, expected, flat)


def test_the_escalation_order_travels_through_the_street_tier():
    """Ranfla at isolation 1: without the tiers no order reaches a clique, so escalation
    does nothing; with a street tier the escalation is ordered there and reaches them."""
    events = [{"date": day(5), "kind": "street_tier", "reach": 1.0}, refusal(20)]
    isolated = bargaining_scenario(events, isolation=1.0, tiers=False, days=60)
    tiered = bargaining_scenario(events, isolation=1.0, tiers=True, days=60)
    a, b = simulate(isolated, seed=3), simulate(tiered, seed=3)
    assert (a["stance_A"].iloc[20:40] == "pressure").all()  # the ranfla escalates ...
    assert a["pressure_share"].max() == 0.0  # ... but cannot reach anyone
    assert (b["street_stance_A"].iloc[20:40] == "pressure").all()  # the street tier can
    assert b["pressure_share"].iloc[30] > 0.8
    assert (b["street_stance_A"].iloc[5:20] == "none").all()


def test_switch_off_refusals_and_parameters_do_nothing():
    s = bargaining_scenario([refusal(20)], on=False, truce_until=30, killings=True)
    plain = bargaining_scenario([], on=False, truce_until=30, killings=True,
                                bargaining={"refusal_grievance": 9.0, "civilian_escalation": 9.0,
                                            "escalation_threshold": 0.0})
    a, b = simulate(s, seed=1), simulate(plain, seed=1)
    pdt.assert_frame_equal(a, b)
    assert (a["grievance_A"] == 0.0).all() and (a["stance_A"].iloc[30:] == "none").all()


def test_defaults_are_stated_and_off():
    from trucesim.scenario.params import BargainingParams, Mechanisms, parameter_rows

    assert not Mechanisms().bargaining_violence and not Mechanisms().command_tiers
    rows = {r["parameter"]: r for r in parameter_rows()}
    for name in BargainingParams.model_fields:
        row = rows[f"bargaining.{name}"]
        assert row["unit"] and row["source"].startswith("assumption"), row


# ---------------------------------------------------------------- validation
REFUSAL = {"date": "2020-03-01", "kind": "refusal"}


@pytest.mark.parametrize(("event", "key", "reason"), [
    ({**REFUSAL, "gangs": ["XX"]}, "events.0.gangs", "unknown gang 'XX'"),
    ({**REFUSAL, "date": "2021-01-05"}, "events.0.date", "outside the scenario"),
    ({**REFUSAL, "share": 0.5}, "events.0", "'share' is only for"),
    ({**REFUSAL, "days": 5}, "events.0", "'days' is only for communique"),
    ({**REFUSAL, "gang": "MS13"}, "events.0", "'gang' is only for split"),
])
def test_bad_refusals_are_refused_with_their_key(event, key, reason):
    with pytest.raises(ConfigError) as info:
        simple_scenario(events=[event])
    assert key in str(info.value) and reason in str(info.value), str(info.value)


@pytest.mark.parametrize(("change", "key", "reason"), [
    ({"events": [{**REFUSAL, "gangs": ["XX"]}]}, "events.0.gangs", "unknown gang 'XX'"),
    ({"events": [{**REFUSAL, "date": "2019-01-05"}]}, "events.0.date", "outside the scenario"),
    ({"bargaining": {"grievance_decay": 0.0}}, "bargaining.grievance_decay", "greater than 0"),
    ({"bargaining": {"escalation_threshold": -1.0}}, "bargaining.escalation_threshold",
     "greater than or equal to 0"),
    ({"bargaining": {"authority_erosion": 2.0}}, "bargaining.authority_erosion",
     "less than or equal to 1"),
    ({"bargaining": {"refusal_grievance": math.inf}}, "bargaining.refusal_grievance",
     "finite number"),
    ({"bargaining": {"threshold": 0.5}}, "bargaining.threshold", "unknown key"),
    ({"mechanisms": {"bargaining_violence": 1}}, "mechanisms.bargaining_violence",
     "not a boolean"),
])
def test_bad_bargaining_input_stops_the_cli_with_its_location(tmp_path, capsys, change, key,
                                                              reason):
    """`check` and `run` exit 2 with `file: key: reason`, and `run` writes nothing."""
    assert_cli_refuses_change(tmp_path, capsys, change, key, reason)
