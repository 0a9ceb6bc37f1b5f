"""Issue 24, data: a rerun never deletes what trucesim did not write, a killed command's
staging folder and lock are cleaned by the next run (saying so), paths named in files
stay in their folder, and a posterior runs only where it was fitted."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.sweep_support import TINY_SCENARIO, write_tiny
from trucesim import folders
from trucesim.cli.main import main
from trucesim.folders import MARKER, lock_path
from trucesim.scenario.files import ALLOW_ABSOLUTE_ENV

from .conftest import REPO


def _tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SCENARIO)
    return path


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# ------------------------------------------------------------------ reruns keep the user's
@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """``run tiny.toml -n 1`` done once for the module (about 1 s; ``plot`` 2-4 s more),
    as the first step of the rerun tests: ``(scenario, run folder, the run folder with
    the user's NOTES.md and plots/)``. Tests copy the folders (they rerun into them) and
    rerun with this scenario file, which nothing writes."""
    folder = tmp_path_factory.mktemp("made")
    scen = _tiny(folder)
    run = folder / "R"
    assert main(["run", str(scen), "-n", "1", "--out", str(run)]) == 0
    plotted = folder / "plotted" / "R"
    shutil.copytree(run, plotted)
    (plotted / "NOTES.md").write_text("my notes")
    assert main(["plot", str(plotted)]) == 0
    return scen, run, plotted


@pytest.mark.parametrize("force", [False, True])
def test_rerun_refuses_a_folder_holding_the_users_notes_and_plots(tmp_path, capsys, force,
                                                                  made):
    scen, _, plotted = made
    out = tmp_path / "R"
    args = ["run", str(scen), "-n", "1", "--out", str(out)]
    shutil.copytree(plotted, out)  # made by args, then NOTES.md and `plot`
    capsys.readouterr()
    before = _tree(out)
    assert main(args + (["--force", "--seed", "9"] if force else [])) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "NOTES.md" in err and "plots/" in err and "did not write" in err
    assert _tree(out) == before
    assert (out / "NOTES.md").read_text() == "my notes"


def test_rerun_replaces_a_folder_holding_only_its_own_files(tmp_path, capsys, made):
    scen, run, _ = made
    out = tmp_path / "R"
    args = ["run", str(scen), "-n", "1", "--out", str(out)]
    shutil.copytree(run, out)  # made by args
    marker = json.loads((out / MARKER).read_text())
    assert set(marker["files"]) == {"daily.parquet", "summary.json", "manifest.json",
                                    "trajectory.png"}
    assert main(args) == 0


def test_a_marker_without_its_file_list_keeps_the_users_files(tmp_path, capsys, made):
    """A folder made before markers listed their files (format 1): the files its kind
    writes may be replaced, nothing else."""
    scen, run, _ = made
    out = tmp_path / "R"
    args = ["run", str(scen), "-n", "1", "--out", str(out)]
    shutil.copytree(run, out)  # made by args
    marker = json.loads((out / MARKER).read_text())
    del marker["files"]
    marker["format"] = 1
    (out / MARKER).write_text(json.dumps(marker))
    assert main(args) == 0  # only its own files: replaced
    marker = json.loads((out / MARKER).read_text())
    del marker["files"]
    (out / MARKER).write_text(json.dumps(marker))
    (out / "NOTES.md").write_text("mine")
    capsys.readouterr()
    assert main(args) == 2
    assert "NOTES.md" in capsys.readouterr().err
    assert (out / "NOTES.md").read_text() == "mine"


def test_sweep_resume_keeps_plots_but_force_refuses_them(tmp_path, capsys):
    exp = write_tiny(tmp_path / "e", replicates=1)
    out = tmp_path / "S"
    args = ["sweep", str(exp), "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    (out / "NOTES.md").write_text("mine")
    assert main(args) == 0  # resuming deletes nothing
    assert (out / "NOTES.md").read_text() == "mine"
    capsys.readouterr()
    assert main(args + ["--force"]) == 2
    assert "NOTES.md" in capsys.readouterr().err
    assert (out / "NOTES.md").read_text() == "mine"


# ------------------------------------------------------------------ killed commands
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_runs_staging_folder_and_lock_are_cleaned_saying_so(tmp_path, capsys):
    out = tmp_path / "R"
    dead = _dead_pid()
    stage = tmp_path / ".R.abcd1234"
    stage.mkdir()
    (stage / "daily.parquet").write_text("half")
    (stage / folders.STAGE_MARKER).write_text(json.dumps(
        {"tool": "trucesim", "pid": dead, "host": socket.gethostname()}))
    legacy = tmp_path / ".R.zz_y9876"  # from before staging markers: only a run's files
    legacy.mkdir()
    (legacy / "summary.json").write_text("{}")
    lock_path(out).write_text(json.dumps({"pid": dead, "host": socket.gethostname(),
                                          "command": "run", "started": "then"}))
    users = tmp_path / ".R.notmine"  # not the staging pattern: never touched
    users.mkdir()
    alive = tmp_path / ".R.live1234"  # a live process's stage: never touched
    alive.mkdir()
    (alive / folders.STAGE_MARKER).write_text(json.dumps(
        {"tool": "trucesim", "pid": os.getpid(), "host": socket.gethostname()}))
    assert main(["run", str(_tiny(tmp_path)), "-n", "1", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"removed {stage}" in err and f"removed {legacy}" in err
    assert f"removed the lock of process {dead}" in err
    assert not stage.exists() and not legacy.exists() and not lock_path(out).exists()
    assert users.exists() and alive.exists()
    assert folders.STAGE_MARKER not in os.listdir(out)


def test_a_killed_run_leaves_a_stage_the_next_run_removes(tmp_path, capsys):
    """SIGKILL in the middle of a run: the stage and lock stay; the next run cleans them."""
    scen = _tiny(tmp_path)
    out = tmp_path / "R"
    code = (
        "import os, signal\n"
        "import trucesim.cli.run as r\n"
        "real = r.write_parquet\n"
        "def die(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "r.write_parquet = die\n"
        "from trucesim.cli.main import main\n"
        f"main(['run', {str(scen)!r}, '-n', '1', '--out', {str(out)!r}])\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True)
    assert proc.returncode == -9
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".R.")]
    assert left and lock_path(out).exists()
    assert main(["run", str(scen), "-n", "1", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "removed" in err and "killed" in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".R.")]


# ------------------------------------------------------------------ paths in files


def test_a_relative_path_leaving_the_files_folder_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(ALLOW_ABSOLUTE_ENV, raising=False)
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    cal = folder / "cal.toml"
    text = (REPO / "calibration" / "el-salvador-2013.toml").read_text()
    cal.write_text(text.replace('\nscenario = ', '\ndata = "../../etc/shadow"\nscenario = ', 1))
    from trucesim.calibration.problem import load_calibration
    from trucesim.scenario.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        load_calibration(cal)
    err = str(exc.value)
    assert err.count("\n") == 0
    assert "data" in err and "leads outside this file's folder" in err
    assert ALLOW_ABSOLUTE_ENV in err


def test_a_scenario_reaching_outside_its_folder_by_a_symlink_is_refused(tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.delenv(ALLOW_ABSOLUTE_ENV, raising=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "s.toml").write_text(TINY_SCENARIO)
    inside = tmp_path / "in"
    inside.mkdir()
    (inside / "link").symlink_to(outside)
    exp = write_tiny(inside, replicates=1)
    exp.write_text(exp.read_text().replace('scenario = "tiny.toml"',
                                           'scenario = "link/s.toml"'))
    assert main(["sweep", str(exp), "--workers", "1", "--out", str(tmp_path / "o")]) == 2
    assert "leads outside" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bundled_files_may_reach_inside_the_bundled_folder():
    from trucesim.api import load_scenario
    from trucesim.uncertainty import parameter_draws

    s = load_scenario("el-salvador-2016-letter")
    assert parameter_draws(s, True).posterior.protocol == "B"


@pytest.mark.parametrize("out", ["/tmp/elsewhere", "../../x"])
def test_an_experiments_out_outside_the_current_folder_is_refused(tmp_path, capsys,
                                                                  monkeypatch, out):
    monkeypatch.delenv(ALLOW_ABSOLUTE_ENV, raising=False)
    work = tmp_path / "w" / "v"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    exp = write_tiny(work, replicates=1)
    exp.write_text(exp.read_text() + f'\n[execution]\nout = "{out}"\n')
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["sweep", str(exp), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "execution.out" in err and ALLOW_ABSOLUTE_ENV in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_an_experiments_out_inside_the_current_folder_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = write_tiny(tmp_path, replicates=1)
    exp.write_text(exp.read_text() + '\n[execution]\nout = "res/here"\n')
    assert main(["sweep", str(exp), "--workers", "1"]) == 0
    assert (tmp_path / "res" / "here" / "runs.parquet").is_file()


# ------------------------------------------------------------------ posteriors
BUNDLED_B = REPO / "src" / "trucesim" / "bundled" / "posterior" / "el-salvador-B.toml"
BUNDLED_A = REPO / "src" / "trucesim" / "bundled" / "posterior" / "el-salvador-A.toml"


def _edited(tmp_path, source, old, new, name="post.toml"):
    text = source.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def test_the_calibration_records_its_fixed_values_and_scenario(tmp_path):
    """posterior_of (smc) writes the calibration's overrides; they survive the file."""
    import numpy as np
    import pandas as pd

    from trucesim.calibration.problem import load_calibration
    from trucesim.calibration.smc import posterior_of
    from trucesim.scenario.posterior import load_posterior, posterior_toml

    cal = tmp_path / "cal.toml"
    text = (REPO / "calibration" / "el-salvador-2013.toml").read_text()
    cal.write_text(text.replace("\n[method]", '\noverrides = {"world.cliques" = 100}\n'
                                "\n[method]", 1))
    problem = load_calibration(cal)

    class History:
        max_t = 0

        def get_distribution(self, m, t):
            from trucesim.calibration.smc import sampler_keys

            keys = sampler_keys(problem.priors)
            return pd.DataFrame({k: [0.5, 0.6] for k in keys}), np.array([1.0, 1.0])

    post = posterior_of(problem, History(), str(cal), pd.DataFrame({"epsilon": [1.0]}))
    (tmp_path / "p.toml").write_text(posterior_toml(post))
    back = load_posterior(tmp_path / "p.toml")
    assert back.overrides_fixed == {"world.cliques": 100}
    assert back.scenario == "el-salvador-2010-2016"


def test_a_posterior_fitted_on_another_world_is_refused(tmp_path, capsys):
    post = _edited(tmp_path, BUNDLED_A, "overrides = {}", 'overrides = {"world.cliques" = 100}')
    out = tmp_path / "R"
    assert main(["run", "el-salvador-2010-2016", "-n", "1", "--posterior", str(post),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "overrides.world.cliques" in err and "fitted with world.cliques = 100" in err
    assert not out.exists()


def test_a_posterior_fitted_to_another_scenario_is_refused(tmp_path, capsys):
    post = _edited(tmp_path, BUNDLED_A, 'scenario = "el-salvador-2010-2016"',
                   'scenario = "honduras-2013"')
    out = tmp_path / "R"
    assert main(["run", "el-salvador-2010-2016", "-n", "1", "--posterior", str(post),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "scenario: fitted to scenario 'honduras-2013'" in err and err.count("\n") == 0
    assert not out.exists()
    post = _edited(tmp_path, BUNDLED_B, 'scenario = "el-salvador-2010-2016"',
                   'scenario = "honduras-2013"', "b.toml")
    assert main(["nowcast", "--posterior", str(post), "--out", str(out)]) == 2
    assert "fitted to scenario 'honduras-2013'" in capsys.readouterr().err
    assert not out.exists()


def test_a_posterior_without_its_fixed_values_is_refused(tmp_path, capsys):
    post = _edited(tmp_path, BUNDLED_A, "overrides = {}\n", "")
    assert main(["run", "el-salvador-2010-2016", "-n", "1", "--posterior", str(post),
                 "--out", str(tmp_path / "R")]) == 2
    err = capsys.readouterr().err
    assert "overrides: missing" in err and "overrides = {}" in err


def test_the_bundled_posteriors_run_where_they_were_fitted():
    from trucesim.api import load_scenario
    from trucesim.calibration.nowcast import read_posterior
    from trucesim.uncertainty import parameter_draws

    assert read_posterior(None).overrides_fixed == {}
    for name in ("el-salvador-2010-2016", "el-salvador-2016-letter"):
        assert parameter_draws(load_scenario(name), True) is not None


def test_a_scenario_file_naming_a_posterior_fitted_elsewhere_still_checks_fixed_values(
        tmp_path):
    from trucesim.api import load_scenario
    from trucesim.scenario.errors import ConfigError

    _edited(tmp_path, BUNDLED_A, "overrides = {}", 'overrides = {"world.cliques" = 100}')
    text = (REPO / "scenarios" / "el-salvador-2010-2016.toml").read_text()
    text = text.replace('calibration = "calibrated/el-salvador.toml"', "")
    import re

    text = re.sub(r'(?m)^posterior = .*$', 'posterior = "post.toml"', text)
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(ConfigError, match="overrides.world.cliques"):
        load_scenario(tmp_path / "s.toml", draw=0)


def test_posterior_weights_of_1e308_are_drawn_from(tmp_path):
    """Finite, positive weights whose sum overflows: every path (run, nowcast, sweep,
    simulate_variants) reads the file through load_posterior, which draws from them."""
    import re

    import trucesim.api as api
    from trucesim.scenario.posterior import load_posterior
    from trucesim.scenario.schema import Scenario

    from .conftest import small as shrink

    text = BUNDLED_A.read_text()
    n = len(re.search(r"(?m)^weights = \[(.*)\]$", text).group(1).split(","))
    text = re.sub(r"(?m)^weights = \[.*\]$", "weights = [" + ", ".join(["1e308"] * n) + "]",
                  text)
    post = tmp_path / "post.toml"
    post.write_text(text)
    p = load_posterior(post)
    assert abs(p.weights.sum() - 1) < 1e-12 and p.effective_size == pytest.approx(n)
    assert len(set(p.indices(50).tolist())) > 1
    data = shrink(api.load_scenario("el-salvador-2010-2016"), cliques=30, burn_in=10).to_data()
    data["end"] = data["start"].replace(month=1, day=31)
    data["phases"] = data["phases"][:1]
    data.update(events=[], variants={}, counterfactual=None)
    short = Scenario.parse(data, "el-salvador-2010-2016")
    assert len(api.simulate_variants(short, replicates=2, posterior=post)) == 62


def test_a_nowcast_posterior_that_sets_the_burn_in_runs(tmp_path):
    """A posterior with "world.burn_in_days" (in range): the particles' longer burn-in
    must fit the scratch record (on main: "the particle's timeline or the record ends
    before that day")."""
    import datetime as dt
    import re

    from trucesim.calibration.nowcast import read_posterior, run_filter

    text = BUNDLED_B.read_text()
    n = len(re.search(r"(?m)^weights = \[(.*)\]$", text).group(1).split(","))
    values = ", ".join(str(400 + 10 * (i % 5)) for i in range(n))
    post = tmp_path / "post.toml"
    post.write_text(text.rstrip("\n") + f'\n"world.burn_in_days" = [{values}]\n')
    p = read_posterior(post)
    r = run_filter(10, posterior=p, cutoff=dt.date(2010, 12, 31), workers=1, seed=1)
    assert {q.burn_in for q in r.ensemble.particles} <= {400, 410, 420, 430, 440}
    assert len(r.table) > 0
