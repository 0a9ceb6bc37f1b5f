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
