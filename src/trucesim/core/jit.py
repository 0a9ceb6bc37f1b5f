"""Compiling the kernels: numba, with a cache that follows every source of the package.

Every mechanism is written once, as a plain Python function over the model's arrays,
and decorated with :func:`kernel`, which compiles it with numba (``njit``, cached on
disk). Setting ``NUMBA_DISABLE_JIT=1`` runs the very same functions as plain Python,
for debugging (slow, but every line can be stepped through).

numba checks only the file of a cached function, but a kernel freezes what it reads
from other modules (constants such as stance codes, and the kernels it calls). So the
cache is keyed to a digest of every source file of the package: when any changes, the
cached machine code is dropped and compiles again on first use (:func:`refresh_cache`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numba

PACKAGE = Path(__file__).resolve().parent.parent
#: Stamp of the sources the cached machine code was built from.
CACHE_STAMP = "trucesim-kernels.stamp"
CACHE_SUFFIXES = (".nbi", ".nbc")


def source_digest(package: Path = PACKAGE) -> str:
    """Digest of every Python source of the package (names and contents)."""
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:20]


def cache_folders(package: Path = PACKAGE) -> list[Path]:
    """Where numba keeps this package's cached kernels: each ``__pycache__`` beside the
    sources, and the mirror of the package under ``NUMBA_CACHE_DIR`` if that is set."""
    folders = [p for p in package.rglob("__pycache__") if p.is_dir()]
    if os.environ.get("NUMBA_CACHE_DIR"):
        root = Path(os.environ["NUMBA_CACHE_DIR"])
        if root.is_dir():
            folders += [p for p in root.rglob("*") if p.is_dir() and PACKAGE.name in p.parts]
    return folders


def kernels_cached(package: Path = PACKAGE) -> bool:
    """True if compiled kernels for the current sources are in numba's cache."""
    stamp = package / "__pycache__" / CACHE_STAMP
    try:
        if stamp.read_text() != source_digest(package):
            return False
    except OSError:
        return False
    return any(next(f.glob("*day*.nbi"), None) for f in cache_folders(package))


def refresh_cache(package: Path = PACKAGE) -> bool:
    """Drop the package's cached kernels if any of its sources changed since they were
    compiled. Returns True if the cache was dropped. Does nothing where the package
    folder is read-only."""
    digest = source_digest(package)
    stamp = package / "__pycache__" / CACHE_STAMP
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        for folder in cache_folders(package):
            for cached in folder.iterdir():
                if cached.suffix in CACHE_SUFFIXES:
                    cached.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return False
    return True


refresh_cache()  # before any kernel is loaded from numba's cache


def kernel[F: Callable](fn: F) -> F:
    """Compile ``fn`` with numba (cached on disk), or leave it as Python when
    ``NUMBA_DISABLE_JIT=1``."""
    return numba.njit(cache=True)(fn)


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
    return "note: compiling the model on first use (about 30 s; cached for later runs)"
