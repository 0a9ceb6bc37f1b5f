"""The command registry: shared options declared once, checked once, before a command runs."""

from __future__ import annotations

import dataclasses

import pytest

from trucesim.cli import registry
from trucesim.cli.main import main
from trucesim.cli.registry import COMMANDS, Count, command


def _spy(monkeypatch, name):
    ran = []
    monkeypatch.setitem(COMMANDS, name, dataclasses.replace(
        COMMANDS[name], run=lambda args: ran.append(args) or 0))
    return ran


@pytest.mark.parametrize(("argv", "line"), [
    (["sweep", "x", "--workers", "0"], "error: --workers: must be at least 1"),
    (["calibrate", "x.toml", "--workers", "-3"], "error: --workers: must be at least 1"),
    (["attribute", "s", "--outcome", "o", "--workers", "0"],
     "error: --workers: must be at least 1"),
    (["validate", "--workers", "0"], "error: --workers: must be at least 1"),
    (["run", "honduras-like-2013", "-n", "0"], "error: --replicates: must be at least 1"),
    (["attribute", "s", "--outcome", "o", "--replicates", "-1"],
     "error: --replicates: must be at least 1"),
    (["validate", "-n", "1"], "error: --replicates: must be at least 2"),
    (["validate", "--ablation-replicates", "-1"],
     "error: --ablation-replicates: must be at least 0"),
])
def test_shared_counts_are_refused_in_one_line_before_the_command_runs(
        monkeypatch, capsys, argv, line):
    ran = _spy(monkeypatch, argv[0])
    assert main(argv) == 2
    assert capsys.readouterr().err == line + "\n"
    assert ran == []  # refused before the command's own code


def test_good_counts_reach_the_command(monkeypatch):
    ran = _spy(monkeypatch, "sweep")
    assert main(["sweep", "x", "--workers", "1"]) == 0
    assert ran[0].workers == 1
    ran = _spy(monkeypatch, "validate")
    assert main(["validate", "-n", "2", "--ablation-replicates", "0"]) == 0
    assert (ran[0].replicates, ran[0].ablation_replicates) == (2, 0)


def test_every_workers_and_replicates_option_is_the_shared_one():
    seen = {"--workers": 0, "--replicates": 0}
    for c in COMMANDS.values():
        for a in c.args:
            if a.flags[0] in seen and c.name != "backtest":  # backtest: threads, parsed itself
                assert isinstance(a, Count), (c.name, a.flags)
                seen[a.flags[0]] += 1
    assert seen == {"--workers": 5, "--replicates": 4}  # discover adds one of each


def test_a_command_name_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        command("run", "again")(lambda args: 0)
    assert list(COMMANDS)[:3] == ["run", "nowcast", "backtest"]
    assert registry.COMMANDS["run"].simulates and registry.COMMANDS["plot"].draws


#: Each shared option as the registry declares it (help and default aside).
SHARED = [registry.particles(""), registry.drift(""), registry.state_noise(""),
          registry.backend(), registry.scheduler(), registry.variant(""),
          registry.posterior(""), registry.seed(), registry.out(""), registry.force(""),
          registry.case_arg()]
#: Options that share a name but not the meaning: backtest parses --particles, --seed and
#: --workers itself (as text); nowcast's --posterior needs its FILE.
OWN = {("nowcast", "--posterior")}


def _form(a):
    return a.flags, {k: v for k, v in a.kwargs.items() if k not in ("help", "default")}


def test_every_shared_option_is_the_registrys():
    shared = {a.flags: _form(a) for a in SHARED}
    seen = set()
    for c in COMMANDS.values():
        for a in c.args:
            if a.flags in shared and c.name != "backtest" and (c.name, a.flags[0]) not in OWN:
                assert _form(a) == shared[a.flags], (c.name, a.flags)
                seen.add(a.flags[0])
    assert seen == {a.flags[0] for a in SHARED}


def test_a_command_with_actions_needs_one(monkeypatch, capsys, tmp_path):
    ran = _spy(monkeypatch, "case")
    with pytest.raises(SystemExit) as exc:
        main(["case"])
    assert exc.value.code == 2 and "ACTION" in capsys.readouterr().err
    assert main(["case", "new", "x", "--dir", str(tmp_path)]) == 0
    assert (ran[0].case_command, ran[0].name, ran[0].dir) == ("new", "x", tmp_path)
