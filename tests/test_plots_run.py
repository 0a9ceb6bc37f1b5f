"""Plots of a small real `trucesim run` folder: every run kind, checked by its content."""

from __future__ import annotations

import io
import json

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch

from trucesim.calibration.observed import observed_frame
from trucesim.cli.main import main
from trucesim.outcomes import rolling_rate
from trucesim.plots import (
    annual_chart,
    compare_chart,
    composition_chart,
    control_chart,
    fan_chart,
    load_results,
)
from trucesim.plots.style import overlapping_texts

from .plots_support import (  # noqa: F401 - _close_figures is an autouse fixture
    REPLICATES,
    _close_figures,
    by_gid,
    caption,
    make_run_folder,
)

VARIANTS = ["base", "hardline", "truce", "dialogue"]  # the base timeline always runs
SPLIT = pd.Timestamp("2016-07-15")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return load_results(make_run_folder(tmp_path_factory.mktemp("plots") / "letter"))


def to_dates(values) -> pd.DatetimeIndex:
    """x data of a date axis as timestamps, whether stored as dates or as float days."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.number):
        return pd.DatetimeIndex(mdates.num2date(values)).tz_localize(None)
    return pd.DatetimeIndex(values)


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def phase_names(daily, variant):
    one = daily[(daily["variant"] == variant) & (daily["replicate"] == 0)]
    return list(dict.fromkeys(one["phase"].astype(str)))


def test_fan_panels_bands_phases_events_observed(run):
    fig = fan_chart(run.daily, "homicides", scenario=run.scenario)
    axes = fig.axes
    assert len(axes) == len(VARIANTS)
    events = run.scenario.events
    for ax, v in zip(axes, VARIANTS, strict=True):
        assert "per day" in ax.get_ylabel() and "30-day" in ax.get_ylabel()
        assert len(by_gid(ax, "median")) == 1
        assert len(by_gid(ax, "band-50", PolyCollection)) == 1
        assert len(by_gid(ax, "band-90", PolyCollection)) == 1
        phases = phase_names(run.daily, v)
        assert len(by_gid(ax, "phase-span")) == len(phases)
        assert [t.get_text().strip() for t in by_gid(ax, "phase-label")] == phases
        assert len(by_gid(ax, "event-line")) == len(events)
        # observed: annual means of 2015 and 2016 (the run ends 2016-12-31)
        annual = by_gid(ax, "observed-annual")
        assert len(annual) == 2
        levels = sorted(float(seg[0][1]) for a in annual for seg in a.get_segments())
        obs = observed_frame()
        expect = obs[(obs["quantity"] == "homicides") & obs["start"].dt.year.isin([2015, 2016])
                     & (obs["days"] >= 365)]["per_day"]
        assert levels == pytest.approx(sorted(expect))
        # the median line is the median over replicates of the 30-day trailing mean
        line = by_gid(ax, "median")[0]
        d = run.daily[run.daily["variant"] == v]
        rates = np.vstack([rolling_rate(g["homicides"], 30) for _, g in d.groupby("replicate")])
        np.testing.assert_allclose(line.get_ydata()[29:], np.median(rates, axis=0)[29:])
    assert axes[-1].get_xlabel() == "date"
    # The 2016 monthly counts (rows marked "nowcast window only": displayed, never fitted)
    # are drawn as month means beside the annual means.
    assert sorted(legend_texts(axes[0])) == sorted([
        "simulated: median", "simulated: 50% band", "simulated: 90% band",
        "observed annual mean", "observed, month or span mean"])
    assert run.scenario.name in fig.get_suptitle()
    cap = caption(fig)
    assert f"{REPLICATES} replicates per variant" in cap and "Leaders' letter" in cap
    assert "Observed" in cap
    assert overlapping_texts(fig) == []


def test_fan_of_a_level_metric_and_no_observed_for_other_places(run):
    fig = fan_chart(run.daily, "members", scenario=run.scenario, variants=["truce"],
                    observed=False)
    (ax,) = fig.axes
    assert "people" in ax.get_ylabel() and "trailing" not in ax.get_ylabel()
    assert by_gid(ax, "observed-annual") == [] and "Observed" not in caption(fig)


def test_fan_overlays_monthly_observed_points_where_the_dates_are_covered():
    # A synthetic 2011-2013 El Salvador table: the record has monthly and span rows there.
    dates = pd.date_range("2011-01-01", "2013-12-31")
    rng = np.random.default_rng(0)
    frames = [pd.DataFrame({"variant": "base", "replicate": r, "date": dates,
                            "phase": np.where(dates < "2012-03-08", "pre", "truce"),
                            "homicides": rng.poisson(10, len(dates))}) for r in range(3)]
    fig = fan_chart(pd.concat(frames), name="el-salvador-synthetic")
    (ax,) = fig.axes
    obs = observed_frame()
    full_year = (obs["start"].dt.day_of_year == 1) & (obs["days"] >= 365)
    sub = obs[(obs["metric"] == "homicides") & ~full_year & (obs["start"] >= "2011-01-01")
              & (obs["end"] <= "2013-12-31")]
    (points,) = by_gid(ax, "observed-periods", Line2D)
    ys = points.get_ydata()
    assert sorted(ys) == pytest.approx(sorted(sub["per_day"]))
    assert "observed, month or span mean" in legend_texts(ax)
    assert len(by_gid(ax, "observed-annual")) == 3  # 2011, 2012, 2013


def test_compare_pairs_replicates_and_reports_the_paired_total(run):
    fig = compare_chart(run.daily, "homicides", scenario=run.scenario)
    top, bottom = fig.axes
    assert top.get_ylabel().startswith("recorded homicides")  # the terminal's measure too
    # one fan for the identical stretch before the branch, then one per variant
    assert len(by_gid(top, "median")) == 5 and len(by_gid(bottom, "median")) == 3
    assert len(by_gid(top, "band-90")) == 5 and len(by_gid(bottom, "band-50")) == 3
    assert legend_texts(top)[0] == "all variants (identical before they diverge)"
    assert len(by_gid(top, "divergence")) == 1
    div = to_dates(by_gid(top, "divergence")[0].get_xdata())
    assert list(div) == [SPLIT, SPLIT]
    # phases are shaded up to the branch point only
    assert [t.get_text().strip() for t in by_gid(top, "phase-label")] == [
        "hardline", "extraordinary measures", "variants diverge"]
    assert [t for t in legend_texts(top) if "(" in t][1:] == [
        "base (extraordinary measures)", "hardline (hardline continues)",
        "truce (truce reinstated)", "dialogue (dialogue mechanism)"]
    assert legend_texts(bottom) == ["base − hardline", "truce − hardline",
                                    "dialogue − hardline"]
    assert "paired difference" in bottom.get_ylabel()
    d = run.daily[run.daily["date"] >= SPLIT]
    tot = d.groupby(["variant", "replicate"], observed=True)["homicides"].sum()
    diff = (tot["truce"] - tot["hardline"]).to_numpy()
    assert f"truce − hardline, 2016-07-15 to 2016-12-31: {np.median(diff):+,.0f}" in (
        caption(fig).replace("\n", " "))
    # before the branch the paired difference is exactly zero (same seeds, same timeline)
    line = by_gid(bottom, "median")[1]  # truce - hardline
    x = to_dates(line.get_xdata())
    y = line.get_ydata()
    assert np.all(y[(x < SPLIT) & np.isfinite(y)] == 0) and np.nanmin(y[x > SPLIT]) < 0
    assert overlapping_texts(fig) == []


def test_annual_boxes_beside_observed_totals(run):
    fig = annual_chart(run.daily, "homicides", scenario=run.scenario)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2015", "2016"]
    assert len([p for p in ax.patches if isinstance(p, PathPatch)]) == len(VARIANTS) * 2
    diamonds = by_gid(ax, "observed-annual")
    obs = observed_frame()
    expect = obs[(obs["quantity"] == "homicides") & (obs["days"] >= 365)
                 & obs["start"].dt.year.isin([2015, 2016])].sort_values("start")["value"]
    assert [float(d.get_ydata()[0]) for d in diamonds] == list(expect)
    assert ax.get_ylabel() == "recorded homicides\n(count per year)"  # not a variant's name
    assert fig.get_suptitle().endswith(": annual recorded homicides")
    assert legend_texts(ax) == [f"simulated: {v}" for v in VARIANTS] + ["observed total"]
    assert overlapping_texts(fig) == []


def test_composition_stacks_types_and_shows_hidden_deaths(run):
    fig = composition_chart(run.daily, scenario=run.scenario)
    assert len(fig.axes) == len(VARIANTS)
    for ax, v in zip(fig.axes, VARIANTS, strict=True):
        assert len(by_gid(ax, "stack", PolyCollection)) == 5  # the five types of killing
        (recorded,) = by_gid(ax, "recorded")
        d = run.daily[run.daily["variant"] == v]
        mean = np.mean([rolling_rate(g["homicides"], 30) for _, g in d.groupby("replicate")], 0)
        np.testing.assert_allclose(recorded.get_ydata()[29:], mean[29:])
        assert len(by_gid(ax, "hidden")) == 1
    assert legend_texts(fig.axes[0])[-2:] == ["hidden deaths (disappearances)",
                                              "recorded homicides"]
    assert overlapping_texts(fig) == []


def test_control_has_one_fan_per_gang(run):
    fig = control_chart(run.daily, scenario=run.scenario)
    gangs = run.scenario.gang_names
    for ax in fig.axes:
        assert len(by_gid(ax, "median")) == len(gangs)
        assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 1
        assert "following orders" in ax.get_ylabel()
    assert legend_texts(fig.axes[0]) == gangs
    assert overlapping_texts(fig) == []


@pytest.mark.slow
def test_cli_draws_every_run_kind(run, tmp_path):
    out = tmp_path / "figs"
    assert main(["plot", str(run.folder), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["annual-homicides.png", "compare-homicides.png", "composition.png",
                     "control.png", "fan-homicides.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in out.iterdir())


def test_cli_one_kind_in_svg_and_metric(run, tmp_path):
    out = tmp_path / "svg"
    assert main(["plot", str(run.folder), "--kind", "fan", "--metric", "deaths_true",
                 "--format", "svg", "--out", str(out)]) == 0
    (only,) = out.iterdir()
    assert only.name == "fan-deaths_true.svg" and "true deaths" in only.read_text()


def test_run_saves_the_fan_chart(run):
    png = run.folder / "trajectory.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((run.folder / "manifest.json").read_text())["kind"] == "run"
    with pytest.raises(ImportError):
        __import__("trucesim.trajectory")


@pytest.mark.parametrize("args, words", [
    (["--kind", "response"], ["needs sweep results", "fan, compare"]),
    (["--kind", "sensitivity"], ["needs sweep results"]),
    (["--kind", "bogus"], ["unknown kind 'bogus'", "fan, compare, annual, composition, control, "
                           "response, sensitivity"]),
    (["--metric", "bogus"], ["unknown metric 'bogus'", "homicides", "control_MS13"]),
    (["--kind", "annual", "--metric", "members"], ["annual totals need a count", "homicides"]),
])
def test_cli_bad_kind_or_metric_on_a_run(run, tmp_path, capsys, args, words):
    out = tmp_path / "never"
    assert main(["plot", str(run.folder), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    for w in words:
        assert w in err
    assert not out.exists()


def test_building_a_figure_lays_it_out_without_rasterizing_it(run, monkeypatch):
    # declutter needs the layout and the texts' extents, not pixels: savefig draws the
    # figure anyway, so a full canvas.draw() while building cost as much again as the save.
    from matplotlib.backends.backend_agg import RendererAgg

    drawn = []
    monkeypatch.setattr(RendererAgg, "draw_path", lambda self, *a, **k: drawn.append("path"))
    monkeypatch.setattr(RendererAgg, "draw_text", lambda self, *a, **k: drawn.append("text"))
    fig = fan_chart(run.daily, "homicides", scenario=run.scenario, variants=["truce"],
                    observed=False)
    numbers = [t for t in fig.axes[0].texts if t.get_gid() == "event-number"]
    assert len({t.get_position()[1] for t in numbers}) > 1  # numbers were staggered
    assert drawn == []
    fig.savefig(io.BytesIO(), format="png", dpi=20)
    assert "path" in drawn and "text" in drawn  # the patched renderer does draw when saving


@pytest.mark.parametrize("dpi", [80, 100, 110])
def test_compare_caption_fits_the_figure(run, dpi):
    fig = compare_chart(run.daily, "homicides", scenario=run.scenario)
    fig.set_dpi(dpi)
    fig.draw_without_rendering()
    caption = next(t for t in fig.texts if t.get_text() == fig.get_supxlabel())
    right = caption.get_window_extent().x1
    assert right <= 0.97 * fig.get_figwidth() * dpi
