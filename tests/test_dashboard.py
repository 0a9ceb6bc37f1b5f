"""The dashboard's non-browser parts: start-up checks, the model hook, map and charts."""

from __future__ import annotations

import datetime as dt
import socket

import numpy as np
import pandas as pd
import pytest
from matplotlib.path import Path as MplPath

from trucesim.cli.main import main
from trucesim.core.metrics import ACTIVE_WINDOW
from trucesim.dashboard import server
from trucesim.dashboard.charts import ControlChart, HomicideChart
from trucesim.dashboard.controls import model_params
from trucesim.dashboard.model import BASE_TIMELINE, DashboardModel, last_simulated
from trucesim.dashboard.territory_map import (
    FRONT_ACTIVE,
    TerritoryMap,
    shade_colours,
    voronoi_cells,
)
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.regimes import PRESETS

from .conftest import phases, scenario_data, write_scenario

#: The small test scenario in the first half of 2015: hardline, then extraordinary
#: measures from March (a truce variant from April).
SMALL_DATA = scenario_data(
    name="small", start=dt.date(2015, 1, 1), end=dt.date(2015, 6, 30),
    world={"cliques": 60},
    phases=phases((dt.date(2015, 1, 1), "hardline"), (dt.date(2015, 3, 1), "extraordinary")),
    variants={"truce": {"phases": phases((dt.date(2015, 4, 1), "truce"))}},
)


@pytest.fixture
def small_file(tmp_path):
    return str(write_scenario(tmp_path / "small.toml", **SMALL_DATA))


def _steps(model, days):
    for _ in range(days):
        model.step()
    return model


# ---------------------------------------------------------------- start-up checks
def test_invalid_scenario_prints_the_same_error_as_check(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    write_scenario(bad, **{**SMALL_DATA, "world": {"clikes": 3}})
    assert main(["check", str(bad)]) == 2
    check_err = capsys.readouterr().err
    assert main(["dashboard", str(bad), "--port", "0"]) == 2
    dash = capsys.readouterr()
    assert dash.err == check_err
    assert "world.clikes" in dash.err and "Traceback" not in dash.err
    assert dash.out == ""  # nothing served


@pytest.fixture
def extra_installed(monkeypatch):
    """Port and host checks do not depend on whether the dashboard extra is installed."""
    monkeypatch.setattr(server, "missing_dependencies", lambda: [])


def test_port_in_use_is_a_clear_error(capsys, extra_installed):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert "Traceback" not in err


def test_bad_port_and_host(capsys, extra_installed):
    assert main(["dashboard", "--port", "70000"]) == 2
    assert "not a TCP port" in capsys.readouterr().err
    assert main(["dashboard", "--host", "no-such-host.invalid", "--port", "0",
                 "--allow-remote"]) == 2
    assert "--host: cannot resolve 'no-such-host.invalid'" in capsys.readouterr().err


def test_missing_extra_names_the_install_command(monkeypatch, capsys):
    real = server.importlib.util.find_spec
    monkeypatch.setattr(
        server.importlib.util, "find_spec", lambda name: None if name == "solara" else real(name)
    )
    assert main(["dashboard", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "solara" in err and "install-dashboard" in err  # from this checkout, not PyPI


def test_default_host_is_loopback_only():
    assert server.DEFAULT_HOST == "127.0.0.1"
    assert server.is_loopback("127.0.0.1") and server.is_loopback("::1")
    assert not server.is_loopback("0.0.0.0")
    sock = server.bind_socket(server.DEFAULT_HOST, 0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


# ---------------------------------------------------------------- model and controls
def test_model_starts_at_the_start_date_after_burn_in(small_file):
    m = DashboardModel(scenario_name=small_file)
    assert m.day == 0 and m.steps == 0 and last_simulated(m) is None
    _steps(m, 5)
    assert last_simulated(m) == dt.date(2015, 1, 5)
    assert len(m.to_frame()) == 5


def test_controls_change_the_scenario(small_file):
    m = DashboardModel(
        scenario_name=small_file, variant="truce", isolation_override=True, isolation=0.35,
        cohesion_scale=1.5, seed="11",
    )
    assert m.notices == []
    assert [r.isolation for r in m.timeline.regimes] == [0.35] * 3
    assert m.timeline.phase_names[-1] == "truce"
    base = DashboardModel(scenario_name=small_file)
    expected = np.minimum(base.gangs.cohesion * 1.5, 1.0)
    assert np.allclose(m.gangs.cohesion, expected)
    assert m.config.seed == 11


def test_unknown_variant_and_bad_seed_become_notices(small_file):
    m = DashboardModel(scenario_name=small_file, variant="dialogue", seed="abc")
    assert len(m.notices) == 2
    assert "no variant 'dialogue'" in m.notices[0]
    assert "seed 'abc'" in m.notices[1]
    assert m.config.seed == 7


def test_same_controls_same_run(small_file):
    a = _steps(DashboardModel(scenario_name=small_file, seed="3"), 20).to_frame()
    b = _steps(DashboardModel(scenario_name=small_file, seed="3"), 20).to_frame()
    c = _steps(DashboardModel(scenario_name=small_file, seed="4"), 20).to_frame()
    assert a.equals(b)
    assert not a["deaths_true"].equals(c["deaths_true"])


def test_switch_regime_from_today_keeps_the_past(small_file):
    m = _steps(DashboardModel(scenario_name=small_file), 40)
    before = m.to_frame()
    m.switch_regime("truce")
    assert m.overrides == [(dt.date(2015, 2, 10), "truce")]
    assert m.regime == PRESETS["truce"]
    _steps(m, 1)  # the next day is under the new regime
    assert m.gangs.isolation == pytest.approx(PRESETS["truce"].isolation)
    _steps(m, 59)  # past the scheduled 2015-03-01 switch to extraordinary
    daily = m.to_frame()
    assert daily.iloc[:40].drop(columns=["phase", "regime"]).equals(
        before.drop(columns=["phase", "regime"])
    )
    assert list(daily["phase"].iloc[:40].astype(str)) == list(before["phase"].astype(str))
    assert set(daily["regime"].iloc[40:].astype(str)) == {"truce"}
    assert "extraordinary" not in set(daily["regime"].astype(str))


def test_switch_regime_equals_a_timeline_with_that_phase(small_file, tmp_path):
    """Switching on day d gives the run a scenario with the phase from d would give."""
    switched = _steps(DashboardModel(scenario_name=small_file), 45)
    switched.switch_regime("dialogue")
    _steps(switched, 30)
    planned = tmp_path / "planned.toml"
    write_scenario(planned, **{**SMALL_DATA, "phases": phases(
        (dt.date(2015, 1, 1), "hardline"), (dt.date(2015, 2, 15), "dialogue"))})
    reference = _steps(DashboardModel(scenario_name=str(planned)), 75)
    cols = ["homicides", "deaths_true", "members", "restraint_share"]
    assert switched.to_frame()[cols].equals(reference.to_frame()[cols])


def test_switch_regime_rejects_unknown_preset(small_file):
    m = DashboardModel(scenario_name=small_file)
    with pytest.raises(ConfigError, match="unknown regime 'amnesty'"):
        m.switch_regime("amnesty")


def test_model_params_build_the_model_shown_first(small_file):
    params = model_params(small_file)
    kwargs = {name: spec["value"] for name, spec in params.items()}
    assert params["scenario_name"]["values"][0] == small_file
    assert "truce" in params["variant"]["values"] and BASE_TIMELINE in params["variant"]["values"]
    from_params = _steps(DashboardModel(**kwargs), 10).to_frame()
    plain = _steps(DashboardModel(scenario_name=small_file), 10).to_frame()
    assert from_params.equals(plain)


# ---------------------------------------------------------------- map and charts
def test_voronoi_cells_tile_the_square():
    rng = np.random.default_rng(1)
    points = rng.random((200, 2))
    cells = voronoi_cells(points)
    area = 0.0
    for p, cell in zip(points, cells, strict=True):
        assert MplPath(cell).contains_point(p)
        x, y = cell[:, 0], cell[:, 1]
        area += 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    assert area == pytest.approx(1.0, abs=1e-9)


def test_map_updates_colours_without_rebuilding(small_file):
    m = DashboardModel(scenario_name=small_file)
    tmap = TerritoryMap(m)
    artists = (tmap.cells, tmap.graph, tmap.fronts, tmap.heat)
    paths = tmap.cells.get_paths()
    n_artists = len(tmap.ax.get_children())
    _steps(m, 30)
    tmap.update("autonomy", show_heat=True)
    assert (tmap.cells, tmap.graph, tmap.fronts, tmap.heat) == artists
    assert tmap.cells.get_paths() is paths and tmap.builds == 1
    assert len(tmap.ax.get_children()) == n_artists
    # The colours are today's state.
    assert np.allclose(
        tmap.cells.get_facecolor(), shade_colours(m.cliques.gang, m.cliques.autonomy, tmap.palette)
    )
    # One segment per undirected edge; fronts (edges between hostile gangs) drawn with a
    # width, red if either direction saw a killing lately, other edges with none.
    e, gang = m.edges, m.cliques.gang
    pairs = [(a, b) for a, b in zip(e.src, e.dst, strict=True) if a < b]
    drawn = [tuple(sorted(map(tuple, s))) for s in tmap.fronts.get_segments()]
    assert len(drawn) == len(set(drawn)) == len(pairs)
    fronts = {frozenset((a, b)) for a, b in pairs if gang[a] != gang[b]}
    widths = np.asarray(tmap.fronts.get_linewidths())
    assert int((widths > 0).sum()) == len(fronts) > 0
    last = {}
    for a, b, day in zip(e.src, e.dst, m.edge_values("last_killing"), strict=True):
        key = frozenset((a, b))
        last[key] = max(last.get(key, -(10**9)), day)
    active = {k for k in fronts if last[k] >= m.day - ACTIVE_WINDOW}
    red = np.all(np.isclose(tmap.fronts.get_colors()[:, :3], _rgb(FRONT_ACTIVE)), axis=1)
    assert int((red & (widths > 0)).sum()) == len(active) > 0
    sizes = tmap.heat.get_sizes()
    assert np.argmax(sizes) == np.argmax(m.cliques.heat)
    tmap.update("restraint", show_heat=False)
    assert not tmap.heat.get_visible()
    assert "day 30 of 181" in tmap.title.get_text()
    with pytest.raises(ValueError, match="unknown shading"):
        tmap.update("pressure")


def _rgb(colour):
    from matplotlib.colors import to_rgb

    return np.array(to_rgb(colour))


def _phase_marks(chart) -> list[tuple[dt.date, str]]:
    """The phase labels drawn on a chart, with the date each stands at."""
    return [(pd.Timestamp(t.xy[0]).date(), t.get_text()) for t in chart.ax.texts]


def test_charts_follow_the_recorded_days(small_file):
    m = DashboardModel(scenario_name=small_file)
    hom, ctl = HomicideChart(m), ControlChart(m)
    lines = dict(hom.lines)
    _steps(m, 12)
    hom.update()
    ctl.update()
    assert hom.lines == lines
    daily = m.to_frame()
    y = hom.lines["homicides"].get_ydata()
    assert len(y) == 12
    assert y[-1] == pytest.approx(daily["homicides"].iloc[-7:].mean())
    assert np.allclose(ctl.lines["MS13"].get_ydata(), daily["control_MS13"])
    assert _phase_marks(hom) == []  # no phase change yet
    _steps(m, 60)  # past 2015-03-01 (day 59), the start of the second phase
    m.switch_regime("truce")  # day 72
    _steps(m, 1)
    hom.update()
    assert _phase_marks(hom) == [(dt.date(2015, 3, 1), "extraordinary"),
                                 (dt.date(2015, 3, 14), "truce (from 2015-03-14)")]
    hom.update()
    assert len(_phase_marks(hom)) == 2  # each phase marked once


def test_status_panel_text(small_file):
    pytest.importorskip("solara", reason="the dashboard extra is not installed")
    from trucesim.dashboard.components import status_html

    m = _steps(DashboardModel(scenario_name=small_file), 3)
    m.switch_regime("truce")
    text = status_html(m)
    assert "2015-01-03 (day 3 of 181)" in text
    for gang, stance in m.stances.items():
        assert f"<td>{gang}</td><td>{stance}</td>" in text
    assert "switched to <b>truce</b> from 2015-01-04" in text
