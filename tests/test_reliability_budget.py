"""Issue 24, resources: one up-front budget refuses what would exhaust the machine, in one
line naming the memory and time it would need, before anything is written."""

from __future__ import annotations

import pytest

import trucesim.api as api
from trucesim import budget
from trucesim.cli.main import main
from trucesim.scenario.errors import ConfigError

from .conftest import simple_scenario


def _nothing_written(tmp_path, out):
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


@pytest.fixture
def small_machine(monkeypatch):
    """A machine with 2 GB to spare: the limits any laptop has."""
    monkeypatch.setattr(budget, "memory_limit", lambda: 2 * 10**9)


@pytest.mark.parametrize("argv", [
    ["nowcast", "--particles", "20000"],
    ["run", "--particles", "20000"],
])
def test_many_particles_are_refused_with_what_they_would_need(tmp_path, capsys, small_machine,
                                                              argv):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "--particles" in err and "20,000 particles" in err
    assert "GB of memory" in err and "of computing" in err
    _nothing_written(tmp_path, out)


def test_a_particle_costs_what_was_measured():
    """1,000 particles at 600 cliques: the issue measured a 1.78 GB peak (RSS) on main; the
    estimate must not fall below what the filter now holds (see docs: measured)."""
    memory, _ = budget.particle_cost(1000, 2387, 600, 365)
    assert 0.6e9 < memory < 2e9


def test_attribution_of_a_million_replicates_is_refused(tmp_path, capsys):
    """A small world (20 cliques, one month): the time is within the limit, but every one
    of the million-odd runs keeps its record; on main only one daily table was counted
    and the attribution ran until the machine ran out of memory."""
    import datetime as dt

    from .conftest import phases, write_scenario

    scen = write_scenario(tmp_path / "s.toml", world={"cliques": 20, "burn_in_days": 5},
                          end=dt.date(2020, 1, 31), phases=phases((dt.date(2020, 1, 1),
                                                                   "baseline")),
                          variants={}, counterfactual=None)
    out = tmp_path / "out"
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["attribute", str(scen), "--outcome", "mean_homicides", "-n", "999999",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "-n/--replicates" in err and "of memory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_sweeps_bookkeeping_counts_even_without_daily_tables(small_machine):
    """32 combinations x 999,999 replicates keep a record each: about 96 GB, refused on
    memory although no daily table is kept (on main only one table was counted)."""
    memory, _ = budget.cost(32 * 999_999, 120, 50, 20, keep_daily=False)
    assert memory > 50e9
    with pytest.raises(ConfigError, match="of memory"):
        budget.check("x", "", 999_999, 120, 50, 20, keep_daily=False)


@pytest.mark.parametrize("replicates, reason", [
    (10**9, "1,000,000,000 run.* would need about .* of memory and .* of computing"),
    (0, "must be at least 1"),
    (-3, "must be at least 1"),
    (2.5, "whole number"),
    (True, "whole number"),
])
def test_simulate_variants_refuses_before_running(monkeypatch, replicates, reason):
    calls = []
    monkeypatch.setattr(api, "simulate", lambda *a, **k: calls.append(1))
    with pytest.raises(ConfigError, match=reason) as exc:
        api.simulate_variants(simple_scenario(), replicates=replicates)
    assert str(exc.value).startswith("simulate_variants: replicates: ")
    assert calls == []


def test_simulate_variants_refuses_a_plan_beyond_the_machine(monkeypatch, small_machine):
    monkeypatch.setattr(api, "simulate", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(ConfigError, match="GB of memory"):
        api.simulate_variants(simple_scenario(), replicates=5_000_000)


def test_run_filter_refuses_before_building_particles(small_machine):
    from trucesim.calibration.nowcast import run_filter

    with pytest.raises(ConfigError, match="run_filter: particles: 20,000 particles"):
        run_filter(20_000)


def test_replicates_zero_on_the_command_line(tmp_path, capsys):
    from .conftest import write_scenario

    scen = write_scenario(tmp_path / "s.toml")
    assert main(["run", str(scen), "-n", "0", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ Dask scheduler addresses
def _serve_http():
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _silent_tcp(greeting: bytes | None):
    """A TCP server on 127.0.0.1 that accepts and sends ``greeting`` (or nothing)."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    held = []

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)
            if greeting:
                conn.sendall(greeting)

    threading.Thread(target=serve, daemon=True).start()
    return srv


def _sweep(tmp_path, scheduler):
    from tests.sweep_support import write_tiny

    exp = write_tiny(tmp_path / "e", replicates=1)
    return ["sweep", str(exp), "--backend", "dask", "--scheduler", scheduler, "--out",
            str(tmp_path / "out")]


def test_a_scheduler_address_that_is_no_address_is_one_line(tmp_path, capfd):
    pytest.importorskip("distributed")
    assert main(_sweep(tmp_path, "notaurl")) == 2
    import gc

    gc.collect()  # a half-made Client would print its __del__ traceback here
    err = capfd.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert "notaurl" in err and "not a Dask scheduler address" in err
    assert "Exception ignored" not in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("server", ["http", "silent"])
def test_a_scheduler_address_answering_http_or_nothing_is_refused_in_one_line(
        tmp_path, capsys, server, monkeypatch):
    """A web server (which waits for a request) and a silent server are both refused
    after the probe's bounded wait, which the message names. How long each refusal
    takes: benchmarks/scheduler_probe.py. The wait is shortened here (the command reads
    it at the call): 3 s of each test was idle."""
    import threading

    from trucesim.runner import backends

    pytest.importorskip("distributed")
    monkeypatch.setattr(backends, "CONNECT_TIMEOUT_S", 0.4)
    if server == "http":
        srv = _serve_http()
        port = srv.server_address[1]
    else:
        srv = _silent_tcp(None)
        port = srv.getsockname()[1]
    codes: list[int] = []
    command = threading.Thread(daemon=True, target=lambda: codes.append(
        main(_sweep(tmp_path, f"tcp://127.0.0.1:{port}"))))
    try:
        command.start()
        command.join(timeout=120)  # a safety timeout: unprobed, the connection hangs
    finally:
        (srv.shutdown if server == "http" else srv.close)()
    assert codes == [2], "the command did not return: the address was not probed"
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a Dask scheduler" in err
    assert "sent nothing within 0.4 s" in err
    assert not (tmp_path / "out").exists()


def test_a_server_that_speaks_first_passes_the_probe():
    """A Dask scheduler sends its handshake at once (distributed.comm.core.Listener
    .on_connection writes before it reads): the probe lets such a server through."""
    from trucesim.runner.backends import probe_scheduler

    srv = _silent_tcp(b"\x01\x00\x00\x00handshake")
    try:
        probe_scheduler(f"127.0.0.1:{srv.getsockname()[1]}")
    finally:
        srv.close()


def test_calibrate_refuses_a_scheduler_address_that_is_no_address(tmp_path, capsys):
    pytest.importorskip("pyabc")
    from .conftest import REPO

    out = tmp_path / "cal"
    assert main(["calibrate", str(REPO / "calibration" / "el-salvador-2013.toml"),
                 "--backend", "dask", "--scheduler", "notaurl", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a Dask scheduler address" in err
    assert not out.exists()


# ------------------------------------------------------------------ calibration, up front
def _calibration(tmp_path, old, new):
    from .conftest import REPO

    text = (REPO / "calibration" / "el-salvador-2013.toml").read_text()
    assert old in text
    path = tmp_path / "cal.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old, new, key, reason", [
    ('[parameters."violence.mu"]',
     '[parameters."world.cliques"]\nprior = "uniform"\nlow = 100\nhigh = 600\n\n'
     '[parameters."violence.mu"]', "parameters.world.cliques", "a whole number (600)"),
    ("weight = 1.5", "weight = 1e308", "targets.3.weight", "less than or equal to"),
])
def test_a_calibration_that_cannot_work_is_refused_before_it_runs(tmp_path, capsys, old, new,
                                                                  key, reason):
    from trucesim.calibration.problem import load_calibration

    cal = _calibration(tmp_path, old, new)
    with pytest.raises(ConfigError) as exc:
        load_calibration(cal)
    assert key in str(exc.value) and reason in str(exc.value)
    out = tmp_path / "out"
    assert main(["calibrate", str(cal), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and key in err
    assert not out.exists()
