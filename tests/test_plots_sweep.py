"""Plots of small real sweeps (grid, sobol, morris, variants) and of a synthetic Sobol sweep."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, QuadMesh

from trucesim.cli.main import main
from trucesim.plots import (
    compare_chart,
    fan_chart,
    load_results,
    response_chart,
    sensitivity_chart,
    sensitivity_indices,
)
from trucesim.plots.style import overlapping_texts
from trucesim.runner import SweepResults
from trucesim.runner.sensitivity import sensitivity_table

from .plots_support import (  # noqa: F401 - _close_figures is an autouse fixture
    GRID1,
    GRID3,
    SAMPLED,
    VARIANTS,
    VARIANTS_DEATHS,
    _close_figures,
    by_gid,
    caption,
    make_sweep,
)


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweeps")
    return {
        "grid3": make_sweep(root / "grid3", GRID3),
        "grid1": make_sweep(root / "grid1", GRID1),
        "sobol": make_sweep(root / "sobol", SAMPLED.format(method="sobol", samples=4)),
        "morris": make_sweep(root / "morris", SAMPLED.format(method="morris", samples=4)),
        "variants": make_sweep(root / "variants", VARIANTS),
        "deaths": make_sweep(root / "deaths", VARIANTS_DEATHS),
    }


def test_response_heatmap_panels_hold_the_replicate_means(sweeps):
    res = load_results(sweeps["grid3"])
    assert res.varied == ["cohesion", "isolation", "contact"]
    fig = response_chart(res.runs, "mean_homicides", "cohesion", "isolation", "contact",
                         name=res.name)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["contact = 0.3", "contact = 0.8"]
    for ax, contact in zip(panels, [0.3, 0.8], strict=True):
        (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
        sub = res.runs[res.runs["contact"] == contact]
        want = sub.pivot_table(index="isolation", columns="cohesion", values="mean_homicides")
        np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(want.shape),
                                   want.to_numpy())
        assert len(by_gid(ax, "cell")) == want.size  # small grid: every cell annotated
    assert panels[0].get_ylabel() == "isolation"
    assert panels[0].get_xlabel() == "cohesion" and "per day" in fig.axes[-1].get_ylabel()
    assert "; 12 design points, 1 replicate each" in caption(fig)
    assert overlapping_texts(fig) == []


def test_response_of_a_sampled_design_draws_contours_through_the_points(sweeps):
    res = load_results(sweeps["sobol"])
    fig = response_chart(res.runs, "mean_homicides", "cohesion", "contact", name=res.name)
    ax = fig.axes[0]
    (points,) = by_gid(ax, "points", PathCollection)
    assert len(points.get_offsets()) == res.runs["point"].nunique()
    assert by_gid(ax, "contour") and "sampled design points" in caption(fig)


def test_cli_on_a_grid_sweep_draws_the_response_with_path_labels(sweeps, tmp_path):
    out = tmp_path / "g"
    assert main(["plot", str(sweeps["grid3"]), "--metric", "mean_homicides",
                 "--out", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["response-mean_homicides.png"]


@pytest.mark.parametrize("method, bars", [("sobol", ["S1", "ST"]),
                                          ("morris", ["mu_star", "sigma"])])
def test_sensitivity_bars_are_the_analyze_indices(sweeps, method, bars):
    res = load_results(sweeps[method])
    idx = sensitivity_indices(res.folder, "mean_homicides", method)
    table = sensitivity_table(SweepResults(res.folder), method, "mean_homicides")
    fig = sensitivity_chart(idx, "mean_homicides", name=res.name, points=12, replicates=1)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cohesion", "contact"]
    for col in bars:
        heights = [p.get_height() for p in by_gid(ax, f"bar-{col}")]
        np.testing.assert_allclose(heights, table[col].to_numpy())
    assert len(ax.get_legend().get_texts()) == 2
    assert overlapping_texts(fig) == []


def test_sensitivity_bars_rank_a_known_function(tmp_path):
    # y = 5 a + 0.5 b: a dominates, c does nothing. A synthetic sweep folder in the
    # documented layout, sampled with SALib like the sweep runner does.
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1]] * 3}
    x = sobol_sample.sample(problem, 64, calc_second_order=False, seed=1)
    y = 5 * x[:, 0] + 0.5 * x[:, 1]
    runs = pd.DataFrame({"run_id": [f"p{i:05d}-r0000" for i in range(len(x))],
                         "point": range(len(x)), "replicate": 0, "a": x[:, 0], "b": x[:, 1],
                         "c": x[:, 2], "seed": 1, "status": "ok", "error": None,
                         "attempts": 1, "elapsed_s": 0.0, "y": y})
    folder = tmp_path / "synthetic"
    folder.mkdir()
    runs.to_parquet(folder / "runs.parquet")
    (folder / "manifest.json").write_text(json.dumps({
        "kind": "sweep", "root_seed": 1, "replicates": 1,
        "experiment": {"name": "synthetic", "design": {"method": "sobol",
                                                       "second_order": False}},
        "design": {"method": "sobol", "parameters": ["a", "b", "c"], "problem": problem,
                   "points": [{"point": i, "a": r[0], "b": r[1], "c": r[2]}
                              for i, r in enumerate(x.tolist())]},
    }))
    out = tmp_path / "figs"
    assert main(["plot", str(folder), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["response-y.png", "sensitivity-y.png"]
    idx = sensitivity_indices(folder, "y", "sobol")
    ax = sensitivity_chart(idx, "y").axes[0]
    st = dict(zip(["a", "b", "c"], [p.get_height() for p in by_gid(ax, "bar-ST")], strict=True))
    assert st["a"] > 0.9 and st["c"] < 0.05 and st["a"] > st["b"] > st["c"]


def test_variants_sweep_with_daily_series_draws_fans_and_paired_comparison(sweeps, tmp_path):
    res = load_results(sweeps["variants"])
    daily = res.daily()
    assert set(daily["variant"]) == {"hard", "truce"} and set(daily["replicate"]) == {0, 1}
    fig = fan_chart(daily, scenario=res.scenario, name=res.name)
    assert len(fig.axes) == 2
    assert "Experiment tiny-variants (scenario tiny-plots)" in caption(fig)
    assert "Truce begins" in caption(fig)
    fig = compare_chart(daily, scenario=res.scenario, name=res.name)
    top, bottom = fig.axes
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == ["truce − hard"]
    assert len(by_gid(top, "median")) == 3  # shared stretch + two variants
    out = tmp_path / "v"
    assert main(["plot", str(res.folder), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "compare-homicides.png", "composition.png", "control.png", "fan-homicides.png"]


def test_sweep_without_recorded_homicides_plots_what_it_kept(sweeps, tmp_path, capsys):
    # outcomes.daily = ["deaths_true"]: no homicides column to draw or to count years with
    res = load_results(sweeps["deaths"])
    assert "homicides" not in res.daily() and "deaths_true" in res.daily()
    out = tmp_path / "d"
    assert main(["plot", str(res.folder), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["compare-deaths_true.png",
                                                     "fan-deaths_true.png"]
    never = tmp_path / "never"
    assert main(["plot", str(res.folder), "--metric", "homicides", "--out", str(never)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "unknown metric 'homicides'" in err and "deaths_true" in err
    assert not never.exists()


@pytest.mark.parametrize("name, args, words", [
    ("grid1", ["--kind", "response"], ["at least two varied parameters", "varies 1 (cohesion)"]),
    ("grid1", [], ["nothing to plot"]),
    ("grid3", ["--kind", "sensitivity"], ["needs a sobol or morris design", "response"]),
    ("grid3", ["--kind", "fan"], ["daily series of a variants design"]),
    ("grid3", ["--kind", "response", "--metric", "bogus"],
     ["unknown outcome 'bogus'", "mean_homicides"]),
    ("variants", ["--kind", "annual"], ["complete calendar year"]),
])
def test_cli_bad_input_on_sweeps_writes_nothing(sweeps, tmp_path, capsys, name, args, words):
    out = tmp_path / "never"
    assert main(["plot", str(sweeps[name]), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for w in words:
        assert w in err
    assert not out.exists()
