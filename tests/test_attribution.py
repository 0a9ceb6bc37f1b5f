"""Mechanism attribution: the Shapley computation, and ``trucesim attribute`` end to end."""

from __future__ import annotations

import itertools
import json
import tomllib

import numpy as np
import pandas as pd
import pytest

from trucesim.cli.main import main
from trucesim.folders import read_marker
from trucesim.runner.attribution import (
    MAX_MECHANISMS,
    choose_mechanisms,
    combination_name,
    plan_attribution,
    shapley,
    switches_of,
)
from trucesim.scenario.params import Mechanisms
from trucesim.scenario.schema import Scenario

from .sweep_support import TINY_SCENARIO


# ---------------------------------------------------------------------- pure Shapley
def test_two_player_game_by_hand():
    # v(none)=1, v(A)=4, v(B)=2, v(AB)=9 (bit 0: A, bit 1: B).
    # phi_A = 1/2 (4 - 1) + 1/2 (9 - 2) = 5; phi_B = 1/2 (2 - 1) + 1/2 (9 - 4) = 3.
    phi = shapley(np.array([1.0, 4.0, 2.0, 9.0]))
    assert phi == pytest.approx([5.0, 3.0])
    assert phi.sum() == pytest.approx(9.0 - 1.0)


def test_three_player_glove_game_by_hand():
    # Player 0 holds a left glove, players 1 and 2 right gloves; a pair is worth 1.
    # The known Shapley values are (2/3, 1/6, 1/6).
    v = np.array([1.0 if (m & 1) and (m & 6) else 0.0 for m in range(8)])
    assert shapley(v) == pytest.approx([2 / 3, 1 / 6, 1 / 6])


def test_additive_game_gives_each_player_its_own_effect_and_a_dummy_nothing():
    effects = [0.5, -2.0, 0.0, 3.25]
    v = np.array([sum(e for i, e in enumerate(effects) if m & (1 << i)) + 7.0
                  for m in range(16)])
    assert shapley(v) == pytest.approx(effects)


def test_efficiency_and_symmetry_on_random_games_per_column():
    rng = np.random.default_rng(3)
    for k in (1, 2, 3, 5):
        v = rng.normal(size=(2**k, 6))  # six independent games side by side
        phi = shapley(v)
        assert phi.shape == (k, 6)
        np.testing.assert_allclose(phi.sum(axis=0), v[-1] - v[0], atol=1e-12)
        for col in range(6):
            assert shapley(v[:, col]) == pytest.approx(phi[:, col])
    # symmetric players get equal values: v depends on the coalition's size only
    sizes = np.array([bin(m).count("1") for m in range(8)], dtype=float)
    phi = shapley(sizes**2)
    assert phi == pytest.approx([3.0, 3.0, 3.0])


def test_shapley_equals_the_permutation_definition():
    rng = np.random.default_rng(11)
    k = 4
    v = rng.normal(size=2**k)
    by_order = np.zeros(k)
    orders = list(itertools.permutations(range(k)))
    for order in orders:
        mask = 0
        for player in order:
            by_order[player] += v[mask | (1 << player)] - v[mask]
            mask |= 1 << player
    assert shapley(v) == pytest.approx(by_order / len(orders))


def test_shapley_refuses_a_length_that_is_not_a_power_of_two():
    with pytest.raises(ValueError, match="2\\*\\*k"):
        shapley(np.ones(6))
    with pytest.raises(ValueError):
        shapley(np.ones(1))


def test_combination_names():
    assert [combination_name(m, ["a", "b"]) for m in range(4)] == ["none", "a", "b", "a+b"]


# ---------------------------------------------------------------------- end to end
@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SCENARIO)
    return path


FILES = {".trucesim-result.json", "attribution.csv", "attribution.parquet", "attribution.json",
         "attribution.png", "combinations.csv", "shapley_replicates.csv", "sweep"}


def test_attribute_cli_end_to_end(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["attribute", str(tiny), "--outcome", "truce_rate_ratio", "--mechanisms",
            "leaders,police", "-n", "2", "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Shapley contributions to truce_rate_ratio" in printed
    assert "leaders" in printed and "police" in printed
    assert {p.name for p in out.iterdir()} == FILES
    assert read_marker(out)["kind"] == "attribution"

    table = pd.read_parquet(out / "attribution.parquet")
    assert list(table["mechanism"]) == ["leaders", "police"]
    assert np.allclose(table[["shapley", "p05", "p95"]],
                       pd.read_csv(out / "attribution.csv")[["shapley", "p05", "p95"]])
    info = json.loads((out / "attribution.json").read_text())
    assert info["mechanisms"] == ["leaders", "police"] and info["replicates"] == 2

    # The sweep ran all four combinations with the same seeds (common random numbers).
    runs = pd.read_parquet(out / "sweep" / "runs.parquet")
    assert (runs["status"] == "ok").all()
    assert sorted(runs["variant"].unique()) == sorted(["none", "leaders", "police",
                                                       "leaders+police"])
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()
    v = runs.pivot(index="replicate", columns="variant", values="truce_rate_ratio")
    assert v["none"].ne(v["leaders+police"]).all()  # the switches do something

    # Per replicate, by hand for two players, and efficiency.
    per = pd.read_csv(out / "shapley_replicates.csv").set_index("replicate")
    for r in range(2):
        lead = 0.5 * (v.loc[r, "leaders"] - v.loc[r, "none"]) + 0.5 * (
            v.loc[r, "leaders+police"] - v.loc[r, "police"])
        assert per.loc[r, "leaders"] == pytest.approx(lead)
        assert per.loc[r, "leaders"] + per.loc[r, "police"] == pytest.approx(
            v.loc[r, "leaders+police"] - v.loc[r, "none"])
        assert per.loc[r, "v_all"] == pytest.approx(v.loc[r, "leaders+police"])
    # The point estimate is the Shapley value of the replicate means; its sum is efficient.
    means = v.mean()
    assert table["shapley"].sum() == pytest.approx(means["leaders+police"] - means["none"])
    assert (table["p05"] <= table["shapley"] + 1e-12).all()
    assert (table["shapley"] <= table["p95"] + 1e-12).all()

    # Same command again: same settings, replaced (exit 0); other settings need --force.
    assert main(args) == 0
    assert main([*args[:-4], "--seed", "5", "--out", str(out), "--workers", "1"]) == 2
    assert "--force" in capsys.readouterr().err


def _refused(args, capsys, out, *needles):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err
    assert not out.exists() and not list(out.parent.glob(f".{out.name}*"))
    return err


def test_bad_input_is_refused_with_one_line_and_nothing_written(tiny, tmp_path, capsys):
    out = tmp_path / "nothing"
    base = ["attribute", str(tiny), "--out", str(out), "-n", "2"]
    _refused([*base, "--outcome", "truce_rate_ratio", "--mechanisms", "leaders,wizards"],
             capsys, out, "unknown mechanism 'wizards'", "police")
    err = _refused([*base, "--outcome", "nonsense", "--mechanisms", "leaders"], capsys, out,
                   "unknown outcome 'nonsense'", "truce_rate_ratio", "mean_homicides")
    assert "phase.<pre|truce>" in err and "year.<2012>" in err
    many = "leaders,police,demography,other_killings,police_gang_retaliation," \
           "civilian_split,other_actors,command_state,prison_terms"
    _refused([*base, "--outcome", "mean_homicides", "--mechanisms", many], capsys, out,
             "at most 8")
    _refused([*base, "--outcome", "mean_homicides", "--mechanisms", "command,command_state"],
             capsys, out, "twice")
    _refused([*base, "--outcome", "mean_homicides", "--mechanisms", "leaders,leaders"],
             capsys, out, "twice")
    _refused([*base, "--outcome", "mean_homicides", "--variant", "nope"], capsys, out,
             "unknown variant 'nope'")
    _refused(["attribute", str(tmp_path / "missing.toml"), "--outcome", "mean_homicides",
              "--out", str(out)], capsys, out, "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY_SCENARIO.replace("cliques = 50", "cliques = -3"))
    _refused(["attribute", str(bad), "--outcome", "mean_homicides", "--out", str(out)],
             capsys, out, "bad.toml", "world.cliques")


def test_every_switch_but_the_foundation_is_in_exactly_one_group():
    grouped = [m for members in Mechanisms.GROUPS.values() for m in members]
    assert sorted(grouped) == sorted(Mechanisms.design_2b())
    assert not set(Mechanisms.GROUPS) & set(Mechanisms.model_fields)


def test_too_many_switches_on_are_attributed_by_group():
    """All mechanism switches (docs/model.md, "Mechanisms") on: more than MAX_MECHANISMS,
    so each group is one player, and a group's combination switches every one of its
    switches together."""
    switches = "\n".join(f"{m} = true" for m in Mechanisms.design_2b())  # all of them
    sc = Scenario.parse(tomllib.loads(TINY_SCENARIO.replace(
        "[world]", f"[mechanisms]\n{switches}\n[world]")), "all-on.toml")
    assert len(Mechanisms.design_2b()) > MAX_MECHANISMS
    assert choose_mechanisms(sc, None) == list(Mechanisms.GROUPS)
    plan = plan_attribution(sc, "mean_homicides", ["command", "prisons"], replicates=1)
    only_command = plan.experiment.variants["command"].overrides
    assert only_command == {**{f"mechanisms.{m}": True for m in Mechanisms.GROUPS["command"]},
                            "mechanisms.prison_terms": False}
    # a group chosen where only some of its switches are on toggles just those
    some = Scenario.parse(tomllib.loads(TINY_SCENARIO.replace(
        "[world]", "[mechanisms]\ncommand_state = true\n[world]")), "some.toml")
    assert switches_of(some, "command") == ("command_state",)
    assert switches_of(some, "prisons") == ("prison_terms",)  # none on: the whole group


def test_by_default_the_design_2b_switches_on_are_attributed():
    """With mechanism switches (docs/model.md, "Mechanisms") on, the default attributes
    those (not the first model's four, which are on too); with none on, every switch that is on."""
    on = TINY_SCENARIO.replace("[world]", "[mechanisms]\ncivilian_split = true\n"
                               "truce_capacity = true\n[world]")
    sc = Scenario.parse(tomllib.loads(on), "on.toml")
    assert choose_mechanisms(sc, None) == ["civilian_split", "truce_capacity"]
    sc = Scenario.parse(tomllib.loads(TINY_SCENARIO), "tiny.toml")
    assert choose_mechanisms(sc, None) == [m for m in Mechanisms.FOUNDATION
                                           if getattr(sc.mechanisms, m)]


def test_a_variant_that_sets_a_chosen_switch_is_refused(tmp_path, capsys):
    path = tmp_path / "v.toml"
    path.write_text(TINY_SCENARIO + '[variants.nopolice]\noverrides = { "mechanisms.police" '
                    "= false }\n")
    out = tmp_path / "out"
    _refused(["attribute", str(path), "--outcome", "mean_homicides", "--variant", "nopolice",
              "--mechanisms", "police", "--out", str(out)], capsys, out,
             "sets mechanisms.police itself")


def test_an_outcome_undefined_in_every_run_stops_with_nothing_written(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    # The 'hard' variant has no truce, so truce_rate_ratio is NaN in every run.
    assert main(["attribute", str(tiny), "--outcome", "truce_rate_ratio", "--variant", "hard",
                 "--mechanisms", "police", "-n", "1", "--out", str(out), "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert "undefined" in err and "nothing was written" in err
    assert not out.exists() and not list(tmp_path.glob(".out*"))
