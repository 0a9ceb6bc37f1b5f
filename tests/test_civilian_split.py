"""Civilian killings driven by the gangs, split from a non-gang floor (docs/model.md,
mechanism 6; :func:`trucesim.mechanisms.violence.civilian_rates`).

With ``mechanisms.civilian_split`` the constant ``background_rate`` splits into a floor
``nongang_share * background_rate`` (Poisson, untouched by any policy) and gang killings
of civilians added to the per-member rate: ``civilian_rate + (1 - nongang_share) *
background_rate / (cliques * world.members)``, which fall under restraint.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from trucesim.api import simulate
from trucesim.core.model import TruceModel
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario

VIOLENCE = {"mu": 0.0, "civilian_rate": 0.0001, "background_rate": 4.0, "nongang_share": 0.375,
            "restraint_efficacy": 1.0, "concealment": 0.0}


def split_scenario(days: int, split: bool, everything: bool = False, **violence) -> Scenario:
    switches = {"civilian_split": split}
    if not everything:
        switches |= {"leaders": False, "police": False, "demography": False}
    return Scenario.parse(
        {
            "name": "civilian-split",
            "start": dt.date(2000, 1, 1),
            "end": dt.date(2000, 1, 1) + dt.timedelta(days=days - 1),
            "world": {"cliques": 50, "burn_in_days": 30},
            "mechanisms": switches,
            "violence": VIOLENCE | violence,
            "phases": [{"start": dt.date(2000, 1, 1), "regime": "baseline"},
                       {"start": dt.date(2000, 1, 1) + dt.timedelta(days=days // 2),
                        "regime": "truce"}],
        },
        "test",
    )


def run(scenario: Scenario, seed: int, restraint: float | None = None):
    model = TruceModel(scenario, rng=seed, agents=False)
    members = model.cliques.members.sum()
    while not model.finished:
        if restraint is not None:
            model.cliques.restraint[:] = restraint
        model.step()
    return model.to_frame(), members


def test_split_with_no_gang_part_changes_nothing():
    """nongang_share 1: the split moves nothing, the table is identical."""
    whole = simulate(split_scenario(800, False, everything=True), seed=9)
    split = simulate(split_scenario(800, True, everything=True, nongang_share=1.0), seed=9)
    assert whole["gang_on_civilian"].sum() > 0 and whole["restraint_share"].max() > 0
    assert whole.equals(split)


def test_gang_part_scales_with_members_and_floor_is_constant():
    days = 6000
    df, members = run(split_scenario(days, True), seed=1)
    n, m = 50, 100.0  # cliques, world.members
    floor = VIOLENCE["nongang_share"] * VIOLENCE["background_rate"]  # 1.5 a day
    expected = (VIOLENCE["civilian_rate"]
                + (VIOLENCE["background_rate"] - floor) / (n * m)) * members
    for col, theory in (("gang_on_civilian", expected), ("background", floor)):
        x = df[col].to_numpy()
        se = math.sqrt(theory / days)  # Poisson days
        assert abs(x.mean() - theory) < 4 * se, (col, x.mean(), theory)
    # Without restraint the total is the unsplit model's, up to the clique sizes drawn.
    whole, _ = run(split_scenario(days, False), seed=1)
    total = df["gang_on_civilian"] + df["background"]
    whole_total = whole["gang_on_civilian"] + whole["background"]
    assert total.mean() == pytest.approx(whole_total.mean(), rel=0.05)


@pytest.mark.parametrize("split, floor", [(False, 4.0), (True, 1.5)])
def test_restraint_cuts_only_the_gang_part(split, floor):
    """Under full restraint with full efficacy, only the non-gang floor remains."""
    days = 3000
    df, _ = run(split_scenario(days, split), seed=2, restraint=1.0)
    assert df["gang_on_civilian"].sum() == 0
    assert abs(df["background"].mean() - floor) < 4 * math.sqrt(floor / days)


def test_share_out_of_range_is_refused():
    with pytest.raises(ConfigError, match=r"test: violence\.nongang_share: .*less than or equal"):
        split_scenario(10, True, nongang_share=1.5)
    with pytest.raises(ConfigError, match=r"violence\.nongang_share: .*greater than or equal"):
        split_scenario(10, True, nongang_share=-0.1)


def test_default_split_is_valid_and_bounded_by_the_truce_floor():
    """With its defaults, and on the calibrated El Salvador scenario, the floor stays below
    the 2012 truce floor of about 5 a day."""
    from trucesim.scenario.schema import load_scenario
    for s in (Scenario.parse({"name": "d", "start": dt.date(2000, 1, 1),
                              "end": dt.date(2000, 2, 1), "mechanisms": {"civilian_split": True},
                              "phases": [{"start": dt.date(2000, 1, 1),
                                          "regime": "baseline"}]}, "d"),
              load_scenario("el-salvador-2010-2016")):
        assert s.violence.nongang_share * s.violence.background_rate < 5.0


def test_switch_defaults_off():
    s = split_scenario(10, False)
    assert not type(s.mechanisms)().civilian_split
    np.testing.assert_equal(s.violence.nongang_share, 0.375)
