"""The first hour of a new user: the README example runs the truce it describes against
its counterfactual, one measure is compared and labelled everywhere, and the small
commands say what a user needs."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.sweep_support import TINY_SCENARIO
from trucesim.cli.main import main
from trucesim.runner.sensitivity import sobol_view, sobol_warnings

from .conftest import REPO


def _readme_scenario() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Writing a scenario"):]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs_the_truce_against_its_counterfactual(tmp_path, capsys):
    path = tmp_path / "my.toml"
    path.write_text(_readme_scenario())
    out = tmp_path / "out"
    assert main(["run", str(path), "-n", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    daily = pd.read_parquet(out / "daily.parquet")
    assert list(daily["variant"].cat.categories) == ["base", "no-truce"]
    base = daily[(daily["variant"] == "base") & (daily["date"] >= "2021-03-01")]
    assert set(base["phase"].astype(str)) == {"truce"}  # the truce the example describes
    assert "relative to 'no-truce'" in printed
    table = json.loads((out / "summary.json").read_text())["counterfactual"]["table"]
    assert [r["variant"] for r in table] == ["base", "no-truce"]


def test_variant_base_runs_the_timeline_as_written(tmp_path, capsys):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SCENARIO)
    assert main(["run", str(path), "-n", "1", "--variant", "base",
                 "--out", str(tmp_path / "b")]) == 0
    daily = pd.read_parquet(tmp_path / "b" / "daily.parquet")
    assert set(daily["variant"]) == {"base"}
    assert main(["run", str(path), "-n", "1", "--out", str(tmp_path / "all")]) == 0
    daily = pd.read_parquet(tmp_path / "all" / "daily.parquet")
    assert list(daily["variant"].cat.categories) == ["base", "hard", "truce"]


def test_base_is_reserved_and_may_be_the_counterfactual(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(TINY_SCENARIO.replace("[variants.truce]", "[variants.base]"))
    assert main(["check", str(path)]) == 2
    assert "variants.base: 'base' is the name of the base timeline" in capsys.readouterr().err
    path.write_text(TINY_SCENARIO.replace('counterfactual = "hard"', 'counterfactual = "base"'))
    assert main(["check", str(path)]) == 0


def test_regimes_shows_every_presets_values(capsys):
    assert main(["regimes"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("field "))
    assert header.split() == ["field", "baseline", "hardline", "extraordinary", "truce",
                              "dialogue", "focused_deterrence"]
    isolation = next(line for line in out.splitlines() if line.startswith("isolation "))
    assert isolation.split()[1:] == ["0.6", "0.8", "1", "0.1", "0.3", "0.6"]


def test_params_filter(capsys):
    assert main(["params", "Recruit"]) == 0
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("| `")]
    assert {r.split("`")[1] for r in rows} == {
        "mechanisms.demography", "world.capacity", "demography.recruitment_rate",
        "demography.growth_order", "regime (phases.<i>.overrides).recruitment_factor"}
    assert main(["params", "no-such-thing"]) == 2
    assert "no parameter's path or meaning contains 'no-such-thing'" in capsys.readouterr().err


def test_sobol_noise_is_warned_about_and_intervals_shown():
    table = pd.DataFrame({"outcome": ["y", "y"], "S1": [-0.08, 0.5], "S1_conf": [0.3, 0.05],
                          "ST": [1.2, 0.6], "ST_conf": [0.4, 0.05]},
                         index=pd.Index(["a", "b"], name="parameter"))
    warnings = sobol_warnings(table)
    assert any("negative first-order index for a" in w for w in warnings)
    assert any("total index above 1 for a" in w for w in warnings)
    assert any("raise design.samples" in w for w in warnings)
    view = sobol_view(table)
    assert view.loc["a", "S1 [95% CI]"] == "-0.080 [-0.380, 0.220]"
    clean = table.assign(S1=[0.1, 0.5], ST=[0.2, 0.6], S1_conf=0.05, ST_conf=0.05)
    assert sobol_warnings(clean) == []


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_interrupted_says_how_to_resume(monkeypatch, capsys, command, tmp_path):
    import dataclasses

    import trucesim.cli.main as cli
    from trucesim.cli.registry import COMMANDS

    def interrupt(args):
        raise KeyboardInterrupt

    # the parser is built per call, from the registry
    monkeypatch.setitem(COMMANDS, command, dataclasses.replace(COMMANDS[command], run=interrupt))
    argv = [command, "x"] if command == "sweep" else [command, "honduras-like-2013"]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    if command == "sweep":
        assert "rerun the same command to resume" in err
    else:
        assert "nothing was written" in err
