"""trucesim as an EMA Workbench model (trucesim.ema) and `trucesim discover` (PRIM).

- the adapter's experiments equal the sweep runner's runs with the same values and seeds;
- a categorical lever passed as an index (EMA issue #453) runs the same branch;
- PRIM finds a box planted in a synthetic outcome;
- every bad argument is refused in one line, exit 2, nothing written;
- `trucesim discover` end to end on a tiny scenario, and asking another question of the
  same runs reuses them;
- importing trucesim and running the CLI's other commands never imports ema_workbench.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trucesim.cli.main import main
from trucesim.discovery import find_box, window_totals
from trucesim.scenario.load import load_scenario

from .sweep_support import write_tiny

OUTCOME = "saved = hard.homicides - truce.homicides"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    write_tiny(tmp_path)
    return tmp_path / "tiny.toml"


def test_adapter_experiments_equal_the_sweep_runners_runs(tiny, tmp_path):
    from ema_workbench import SequentialEvaluator

    from trucesim.ema import ema_model
    from trucesim.runner import run_experiment
    from trucesim.runner.experiment import Experiment

    scenario = load_scenario(tiny)
    model = ema_model(scenario, uncertainties=["gangs.*.cohesion=0.3:0.9"],
                      branches=["hard", "truce"], outcomes=["homicides"], replications=2,
                      seed=7, series=True)
    assert [p.name for p in model.levers] == ["branch"]  # never "policy" (EMA reserves it)
    with SequentialEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=2, policies=2)
    assert outcomes["homicides_replicates"].shape == (4, 2)
    window = model.function.window
    assert str(window[0]) == "2012-03-01" and str(window[1]) == "2012-04-30"
    assert outcomes["homicides_daily"].shape == (4, 2, 61)
    for i, row in experiments.iterrows():
        exp = Experiment.of_scenario({
            "name": f"check-{i}", "scenario": "tiny", "variant": row["branch"],
            "replicates": 2, "seed": 7, "design": {"method": "grid"},
            "parameters": {"c": {"paths": [f"gangs.{g}.cohesion" for g in
                                           scenario.gang_names],
                                 "values": [float(row["gangs_all_cohesion"])]}},
            "outcomes": {"summary": [], "daily": ["homicides"]},
        }, scenario)
        with ThreadPoolExecutor(1) as pool:
            res = run_experiment(exp, pool, out=tmp_path / f"sweep-{i}", progress=False)
        daily = res.daily(columns=["date", "homicides"])
        totals = window_totals(daily, ["homicides"], window)
        for r in range(2):
            run = res.runs.loc[res.runs["replicate"] == r, "run_id"].item()
            assert outcomes["homicides_replicates"][i, r] == totals.loc[run, "homicides"]
            series = daily.loc[(daily["run_id"] == run)
                               & (pd.to_datetime(daily["date"]) >= pd.Timestamp(window[0])),
                               "homicides"].to_numpy(float)
            np.testing.assert_array_equal(outcomes["homicides_daily"][i, r], series)
        assert outcomes["homicides"][i] == pytest.approx(outcomes["homicides_replicates"][i]
                                                         .mean())
    # the branches differ (each run above matched its branch's own sweep, same seeds)
    assert not np.array_equal(outcomes["homicides_daily"][0], outcomes["homicides_daily"][2])


def test_categorical_lever_as_an_index_runs_the_same_branch(tiny):
    from trucesim.ema import ema_model

    model = ema_model(tiny, uncertainties={"command.compliance": (1.0, 3.0)},
                      branches=["hard", "truce"], replications=1, seed=3)
    fn = model.function
    by_name = fn(replicate=0, branch="truce", command_compliance=2.0)
    by_index = fn(replicate=0, branch=np.int64(1), command_compliance=2.0)
    other = fn(replicate=0, branch=0, command_compliance=2.0)
    assert by_name == by_index
    assert other != by_name
    with pytest.raises(ValueError, match="unknown branch"):
        fn(replicate=0, branch=5, command_compliance=2.0)


def test_adapter_takes_ranges_from_a_posterior_and_refuses_bad_names(tmp_path):
    from trucesim.ema import ema_model
    from trucesim.scenario.errors import ConfigError

    model = ema_model("el-salvador-2016-letter", posterior=True, replications=1)
    names = [u.name for u in model.uncertainties]
    assert "command_compliance" in names and len(names) >= 10
    assert all(n.isidentifier() for n in names)  # EMA 3.0 wants identifiers
    assert model.function.names["command_compliance"] == ("command.compliance",)
    u = next(u for u in model.uncertainties if u.name == "command_compliance")
    from trucesim.scenario.load import posterior_of

    post = posterior_of(load_scenario("el-salvador-2016-letter"))
    col = post.values[:, post.names.index("command.compliance")]
    assert (u.lower_bound, u.upper_bound) == (col.min(), col.max())
    with pytest.raises(ConfigError, match="outside the parameter table's bounds"):
        ema_model("el-salvador-2016-letter", uncertainties=["command.compliance=0:11"])
    with pytest.raises(ConfigError, match="names no parameter"):
        ema_model("el-salvador-2016-letter", uncertainties=["command.nothing"])
    with pytest.raises(ConfigError, match="is already set by 'gangs.\\*.cohesion'"):
        ema_model("el-salvador-2016-letter", uncertainties=["gangs.*.cohesion=0.3:0.9"],
                  levers=["gangs.MS13.cohesion=0.4:0.8"])


def test_prim_finds_a_planted_box():
    rng = np.random.default_rng(20)
    x = pd.DataFrame(rng.random((600, 4)), columns=["a", "b", "c", "d"])
    x["b"] = 10 * x["b"]
    y = ((x["a"] < 0.3) & (x["b"] > 6.0)).to_numpy().copy()
    y ^= rng.random(600) < 0.02  # a little noise
    box = find_box(x, y, min_coverage=0.7)
    assert set(box.restricted) == {"a", "b"}
    assert box.limits.loc["a", "high"] == pytest.approx(0.3, abs=0.04)
    assert box.limits.loc["b", "low"] == pytest.approx(6.0, abs=0.4)
    assert box.coverage >= 0.7 and box.density >= 0.85
    assert box.density > y.mean() * 3
    with pytest.raises(ValueError, match="no point"):
        find_box(x, np.zeros(600, bool))
    # every case kept: no peel qualifies, the whole space is no box
    with pytest.raises(ValueError, match="no restriction"):
        find_box(x, rng.random(600) < 0.5, min_coverage=1.0)


BAD = [
    (["--uncertain", "command.nothing"], OUTCOME, "saved < 10",
     "--uncertain: command.nothing: 'command.nothing' names no parameter"),
    (["--uncertain", "command.compliance=0:20"], OUTCOME, "saved < 10",
     "--uncertain: command.compliance=0:20: range 0:20 is outside the parameter table's "
     "bounds (0 <= x <= 10)"),
    (["--uncertain", "gangs.*.cohesion=-0.1:0.5"], OUTCOME, "saved < 10",
     "outside the parameter table's bounds (0 <= x <= 1)"),
    (["--uncertain", "command.compliance=3:1"], OUTCOME, "saved < 10",
     "LOW must be below HIGH"),
    (["--uncertain", "mechanisms.civilian_split"], OUTCOME, "saved < 10", "is a switch"),
    (["--uncertain", "command.compliance"], OUTCOME, "lost < 10",
     "--condition: lost < 10: unknown outcome 'lost'; the --outcome names are: saved"),
    (["--uncertain", "command.compliance"], OUTCOME, "saved about 10",
     "--condition: saved about 10: expected OUTCOME OP NUMBER"),
    (["--uncertain", "command.compliance"], "saved = hard.homicides - nope.homicides",
     "saved < 10", "unknown branch 'nope'"),
    (["--uncertain", "command.compliance"], "saved = hard.homicidez - truce.homicides",
     "saved < 10", "unknown daily column 'homicidez'"),
    ([], OUTCOME, "saved < 10", "--uncertain: give at least one uncertain parameter"),
    (["--uncertain", "command.compliance", "--window", "2011-01-01:2012-02-01"], OUTCOME,
     "saved < 10", "--window"),
    (["--uncertain", "command.compliance", "--samples", "1"], OUTCOME, "saved < 10",
     "--samples: must be at least 2"),
    (["--uncertain", "command.compliance", "--scheduler", "tcp://127.0.0.1:9"], OUTCOME,
     "saved < 10", "--scheduler: a scheduler address needs --backend dask"),
    (["--uncertain", "command.compliance", "--min-coverage", "0"], OUTCOME, "saved < 10",
     "--min-coverage"),
]


@pytest.mark.parametrize(("extra", "outcome", "condition", "message"), BAD)
def test_bad_arguments_are_refused_in_one_line(tiny, tmp_path, capsys, extra, outcome,
                                               condition, message):
    out = tmp_path / "out"
    status = main(["discover", str(tiny), "--outcome", outcome, "--condition", condition,
                   "--out", str(out), *extra])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ") and message in err
    assert not out.exists()


def test_discover_end_to_end_and_another_question_reuses_the_runs(tiny, tmp_path, capsys):
    out = tmp_path / "disc"
    args = ["discover", str(tiny), "--outcome", OUTCOME,
            "--uncertain", "gangs.*.cohesion=0.1:1", "--uncertain", "command.compliance",
            "--samples", "48", "--replicates", "1", "--seed", "5", "--workers", "1",
            "--out", str(out)]
    points = None
    for threshold in ("1e9", "-1e9"):  # every point a case, then none: both "no box"
        assert main([*args, "--condition", f"saved < {threshold}"]) == 0
        assert "no box" in capsys.readouterr().out
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 48
    saved = runs["saved"].to_numpy()
    median = float(np.median(saved))
    assert main([*args, "--condition", f"saved < {median}"]) == 0
    printed = capsys.readouterr()
    assert "ran 0 (0 failed), skipped 48 already done" in printed.err  # runs reused
    assert "PRIM box" in printed.out
    points = pd.read_csv(out / "points.csv")
    assert list(points["case"]) == list(points["saved"] < median)
    # saved is the paired difference of the two branches' window totals
    np.testing.assert_array_equal(runs["saved"], runs["hard.homicides"]
                                  - runs["truce.homicides"])
    summary = json.loads((out / "discovery.json").read_text())
    assert summary["cases"] == int(points["case"].sum())
    assert summary["box"]["coverage"] >= 0.5
    traj = pd.read_csv(out / "trajectory.csv")
    assert {"coverage", "density", "res_dim"} <= set(traj.columns)
    for name in ("tradeoff.png", "box.png", "box.csv"):
        assert (out / name).stat().st_size > 0
    assert (out / "pairs.png").exists() == (len(summary["box"]["restricted"]) >= 2)
    # other runs (another seed) are refused without --force, with nothing touched
    before = sorted(p.name for p in out.iterdir())
    assert main([*args[:-2], "--seed", "6", "--out", str(out),
                 "--condition", "saved < 0"]) == 2
    assert "use --force" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == before


def test_nothing_imports_ema_workbench_unless_asked(tmp_path):
    exp = write_tiny(tmp_path, replicates=1, cohesion="[0.5]")
    script = textwrap.dedent(f"""
        import sys
        import trucesim, trucesim.api, trucesim.discovery, trucesim.cli.discover
        from trucesim.cli.main import main
        for argv, expected in (
                (["params"], 0), (["scenarios"], 0), (["regimes"], 0),
                (["check", {str(exp.parent / 'tiny.toml')!r}], 0),
                (["run", {str(exp.parent / 'tiny.toml')!r}, "-n", "1", "--out",
                  {str(tmp_path / 'run')!r}], 0),
                (["sweep", {str(exp)!r}, "--workers", "1", "--out",
                  {str(tmp_path / 'sweep')!r}], 0),
                # a bad question: refused before any run or PRIM
                (["discover", {str(exp.parent / 'tiny.toml')!r}, "--outcome",
                  "x = hard.homicides", "--condition", "y < 1", "--uncertain",
                  "command.compliance"], 2)):
            status = main(argv)
            assert status == expected, (argv, status)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "ema_workbench")
        print("EMA", loaded)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "EMA []" in done.stdout, done.stdout[-2000:]


def test_the_default_window_starts_where_a_branch_first_departs(tiny):
    """A branch departs at its first phase, or earlier at an extra event, or on the first
    day when it overrides a value."""
    import datetime as dt

    from trucesim.discovery import parse_window
    from trucesim.scenario.schema import Event, Variant

    sc = load_scenario(tiny)
    assert parse_window(None, sc, ["hard", "truce"]) == (dt.date(2012, 3, 1), sc.end)
    hard = sc.variants["hard"]
    early = hard.model_copy(update={"events": [Event(date=dt.date(2012, 2, 10),
                                                     kind="marker")]})
    sc_event = sc.model_copy(update={"variants": {**sc.variants, "hard": early}})
    assert parse_window(None, sc_event, ["hard"]) == (dt.date(2012, 2, 10), sc.end)
    tuned = Variant(overrides={"command.compliance": 2.0})
    sc_over = sc.model_copy(update={"variants": {**sc.variants, "tuned": tuned}})
    assert parse_window(None, sc_over, ["hard", "tuned"]) == (sc.start, sc.end)
