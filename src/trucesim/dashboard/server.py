"""``trucesim dashboard``: check the scenario, the optional dependencies and the port, then serve.

Everything that can go wrong is checked before the server starts, each with a one-line
message (the CLI prints it and exits with status 2): an invalid scenario file (the same
``file: key.path: reason`` as ``trucesim check``), the ``dashboard`` extra not installed,
a port already in use or a host that cannot be listened on.
"""

from __future__ import annotations

import errno
import importlib.util
import ipaddress
import os
import socket
import warnings

from trucesim.scenario.schema import load_scenario

#: Environment variable passing the scenario (file or bundled name) to the app module.
SCENARIO_ENV = "TRUCESIM_DASHBOARD_SCENARIO"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: Modules the dashboard needs beyond trucesim's own dependencies (the ``dashboard`` extra).
REQUIRED_MODULES = ("solara", "altair", "uvicorn", "starlette")
#: Solara settings for a local, offline tool: no telemetry, production mode.
SOLARA_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_MODE": "production",
    "SOLARA_THEME_SHOW_BANNER": "False",
}


class DashboardError(Exception):
    """The dashboard cannot start (missing dependency, port in use, bad host)."""


def missing_dependencies() -> list[str]:
    """The modules of the ``dashboard`` extra that are not installed."""
    return [m for m in REQUIRED_MODULES if importlib.util.find_spec(m) is None]


def check_dependencies() -> None:
    """Raise :class:`DashboardError` naming the extra to install if a module is missing."""
    missing = missing_dependencies()
    if missing:
        raise DashboardError(
            f"the dashboard needs the optional dependencies {', '.join(missing)}: "
            "install them with  pip install 'trucesim[dashboard]'"
        )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port``.

    Raises:
        DashboardError: if the port is out of range or in use, or the host is unknown.
    """
    if not 0 <= port <= 65535:
        raise DashboardError(f"--port: {port} is not a TCP port (0-65535)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DashboardError(f"--host: cannot resolve {host!r}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DashboardError(
                f"port {port} on {host} is already in use; choose another with --port"
            ) from None
        raise DashboardError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(scenario: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Serve the dashboard for ``scenario`` until interrupted; returns the exit status.

    Raises:
        ConfigError: the scenario file is invalid (before anything starts).
        DashboardError: a missing dependency, a port in use or a bad host.
    """
    load_scenario(scenario)
    check_dependencies()
    sock = bind_socket(host, port)
    sock.listen(128)  # browsers that connect while Solara loads wait in the backlog
    port = sock.getsockname()[1]

    os.environ[SCENARIO_ENV] = scenario
    for key, value in SOLARA_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["SOLARA_APP"] = "trucesim.dashboard.app"
    os.environ["SERVER_NAME"] = host
    os.environ["SERVER_PORT"] = str(port)

    import uvicorn

    # Solara warns that samesite=none cookies need https; on a local http server it
    # falls back to samesite=lax, which is what we want.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

    config = uvicorn.Config(
        "solara.server.starlette:app", host=host, port=port, log_level="warning",
        access_log=False,
    )
    shown = f"[{host}]" if ":" in host else host
    print(f"trucesim dashboard: {scenario} at http://{shown}:{port}/  (Ctrl+C to stop)",
          flush=True)
    if not is_loopback(host):
        print(f"note: listening on {host}, reachable from other machines", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
