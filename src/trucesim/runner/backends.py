"""Executors: one ``concurrent.futures.Executor`` interface over local processes and Dask.

``process`` (default) is a :class:`~concurrent.futures.ProcessPoolExecutor`; ``dask``
is ``distributed.Client(address or LocalCluster(...)).get_executor()``. The runner only
calls ``submit`` and waits on the futures, so any Executor (a thread pool in tests) works.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from trucesim.scenario.errors import ConfigError

#: How long to wait for a Dask scheduler before giving up.
CONNECT_TIMEOUT_S = 3


@dataclass
class Backend:
    """An open executor and how many runs it can do at once."""

    executor: Executor
    slots: int
    description: str


def default_workers() -> int:
    """Worker processes when none are asked for: the usable CPUs."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a reused pid of another user
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc: trust os.kill


def _exit_with_sweep(sweep_pid: int) -> None:
    """Worker initializer: exit when the sweep process dies (e.g. killed with SIGKILL).

    Watches the sweep's pid rather than the worker's parent: under ``forkserver`` the
    parent is the fork server, which itself waits for the workers to exit.
    """

    def watch() -> None:
        while _alive(sweep_pid):
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="trucesim-sweep-watch", daemon=True).start()


@contextmanager
def open_backend(backend: str = "process", workers: int | None = None,
                 scheduler: str | None = None) -> Iterator[Backend]:
    """Open an executor for ``backend`` ("process" or "dask") and close it afterwards.

    Raises:
        ConfigError: unknown backend, Dask not installed, or the scheduler unreachable
            within :data:`CONNECT_TIMEOUT_S` seconds.
    """
    if backend == "process":
        if scheduler is not None:
            raise ConfigError("--scheduler", "", "a scheduler address needs --backend dask")
        n = workers or default_workers()
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["trucesim.runner.preload"])  # the kernels, loaded once
        pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_exit_with_sweep,
                                   initargs=(os.getpid(),))
        try:
            yield Backend(pool, n, f"{n} local process{'es' if n > 1 else ''}")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    elif backend == "dask":
        with _dask_backend(workers, scheduler) as b:
            yield b
    else:
        raise ConfigError("--backend", "", f"unknown backend {backend!r}; valid: process, dask")


def scheduler_address(address: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a Dask scheduler address (``tcp://host:port``,
    ``tls://host:port`` or ``host:port``).

    Raises:
        ConfigError: for anything else (``notaurl``), before any connection is tried.
    """
    from urllib.parse import urlsplit

    text = address if "://" in address else f"tcp://{address}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if (parts is None or parts.scheme not in ("tcp", "tls") or not parts.hostname
            or port is None or parts.path not in ("", "/") or parts.query):
        raise ConfigError("--scheduler", address, "is not a Dask scheduler address (expected "
                          "tcp://host:port, tls://host:port or host:port)")
    return parts.scheme, parts.hostname, port


def probe_scheduler(address: str, timeout: float | None = None) -> None:
    """Check, within ``timeout`` seconds (by default :data:`CONNECT_TIMEOUT_S`, read at
    the call), that a Dask scheduler answers at ``address``.

    A scheduler speaks first: on a new connection it sends its handshake before reading
    anything. So a plain TCP address must accept the connection and send bytes that are
    not HTTP within ``timeout``; a web server (which waits for a request, or answers
    ``HTTP/``) is refused at once instead of hanging. ``tls://`` addresses are only
    checked for a connection (the scheduler waits for the TLS handshake).

    Raises:
        ConfigError: one line naming the address and what answered.
    """
    import socket

    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    scheme, host, port = scheduler_address(address)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if scheme == "tls":
                return
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                first = sock.recv(16)
            except TimeoutError:
                first = None
    except OSError as exc:
        raise ConfigError("--scheduler", address, f"cannot reach the Dask scheduler within "
                          f"{timeout:g} s ({exc.strerror or exc})") from None
    if first is None:
        raise ConfigError("--scheduler", address, f"something listens there but sent nothing "
                          f"within {timeout:g} s: not a Dask scheduler (a scheduler sends "
                          "its handshake at once)")
    if not first:
        raise ConfigError("--scheduler", address, "closed the connection at once: not a Dask "
                          "scheduler")
    if first.startswith(b"HTTP/") or first[:1] == b"<":
        raise ConfigError("--scheduler", address, "answers HTTP (a web page, perhaps the "
                          "scheduler's dashboard): give the scheduler's tcp:// address "
                          "(port 8786 by default), not its dashboard's")


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[tuple[Any, int, str]]:
    """A Dask client, its slots (threads that run at once) and a description, closed
    afterwards: on ``scheduler`` (probed first: an unreachable or foreign address is a
    one-line error), or on a local cluster of ``workers`` single-threaded processes.
    The one Dask backend of the sweeps (:func:`open_backend`) and of ``calibrate``.

    Raises:
        ConfigError: Dask not installed, or the scheduler unreachable.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "--backend", "dask",
            "the Dask backend needs the optional extra: pip install 'trucesim[dask]'",
        ) from None
    cluster = None
    if scheduler is not None:
        probe_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(
                "--scheduler", scheduler,
                f"cannot reach the Dask scheduler within {CONNECT_TIMEOUT_S} s ({exc})",
            ) from None
        slots = max(1, sum(client.nthreads().values()))
        what = f"Dask scheduler {scheduler} ({slots} threads)"
    else:
        n = workers or default_workers()
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster, set_as_default=False)
        slots = n
        what = f"Dask local cluster ({n} worker{'s' if n > 1 else ''})"
    try:
        yield client, slots, what
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def _dask_backend(workers: int | None, scheduler: str | None) -> Iterator[Backend]:
    with dask_client(workers, scheduler) as (client, slots, what):
        yield Backend(client.get_executor(), slots, what)
