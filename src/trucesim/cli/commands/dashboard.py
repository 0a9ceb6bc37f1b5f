"""The ``dashboard`` command: a scenario run watched in the browser (Mesa SolaraViz)."""

from __future__ import annotations

import argparse

from trucesim.cli.registry import UsageError, arg, command


@command("dashboard", "watch a scenario run in the browser (Mesa SolaraViz)", [
    arg("scenario", nargs="?", default=None,
        help="scenario file or bundled name (default: the main case's branch scenario)"),
    arg("--host", default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; "
        "any other needs --allow-remote)"),
    arg("--allow-remote", action="store_true",
        help="allow a --host reachable from other machines (there is no "
        "authentication: anyone who reaches it can drive the dashboard)"),
    arg("--port", type=int, default=8765, help="TCP port (default: 8765)"),
], simulates=True, interrupted="stopped")
def _cmd_dashboard(args: argparse.Namespace) -> int:
    from trucesim.dashboard.server import DashboardError, serve

    try:
        from trucesim.scenario.maincase import main_case_file

        scenario = (args.scenario if args.scenario is not None
                    else str(main_case_file("branches.scenario")))
        return serve(scenario, host=args.host, port=args.port,
                     allow_remote=args.allow_remote)
    except DashboardError as exc:
        raise UsageError(str(exc)) from None
