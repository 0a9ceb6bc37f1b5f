"""Compiling the kernels: numba, with a cache that follows every source they are built from.

Every mechanism is written once, as a plain Python function over the model's arrays,
and decorated with :func:`kernel`, which compiles it with numba (``njit``, cached on
disk). Setting ``NUMBA_DISABLE_JIT=1`` runs the very same functions as plain Python,
for debugging (slow, but every line can be stepped through).

numba checks only the file of a cached function, but a kernel freezes what it reads
from other modules (constants such as stance codes, and the kernels it calls). So the
cache is keyed to a digest of every source file of the packages kernels are built from
(:data:`KERNEL_SOURCES`: the numerics, the mechanisms, the core and the scenario
schema and parameters they read): when any changes, the cached machine code is dropped
and compiles again on first use (:func:`refresh_cache`). Editing the CLI, plots,
runner or dashboard does not recompile.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numba

PACKAGE = Path(__file__).resolve().parent.parent
#: The sub-packages whose sources the compiled kernels are built from.
KERNEL_SOURCES = ("numerics", "mechanisms", "core", "scenario")
#: Stamp of the sources the cached machine code was built from.
CACHE_STAMP = "trucesim-kernels.stamp"
CACHE_SUFFIXES = (".nbi", ".nbc")


def _sources(package: Path) -> list[Path]:
    return sorted(p for sub in KERNEL_SOURCES for p in (package / sub).rglob("*.py"))


def source_digest(package: Path = PACKAGE) -> str:
    """Digest of every Python source the kernels are built from (names and contents)."""
    h = hashlib.sha256()
    for path in _sources(package):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:20]


def numba_cache_folder(source: Path, root: str | Path) -> Path:
    """The folder under ``root`` (``NUMBA_CACHE_DIR``) where numba caches the kernels of
    the Python file ``source`` (numba's own naming: folder name and a hash of its path)."""
    from numba.core.caching import _CacheLocator

    return Path(root) / _CacheLocator.get_suitable_cache_subpath(str(source.resolve()))


def cache_folders(package: Path = PACKAGE) -> list[Path]:
    """Where numba keeps this package's cached kernels: each ``__pycache__`` beside the
    kernel sources, and their folders under ``NUMBA_CACHE_DIR`` if that is set."""
    folders = [p for sub in KERNEL_SOURCES for p in (package / sub).rglob("__pycache__")]
    root = os.environ.get("NUMBA_CACHE_DIR")
    if root:
        sources = {p.parent: p for p in _sources(package)}.values()  # one file per folder
        folders += [f for f in (numba_cache_folder(s, root) for s in sources) if f.is_dir()]
    return folders


def kernels_cached(package: Path = PACKAGE) -> bool:
    """True if compiled kernels for the current sources are in numba's cache."""
    stamp = package / "__pycache__" / CACHE_STAMP
    try:
        if stamp.read_text() != source_digest(package):
            return False
    except OSError:
        return False
    return any(next(f.glob("day.*.nbi"), None) for f in cache_folders(package))


def refresh_cache(package: Path = PACKAGE) -> bool:
    """Drop the package's cached kernels if any of their sources changed since they were
    compiled. Returns True if the cache was dropped.

    The new stamp is written first: where it cannot be written (a read-only install),
    nothing is deleted, and numba keeps its own per-file checks.
    """
    digest = source_digest(package)
    stamp = package / "__pycache__" / CACHE_STAMP
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return False
    for folder in cache_folders(package):
        for cached in folder.iterdir():
            if cached.suffix in CACHE_SUFFIXES:
                try:
                    cached.unlink(missing_ok=True)
                except OSError:  # a read-only cache: numba's per-file checks remain
                    pass
    return True


refresh_cache()  # before any kernel is loaded from numba's cache


def kernel[F: Callable](fn: F) -> F:
    """Compile ``fn`` with numba (cached on disk; it releases the GIL, so threads can run
    kernels side by side), or leave it as Python when
    ``NUMBA_DISABLE_JIT=1``."""
    return numba.njit(cache=True, nogil=True)(fn)


def jit_disabled() -> bool:
    """True when ``NUMBA_DISABLE_JIT`` makes the kernels run as plain Python."""
    return os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def compiler() -> str:
    """What runs the kernels, for manifests: ``numba <version>`` or ``python``."""
    return "python (NUMBA_DISABLE_JIT)" if jit_disabled() else f"numba {numba.__version__}"


def first_use_note() -> str | None:
    """A line telling the user that the kernels compile now (once per machine and
    version), or None if they are cached or compilation is disabled."""
    if jit_disabled() or kernels_cached():
        return None
    return ("note: compiling the model on first use (under a minute; cached for later "
            "runs)")
