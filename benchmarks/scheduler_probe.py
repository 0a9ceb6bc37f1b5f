"""How long `sweep --backend dask --scheduler ADDRESS` takes to refuse an address that is
no Dask scheduler: a web server (it waits for a request) and a TCP server that accepts
and says nothing (both refused after the probe's wait, ``CONNECT_TIMEOUT_S`` = 3 s), and
a port nobody listens on (refused at once). Target: each within 3 s of waiting plus
loading the experiment, so under 8 s on a busy 2-core machine. Wall time per address,
with the machine's load beside it; the first refusal also imports Dask (as a fresh
command would). (The test, tests/test_reliability_budget.py, checks
the one-line refusal and that nothing is written, not the time.)

    .venv/bin/python benchmarks/scheduler_probe.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

from trucesim.cli.main import main

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT = REPO / "experiments" / "leader-control.toml"


@contextlib.contextmanager
def http_server():
    """A web server on 127.0.0.1: yields its port."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


@contextlib.contextmanager
def silent_server():
    """A TCP server on 127.0.0.1 that accepts connections and sends nothing: its port."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    held = []

    def serve():
        while True:
            try:
                held.append(srv.accept()[0])
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield srv.getsockname()[1]
    finally:
        srv.close()


@contextlib.contextmanager
def closed_port():
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


def refusal_seconds(port: int) -> float:
    """Wall seconds for the sweep command to refuse ``tcp://127.0.0.1:port`` (exit 2)."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        code = main(["sweep", str(EXPERIMENT), "--backend", "dask", "--scheduler",
                     f"tcp://127.0.0.1:{port}", "--out", str(Path(tmp) / "out")])
        took = time.perf_counter() - started
    if code != 2:
        raise SystemExit(f"the sweep exited {code}, not 2: the address was not refused")
    return took


def main_cli() -> None:
    """Print, per kind of address, the wall time of each refusal."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="refusals per address")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for label, server in (("web server (HTTP)", http_server), ("silent TCP", silent_server),
                          ("nobody listening", closed_port)):
        with server() as port:
            times = [refusal_seconds(port) for _ in range(args.repeat)]
        shown = ", ".join(f"{t:.2f}" for t in times)
        print(f"{label:>18}: refused in {shown} s (max {max(times):.2f}; target < 8)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main_cli()
