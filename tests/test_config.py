"""Scenario files: every documented bad input stops with `file: key: reason`, exit 2,
no traceback and nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trucesim.cli.main import main
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.load import bundled_scenarios, load_scenario, resolve_path
from trucesim.scenario.params import Mechanisms

from .conftest import SCENARIOS

GOOD = (SCENARIOS / "el-salvador-2010-2016.toml").read_text()


def event_key(date: str) -> str:
    """``events.<i>``: the position in the good file of its event of ``date`` (so that
    events added to the file do not shift the expected locations)."""
    import tomllib

    dates = [str(e["date"]) for e in tomllib.loads(GOOD)["events"]]
    return f"events.{dates.index(date)}"


# (name, transform of the good file's text, expected key, expected words in the reason)
BAD_CASES = [
    ("malformed", lambda t: t + "\n[world\n", "", "malformed TOML"),
    ("unknown key", lambda t: t.replace("cliques = 600", "cliques = 600\nclique = 3"),
     "world.clique", "unknown key"),
    ("wrong type", lambda t: t.replace("cliques = 600", 'cliques = "many"'),
     "world.cliques", "integer"),
    ("negative rate", lambda t: t + "\n[violence]\nmu = -0.1\n", "violence.mu",
     "greater than or equal to 0"),
    ("probability above 1", lambda t: t + "\n[violence]\nconcealment = 1.5\n",
     "violence.concealment", "less than or equal to 1"),
    ("shares", lambda t: t + "\n[gangs.A]\nshare = 0.5\n[gangs.B]\nshare = 0.6\n", "gangs",
     "sum to 1.1"),
    ("end before start", lambda t: t.replace("end = 2016-12-31", "end = 2009-12-31"), "end",
     "not after start"),
    ("phase outside", lambda t: t.replace("start = 2016-04-01", "start = 2017-04-01"),
     "phases.5.start", "outside the scenario"),
    ("event outside", lambda t: t.replace("date = 2016-06-15", "date = 2019-06-15"),
     f"{event_key('2016-06-15')}.date", "outside the scenario"),
    ("unknown regime", lambda t: t.replace('regime = "extraordinary"', 'regime = "martial"'),
     "phases.5", "unknown regime 'martial'"),
    ("unknown gang", lambda t: t.replace('gangs = ["B18S", "B18R"]', 'gangs = ["B18X"]'),
     f"{event_key('2015-07-26')}.gangs", "unknown gang 'B18X'"),
    ("branching ratio", lambda t: t + "\n[violence]\neta = 0.5\nomega = 0.1\n", "violence",
     "branching ratio"),
    ("phase order", lambda t: t.replace("start = 2013-05-01", "start = 2011-05-01"),
     "phases.2.start", "increasing order"),
    ("override out of range", lambda t: t.replace("benefits = 0.3", "benefits = 3.0"),
     "phases.2.overrides.benefits", "less than or equal to 1"),
    ("unknown override", lambda t: t.replace("benefits = 0.3", "bribes = 0.3"),
     "phases.2.overrides.bribes", "unknown key"),
    ("event missing field", lambda t: t.replace("isolation = 0.9\nlabel", "label"),
     event_key("2015-02-19"), "needs 'isolation'"),
]


@pytest.mark.parametrize("name,transform,key,words", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_scenario_is_refused_with_location(tmp_path, capsys, name, transform, key, words):
    path = tmp_path / "bad.toml"
    path.write_text(transform(GOOD))
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    if key:
        assert f"{path}: {key}: " in message, message
    assert words in message, message

    out = tmp_path / "results"
    for argv in (["check", str(path)], ["run", str(path), "-n", "1", "--out", str(out)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: ")
        assert "Traceback" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [path]


def test_missing_file(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    assert main(["check", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {missing}: no such file"


def test_unknown_variant_refused_before_running(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "el-salvador-2016-letter", "--variant", "amnesty", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "variant: unknown variant 'amnesty'; valid: base, hardline, truce, dialogue" in err
    assert not out.exists()


def test_unknown_counterfactual(tmp_path):
    text = (SCENARIOS / "el-salvador-2016-letter.toml").read_text()
    path = tmp_path / "cf.toml"
    path.write_text(text.replace('counterfactual = "hardline"', 'counterfactual = "peace"'))
    with pytest.raises(ConfigError, match="counterfactual: unknown variant 'peace'"):
        load_scenario(path)


def test_replicates_must_be_positive(tmp_path, capsys):
    assert main(["run", "--replicates", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--replicates" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_out_folder_that_is_not_results_is_refused(tmp_path, capsys):
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "thesis.tex").write_text("keep me")
    assert main(["run", "honduras-like-2013", "-n", "1", "--out", str(precious)]) == 2
    assert "is not a folder trucesim made" in capsys.readouterr().err
    assert [p.name for p in precious.iterdir()] == ["thesis.tex"]


def test_cli_exit_code_from_a_real_process(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace("cliques = 600", "cliques = -5"))
    proc = subprocess.run(
        [sys.executable, "-m", "trucesim.cli.main", "check", str(path)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert f"{path}: world.cliques: " in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_bundled_scenario_is_valid():
    bundled = bundled_scenarios()
    assert {"el-salvador-2010-2016", "el-salvador-2016-letter", "honduras-like-2013",
            "focused-deterrence"} <= set(bundled)
    for path in bundled.values():
        s = load_scenario(path)
        for v in s.variants:
            s.variant(v)


def test_bundled_files_resolve_by_kind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiments = bundled_scenarios("experiments")
    assert {"leader-control", "sobol-truce-effect"} <= set(experiments)
    assert not set(experiments) & set(bundled_scenarios())
    assert resolve_path("leader-control", "experiments") == experiments["leader-control"]
    assert resolve_path("honduras-like-2013") == bundled_scenarios()["honduras-like-2013"]
    assert resolve_path("leader-control") == Path("leader-control")  # not a scenario
    # a path (with .toml or a folder) is a path: never swapped for a bundled file
    assert resolve_path("leader-control.toml", "experiments") == Path("leader-control.toml")
    path = "scenarios/honduras-like-2013.toml"
    assert resolve_path(path) == Path(path)
    (tmp_path / "leader-control").write_text("")
    assert resolve_path("leader-control", "experiments") == Path("leader-control")


def test_overrides_by_dotted_path(el_salvador):
    s = el_salvador.with_overrides({"gangs.MS13.cohesion": 0.1, "phases.1.overrides.benefits": 0.2})
    assert s.gangs["MS13"].cohesion == 0.1
    assert s.phases[1].resolved_regime().benefits == 0.2
    assert el_salvador.gangs["MS13"].cohesion == 0.8  # the original is unchanged
    with pytest.raises(ConfigError, match="names no parameter"):
        el_salvador.with_overrides({"gangs.MS14.cohesion": 0.1})
    with pytest.raises(ConfigError, match="less than or equal to 1"):
        el_salvador.with_overrides({"gangs.MS13.cohesion": 2.0})


def test_variant_replaces_timeline_from_its_start(letter):
    truce = letter.variant("truce")
    assert [p.name for p in truce.phases] == ["hardline", "extraordinary measures",
                                              "truce reinstated"]
    assert truce.variants == {}


def test_bundled_name_resolution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_scenario("honduras-like-2013").name == "honduras-like-2013"
    for missing in ("honduras-like-2013.toml", "scenarios/honduras-like-2013.toml"):
        with pytest.raises(ConfigError, match="no such file"):
            load_scenario(missing)  # a missing path never falls back to the bundled file
    with pytest.raises(ConfigError, match="no such file"):
        load_scenario(Path("elsewhere/honduras-like-2013.toml").as_posix() + "x")


@pytest.mark.parametrize("switch", sorted(Mechanisms.model_fields))
@pytest.mark.parametrize("value", ["1", "'yes'", "0.5"])
def test_every_mechanism_switch_refuses_a_non_boolean(switch, value, tmp_path):
    """Every `[mechanisms]` switch, those added later included, takes only true or false."""
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "s"\nstart = 2000-01-01\nend = 2000-02-01\n'
        f"[mechanisms]\n{switch} = {value}\n"
        '[[phases]]\nstart = 2000-01-01\nregime = "baseline"\n')
    with pytest.raises(ConfigError, match=rf"s\.toml: mechanisms\.{switch}: .*not a boolean"):
        load_scenario(path)
