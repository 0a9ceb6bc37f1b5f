"""Nothing of the user's is lost: results folders are replaced only when trucesim can
prove they are its own result of the same kind, names that become folders are checked,
one command at a time holds a folder, and a resume checks the outputs it trusts."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pandas as pd
import pytest

from tests.sweep_support import TINY_SCENARIO, write_tiny
from trucesim.cli.main import main
from trucesim.folders import MARKER, FolderLock, claim, lock_path, result_folder
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.names import check_name

from .conftest import REPO


def _tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SCENARIO)
    return path


def _users_folder(folder):
    """A folder of someone's work that happens to hold a file named manifest.json."""
    (folder / "site").mkdir(parents=True)
    (folder / "manifest.json").write_text("")
    (folder / "site" / "index.html").write_text("<p>my work</p>")
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Results made once for the module, by the commands the tests would begin with
    (each about 1 s): ``run tiny.toml -n 1`` and ``sweep`` of the tiny 2 x 2 grid with one
    replicate. Tests copy a folder before a command may write into it, and name the
    scenario and experiment files here, which nothing writes."""
    folder = tmp_path_factory.mktemp("made")
    scenario = _tiny(folder)
    run = folder / "run"
    assert main(["run", str(scenario), "-n", "1", "--out", str(run)]) == 0
    exp = write_tiny(folder / "e", replicates=1)
    sweep = folder / "sweep"
    assert main(["sweep", str(exp), "--out", str(sweep), "--workers", "1"]) == 0
    return {"scenario": scenario, "run": run, "exp": exp, "sweep": sweep}


def _copy(made, what, to):
    shutil.copytree(made[what], to)
    return to


def test_run_never_deletes_a_folder_just_because_it_holds_manifest_json(tmp_path, capsys):
    users = tmp_path / "project"
    before = _users_folder(users)
    assert main(["run", str(_tiny(tmp_path)), "-n", "1", "--out", str(users)]) == 2
    assert "is not a folder trucesim made" in capsys.readouterr().err
    assert sorted(str(p.relative_to(users)) for p in users.rglob("*")) == before
    # not even with --force
    assert main(["run", str(_tiny(tmp_path)), "-n", "1", "--out", str(users), "--force"]) == 2
    assert (users / "site" / "index.html").read_text() == "<p>my work</p>"


def test_validate_refuses_a_sweep_folder_before_any_work(tmp_path, capsys, made):
    sweep = _copy(made, "sweep", tmp_path / "sweep")  # made by `sweep --workers 1`
    capsys.readouterr()
    before = sorted(p.name for p in sweep.rglob("*"))
    for extra in ([], ["--force"]):
        assert main(["validate", "-n", "2", "--out", str(sweep), *extra]) == 2
        assert "holds a 'trucesim sweep' result, not a 'validation' result" in (
            capsys.readouterr().err)
    assert sorted(p.name for p in sweep.rglob("*")) == before


def test_run_refuses_a_sweep_folder_and_sweep_a_run_folder(tmp_path, capsys, made):
    run_out = _copy(made, "run", tmp_path / "run")  # made by `run tiny.toml -n 1`
    assert json.loads((run_out / MARKER).read_text())["kind"] == "run"
    exp = made["exp"]
    assert main(["sweep", str(exp), "--out", str(run_out), "--force", "--workers", "1"]) == 2
    assert "holds a 'trucesim run' result, not a 'sweep' result" in capsys.readouterr().err
    assert (run_out / "daily.parquet").exists()


@pytest.mark.parametrize("name", ["../../somewhere", "/tmp/abs", "", ".", "..", "a/b",
                                  "with space", "-dash-first"])
def test_scenario_names_that_would_escape_results_are_refused(tmp_path, capsys, name):
    path = tmp_path / "s.toml"
    path.write_text(TINY_SCENARIO.replace('name = "tiny"', f"name = {json.dumps(name)}"))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: name: {name!r} is not a valid name" in err
    assert main(["run", str(path), "-n", "1", "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_empty_name_would_have_replaced_all_results(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "other").mkdir(parents=True)
    (tmp_path / "results" / "other" / "keep.txt").write_text("keep")
    path = tmp_path / "s.toml"
    path.write_text(TINY_SCENARIO.replace('name = "tiny"', 'name = ""'))
    assert main(["run", str(path), "-n", "1"]) == 2
    assert (tmp_path / "results" / "other" / "keep.txt").read_text() == "keep"


def test_check_name():
    assert check_name("el-salvador_2016.v2") == "el-salvador_2016.v2"
    for bad in ("", "..", "a/b", "a\\b", "é", "x:y"):
        with pytest.raises(ValueError, match="not a valid name"):
            check_name(bad)


def test_claim_and_staging_keep_foreign_files(tmp_path):
    folder = tmp_path / "f"
    assert claim(folder, "run", {"a": 1}, force=False) == "new"
    with result_folder(folder, "run", {"a": 1}) as stage:
        (stage / "x.txt").write_text("1")
    assert claim(folder, "run", {"a": 1}, force=False) == "same"
    with pytest.raises(ConfigError, match=r"different settings: a \(was 1, now 2\)"):
        claim(folder, "run", {"a": 2}, force=False)
    assert claim(folder, "run", {"a": 2}, force=True) == "replace"
    with pytest.raises(ConfigError, match="holds a 'trucesim run' result"):
        claim(folder, "validation", {"a": 1}, force=True)
    # a failing body leaves the old result untouched and no temporaries
    with pytest.raises(RuntimeError), result_folder(folder, "run", {"a": 1}) as stage:
        (stage / "x.txt").write_text("2")
        raise RuntimeError("boom")
    assert (folder / "x.txt").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        claim(file, "run", {}, force=True)


def test_a_forged_marker_kind_is_not_a_licence_for_other_kinds(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / MARKER).write_text("not json")
    (folder / "mine.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not a folder trucesim made"):
        claim(folder, "run", {}, force=True)


# ------------------------------------------------------------------------------ locks
def _held_by(folder, pid, host=None):
    lock = lock_path(folder)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(),
                                "command": "sweep other", "started": "2026-01-01T00:00:00"}))
    return lock


def test_a_lock_held_by_a_live_process_is_refused(tmp_path, capsys):
    exp = write_tiny(tmp_path / "e", replicates=1)
    out = tmp_path / "out"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = _held_by(out, sleeper.pid)
        assert main(["sweep", str(exp), "--out", str(out), "--workers", "1", "--force"]) == 2
        err = capsys.readouterr().err
        assert f"in use by process {sleeper.pid} on {socket.gethostname()}" in err
        assert not out.exists() and lock.exists()
        assert main(["run", str(_tiny(tmp_path)), "-n", "1", "--out", str(out)]) == 2
        assert "in use by process" in capsys.readouterr().err
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_stale_lock_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out"
    lock = _held_by(out, dead.pid)
    assert main(["run", str(_tiny(tmp_path)), "-n", "1", "--out", str(out)]) == 0
    assert (out / "daily.parquet").exists() and not lock.exists()


def test_a_lock_on_another_host_is_respected(tmp_path):
    out = tmp_path / "out"
    _held_by(out, 1, host="elsewhere.example")
    with pytest.raises(ConfigError, match="in use by process 1 on elsewhere.example"):
        FolderLock(out).acquire()


def test_a_second_process_is_refused_while_the_lock_is_held(tmp_path):
    out = tmp_path / "out"
    with FolderLock(out) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from trucesim.folders import FolderLock\n"
             "try:\n FolderLock(sys.argv[1]).acquire()\nexcept Exception as e:\n print(e)\n"
             " sys.exit(3)", str(out)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 3, proc.stderr
        assert f"in use by process {os.getpid()}" in proc.stdout
        assert lock.path.exists()
    assert not lock.path.exists()


# ------------------------------------------------------------------------------ resume
def test_resume_redoes_runs_whose_daily_part_is_missing_or_broken(tmp_path, capsys, made):
    exp = made["exp"]
    out = _copy(made, "sweep", tmp_path / "out")  # made by the sweep command below
    parts = sorted((out / "daily").glob("*.parquet"))
    good = pd.read_parquet(parts[0])
    parts[0].unlink()
    parts[1].write_bytes(b"garbage")
    capsys.readouterr()
    assert main(["sweep", str(exp), "--out", str(out), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "2 finished run(s) had a missing or unreadable daily part" in captured.err
    assert "ran 2 (0 failed), skipped 2 already done" in captured.out
    pd.testing.assert_frame_equal(pd.read_parquet(parts[0]), good)
    assert len(pd.read_parquet(parts[1])) == len(good)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 4 and (runs["status"] == "ok").all()


def test_resume_redoes_runs_whose_record_lacks_fields(tmp_path, capsys, made):
    exp = made["exp"]
    out = _copy(made, "sweep", tmp_path / "out")  # made by the sweep command below
    records = sorted((out / "records").glob("*.json"))
    records[0].write_text(json.dumps({"run_id": records[0].stem}))  # no status
    records[1].write_text("[1, 2]")
    capsys.readouterr()
    assert main(["sweep", str(exp), "--out", str(out), "--workers", "1"]) == 0
    assert "ran 2 (0 failed), skipped 2 already done" in capsys.readouterr().out
    assert json.loads(records[0].read_text())["status"] == "ok"


def test_calibrate_refuses_a_foreign_folder_and_another_kind(tmp_path, capsys, made):
    cal = REPO / "calibration" / "el-salvador-2013.toml"
    users = tmp_path / "mine"
    _users_folder(users)
    assert main(["calibrate", str(cal), "--workers", "1", "--out", str(users)]) == 2
    err = capsys.readouterr().err
    assert "is not a folder trucesim made" in err and "Errno" not in err
    run_out = _copy(made, "run", tmp_path / "run")  # made by `run tiny.toml -n 1`
    capsys.readouterr()
    assert main(["calibrate", str(cal), "--workers", "1", "--out", str(run_out)]) == 2
    assert "holds a 'trucesim run' result, not a 'calibration' result" in capsys.readouterr().err


def test_a_manifest_without_kind_is_named_not_none(tmp_path, capsys):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")
    assert main(["plot", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "no 'kind'" in err and "None" not in err


def _unmarked_run(tmp_path, capsys, made):
    """A run folder without trucesim's marker (as trucesim wrote them before markers)."""
    out = _copy(made, "run", tmp_path / "old")  # made by `run tiny.toml -n 1`
    (out / MARKER).unlink()
    capsys.readouterr()
    return out


def test_a_run_folder_without_a_marker_is_refused_and_kept(tmp_path, capsys, made):
    """Only the marker proves a folder is trucesim's: a run's files and manifest without
    it are refused, with --force too, and nothing in the folder changes."""
    out = _unmarked_run(tmp_path, capsys, made)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for extra in ([], ["--force"]):
        assert main(["run", str(made["scenario"]), "-n", "1", "--out", str(out), *extra]) == 2
        assert "is not a folder trucesim made" in capsys.readouterr().err
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_every_manifest_starts_with_the_shared_header(tmp_path):
    from trucesim import __version__
    from trucesim.folders import manifest, write_manifest

    m = manifest("run", replicates=3, root_seed=5)
    assert list(m)[:4] == ["kind", "trucesim_version", "compiler", "created"]
    assert (m["kind"], m["trucesim_version"], m["replicates"]) == ("run", __version__, 3)
    assert list(m)[4:] == ["replicates", "root_seed"]
    path = write_manifest(tmp_path, "sweep", runs=2)
    written = json.loads(path.read_text())
    assert path.name == "manifest.json" and written["kind"] == "sweep" and written["runs"] == 2
