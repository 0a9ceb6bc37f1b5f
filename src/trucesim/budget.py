"""What a command would cost, said before any work starts.

An absurd request (``-n 10**12``, ``end = 9999-12-31``) is refused up front with the
memory and the time it would need, instead of running out of memory hours later. The
figures are estimates from measurements of the compiled engine: one day of a daily table
takes about :data:`BYTES_PER_DAY` bytes, one clique-day about
:data:`SECONDS_PER_CLIQUE_DAY` seconds of one core.
"""

from __future__ import annotations

import os

from trucesim.scenario.errors import ConfigError

#: Bytes of one day's row of a daily table (31 columns; measured: about 215).
BYTES_PER_DAY = 250
#: Seconds of one core per clique-day, compiled engine (measured: about 3.4e-8).
SECONDS_PER_CLIQUE_DAY = 4e-8
#: Longest timeline a scenario may have (start to end).
MAX_DAYS = 36_500
#: Most computing a single command may plan (one core).
MAX_SECONDS = 30 * 86_400


def human_bytes(n: float) -> str:
    """``1.2 GB``-style size."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1000 or unit == "EB":
            return f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


def human_seconds(s: float) -> str:
    """``3.5 hours``-style duration."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600),
                       ("minutes", 60)):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s:.2g} seconds"


def memory_limit() -> int:
    """Half this machine's physical memory (bytes); 8 GB if it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 10**9


def cost(runs: int, days: int, cliques: int, burn_in: int = 0,
         keep_daily: bool = True) -> tuple[int, float]:
    """Estimated peak memory (bytes, the daily tables kept) and one-core time (seconds)."""
    memory = runs * days * BYTES_PER_DAY if keep_daily else days * BYTES_PER_DAY
    seconds = runs * (days + burn_in) * cliques * SECONDS_PER_CLIQUE_DAY
    return memory, seconds


def check(what: str, key: str, runs: int, days: int, cliques: int, burn_in: int = 0,
          keep_daily: bool = True) -> None:
    """Refuse (ConfigError on ``what``/``key``) work beyond half the memory or 30 days of
    computing, naming what it would need."""
    memory, seconds = cost(runs, days, cliques, burn_in, keep_daily)
    limit = memory_limit()
    if memory > limit or seconds > MAX_SECONDS:
        raise ConfigError(what, key, (
            f"{runs:,} run(s) of {days:,} days with {cliques:,} cliques would need about "
            f"{human_bytes(memory)} of memory and {human_seconds(seconds)} of computing "
            f"(limits: {human_bytes(limit)}, half this machine's memory, and "
            f"{human_seconds(MAX_SECONDS)}); ask for less"))
