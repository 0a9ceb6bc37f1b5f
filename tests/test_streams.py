"""Killing streams recomposed (issue 20.3; docs/model.md mechanism 8).

* ``mechanisms.extortion_killings``: a clique's civilian killings per day are
  ``c * M * (m / M) ** extortion_power`` (a rate per territory held, tied to extortion),
  and concealment is drawn per stream so that the day's ``gang_member_victims`` =
  ``gang_on_gang - front killings hidden + gang_killed_by_police`` are recorded;
* ``mechanisms.deterrence_all_streams``: police deterrence ``exp(-deterrence * heat)``
  multiplies civilian killings and attacks on police, not only front killings.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from trucesim.api import simulate
from trucesim.core.state import Cliques, Scratch, allocate
from trucesim.mechanisms import policing, violence
from trucesim.numerics.constants import constants
from trucesim.scenario.load import load_scenario
from trucesim.scenario.params import Mechanisms, ViolenceParams
from trucesim.scenario.schema import Scenario

from .conftest import assert_cli_refuses_change

M = 100.0  # world.members


def cliques_with(members, restraint=0.0, heat=0.0, deterrence=0.0) -> Cliques:
    members = np.asarray(members, dtype=np.int64)
    n = len(members)
    c = allocate(Cliques, n, members=members, restraint=np.full(n, restraint),
                 heat=np.full(n, heat))
    policing.deter(c, deterrence)
    return c


def civilian_mean(cliques, days, p, extortion, deter_all, rate=0.001, seed=1):
    rng = np.random.default_rng(seed)
    scratch = allocate(Scratch, len(cliques.members))
    total = 0
    for _ in range(days):
        cliques.killings_by[:] = 0
        total += violence.civilians(rng, cliques, rate, constants(p), scratch, 0.0, extortion,
                                    M, deter_all)
    return total / days


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0])
def test_civilian_killings_are_a_rate_per_territory(power):
    """E[civilian killings a day] = sum_i c M (m_i / M) ** power (1 - rho r_i); a clique
    with no members kills none."""
    members = [0, 25, 100, 400]
    p = ViolenceParams(extortion_power=power, restraint_efficacy=0.5)
    cliques = cliques_with(members, restraint=0.5)
    days, c = 20000, 0.001
    theory = sum(c * M * (m / M) ** power * (1 - 0.5 * 0.5) for m in members if m > 0)
    got = civilian_mean(cliques, days, p, True, False, c)
    assert abs(got - theory) < 4 * math.sqrt(theory / days), (got, theory)


def test_without_the_switch_civilian_killings_stay_per_member():
    members = [0, 25, 100, 400]
    p = ViolenceParams(extortion_power=0.0, restraint_efficacy=0.0)
    days, c = 20000, 0.001
    theory = c * sum(members)
    got = civilian_mean(cliques_with(members), days, p, False, False, c)
    assert abs(got - theory) < 4 * math.sqrt(theory / days), (got, theory)


@pytest.mark.parametrize("deter_all", [False, True])
def test_deterrence_multiplies_civilian_killings_only_with_the_switch(deter_all):
    """E = c m exp(-delta h) under deterrence_all_streams, c m without it."""
    p = ViolenceParams(extortion_power=1.0, restraint_efficacy=0.0)
    cliques = cliques_with([100] * 5, heat=2.0, deterrence=0.4)
    np.testing.assert_allclose(cliques.deterred, math.exp(-0.8))
    days, c = 20000, 0.002
    theory = c * 500 * (math.exp(-0.8) if deter_all else 1.0)
    got = civilian_mean(cliques, days, p, True, deter_all, c)
    assert abs(got - theory) < 4 * math.sqrt(theory / days), (got, theory)


def test_deter_sets_each_cliques_factor_from_its_heat():
    cliques = cliques_with([10, 10, 10])
    cliques.heat[:] = [0.0, 1.0, 1.0]
    policing.deter(cliques, 0.5)
    np.testing.assert_allclose(cliques.deterred, [1.0, math.exp(-0.5), math.exp(-0.5)])
    policing.deter(cliques, 0.0)
    np.testing.assert_array_equal(cliques.deterred, 1.0)


def test_concealment_by_stream_hides_front_killings_in_proportion():
    """Binomial(front, q) + Binomial(other, q): E[front hidden] = q front and E[hidden] =
    q all, q = restraint * concealment."""
    p = constants(ViolenceParams(concealment=0.4))
    cliques = cliques_with([100] * 20, restraint=0.5)
    rng = np.random.default_rng(3)
    q, days = 0.2, 4000
    hidden, front_hidden = 0, 0
    for _ in range(days):
        cliques.killings_by[:] = 5
        cliques.front_killings_by[:] = 2
        h, f = violence.conceal(rng, cliques, p, True)
        hidden += h
        front_hidden += f
    n_front, n_all = 2 * 20 * days, 5 * 20 * days
    assert abs(front_hidden / n_front - q) < 4 * math.sqrt(q * (1 - q) / n_front)
    assert abs(hidden / n_all - q) < 4 * math.sqrt(q * (1 - q) / n_all)
    # Without the switch: one draw, and the front killings hidden are not known.
    cliques.killings_by[:] = 5
    h, f = violence.conceal(rng, cliques, p, False)
    assert f == 0 and h > 0


def stream_scenario(extortion=True, deter_all=True, **changes) -> Scenario:
    data = {
        "name": "streams", "start": dt.date(2000, 1, 1), "end": dt.date(2001, 12, 31),
        "seed": 4, "world": {"cliques": 60, "burn_in_days": 60},
        "mechanisms": {"extortion_killings": extortion, "deterrence_all_streams": deter_all,
                       "police_gang_retaliation": True},
        "phases": [{"start": dt.date(2000, 1, 1), "regime": "baseline"},
                   {"start": dt.date(2001, 1, 1), "regime": "truce"}],
    }
    data.update(changes)
    return Scenario.parse(data, "streams")


def test_gang_member_victims_are_the_recorded_gang_deaths():
    """Every day: gang_member_victims = gang_on_gang - front killings hidden +
    gang_killed_by_police, so it is at most the gang deaths and equals them on days
    nothing is hidden; off the switch the column is 0."""
    df = simulate(stream_scenario())
    gang_deaths = df["gang_on_gang"] + df["gang_killed_by_police"]
    assert (df["gang_member_victims"] <= gang_deaths).all()
    quiet = df["disappearances"] == 0
    assert (df.loc[quiet, "gang_member_victims"] == gang_deaths[quiet]).all()
    hidden = gang_deaths - df["gang_member_victims"]
    assert hidden.sum() > 0 and (hidden <= df["disappearances"]).all()
    assert df["gang_member_victims"].sum() > 0
    off = simulate(stream_scenario(extortion=False))
    assert (off["gang_member_victims"] == 0).all()


def test_sustained_deterrence_lowers_civilian_killings_and_attacks_only_with_the_switch():
    """Raising deterrence in every phase lowers civilian killings and attacks on police
    under deterrence_all_streams, and leaves them alone without it (paired seeds)."""
    def totals(deter_all, delta):
        s = stream_scenario(deter_all=deter_all)
        s = s.with_overrides({f"phases.{i}.overrides.deterrence": delta for i in range(2)})
        out = np.zeros(2)
        for seed in range(3):
            df = simulate(s, seed=seed)
            out += df[["gang_on_civilian", "attacks_on_police"]].sum().to_numpy()
        return out

    low, high = totals(True, 0.0), totals(True, 1.0)
    assert np.all(high < 0.7 * low), (low, high)
    low_off, high_off = totals(False, 0.0), totals(False, 1.0)
    assert high_off[0] > 0.85 * low_off[0], (low_off, high_off)


def test_switches_default_off_and_on_in_the_el_salvador_scenarios():
    default = Mechanisms()
    for name in ("extortion_killings", "deterrence_all_streams", "prison_terms"):
        assert getattr(default, name) is False
        assert name in Mechanisms.design_2b()
        for scenario in ("el-salvador-2010-2016", "el-salvador-2016-letter"):
            assert getattr(load_scenario(scenario).mechanisms, name) is True


@pytest.mark.parametrize("change, key, reason", [
    ({"violence": {"extortion_power": 1.5}}, "violence.extortion_power",
     "less than or equal to 1"),
    ({"violence": {"extortion_power": -0.1}}, "violence.extortion_power",
     "greater than or equal to 0"),
    ({"mechanisms": {"extortion_killings": "yes"}}, "mechanisms.extortion_killings",
     "not a boolean"),
    ({"mechanisms": {"deterrence_all_streams": 1}}, "mechanisms.deterrence_all_streams",
     "not a boolean"),
])
def test_bad_stream_input_stops_the_cli_with_its_location(tmp_path, capsys, change, key,
                                                          reason):
    assert_cli_refuses_change(tmp_path, capsys, change, key, reason)
