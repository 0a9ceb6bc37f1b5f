"""End to end: the `trucesim` command on the bundled files, as a user meets it."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from trucesim.cli.main import main
from trucesim.scenario.load import bundled_scenarios
from trucesim.scenario.params import parameter_rows


def test_scenarios_lists_every_bundled_one(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[0] for line in out) == sorted(bundled_scenarios())


def test_check_accepts_bundled(capsys):
    for name in bundled_scenarios():
        assert main(["check", name]) == 0
        assert ": ok: " in capsys.readouterr().out


def test_params_and_regimes_print_tables(capsys):
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") >= len(parameter_rows()) + 1
    assert main(["regimes"]) == 0
    assert "focused_deterrence" in capsys.readouterr().out


def _run(tmp_path, *args):
    out = tmp_path / "results"
    code = main(["run", *args, "--out", str(out)])
    return code, out


def test_run_letter_scenario_small(tmp_path, capsys, monkeypatch):
    # The 2016-letter scenario named (the main job, no SCENARIO, is the nowcast's branches:
    # tests/test_nowcast.py) runs the base timeline (extraordinary measures continue) and
    # the three variants, with replicates.
    code, out = _run(tmp_path, "el-salvador-2016-letter", "-n", "2", "--seed", "5")
    assert code == 0
    printed = capsys.readouterr().out
    assert "Mean per day by phase" in printed and "Mean per day by year" in printed
    assert "relative to 'hardline'" in printed
    daily = pd.read_parquet(out / "daily.parquet")
    assert set(daily["variant"]) == {"base", "hardline", "truce", "dialogue"}
    assert set(daily["replicate"]) == {0, 1}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replicates"] == 2 and len(summary["runs"]) == 8
    assert {r["variant"] for r in summary["counterfactual"]["table"]} == {
        "base", "hardline", "truce", "dialogue"}
    assert {r["measure"] for r in summary["counterfactual"]["table"]} == {"homicides"}
    assert "Recorded homicides from 2016-07-15 relative to 'hardline'" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "run" and manifest["root_seed"] == 5
    png = (out / "trajectory.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_run_is_reproducible_and_variant_selects(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    assert main(["run", "honduras-like-2013", "-n", "1", "--seed", "3", "--out", str(a)]) == 0
    assert main(["run", "honduras-like-2013", "-n", "1", "--seed", "3", "--out", str(b)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(a / "daily.parquet"),
                                  pd.read_parquet(b / "daily.parquet"))
    c = tmp_path / "c"
    assert main(["run", "focused-deterrence", "-n", "1", "--variant", "focused",
                 "--out", str(c)]) == 0
    assert set(pd.read_parquet(c / "daily.parquet")["variant"]) == {"focused"}


def test_rerun_replaces_its_own_results_folder(tmp_path):
    out = tmp_path / "r"
    assert main(["run", "honduras-like-2013", "-n", "1", "--seed", "1", "--out", str(out)]) == 0
    assert main(["run", "honduras-like-2013", "-n", "1", "--seed", "1", "--out", str(out)]) == 0
    assert (out / "manifest.json").exists()  # the same settings: replaced without --force
    assert main(["run", "honduras-like-2013", "-n", "1", "--seed", "2", "--out", str(out)]) == 2
    assert json.loads((out / "manifest.json").read_text())["root_seed"] == 1  # untouched
    assert main(["run", "honduras-like-2013", "-n", "1", "--seed", "2", "--out", str(out),
                 "--force"]) == 0
    assert json.loads((out / "manifest.json").read_text())["root_seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no temporary leftovers


def test_rerun_with_other_settings_names_them_and_needs_force(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "honduras-like-2013", "-n", "1", "--seed", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["run", "honduras-like-2013", "-n", "2", "--seed", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds a 'run' result made with different settings: replicates (was 1, now 2)" in err
    assert "--force" in err
    assert json.loads((out / "manifest.json").read_text())["replicates"] == 1


@pytest.mark.slow
def test_installed_console_script_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "trucesim.cli.main", "run", "el-salvador-2010-2016", "-n", "1",
         "--out", str(tmp_path / "es")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2012" in proc.stdout and (tmp_path / "es" / "trajectory.png").exists()
