"""Experiment files: validation of bad input, designs and bundled experiments."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from trucesim.cli.main import main
from trucesim.runner.experiment import load_experiment
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.load import bundled_scenarios

from .sweep_support import GRID_EXPERIMENT, write_tiny


def grid_text(**replace: str) -> str:
    text = GRID_EXPERIMENT.format(replicates=2, cohesion="[0.2, 0.8]")
    for old, new in replace.items():
        text = text.replace(old.replace("_", " ") if old.startswith("_") else old, new)
    return text


def errors_of(tmp_path, text: str) -> str:
    path = write_tiny(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    return str(info.value)


def test_grid_design_is_the_product_of_the_axes(tmp_path):
    exp = load_experiment(write_tiny(tmp_path, replicates=3))
    assert [p.values for p in exp.points] == [
        {"cohesion": c, "phases.1.overrides.isolation": i} for c in (0.2, 0.8) for i in (0.0, 0.8)
    ]
    assert exp.runs == 4 * 3
    # A multi-path parameter sets every path to the same value.
    assert exp.points[1].overrides["gangs.B18S.cohesion"] == 0.2
    s = exp.points[3].scenario(exp.base)
    assert s.gangs["MS13"].cohesion == 0.8 and s.phases[1].overrides.isolation == 0.8


def test_unknown_dotted_path_is_refused(tmp_path):
    msg = errors_of(tmp_path, grid_text(**{"gangs.B18S.cohesion": "gangs.B18X.cohesion"}))
    assert "exp.toml: parameters.cohesion:" in msg and "names no scenario parameter" in msg


def test_range_with_low_not_below_high_is_refused(tmp_path):
    msg = errors_of(tmp_path, grid_text(**{"range = [0.0, 0.8]": "range = [0.8, 0.8]"}))
    assert "parameters.phases.1.overrides.isolation" in msg and "must be below high" in msg


@pytest.mark.parametrize("method", ["lhs", "sobol", "morris"])
def test_sampled_design_needs_ranges_not_values(tmp_path, method):
    text = grid_text(**{'method = "grid"': f'method = "{method}"\nsamples = 8'})
    msg = errors_of(tmp_path, text.replace("steps = 2\n", ""))
    assert f"parameters.cohesion.values: design '{method}' needs a range" in msg


def test_zero_replicates_is_refused(tmp_path):
    msg = errors_of(tmp_path, grid_text(**{"replicates = 2": "replicates = 0"}))
    assert "exp.toml: replicates:" in msg and "greater than or equal to 1" in msg


def test_unknown_key_and_unknown_design_are_refused(tmp_path):
    assert "exp.toml: outcomes.sumary: unknown key" in errors_of(
        tmp_path, grid_text(**{"summary =": "sumary ="}))
    assert "design.method" in errors_of(tmp_path, grid_text(**{'"grid"': '"factorial"'}))


def test_value_the_scenario_refuses_is_reported_before_running(tmp_path):
    msg = errors_of(tmp_path, grid_text(**{"[0.2, 0.8]": "[0.2, 1.5]"}))
    assert "exp.toml: parameters: gangs.MS13.cohesion:" in msg and "point 2" in msg


def test_missing_base_scenario_and_unknown_variant(tmp_path):
    assert "exp.toml: scenario: no scenario file" in errors_of(
        tmp_path, grid_text(**{'"tiny.toml"': '"nope.toml"'}))
    text = grid_text(**{'seed = 7': 'seed = 7\nvariant = "calm"'})
    assert "exp.toml: variant: unknown scenario variant 'calm'; valid: hard, truce" in errors_of(
        tmp_path, text)


def test_unknown_outcome_names_are_refused(tmp_path):
    msg = errors_of(tmp_path, grid_text(**{'"mean_homicides"': '"mean_homicide"'}))
    assert "outcomes.summary.1: 'mean_homicide' matches no summary outcome" in msg
    msg = errors_of(tmp_path, grid_text(**{'"deaths_true"]': '"deaths"]'}))
    assert "outcomes.daily.1: unknown daily column 'deaths'" in msg


def test_grid_over_a_range_needs_steps(tmp_path):
    msg = errors_of(tmp_path, grid_text(**{"steps = 2\n": ""}))
    assert "parameters.phases.1.overrides.isolation.steps: design 'grid' over a range" in msg


def test_cli_bad_experiment_exits_2_without_traceback(tmp_path, capsys):
    path = write_tiny(tmp_path, grid_text(**{"replicates = 2": "replicates = 0"}))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and "replicates" in err
    assert not out.exists()


def test_unreachable_scheduler_is_refused_and_writes_nothing(tmp_path, capsys):
    """(How fast: benchmarks/sweep_throughput.py --unreachable.)"""
    path = write_tiny(tmp_path)
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9",
                 "--out", str(out)])
    assert code == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
    assert not out.exists()


def test_missing_dask_gives_install_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    path = write_tiny(tmp_path)
    assert main(["sweep", str(path), "--backend", "dask", "--out", str(tmp_path / "o")]) == 2
    assert "pip install 'trucesim[dask]'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_lhs_is_stratified_and_integers_are_rounded(tmp_path):
    text = grid_text(**{'method = "grid"': 'method = "lhs"\nsamples = 10'}).replace(
        "steps = 2\n", "")
    text = text.replace('values = [0.2, 0.8]', 'range = [0.1, 0.9]')
    text += '\n[parameters."world.cliques"]\nrange = [30, 60]\n'
    exp = load_experiment(write_tiny(tmp_path, text))
    x = np.array([p.values["cohesion"] for p in exp.points])
    # One sample in each of the 10 equal strata of [0.1, 0.9].
    assert sorted(np.floor((x - 0.1) / 0.08).astype(int)) == list(range(10))
    assert all(isinstance(p.values["world.cliques"], int) for p in exp.points)


def test_sobol_and_morris_point_counts(tmp_path):
    text = grid_text(**{'method = "grid"': 'method = "sobol"\nsamples = 8'}).replace(
        "steps = 2\n", "").replace('values = [0.2, 0.8]', 'range = [0.1, 0.9]')
    exp = load_experiment(write_tiny(tmp_path, text))
    assert len(exp.points) == 8 * (2 + 2)
    morris = text.replace('"sobol"\nsamples = 8', '"morris"\nsamples = 3')
    exp = load_experiment(write_tiny(tmp_path, morris, name="m.toml"))
    assert len(exp.points) == 3 * (2 + 1)


def test_variants_design_points_and_unquoted_dotted_keys(tmp_path):
    text = """
    name = "branches"
    scenario = "tiny.toml"
    replicates = 2
    seed = 1
    [design]
    method = "variants"
    [variants.hard]
    variant = "hard"
    [variants.small_truce]
    variant = "truce"
    overrides.world.cliques = 40
    [fixed]
    world.burn_in_days = 10
    """
    exp = load_experiment(write_tiny(tmp_path, text))
    assert [(p.label, p.variant, p.overrides) for p in exp.points] == [
        ("hard", "hard", {}), ("small_truce", "truce", {"world.cliques": 40})]
    assert exp.base.world.burn_in_days == 10


@pytest.mark.parametrize("name", ["letter-2016-branches", "leader-control", "sobol-truce-effect"])
def test_bundled_experiments_load_by_name(name):
    assert name in bundled_scenarios("experiments")
    exp = load_experiment(name)
    assert exp.runs >= 300
    if name == "letter-2016-branches":
        assert [p.variant for p in exp.points] == ["hardline", "truce", "dialogue"]
        assert exp.replicates == 100
    if name == "sobol-truce-effect":
        assert exp.design.method == "sobol" and exp.outcomes.summary[0] == "truce_rate_ratio"


def test_bundled_base_scenario_wins_over_a_same_named_file_in_the_cwd(tmp_path, monkeypatch):
    (tmp_path / "honduras-like-2013").write_text("this is not [valid toml")
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "exp.toml").write_text(
        'name = "cwd"\nscenario = "honduras-like-2013"\nreplicates = 1\nseed = 1\n'
        '[design]\nmethod = "grid"\n[parameters.cliques]\npath = "world.cliques"\n'
        "values = [40]\n")
    monkeypatch.chdir(tmp_path)
    exp = load_experiment("experiments/exp.toml")
    assert exp.base.name == "honduras-like-2013"
    assert exp.base.source == str(bundled_scenarios()["honduras-like-2013"])


def test_parameter_named_like_a_runs_column_is_refused(tmp_path):
    text = grid_text(**{"[parameters.cohesion]": "[parameters.seed]"})
    assert "exp.toml: parameters.seed: 'seed' is a column of runs.parquet" in errors_of(
        tmp_path, text)
