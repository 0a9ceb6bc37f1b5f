"""Issue 24, numbers that mislead: intervals need particles, a collapse is said, a mean
outside its own band is explained, figures show the statistic the text prints in one
colour per series, outcomes carry units, and a gang without cliques controls NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trucesim.cli.main import main

from .conftest import REPO, simple_scenario


@pytest.mark.parametrize("argv", [["run", "--particles", "1"], ["nowcast", "--particles", "9"]])
def test_too_few_particles_for_an_interval_are_refused(tmp_path, capsys, argv):
    out = tmp_path / "o"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--particles" in err and "below 10" in err
    assert not out.exists()


def _table(weights_ess, means, p05, p95):
    return pd.DataFrame({"period": [f"p{i}" for i in range(len(means))],
                         "ess": weights_ess, "filtered_mean": means,
                         "filtered_p05": p05, "filtered_p95": p95})


def test_a_collapse_is_said_naming_the_period():
    from trucesim.calibration import diagnostics

    t = _table([80.0, 1.2, 60.0], [1, 2, 3], [0, 1, 2], [2, 3, 4])
    warning = diagnostics.collapse_warning(t, 100)
    assert warning.startswith("warning: the ensemble collapsed after 1 of 3 periods")
    assert "lowest 1.2 after p1" in warning
    assert diagnostics.collapse_warning(t.assign(ess=[80.0, 70.0, 60.0]), 100) is None


def test_a_mean_outside_its_band_says_why():
    from trucesim.calibration import diagnostics

    t = _table([1.1, 50.0], [10.5, 3.0], [10.0, 2.0], [10.0, 4.0])
    a = diagnostics.annotate_bands(t)
    assert a["mean_in_band"].tolist() == [False, True]
    assert "outside the 5-95% band" in a["note"][0] and "1.1 particles" in a["note"][0]
    assert a["note"][1] == ""


def test_the_nowcasts_filtered_csv_explains_every_mean_outside_its_band(tmp_path, capsys):
    """10 particles over the real record: every row either has its mean in its band, or
    says why; the report and the terminal say when the ensemble collapsed."""
    out = tmp_path / "n"
    assert main(["nowcast", "--particles", "10", "--seed", "5", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    t = pd.read_csv(out / "filtered.csv", keep_default_na=False)
    inside = (t["filtered_mean"] >= t["filtered_p05"]) & (t["filtered_mean"] <= t["filtered_p95"])
    assert (inside == t["mean_in_band"]).all()
    assert (t.loc[~inside, "note"].str.contains("outside the 5-95% band")).all()
    assert (t.loc[inside, "note"] == "").all()
    report = (out / "report.md").read_text()
    if (~inside).any():
        assert "outside its own 5-95% band" in report
    if (t["ess"] < max(0.5, min(10, 5))).any():
        assert "ensemble collapsed" in captured.err and "ensemble collapsed" in report


def test_outcomes_have_units():
    from trucesim.outcomes import outcome_unit

    assert outcome_unit("year.2015.homicides") == "homicides a day (mean over the year)"
    assert outcome_unit("phase.truce.gang_on_gang") == "gang on gang a day (mean over the phase)"
    assert outcome_unit("mean_homicides") == "recorded homicides a day (mean)"
    assert outcome_unit("total_deaths_true") == "deaths in all (count)"
    assert outcome_unit("phase.truce.change") == "relative change (fraction)"


def test_a_gang_a_split_leaves_without_cliques_controls_nan():
    from trucesim.api import simulate

    s = simple_scenario(events=[{"date": "2020-04-01", "kind": "split", "gang": "MS13",
                                 "faction": "MS503", "share": 1.0}])
    df = simulate(s, seed=3)
    after = df[df["date"] >= pd.Timestamp("2020-04-02")]
    before = df[df["date"] < pd.Timestamp("2020-04-01")]
    assert after["control_MS13"].isna().all()
    assert before["control_MS13"].notna().all()
    assert after["control_MS503"].notna().all()


class _Branches:
    def __init__(self):
        rng = np.random.default_rng(0)
        self.names = ["hardline", "truce", "dialogue"]
        self.labels = ["hardline continues", "truce reinstated", "dialogue"]
        self.start = pd.Timestamp("2016-07-15").date()
        self.dates = pd.date_range("2016-07-15", periods=60, freq="D")
        # skewed across particles: the mean and the median differ
        self.homicides = rng.poisson(rng.lognormal(2.5, 1.0, size=(3, 20, 1)),
                                     size=(3, 20, 60))
        self.deaths_true = self.homicides + 1


def test_branches_figure_draws_means_in_one_colour_per_series():
    import matplotlib

    matplotlib.use("Agg")
    from trucesim.plots.nowcast import BRANCH_STATISTIC, branches_chart

    b = _Branches()
    fig = branches_chart(b, [], pd.DataFrame(columns=["filtered_p05", "filtered_p95",
                                                      "filtered_mean", "prior_mean"]),
                         particles=20, posterior="p.toml")
    ax, ax2 = fig.axes
    lines = {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    for i, label in enumerate(b.labels):
        line = lines[f"{label} ({BRANCH_STATISTIC})"]
        want = pd.DataFrame(b.homicides[i].T).rolling(30, min_periods=1).mean().mean(axis=1)
        assert np.allclose(line.get_ydata(), want.to_numpy())
    assert "mean over particles" in ax.get_title()
    colours = [matplotlib.colors.to_hex(ln.get_color()) for ln in ax.get_lines()
               if not ln.get_label().startswith("_")]
    # the filtered ensemble's legend entry is drawn only with a filtered table; its colour
    from trucesim.plots.nowcast import BRANCH_COLOURS, FILTERED_COLOUR

    assert FILTERED_COLOUR not in BRANCH_COLOURS.values()
    assert len(colours) == len(set(colours))
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_makefile_installs_only_extras_that_exist():
    import re
    import tomllib

    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"])
    named = set()
    for group in re.findall(r"-e '\.\[([^\]]*)\]'", (REPO / "Makefile").read_text()):
        named |= {e.strip() for e in group.split(",")}
    assert named and named <= extras, named - extras


def test_validation_without_ablation_does_not_point_to_an_ablation_section():
    from trucesim.calibration.validation.markdown import assessment

    annual = pd.DataFrame({"year": [2014, 2015], "sample": ["out", "out"],
                           "observed": [3900.0, 6600.0], "simulated": [3800.0, 4000.0],
                           "error": [-0.03, -0.39], "inside_90": [True, False]})
    with_it = assessment(annual, [], ablation=True)
    without = assessment(annual, [], ablation=False)
    assert "The ablation section gives" in with_it
    assert "The ablation section" not in without and "ablation was not run" in without


def test_plot_draws_the_main_jobs_folder(tmp_path, capsys):
    out = tmp_path / "main"
    assert main(["run", "--particles", "10", "--seed", "3", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["plot", str(out)]) == 0
    assert (out / "plots" / "branches.png").is_file()
    assert "incomplete" not in capsys.readouterr().err
    assert main(["plot", str(out), "--kind", "annual"]) == 2
    assert "one figure" in capsys.readouterr().err
