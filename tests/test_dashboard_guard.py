"""The dashboard serves only its user: same-origin requests to the bound address, checked
control values, no tracebacks on the page, and no network address without asking.

The protocol-level tests start the real server and speak HTTP/WebSocket over a socket,
so they need no browser.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from trucesim.cli.main import main
from trucesim.dashboard import server
from trucesim.dashboard.guard import PAGE_ERROR, allowed_hosts, refusal

pytest.importorskip("solara", reason="the dashboard extra is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def running():
    """A real ``trucesim dashboard`` on a free loopback port."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trucesim.cli.main", "dashboard", "honduras-like-2013", "--port",
         str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        try:
            status, _ = _request(port, f"127.0.0.1:{port}", "/readyz")
            if status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise AssertionError("the dashboard did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def _request(port: int, host: str, path: str = "/", headers: dict | None = None,
             websocket: bool = False) -> tuple[int, str]:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    if websocket:
        key = base64.b64encode(os.urandom(16)).decode()
        lines += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                  "Sec-WebSocket-Version: 13"]
    else:
        lines.append("Connection: close")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head = data.decode("latin-1")
    return int(head.split(" ", 2)[1]), head


def _kernel_path() -> str:
    return f"/jupyter/api/kernels/{uuid.uuid4()}/channels?session_id={uuid.uuid4()}"


def test_websocket_from_a_foreign_origin_is_refused(running):
    port = running
    status, _ = _request(port, f"127.0.0.1:{port}", _kernel_path(),
                         {"Origin": "http://evil.example"}, websocket=True)
    assert status == 403
    status, _ = _request(port, f"127.0.0.1:{port}", _kernel_path(),
                         {"Origin": f"http://127.0.0.1:{port + 1}"}, websocket=True)
    assert status == 403
    status, _ = _request(port, f"127.0.0.1:{port}", _kernel_path(),
                         {"Origin": "null"}, websocket=True)
    assert status == 403


def test_websocket_from_the_page_itself_is_accepted(running):
    port = running
    status, _ = _request(port, f"127.0.0.1:{port}", _kernel_path(),
                         {"Origin": f"http://127.0.0.1:{port}"}, websocket=True)
    assert status == 101
    status, _ = _request(port, f"localhost:{port}", _kernel_path(),
                         {"Origin": f"http://localhost:{port}"}, websocket=True)
    assert status == 101


def test_a_foreign_host_header_is_refused(running):
    """DNS rebinding: a page at evil.example resolving to 127.0.0.1 sends Host: evil.example."""
    port = running
    assert _request(port, f"evil.example:{port}", "/")[0] == 403
    assert _request(port, f"evil.example:{port}", _kernel_path(),
                    {"Origin": f"http://evil.example:{port}"}, websocket=True)[0] == 403
    assert _request(port, f"127.0.0.1:{port}", "/")[0] == 200


def test_allow_list_and_refusal():
    allowed = allowed_hosts("127.0.0.1", 8765)
    assert {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"} <= allowed
    assert refusal({"host": "127.0.0.1:8765"}, allowed) is None
    assert refusal({"host": "127.0.0.1:8765", "origin": "http://localhost:8765"},
                   allowed) is None
    assert "Origin" in refusal({"host": "127.0.0.1:8765", "origin": "https://a.b"}, allowed)
    assert "Host" in refusal({"host": "127.0.0.1:9999"}, allowed)
    assert "Host" in refusal({}, allowed)
    wide = allowed_hosts("0.0.0.0", 8765)
    assert f"{socket.gethostname().lower()}:8765" in wide
    assert "evil.example:8765" not in wide


def test_non_loopback_host_needs_allow_remote(capsys):
    assert main(["dashboard", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "no authentication" in err and "--allow-remote" in err
    assert "Traceback" not in err


def test_allow_remote_prints_the_warning(monkeypatch, capsys):
    class Stop(Exception):
        pass

    def no_run(self, sockets):
        raise Stop

    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", no_run)
    with pytest.raises(Stop):
        server.serve("honduras-like-2013", host="0.0.0.0", port=0, allow_remote=True)
    assert "there is no authentication" in capsys.readouterr().err


def test_page_gets_one_line_not_a_traceback(capsys, monkeypatch):
    import reacton.core
    import solara.server.app
    import solara.server.patch

    from trucesim.dashboard.guard import hide_tracebacks

    for module in (reacton.core, solara.server.app, solara.server.patch):
        monkeypatch.setattr(module, "traceback", module.traceback)  # restored afterwards
    hide_tracebacks()
    try:
        raise ValueError("/secret/install/path: key")
    except ValueError as exc:
        shown = "".join(reacton.core.traceback.format_exception(None, exc, exc.__traceback__))
    assert shown == PAGE_ERROR
    assert "/secret/install/path" in capsys.readouterr().err  # the terminal gets it all


def test_control_values_are_checked_on_the_server(tmp_path, monkeypatch):
    """A scenario sent as a file path (or an endless device) is never read."""
    monkeypatch.setenv(server.SCENARIO_ENV, "honduras-like-2013")
    secret = tmp_path / "secret.toml"
    secret.write_text('password = "hunter2"\n')
    import importlib

    import trucesim.dashboard.app as app

    app = importlib.reload(app)
    for forged in (str(secret), "/dev/zero", "../../etc/passwd"):
        m = app.AppModel(scenario_name=forged)
        assert m.config.name == "honduras-like-2013"
        assert any("is not one of its values" in n for n in m.notices)
    m = app.AppModel(scenario_name="honduras-like-2013", isolation=float("nan"),
                     cohesion_scale=1e300, isolation_override="yes", regime_override="x",
                     seed="9" * 5000, variant=["list"], evil=1)
    notes = " ".join(m.notices)
    for label in ("Leaders' isolation", "Gang cohesion", "Regime override", "Seed",
                  "Variant", "unknown control 'evil'"):
        assert label in notes
