"""The compiled engine: the daily step as one numba function (optional, ``trucesim[fast]``).

At a few hundred cliques a numpy day is dominated by the fixed cost of some hundred
small numpy calls, not by arithmetic; compiling the day removes that cost. The compiled
day draws the same random numbers in the same order as the numpy day and computes the
same expressions, so a seed gives the same daily table on either engine
(``tests/test_compiled_day.py`` checks it). numba is imported only when this engine is
used.

Engines: ``"numpy"`` (always available), ``"numba"`` (needs numba), and ``"auto"``
(numba if it can be imported, else numpy). :func:`resolve_engine` picks one; the
``TRUCESIM_ENGINE`` environment variable sets the default for a whole process (for
example a CLI run or a benchmark).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

ENGINES = ("auto", "numpy", "numba")
#: Environment variable naming the engine used when none is given.
ENGINE_ENV = "TRUCESIM_ENGINE"


def numba_available() -> bool:
    """True if numba can be imported (``pip install 'trucesim[fast]'``)."""
    return importlib.util.find_spec("numba") is not None


def resolve_engine(engine: str | None = None) -> str:
    """The engine to use: ``"numpy"`` or ``"numba"``.

    Args:
        engine: ``"auto"``, ``"numpy"``, ``"numba"``, or None for the value of the
            ``TRUCESIM_ENGINE`` environment variable (default ``"auto"``).

    Raises:
        ValueError: an unknown engine name, or ``"numba"`` without numba installed.
    """
    source = "engine"
    if engine is None:
        engine = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
        source = ENGINE_ENV
    if engine not in ENGINES:
        raise ValueError(
            f"{source}: unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "auto":
        return "numba" if numba_available() else "numpy"
    if engine == "numba" and not numba_available():
        raise ValueError(
            f"{source}: engine 'numba' needs numba; install it with "
            "pip install 'trucesim[fast]', or use engine 'numpy'")
    return engine


def compiled_code_cached() -> bool:
    """True if numba's cache seems to hold the compiled day (next to these sources, or
    in ``NUMBA_CACHE_DIR``); a heuristic, for telling users about the first compile."""
    places = [Path(__file__).parent / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        places.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    return any(next(place.rglob("day.simulate_day-*.nbi"), None) for place in places
               if place.is_dir())


def first_use_note(engine: str | None = None) -> str | None:
    """A line telling the user that numba compiles the day now (once per machine), or
    None if the engine is numpy or the compiled code is already cached."""
    if resolve_engine(engine) != "numba" or compiled_code_cached():
        return None
    return ("note: compiling the numba engine on first use (about 20 s; cached for later "
            "runs; --engine numpy skips it)")


#: Stamp of the sources the cached machine code was built from (in ``__pycache__``).
CACHE_STAMP = "trucesim-compiled.stamp"


def refresh_cache(folder: Path | None = None) -> bool:
    """Drop numba's cached machine code if any source of this package changed.

    numba checks only the file of a cached function, but the compiled day inlines the
    kernels of the other modules here, so an edit to one of them would leave a stale
    day in the cache. A digest of every source is kept beside the cache; when it no
    longer matches, the cached kernels are deleted (they compile again on next use).
    Returns True if the cache was dropped. Does nothing where the folder is read-only.
    """
    folder = Path(__file__).parent if folder is None else folder
    sources = sorted(folder.glob("*.py"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:20]
    cache = folder / "__pycache__"
    stamp = cache / CACHE_STAMP
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for cached in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            cached.unlink(missing_ok=True)
        stamp.write_text(digest)
    except OSError:
        return False
    return True
