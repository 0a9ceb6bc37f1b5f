"""Command as state and stance as strategy (issue 20; switches ``mechanisms.command_state``
and ``mechanisms.strategic_stance``, :mod:`trucesim.mechanisms.command`).

Reach: clique c complies while its fixed disposition ``u_c`` (uniform on [0, 1)) is below
``compliance * cohesion * authority * (1 - autonomy_c)``. Speed: an order reaches a clique
with daily probability ``1 - exp(-hazard)``, hazard ``(1 - isolation) / relay_latency``
(direct), ``street_reach / relay_latency`` (street tier) or ``1 / communique_latency``
(public communique). Orders persist until replaced and lapse to none when every channel is
cut. The small worlds have no violence, police or demography and no defection, so a
complying clique that heard restraint stays restrained.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trucesim.core.model import TruceModel
from trucesim.core.state import Cliques, Gangs, allocate
from trucesim.core.timeline import REGIME
from trucesim.mechanisms import command
from trucesim.numerics.constants import constants, records
from trucesim.scenario.load import load_scenario
from trucesim.scenario.params import CommandParams, Regime
from trucesim.scenario.schema import Scenario

from .conftest import assert_cli_refuses_change

START = dt.date(2000, 1, 1)
NONE, RESTRAINT, PRESSURE = command.NONE, command.RESTRAINT, command.PRESSURE
AUTHORITY, AUTONOMY = 0.9, 0.1
GANGS = {"A": {"share": 0.5, "cohesion": 1.0, "authority": AUTHORITY, "autonomy": AUTONOMY},
         "B": {"share": 0.5, "cohesion": 1.0, "authority": AUTHORITY, "autonomy": AUTONOMY}}


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def world(truce_from=5, isolation=0.0, days=80, cliques=2000, command_params=None,
          events=(), on=True, tiers=False, strategic=False, later=()) -> Scenario:
    """Leaders' stance none (no benefits, no repression) until ``truce_from``, then
    restraint (benefits 0.8); ``later`` adds phases ``(day, overrides)`` of the truce."""
    phases = [{"start": START, "regime": "baseline",
               "overrides": {"isolation": isolation, "repression": 0.0}},
              {"start": day(truce_from), "regime": "truce",
               "overrides": {"isolation": isolation}}]
    phases += [{"start": day(d), "regime": "truce", "overrides": o} for d, o in later]
    return Scenario.parse({
        "name": "command-state",
        "start": START,
        "end": day(days - 1),
        "world": {"cliques": cliques, "burn_in_days": 0},
        "gangs": GANGS,
        "mechanisms": {"police": False, "demography": False, "other_killings": False,
                       "command_state": on, "command_tiers": tiers,
                       "strategic_stance": strategic},
        "violence": {"mu": 0.0, "eta": 0.0},
        "command": {"defection_rate": 0.0, "defection_per_excitation": 0.0,
                    "authority_gain": 0.0, "authority_loss": 0.0,
                    **(command_params or {})},
        "phases": phases,
        "events": list(events),
    }, "command-state.toml")


def hearing(hazard: float) -> float:
    return 1.0 - math.exp(-hazard)


# --- reach: who complies ------------------------------------------------------------


def test_reach_is_the_fixed_disposition_below_the_threshold():
    """After a long restraint order, exactly the cliques whose disposition is below
    compliance * cohesion * authority * (1 - autonomy) are restrained."""
    compliance = 0.5
    model = TruceModel(world(command_params={"compliance": compliance}, days=60), rng=3)
    model.run()
    c = model.state.cliques
    threshold = compliance * 1.0 * AUTHORITY * (1.0 - AUTONOMY)
    np.testing.assert_array_equal(c.restraint >= 0.5, c.disposition < threshold)
    # every clique heard the order, complying or not
    assert (c.order == RESTRAINT).all()


def test_complying_share_matches_authority_and_cohesion():
    """Statistical: the long-run complying share is min(1, threshold) within 4 sd."""
    compliance = 0.6
    threshold = compliance * AUTHORITY * (1.0 - AUTONOMY)
    df = TruceModel(world(command_params={"compliance": compliance}, days=60), rng=5).run()
    share = float(df["restraint_share"].iloc[-1])
    sd = math.sqrt(threshold * (1 - threshold) / 2000)
    assert abs(share - threshold) < 4 * sd, (share, threshold)


def test_reach_does_not_depend_on_speed():
    """Two latencies, one reach: the same cliques end restrained."""
    ends = []
    for latency in (1.0, 6.0):
        model = TruceModel(world(command_params={"compliance": 0.5, "relay_latency": latency},
                                 days=120), rng=11)
        model.run()
        ends.append(model.state.cliques.restraint >= 0.5)
    np.testing.assert_array_equal(ends[0], ends[1])


# --- speed: how fast -----------------------------------------------------------------


@pytest.mark.parametrize(("isolation", "latency"), [(0.0, 2.0), (0.5, 1.5)])
def test_mean_latency_matches_the_parameter(isolation, latency):
    """Statistical: with every clique complying, the share restrained after k days of an
    order is 1 - (1 - p)^k with p = 1 - exp(-(1 - isolation) / relay_latency), and the
    mean latency in days (1 + the sum over days of the share not yet restrained) is 1 / p,
    about relay_latency / (1 - isolation) + 1/2."""
    truce = 5
    df = TruceModel(world(truce_from=truce, isolation=isolation, days=80,
                          command_params={"compliance": 10.0, "relay_latency": latency}),
                    rng=7).run()
    p = hearing((1.0 - isolation) / latency)
    shares = df["restraint_share"].to_numpy()[truce:]
    for k in (1, 2, 4):
        expected = 1.0 - (1.0 - p) ** k
        assert abs(shares[k - 1] - expected) < 4 * math.sqrt(expected * (1 - expected) / 2000)
    mean_latency = 1.0 + float(np.sum(1.0 - shares))
    assert abs(mean_latency - 1.0 / p) < 0.05 * (1.0 / p), (mean_latency, 1.0 / p)


def test_public_communique_travels_at_its_own_latency():
    """A public communique of restraint (command_tiers) reaches cliques at
    1 - exp(-1 / communique_latency) a day, whatever the isolation."""
    ev = [{"date": day(10), "kind": "communique", "stance": "restraint", "days": 40}]
    df = TruceModel(world(truce_from=35, isolation=1.0, days=36, tiers=True, events=ev,
                          command_params={"compliance": 10.0, "communique_latency": 3.0}),
                    rng=2).run()
    p = hearing(1.0 / 3.0)
    share = float(df["restraint_share"].iloc[10 + 3 - 1])
    expected = 1.0 - (1.0 - p) ** 3
    assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / 2000)


# --- persistence and lapse -----------------------------------------------------------


def test_orders_lapse_when_every_channel_is_cut():
    """At isolation 1 with no street tier and no communique, every clique's order lapses
    to none the next day; without the switch the last orders keep restraint in place."""
    later = [(40, {"isolation": 1.0})]
    model = TruceModel(world(days=42, later=later, command_params={"compliance": 10.0}), rng=1)
    model.run()
    assert (model.state.cliques.order == NONE).all()
    df = TruceModel(world(days=60, later=later, command_params={"compliance": 10.0},
                          tiers=True, events=[{"date": day(50), "kind": "communique",
                                               "stance": "restraint", "days": 5}]),
                    rng=1).run()
    assert df["restraint_share"].iloc[39] > 0.99


def test_street_tier_forgets_the_leaders_stance_at_isolation_one():
    """street_decide with lapse: at isolation 1 the street tier's last heard stance of the
    leaders becomes none; without lapse it stays (the frozen order of issue 20)."""
    for lapse, expected in ((True, NONE), (False, PRESSURE)):
        gangs = _gangs(1)
        gangs.street_tier[0] = True
        gangs.street_heard[0] = PRESSURE
        gangs.isolation[0] = 1.0
        command.street_decide(np.random.default_rng(0), gangs, 0,
                              constants(CommandParams()), lapse)
        assert gangs.street_heard[0] == expected
        assert gangs.street_stance[0] == expected


def _gangs(n: int) -> Gangs:
    return allocate(Gangs, n, exists=np.ones(n, dtype=bool), hostile=~np.eye(n, dtype=bool),
                    cohesion=np.ones(n), authority=np.ones(n), clique_count=np.ones(n),
                    forced_until=np.full(n, -10**9), street_forced_until=np.full(n, -10**9),
                    public_until=np.full(n, -10**9))


@settings(max_examples=60, deadline=None)
@given(
    stances=st.lists(st.sampled_from([NONE, RESTRAINT, PRESSURE]), min_size=6, max_size=6),
    isolation=st.lists(st.sampled_from([0.0, 0.3, 1.0]), min_size=2, max_size=2),
    street=st.lists(st.booleans(), min_size=2, max_size=2),
    reach=st.lists(st.sampled_from([0.0, 0.6]), min_size=2, max_size=2),
    public=st.lists(st.booleans(), min_size=2, max_size=2),
    tiers=st.booleans(),
    held=st.lists(st.sampled_from([NONE, RESTRAINT, PRESSURE]), min_size=12, max_size=12),
    seed=st.integers(0, 2**31),
)
def test_an_order_changes_only_through_an_open_channel(stances, isolation, street, reach,
                                                       public, tiers, held, seed):
    """Invariant of relay: a clique's order after a day is its old order or the stance
    of its gang's open channel, and none when every channel is cut."""
    gangs = _gangs(2)
    gangs.stance[:] = stances[:2]
    gangs.street_stance[:] = stances[2:4]
    gangs.public_stance[:] = stances[4:6]
    gangs.isolation[:] = isolation
    gangs.street_tier[:] = street
    gangs.street_reach[:] = reach
    gangs.public_until[:] = [5 if p else -1 for p in public]
    n = len(held)
    cliques = allocate(Cliques, n, gang=np.arange(n) % 2, order=np.array(held),
                       disposition=np.linspace(0.0, 0.99, n))
    p = constants(CommandParams(relay_latency=1.0, communique_latency=1.0))
    command.relay(np.random.default_rng(seed), cliques, gangs, 0, p, tiers, False)
    for i in range(n):
        g = i % 2
        if tiers and public[g]:
            stance, open_ = stances[4 + g], True
        elif tiers and street[g]:
            stance, open_ = stances[2 + g], reach[g] > 0.0
        else:
            stance, open_ = stances[g], isolation[g] < 1.0
        if open_:
            assert cliques.order[i] in (held[i], stance)
        else:
            assert cliques.order[i] == NONE


def test_complying_clique_obeys_only_what_it_hears():
    """relay: a complying clique obeys the order it hears (restraint 1), a non-complying
    one hears it (its order changes) and does not obey."""
    gangs = _gangs(1)
    gangs.stance[0] = RESTRAINT
    gangs.clique_count[0] = 2
    cliques = allocate(Cliques, 2, gang=np.zeros(2, dtype=np.int64),
                       disposition=np.array([0.1, 0.9]), autonomy=np.zeros(2))
    p = constants(CommandParams(compliance=0.5, relay_latency=1e-9, defection_rate=0.0))
    command.relay(np.random.default_rng(0), cliques, gangs, 0, p, False, False)
    assert list(cliques.order) == [RESTRAINT, RESTRAINT]
    assert list(cliques.restraint) == [1.0, 0.0]
    assert gangs.control[0] == 0.5


def test_prison_as_a_node_of_command_raises_reach_of_direct_orders():
    """relay with prison: the threshold of a direct order is multiplied by
    1 + prison_reach * prisoners / (members + prisoners); not through the street tier."""
    p = constants(CommandParams(compliance=0.5, prison_reach=2.0, relay_latency=1e-9,
                                defection_rate=0.0))
    for tiers, street, expected in ((False, False, [1.0, 0.0]), (True, True, [0.0, 0.0])):
        gangs = _gangs(1)
        gangs.stance[0] = gangs.street_stance[0] = RESTRAINT
        gangs.street_tier[0] = street
        gangs.street_reach[0] = 1.0
        # threshold 0.5 alone; with half the members in prison 0.5 * (1 + 2 * 0.5) = 1.0
        cliques = allocate(Cliques, 2, gang=np.zeros(2, dtype=np.int64),
                           disposition=np.array([0.7, 0.7]), autonomy=np.zeros(2),
                           members=np.array([10, 10]), prisoners=np.array([10, 0]))
        command.relay(np.random.default_rng(0), cliques, gangs, 0, p, tiers, True)
        assert list(cliques.restraint) == expected, (tiers, street)
    gangs = _gangs(1)
    gangs.stance[0] = RESTRAINT
    cliques = allocate(Cliques, 1, gang=np.zeros(1, dtype=np.int64), disposition=[0.7],
                       autonomy=np.zeros(1), members=[10], prisoners=[10])
    command.relay(np.random.default_rng(0), cliques, gangs, 0, p, False, False)
    assert cliques.restraint[0] == 0.0  # switch off: no boost


# --- stance as strategy --------------------------------------------------------------


def _regime(**kw) -> np.record:
    return records([Regime(**kw)], REGIME)[0]


def _decide(gangs, regime, d, strategic=True, tiers=True, **params):
    command.decide(gangs, regime, 0.0, d, constants(CommandParams(**params)), strategic, tiers)
    return int(gangs.stance[0])


def test_strategy_restraint_buys_benefits():
    gangs = _gangs(1)
    gangs.escalating[0] = True
    assert _decide(gangs, _regime(benefits=0.8), 0) == RESTRAINT


def test_strategy_no_pressure_by_rule():
    """Isolation x repression above the threshold orders pressure under the old rule, not
    under the strategy (no grievance: nothing to lobby for)."""
    gangs = _gangs(1)
    gangs.isolation[0] = 1.0
    regime = _regime(repression=1.0)
    assert _decide(gangs, regime, 0, strategic=False) == PRESSURE
    assert _decide(gangs, regime, 0, strategic=True) == NONE


def test_strategy_lobbies_by_violence_then_signals_restraint():
    """With a grievance leaders lobby by violence (pressure); after signal_patience days
    of it at isolation >= signal_isolation they issue a public restraint signal of
    signal_days, then weigh again."""
    gangs = _gangs(1)
    gangs.escalating[0] = True
    gangs.isolation[0] = 0.9
    regime = _regime()
    kw = {"signal_patience": 3, "signal_days": 5, "signal_isolation": 0.8}
    assert [_decide(gangs, regime, d, **kw) for d in range(3)] == [PRESSURE, PRESSURE, RESTRAINT]
    assert gangs.public_stance[0] == RESTRAINT and gangs.public_until[0] == 2 + 5
    assert gangs.forced_until[0] == 7
    assert [_decide(gangs, regime, d, **kw) for d in range(3, 7)] == [RESTRAINT] * 4
    assert _decide(gangs, regime, 7, **kw) == PRESSURE  # the signal bought nothing


def test_strategy_violence_not_met_with_isolation_is_not_signalled():
    gangs = _gangs(1)
    gangs.escalating[0] = True
    gangs.isolation[0] = 0.4
    kw = {"signal_patience": 2, "signal_isolation": 0.8}
    assert [_decide(gangs, _regime(), d, **kw) for d in range(5)] == [PRESSURE] * 5
    assert gangs.lobbying[0] == 0


def test_strategy_signal_from_the_street_tier_when_leaders_are_cut_off():
    gangs = _gangs(1)
    gangs.escalating[0] = True
    gangs.isolation[0] = 1.0
    gangs.street_tier[0] = True
    _decide(gangs, _regime(), 0, signal_patience=1, signal_days=4)
    assert gangs.street_forced_stance[0] == RESTRAINT and gangs.street_forced_until[0] == 4
    assert gangs.forced_until[0] < 0


def test_strategic_stance_in_a_run_escalates_only_with_grievance():
    """A run under extraordinary isolation and repression: the old rule puts every
    complying clique under pressure, the strategy (no withdrawal, no refusal) none."""
    later = [(20, {"isolation": 0.9, "repression": 1.0, "benefits": 0.0})]
    for strategic, some in ((False, True), (True, False)):
        df = TruceModel(world(days=40, later=later, strategic=strategic,
                              command_params={"compliance": 10.0}), rng=4).run()
        assert bool(df["pressure_share"].iloc[-1] > 0.5) is some


# --- the bundled scenarios and bad input ---------------------------------------------


def test_el_salvador_turns_the_new_layer_on():
    for name in ("el-salvador-2010-2016", "el-salvador-2016-letter"):
        m = load_scenario(name).mechanisms
        assert m.command_state and m.strategic_stance


@pytest.mark.parametrize(("change", "key", "reason"), [
    ({"command": {"relay_latency": 0.0}}, "command.relay_latency", "greater than 0"),
    ({"command": {"compliance": -1.0}}, "command.compliance", "greater than or equal to 0"),
    ({"command": {"signal_days": 0}}, "command.signal_days", "greater than or equal to 1"),
    ({"mechanisms": {"command_state": 1}}, "mechanisms.command_state", "not a boolean"),
    ({"command": {"relay_lag": 2.0}}, "command.relay_lag", "unknown key"),
])
def test_bad_command_values_are_refused(tmp_path, capsys, change, key, reason):
    assert_cli_refuses_change(tmp_path, capsys, change, key, reason)
