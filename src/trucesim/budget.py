"""What a command would cost, said before any work starts: the one budget.

Every command and API entry point that plans work (``run``, the main job, ``nowcast``,
``attribute``, ``sweep``, ``validate``, ``calibrate``, :func:`trucesim.api.simulate_variants`)
asks this module first, with the count it plans (runs, replicates, particles) and the
size of each (cliques x days). An absurd request (``-n 999999``, ``--particles 20000`` on
a small machine, ``replicates=10**9``) is refused in one line with the memory and the
time it would need, instead of running out of memory later; a count below 1 is refused
too.

The figures are measured, at 600 cliques (the bundled scenarios), with the scripts named below
(``python <script>``; tracemalloc, so Python's own overhead comes on top):

* a daily table holds about 270 bytes a day (39 columns; ``df.memory_usage(deep=True)``
  of ``simulate``): :data:`BYTES_PER_DAY`;
* a sweep keeps, per planned run, its task (about 270 bytes) and its record (about
  2,500 bytes: outcomes, seeds, timings), whether or not it keeps daily tables:
  :data:`BYTES_PER_RUN`;
* one model in flight (state, scratch record) holds about 1 MB at 600 cliques:
  :data:`BYTES_PER_CLIQUE_IN_FLIGHT`;
* a nowcast particle holds its state (about 850 bytes a clique), its history (8 bytes a
  day since it became 32-bit) and its parameter draw; the peak per particle of the
  whole filter (resampling included) is :data:`BYTES_PER_PARTICLE_CLIQUE` a clique plus
  :data:`BYTES_PER_PARTICLE_DAY` a day;
* computing takes about :data:`SECONDS_PER_CLIQUE_DAY` seconds of one core per
  clique-day (compiled engine).
"""

from __future__ import annotations

import os

from trucesim.scenario.errors import ConfigError

#: Bytes of one day's row of a daily table (39 columns; measured: about 270).
BYTES_PER_DAY = 300
#: Bytes a sweep keeps per planned run (task and record; measured: about 2,770).
BYTES_PER_RUN = 3_000
#: Bytes per clique of one model being simulated (state and record; measured: about 1,700).
BYTES_PER_CLIQUE_IN_FLIGHT = 2_000
#: Peak bytes per nowcast particle per clique (state, copies when resampling, its draw).
BYTES_PER_PARTICLE_CLIQUE = 1_000
#: Peak bytes per nowcast particle per day of its history (and the branches' tables).
BYTES_PER_PARTICLE_DAY = 16
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
    """Estimated peak memory (bytes) and one-core time (seconds) of ``runs`` runs: the
    daily tables kept (all of them, or one at a time), each run's bookkeeping and the
    model in flight."""
    tables = (runs if keep_daily else 1) * (days + burn_in) * BYTES_PER_DAY
    memory = tables + runs * BYTES_PER_RUN + cliques * BYTES_PER_CLIQUE_IN_FLIGHT
    seconds = runs * (days + burn_in) * cliques * SECONDS_PER_CLIQUE_DAY
    return memory, seconds


def particle_cost(particles: int, days: int, cliques: int, burn_in: int = 0,
                  branches: int = 0, branch_days: int = 0) -> tuple[int, float]:
    """Estimated peak memory (bytes) and one-core time (seconds) of a particle filter of
    ``particles`` particles over ``days`` days (after ``burn_in``), then ``branches``
    branches of ``branch_days`` days from each particle."""
    per = (cliques * BYTES_PER_PARTICLE_CLIQUE
           + (burn_in + days + branches * branch_days) * BYTES_PER_PARTICLE_DAY)
    memory = particles * per + cliques * BYTES_PER_CLIQUE_IN_FLIGHT
    seconds = (particles * (burn_in + days + branches * branch_days) * cliques
               * SECONDS_PER_CLIQUE_DAY)
    return memory, seconds


def check_count(what: str, key: str, count: object, noun: str = "run") -> int:
    """``count`` as an int of at least 1, or a ConfigError."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise ConfigError(what, key, f"must be a whole number of {noun}s, not {count!r}")
    if count < 1:
        raise ConfigError(what, key, f"must be at least 1 (got {count:,}): there is "
                          f"nothing to do with no {noun}s")
    return count


def _refuse(what: str, key: str, plan: str, memory: float, seconds: float) -> None:
    limit = memory_limit()
    if memory > limit or seconds > MAX_SECONDS:
        raise ConfigError(what, key, (
            f"{plan} would need about {human_bytes(memory)} of memory and "
            f"{human_seconds(seconds)} of computing (limits: {human_bytes(limit)}, half "
            f"this machine's memory, and {human_seconds(MAX_SECONDS)}); ask for less"))


def check(what: str, key: str, runs: int, days: int, cliques: int, burn_in: int = 0,
          keep_daily: bool = True) -> None:
    """Refuse (ConfigError on ``what``/``key``) work beyond half the memory or 30 days of
    computing, naming what it would need; and a count of runs below 1 or absurd."""
    check_count(what, key, runs)
    memory, seconds = cost(runs, days, cliques, burn_in, keep_daily)
    _refuse(what, key, f"{runs:,} run(s) of {days:,} days with {cliques:,} cliques",
            memory, seconds)


def check_particles(what: str, key: str, particles: int, days: int, cliques: int,
                    burn_in: int = 0, branches: int = 0, branch_days: int = 0) -> None:
    """:func:`check` for a particle filter (and its branches)."""
    check_count(what, key, particles, "particle")
    memory, seconds = particle_cost(particles, days, cliques, burn_in, branches, branch_days)
    extra = f" and {branches} branches of {branch_days:,} days" if branches else ""
    _refuse(what, key, f"{particles:,} particles over {days:,} days with {cliques:,} "
            f"cliques{extra}", memory, seconds)

