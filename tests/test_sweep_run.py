"""Running sweeps: identical results on any backend, failures recorded, resume, analyze."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from trucesim.api import simulate
from trucesim.cli.main import main
from trucesim.outcomes import run_summary
from trucesim.runner import open_results, run_experiment, tasks
from trucesim.runner.experiment import load_experiment
from trucesim.runner.store import TIMING_COLUMNS
from trucesim.scenario.errors import ConfigError

from .sweep_support import write_tiny


def timing_free(folder) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").drop(columns=list(TIMING_COLUMNS))


def test_runs_are_stored_with_common_random_numbers(tmp_path):
    exp = load_experiment(write_tiny(tmp_path, replicates=2))
    with ThreadPoolExecutor(2) as pool:
        res = run_experiment(exp, pool, out=tmp_path / "out", progress=False)
    runs = res.runs
    assert list(runs["run_id"]) == [f"p{p:05d}-r{r:04d}" for p in range(4) for r in range(2)]
    assert (runs["status"] == "ok").all() and runs["error"].isna().all()
    # Every run equals a direct simulation with SeedSequence(seed).spawn(R)[r] at its point.
    children = np.random.SeedSequence(7).spawn(2)
    for point in (0, 3):
        for r in range(2):
            row = runs[(runs["point"] == point) & (runs["replicate"] == r)].iloc[0]
            daily = simulate(exp.points[point].scenario(exp.base), seed=children[r])
            assert row["truce_rate_ratio"] == pytest.approx(run_summary(daily)["truce_rate_ratio"])
            part = res.daily(run_ids=[row["run_id"]])
            assert part["homicides"].tolist() == daily["homicides"].tolist()
    assert set(res.daily(point=1).columns) >= {"run_id", "point", "replicate", "date", "homicides"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["status"] == "complete"
    assert manifest["experiment"]["base_scenario"]["name"] == "tiny"
    assert manifest["compiler"].startswith(("numba", "python"))


@pytest.mark.slow
def test_one_two_workers_and_dask_give_identical_runs(tmp_path):
    path = write_tiny(tmp_path, replicates=2)
    outs = {}
    for label, kwargs in {"one": {"workers": 1}, "two": {"workers": 2},
                          "dask": {"workers": 2, "backend": "dask"}}.items():
        outs[label] = tmp_path / label
        res = run_experiment(path, out=outs[label], progress=False, **kwargs)
        assert res.report.ok == 8
    one = timing_free(outs["one"])
    pd.testing.assert_frame_equal(one, timing_free(outs["two"]))
    pd.testing.assert_frame_equal(one, timing_free(outs["dask"]))
    for part in sorted((outs["one"] / "daily").glob("*.parquet")):
        pd.testing.assert_frame_equal(pd.read_parquet(part),
                                      pd.read_parquet(outs["dask"] / "daily" / part.name))


def test_a_local_pools_workers_start_with_the_days_kernels_loaded():
    """The pool's fork server loads the day's kernels before it forks a worker
    (runner/preload.py): a worker starts with their machine code instead of each
    loading it from numba's cache again for its first run."""
    from trucesim.runner.backends import open_backend

    compiled = "len(__import__('trucesim.core.day', fromlist=['day']).simulate_days.overloads)"
    with open_backend("process", 1) as backend:
        assert backend.executor.submit(eval, compiled).result() > 0


def test_failing_run_is_recorded_and_the_others_finish(tmp_path, monkeypatch):
    real = tasks.simulate_run

    def flaky(task):
        if task.run_id == "p00002-r0001":
            raise RuntimeError("injected failure")
        return real(task)

    monkeypatch.setattr(tasks, "simulate_run", flaky)
    path = write_tiny(tmp_path, replicates=2)
    with ThreadPoolExecutor(2) as pool:
        res = run_experiment(path, pool, out=tmp_path / "out", progress=False)
    runs = res.runs.set_index("run_id")
    assert res.report.failed == 1 and res.report.ok == 7
    bad = runs.loc["p00002-r0001"]
    assert bad["status"] == "failed" and "RuntimeError: injected failure" in bad["error"]
    assert "Traceback" in bad["error"] and np.isnan(bad["mean_homicides"])
    assert (runs.drop(index="p00002-r0001")["status"] == "ok").all()
    assert not (tmp_path / "out" / "daily" / "p00002-r0001.parquet").exists()

    # Re-running retries the failed run once (it fails again: attempts 2) ...
    with ThreadPoolExecutor(2) as pool:
        again = run_experiment(path, pool, out=tmp_path / "out", progress=False)
    assert (again.report.ran, again.report.skipped) == (1, 7)
    assert again.runs.set_index("run_id").loc["p00002-r0001", "attempts"] == 2
    # ... and not again after that; once the cause is gone it is still recorded as failed.
    monkeypatch.setattr(tasks, "simulate_run", real)
    with ThreadPoolExecutor(2) as pool:
        third = run_experiment(path, pool, out=tmp_path / "out", progress=False)
    assert (third.report.ran, third.report.skipped) == (0, 8)


def test_resume_skips_finished_runs_and_counts_them(tmp_path, monkeypatch):
    path = write_tiny(tmp_path, replicates=2)
    out = tmp_path / "out"
    with ThreadPoolExecutor(1) as pool:
        first = run_experiment(path, pool, out=out, progress=False)
    reference = timing_free(out)
    # Forget three runs, as if the sweep had been killed before recording them.
    for rid in ("p00000-r0001", "p00001-r0000", "p00003-r0001"):
        (out / "records" / f"{rid}.json").unlink()
    (out / "records" / ".p00003-r0001.json.abc.tmp").write_text("{half")
    calls = []
    real = tasks.simulate_run
    monkeypatch.setattr(tasks, "simulate_run", lambda t: calls.append(t.run_id) or real(t))
    with ThreadPoolExecutor(2) as pool:
        second = run_experiment(path, pool, out=out, progress=False)
    assert sorted(calls) == ["p00000-r0001", "p00001-r0000", "p00003-r0001"]
    assert (second.report.skipped, second.report.ran) == (5, 3)
    assert first.report.ran == 8
    pd.testing.assert_frame_equal(reference, timing_free(out))
    assert not list((out / "records").glob(".*.tmp"))
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert [s["ran"] for s in sessions] == [8, 3]


def test_folder_with_a_different_experiment_is_refused_unless_forced(tmp_path, capsys):
    out = tmp_path / "out"
    a = write_tiny(tmp_path / "a", replicates=1)
    b = write_tiny(tmp_path / "b", replicates=1, cohesion="[0.3, 0.7]")
    assert main(["sweep", str(a), "--out", str(out), "--workers", "1"]) == 0
    before = (out / "runs.parquet").read_bytes()
    assert main(["sweep", str(b), "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert ("holds a 'sweep' result made with different settings: "
            "parameters.cohesion.values.0 (was 0.2, now 0.3)") in err
    assert (out / "runs.parquet").read_bytes() == before
    assert main(["sweep", str(b), "--out", str(out), "--workers", "1", "--force"]) == 0
    assert sorted(pd.read_parquet(out / "runs.parquet")["cohesion"].unique()) == [0.3, 0.7]
    assert main(["sweep", str(b), "--out", str(tmp_path / "new"), "--resume"]) == 2
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not a folder trucesim made"):
        run_experiment(b, out=tmp_path / "user", force=True)
    assert (tmp_path / "user" / "notes.txt").read_text() == "mine"


def test_analyze_sobol_and_morris(tmp_path, capsys):
    text = """
    name = "tiny-sobol"
    scenario = "tiny.toml"
    replicates = 1
    seed = 3
    [design]
    method = "sobol"
    samples = 8
    [parameters."violence.restraint_efficacy"]
    range = [0.0, 1.0]
    [parameters."world.members"]
    range = [50.0, 150.0]
    [outcomes]
    summary = ["mean_homicides", "truce_rate_ratio"]
    """
    path = write_tiny(tmp_path, text)
    with ThreadPoolExecutor(2) as pool:
        run_experiment(path, pool, out=tmp_path / "s", progress=False)
    assert main(["analyze", str(tmp_path / "s"), "--method", "sobol",
                 "--outcome", "mean_homicides"]) == 0
    printed = capsys.readouterr().out
    assert "world.members" in printed and "ST [95% CI]" in printed and "S1 [95% CI]" in printed
    table = pd.read_csv(tmp_path / "s" / "sensitivity-sobol-mean_homicides.csv", index_col=0)
    # Clique size drives the homicide level far more than restraint in a 2-month truce.
    assert table.loc["world.members", "ST"] > table.loc["violence.restraint_efficacy", "ST"]
    assert main(["analyze", str(tmp_path / "s"), "--method", "morris",
                 "--outcome", "mean_homicides"]) == 2
    assert "needs a 'morris' design" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "s"), "--method", "sobol",
                 "--outcome", "nope"]) == 2

    morris = text.replace('"sobol"\n    samples = 8', '"morris"\n    samples = 4').replace(
        "tiny-sobol", "tiny-morris")
    path = write_tiny(tmp_path, morris, name="m.toml")
    with ThreadPoolExecutor(2) as pool:
        res = run_experiment(path, pool, out=tmp_path / "m", progress=False)
    assert len(res.runs) == 4 * 3
    assert main(["analyze", str(tmp_path / "m"), "--method", "morris",
                 "--outcome", "mean_homicides"]) == 0
    table = pd.read_parquet(tmp_path / "m" / "sensitivity-morris-mean_homicides.parquet")
    assert list(table["parameter"]) == ["violence.restraint_efficacy", "world.members"]
    assert (table["mu_star"] >= 0).all()


def test_results_handle_reopens_a_folder(tmp_path):
    path = write_tiny(tmp_path, replicates=1)
    with ThreadPoolExecutor(1) as pool:
        run_experiment(path, pool, out=tmp_path / "out", progress=False)
    res = open_results(tmp_path / "out")
    assert len(res.runs) == 4
    chunks = list(res.iter_daily(columns=["homicides"]))
    assert len(chunks) == 4 and list(chunks[0].columns) == ["run_id", "point", "replicate",
                                                            "homicides"]
    with pytest.raises(ConfigError, match="no manifest.json"):
        open_results(tmp_path)


def test_a_session_reads_the_records_once_and_records_its_start(tmp_path, monkeypatch):
    from trucesim.runner.store import SweepStore

    loads = []
    real = SweepStore.load_records
    monkeypatch.setattr(SweepStore, "load_records", lambda self: loads.append(1) or real(self))
    path = write_tiny(tmp_path, replicates=1)
    out = tmp_path / "out"
    with ThreadPoolExecutor(2) as pool:
        res = run_experiment(path, pool, out=out, progress=False)
    assert len(loads) == 1 and len(res.runs) == 4 and (res.runs["status"] == "ok").all()
    (session,) = json.loads((out / "manifest.json").read_text())["sessions"]
    assert session["started"] <= session["finished"]
    assert session["started"] >= json.loads((out / "manifest.json").read_text())["created"]


def test_corrupt_manifest_is_a_config_error_not_a_traceback(tmp_path, capsys):
    path = write_tiny(tmp_path, replicates=1)
    out = tmp_path / "out"
    with ThreadPoolExecutor(1) as pool:
        run_experiment(path, pool, out=out, progress=False)
    (out / "manifest.json").write_text('{"kind": "sweep", ')
    with pytest.raises(ConfigError, match="manifest.json: unreadable manifest"):
        open_results(out)
    capsys.readouterr()
    assert main(["analyze", str(out), "--method", "sobol",
                 "--outcome", "mean_homicides"]) == 2
    err = capsys.readouterr().err
    assert "unreadable manifest" in err and "Traceback" not in err


def test_resuming_with_changed_code_warns_and_force_starts_over(tmp_path, monkeypatch, capsys):
    from trucesim.runner import store

    path = write_tiny(tmp_path, replicates=1)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    monkeypatch.setattr(store, "code_fingerprint", lambda: "0123456789abcdef")
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "warning: " in captured.err and "made by different trucesim code" in captured.err
    assert "skipped 4 already done" in captured.out
    assert main(["sweep", str(path), "--out", str(out), "--resume", "--force"]) == 2
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--force"]) == 0
    assert "ran 4 (0 failed), skipped 0" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["code_fingerprint"] == "0123456789abcdef" and len(manifest["sessions"]) == 1


def test_workers_return_outputs_and_write_nothing(tmp_path, monkeypatch):
    """A run's kept daily columns travel back in its record (Arrow IPC bytes): the
    worker writes no file, whatever its working folder."""
    exp = load_experiment(write_tiny(tmp_path / "exp", replicates=1))
    worker_home = tmp_path / "worker"
    worker_home.mkdir()
    monkeypatch.chdir(worker_home)
    from trucesim.runner import store
    from trucesim.runner.sweep import plan

    todo, _ = plan(exp, {}, store.SweepStore(tmp_path / "never-made"))
    record = tasks.execute_run(todo[0])
    assert record["status"] == "ok", record["error"]
    part = store.decode_daily(record[store.DAILY]).to_pandas()
    daily = tasks.simulate_run(todo[0])
    expected = tasks.daily_part(daily, todo[0].run_id, todo[0].daily_columns)
    pd.testing.assert_frame_equal(part, expected)
    assert list(worker_home.iterdir()) == [] and not (tmp_path / "never-made").exists()
    manifest = json.loads((run_experiment(exp, ThreadPoolExecutor(1), out=tmp_path / "out",
                                          progress=False).folder / "manifest.json").read_text())
    assert manifest["storage"].startswith("client")


def test_workers_running_other_code_stop_the_sweep(tmp_path):
    class OtherCode(ThreadPoolExecutor):
        def submit(self, fn, task):
            return super().submit(lambda t: {**fn(t), "code": "0123456789abcdef"}, task)

    path = write_tiny(tmp_path, replicates=1)
    with OtherCode(1) as pool, pytest.raises(ConfigError, match="different trucesim code"):
        run_experiment(path, pool, out=tmp_path / "out", progress=False)
    assert not list((tmp_path / "out" / "records").iterdir())
    res = run_experiment(path, out=tmp_path / "out", workers=1, progress=False)
    assert res.report.ok == 4 and "code" not in json.loads(
        next((tmp_path / "out" / "records").iterdir()).read_text())


def test_client_holds_a_bounded_number_of_runs(tmp_path, monkeypatch):
    """At most four runs per slot are submitted and not yet written, however many runs
    there are: the client's memory does not grow with the sweep."""
    from trucesim.runner.store import SweepStore

    submitted, written, most = [0], [0], [0]

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, task):
            submitted[0] += 1
            most[0] = max(most[0], submitted[0] - written[0])
            return super().submit(fn, task)

    real_save = SweepStore.save_record

    def save(self, record):
        written[0] += 1
        real_save(self, record)

    monkeypatch.setattr(SweepStore, "save_record", save)
    path = write_tiny(tmp_path, replicates=6)  # 24 runs
    with Counting(2) as pool:
        res = run_experiment(path, pool, out=tmp_path / "out", workers=2, progress=False)
    assert res.report.ok == 24 and submitted[0] == 24
    assert 2 <= most[0] <= 4 * 2
