"""Keeping the dashboard to its user: same-origin requests only, and no tracebacks on the page.

The dashboard has no authentication, so anything that can open a WebSocket to it can
drive it. Browsers let any web page open a WebSocket to ``127.0.0.1``; what they cannot
forge is the ``Origin`` header, and a DNS-rebinding page cannot forge the ``Host``
header's name. :class:`SameOriginGuard` therefore refuses every HTTP request and
WebSocket whose ``Host`` is not the address the server was bound to (and, for a
loopback or wildcard address, this machine's names), and whose ``Origin``, when
present, is not ``http(s)://`` one of those. A refused WebSocket gets HTTP 403 before
any kernel exists.

:func:`hide_tracebacks` keeps Solara and Reacton from sending Python tracebacks (which
name install paths and file contents) to the page: the page gets one line, the
terminal the full traceback.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

#: What the page shows instead of a traceback.
PAGE_ERROR = ("The dashboard hit an internal error; the details are in the terminal "
              "where `trucesim dashboard` runs.\n")
WILDCARDS = frozenset({"0.0.0.0", "::", ""})

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
                   Awaitable[None]]


def _hostport(name: str, port: int) -> set[str]:
    name = name.strip().lower().rstrip(".")
    try:
        if ipaddress.ip_address(name).version == 6:
            name = f"[{name}]"
    except ValueError:
        pass
    out = {f"{name}:{port}"}
    if port == 80:
        out.add(name)
    return out


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The ``Host`` values (``name:port``) under which the server may be addressed.

    The bound ``host`` itself; for a loopback or wildcard address also ``localhost``,
    ``127.0.0.1`` and ``[::1]``; for a wildcard address also this machine's host name,
    fully qualified name and their addresses; and any ``extra`` names.
    """
    names = {host, *extra}
    if is_loopback(host) or host in WILDCARDS:
        names |= {"localhost", "127.0.0.1", "::1"}
    if host in WILDCARDS:
        names |= {socket.gethostname(), socket.getfqdn()}
        try:
            for info in socket.getaddrinfo(socket.gethostname(), None):
                names.add(str(info[4][0]))
        except OSError:
            pass
    names.discard("")
    out: set[str] = set()
    for name in names:
        out |= _hostport(name, port)
    return frozenset(out)


def refusal(headers: dict[str, str], allowed: frozenset[str]) -> str | None:
    """Why a request with these (lower-case) headers is refused, or None to accept it."""
    host = headers.get("host", "").strip().lower()
    if host not in allowed:
        return f"Host {host!r} is not this dashboard's address"
    origin = headers.get("origin")
    if origin is not None:
        scheme, sep, rest = origin.strip().lower().partition("://")
        if not sep or scheme not in ("http", "https") or rest.rstrip("/") not in allowed:
            return f"Origin {origin!r} is not this dashboard's address"
    return None


class SameOriginGuard:
    """ASGI middleware accepting only requests addressed to ``allowed`` hosts from the same
    origin (see the module docstring); everything else gets 403."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]):
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope.get("headers", [])}
            reason = refusal(headers, self.allowed)
            if reason is not None:
                print(f"trucesim dashboard: refused {scope['type']} {scope.get('path')}: "
                      f"{reason}", file=sys.stderr, flush=True)
                if scope["type"] == "websocket":
                    await receive()  # websocket.connect
                    await send({"type": "websocket.close", "code": 1008})  # HTTP 403
                else:
                    body = f"403 Forbidden: {reason}\n".encode()
                    await send({"type": "http.response.start", "status": 403,
                                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                            (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class _QuietTraceback:
    """Stands in for the ``traceback`` module in Solara's and Reacton's modules: the
    full traceback goes to the terminal, the page gets :data:`PAGE_ERROR`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    @staticmethod
    def format_exception(*args: Any, **kwargs: Any) -> list[str]:
        print("".join(traceback.format_exception(*args, **kwargs)), file=sys.stderr, flush=True)
        return [PAGE_ERROR]


def hide_tracebacks() -> None:
    """Make Solara and Reacton show :data:`PAGE_ERROR` on the page instead of tracebacks."""
    import reacton.core
    import solara.server.app
    import solara.server.patch

    for module in (reacton.core, solara.server.app, solara.server.patch):
        module.traceback = _QuietTraceback()  # type: ignore[attr-defined]
