"""``trucesim dashboard``: check the scenario, the optional dependencies and the port, then serve.

Everything that can go wrong is checked before the server starts, each with a one-line
message (the CLI prints it and exits with status 2): an invalid scenario file (the same
``file: key.path: reason`` as ``trucesim check``), the ``dashboard`` extra not installed,
a port already in use or a host that cannot be listened on.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import socket
import sys
import warnings
from pathlib import Path

from trucesim.dashboard.guard import is_loopback
from trucesim.scenario.load import load_scenario

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
            f"install them with  {install_command()}"
        )


def install_command() -> str:
    """The command installing the ``dashboard`` extra into this installation: from the
    checkout for an editable (``make``) install, else from the package index."""
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file() and (root / "Makefile").is_file():
        return f"make -C {root} install-dashboard"
    return f"{sys.executable} -m pip install 'trucesim[dashboard]'"


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


#: Printed when the dashboard listens on a non-loopback address.
REMOTE_WARNING = ("warning: listening on {host}: anyone who can reach this machine on port "
                  "{port} can drive the dashboard; there is no authentication")


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback ``host`` unless ``allow_remote`` (the dashboard has no
    authentication)."""
    if not is_loopback(host) and not allow_remote:
        raise DashboardError(
            f"--host {host}: the dashboard has no authentication, so anyone who can reach "
            f"{host} could drive it; add --allow-remote if that is what you want, or use "
            "the default 127.0.0.1 (this machine only)")


def serve(scenario: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
          allow_remote: bool = False) -> int:
    """Serve the dashboard for ``scenario`` until interrupted; returns the exit status.

    Only same-origin requests addressed to the bound address are served (see
    :mod:`trucesim.dashboard.guard`); tracebacks go to the terminal, not to the page.

    Raises:
        ConfigError: the scenario file is invalid (before anything starts).
        DashboardError: a missing dependency, a port in use, a bad host, or a
            non-loopback host without ``allow_remote``.
    """
    check_host(host, allow_remote)
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

    from trucesim.dashboard.guard import SameOriginGuard, allowed_hosts, hide_tracebacks

    hide_tracebacks()
    from solara.server.starlette import app as solara_app

    # Solara warns that samesite=none cookies need https; on a local http server it
    # falls back to samesite=lax, which is what we want.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

    config = uvicorn.Config(
        SameOriginGuard(solara_app, allowed_hosts(host, port)), host=host, port=port,
        log_level="warning", access_log=False,
    )
    shown = f"[{host}]" if ":" in host else host
    print(f"trucesim dashboard: {scenario} at http://{shown}:{port}/  (Ctrl+C to stop)",
          flush=True)
    if not is_loopback(host):
        print(REMOTE_WARNING.format(host=host, port=port), file=sys.stderr, flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
