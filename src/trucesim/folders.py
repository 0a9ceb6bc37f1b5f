"""Results folders that nothing of the user's is lost in.

A command deletes or replaces a folder only when it can prove the folder is a result of
the same kind: a marker file (:data:`MARKER`) that trucesim itself wrote, holding the
kind, the marker format, the trucesim version and the settings the result was made
with. A folder without the marker is never deleted, whatever else it holds (a file
named ``manifest.json`` proves nothing; a folder made before markers existed is refused
like any other, and kept). A result of the same kind made with different
settings is replaced only with ``--force``; the refusal names the settings that differ.

Two commands writing one folder at the same time are kept apart by a lock file beside
it (:class:`FolderLock`), holding the owner's pid and host; a lock whose process is gone
is detected and taken over.

Names that become folder names (a scenario's or an experiment's ``name``) are checked
with :func:`check_name`: letters, digits, ``.``, ``_`` and ``-`` only, no separators,
not empty and not ``.`` or ``..``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trucesim.scenario.errors import ConfigError

#: The marker file trucesim writes into every results folder it makes.
MARKER = ".trucesim-result.json"
#: Format of the marker file (2: it lists the entries trucesim wrote, ``files``).
MARKER_FORMAT = 2
#: What each kind wrote at the top of its folder before markers listed their files
#: (format 1): a rerun replaces only these; anything else is the user's.
KNOWN_FILES = {
    "run": {"daily.parquet", "summary.json", "manifest.json", "trajectory.png",
            "branches.csv", "branches_daily.parquet", "filtered.csv", "branches.png"},
    "nowcast": {"filtered.csv", "ensemble.parquet", "nowcast.png", "report.md",
                "manifest.json"},
    "attribution": {"sweep", "attribution.csv", "attribution.parquet", "combinations.csv",
                    "shapley_replicates.csv", "attribution.json", "attribution.png"},
    "sweep": {"manifest.json", "records", "daily", "runs.parquet"},
    "validation": {"validation.md", "trajectory.png", "annual.png", "facts.png", "annual.csv",
                   "in_sample.csv", "communiques.csv", "deaths_per_year.csv", "ablation.csv",
                   "manifest.json", "parameters.png", "ablation.png"},
}
# ---------------------------------------------------------------------------- marker
def read_marker(folder: str | Path) -> dict[str, Any] | None:
    """The folder's marker (a dict with at least ``kind``), or None if it has none."""
    path = Path(folder) / MARKER
    if not path.is_file():
        return None
    try:
        marker = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("tool") != "trucesim" or "kind" not in marker:
        return None
    return marker


# ---------------------------------------------------------------------------- manifest
#: The manifest every results folder holds (what made it, with which settings).
MANIFEST = "manifest.json"


def now() -> str:
    """The time now, UTC, to the second (ISO 8601): manifests' ``created``."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def manifest(kind: str, **fields: Any) -> dict[str, Any]:
    """The manifest of a result of ``kind``: the header every kind shares (``kind``,
    ``trucesim_version``, ``compiler``: the kernels' compiler and cache, ``created``),
    then the kind's own ``fields`` in their order."""
    from trucesim import __version__
    from trucesim.numerics.jit import compiler

    return {"kind": kind, "trucesim_version": __version__, "compiler": compiler(),
            "created": now(), **fields}


def write_manifest(folder: str | Path, kind: str, **fields: Any) -> Path:
    """Write :func:`manifest` ``(kind, **fields)`` to ``folder/manifest.json`` (atomically);
    returns its path."""
    from trucesim.atomic import write_json

    path = Path(folder) / MANIFEST
    write_json(path, manifest(kind, **fields))
    return path


def marker_content(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The marker of a result of ``kind`` made with ``settings`` (JSON-ready)."""
    from trucesim import __version__

    return {"tool": "trucesim", "kind": kind, "format": MARKER_FORMAT,
            "trucesim_version": __version__, "settings": json.loads(json.dumps(
                settings, default=str))}


def write_marker(folder: str | Path, kind: str, settings: dict[str, Any],
                 files: list[str] | None = None) -> None:
    """Write the marker of a result of ``kind`` into ``folder`` (atomically), listing under
    ``files`` the entries trucesim writes there (default: what the folder holds now)."""
    from trucesim.atomic import write_json

    content = marker_content(kind, settings)
    if files is None:
        files = [p.name for p in Path(folder).iterdir() if p.name != MARKER]
    content["files"] = sorted(files)
    write_json(Path(folder) / MARKER, content)


def _temporary(name: str) -> bool:
    """A temporary file of :func:`trucesim.atomic.atomic_path` (``.<name>.XXXX.tmp``)."""
    return name.startswith(".") and name.endswith(".tmp")


def foreign_entries(folder: str | Path, marker: dict[str, Any]) -> list[str]:
    """Top-level entries of a results folder that trucesim did not write with it (a
    user's notes, ``plots/`` from ``trucesim plot``): not in the marker's ``files`` (or,
    for a marker without them, not among :data:`KNOWN_FILES` of its kind)."""
    ours = marker.get("files")
    if not isinstance(ours, list):
        ours = KNOWN_FILES.get(marker.get("kind"), set())
    ours = set(ours) | {MARKER}
    try:
        return sorted(p.name + ("/" if p.is_dir() else "") for p in Path(folder).iterdir()
                      if p.name not in ours and not _temporary(p.name))
    except OSError:
        return []


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths at which two JSON-like values differ, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                out.append(f"{path} (not set before, now {_short(new[key])})")
            elif key not in new:
                out.append(f"{path} (was {_short(old[key])}, now not set)")
            else:
                out.extend(differences(old[key], new[key], path))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out.extend(differences(a, b, f"{prefix}.{i}" if prefix else str(i)))
        return out
    if old != new:
        return [f"{prefix or 'settings'} (was {_short(old)}, now {_short(new)})"]
    return []


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_differences(old: Any, new: Any, limit: int = 3) -> str:
    """A short phrase naming the settings that differ (at most ``limit`` of them)."""
    diffs = differences(old, new)
    if not diffs:
        return "different settings"
    more = f" and {len(diffs) - limit} more" if len(diffs) > limit else ""
    return "different settings: " + "; ".join(diffs[:limit]) + more


def result_of_kind(folder: str | Path, kind: str) -> dict[str, Any] | None:
    """The marker of the result of ``kind`` in ``folder``, or None when the folder is
    absent or empty; writes nothing.

    Raises:
        ConfigError: a broken link, not a folder, unreadable, a folder without trucesim's
            marker, or a result of another kind.
    """
    folder = Path(folder)
    if not folder.exists():
        if folder.is_symlink():
            raise ConfigError(str(folder), "", "is a broken symbolic link; choose another --out")
        return None
    if not folder.is_dir():
        raise ConfigError(str(folder), "", "exists and is not a folder; choose another --out")
    try:
        empty = not any(folder.iterdir())
    except OSError as exc:
        raise ConfigError(str(folder), "", f"cannot be read: {exc.strerror}") from None
    if empty:
        return None
    marker = read_marker(folder)
    if marker is None:
        raise ConfigError(str(folder), "", f"exists and is not a folder trucesim made (no "
                          f"{MARKER}); nothing in it is touched: choose another --out, or "
                          "empty or remove it yourself")
    if marker["kind"] != kind:
        raise ConfigError(str(folder), "", f"holds a 'trucesim {marker['kind']}' result, "
                          f"not a '{kind}' result; choose another --out")
    return marker


def claim(folder: str | Path, kind: str, settings: dict[str, Any], force: bool,
          replaces_same: bool = True) -> str:
    """Decide what may be done with ``folder`` for a new result of ``kind``; writes nothing.

    Returns ``"new"`` (absent or empty), ``"same"`` (a result of ``kind`` made with the
    same settings) or ``"replace"`` (a result of ``kind`` with other settings, and
    ``force``). Raises :class:`ConfigError` for anything else: not a folder, a folder
    without trucesim's marker, a result of another kind, different settings
    without ``force``, or a folder holding entries trucesim did not write there
    (:func:`foreign_entries`) when it would be replaced (``"replace"``, or ``"same"``
    with ``replaces_same``: a sweep resumes a ``"same"`` folder without replacing it).
    """
    folder = Path(folder)
    marker = result_of_kind(folder, kind)
    if marker is None:
        return "new"
    old = marker.get("settings")
    new = json.loads(json.dumps(settings, default=str))
    if old != new and not force:
        raise ConfigError(str(folder), "", f"holds a '{kind}' result made with "
                          f"{describe_differences(old, new)}; use --force to replace it, "
                          "or another --out")
    state = "same" if old == new else "replace"
    foreign = foreign_entries(folder, marker)
    if foreign and (state == "replace" or replaces_same):
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more"
                                          if len(foreign) > 5 else "")
        raise ConfigError(str(folder), "", f"holds what this '{kind}' did not write: {shown}; "
                          "a rerun replaces the folder, so nothing is touched (not even "
                          "with --force): move them elsewhere, or choose another --out")
    return state


# ---------------------------------------------------------------------------- lock
class LockHeld(ConfigError):
    """Another live process holds the folder's lock."""


def lock_path(folder: str | Path) -> Path:
    """The lock file of a results folder: a hidden sibling, so replacing the folder
    never removes it."""
    folder = Path(folder)
    return folder.parent / f".{folder.name}.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FolderLock:
    """An exclusive lock on a results folder, held by one process at a time.

    The lock file (``.<folder>.lock`` beside the folder) holds the owner's pid, host
    and start time. A lock left by a process that no longer runs on this host is stale
    and taken over; one held by a live process (or on another host) is refused with a
    message naming the owner.
    """

    def __init__(self, folder: str | Path, command: str = "trucesim"):
        self.folder = Path(folder)
        self.path = lock_path(self.folder)
        self.command = command
        self.held = False

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockHeld`."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(str(self.folder), "", f"cannot create its parent folder: "
                              f"{exc.strerror}") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except OSError as exc:
                if isinstance(exc, FileExistsError):
                    fd = None
                else:
                    raise ConfigError(str(self.folder), "", f"cannot write here: "
                                      f"{exc.strerror}") from None
            if fd is None:
                owner = self._owner()
                if owner is not None and self._stale(owner):
                    self.path.unlink(missing_ok=True)
                    if owner.get("pid") != os.getpid():
                        notice(f"{self.path}: removed the lock of process {owner.get('pid')} "
                               f"({owner.get('command')}, since {owner.get('started')}), "
                               "which is gone")
                    continue
                who = (f"process {owner.get('pid')} on {owner.get('host')} "
                       f"({owner.get('command')}, since {owner.get('started')})"
                       if owner else "another process")
                raise LockHeld(str(self.folder), "", f"in use by {who}: wait for it to "
                               f"finish (if that process is gone, delete {self.path})") from None
            with os.fdopen(fd, "w") as fh:
                json.dump(info, fh)
            self.held = True
            return
        raise LockHeld(str(self.folder), "", f"could not take the lock {self.path}")

    def _owner(self) -> dict[str, Any] | None:
        try:
            owner = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return owner if isinstance(owner, dict) else None

    @staticmethod
    def _stale(owner: dict[str, Any]) -> bool:
        pid = owner.get("pid")
        return (owner.get("host") == socket.gethostname() and isinstance(pid, int)
                and (pid == os.getpid() or not _alive(pid)))

    def release(self) -> None:
        """Remove the lock file if this process still holds it."""
        if self.held:
            owner = self._owner()
            if owner is None or owner.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# ---------------------------------------------------------------------------- staging
#: Written into a staging folder (``.<out>.XXXXXXXX/``) as soon as it is made: a later
#: run may remove the folder once its owner is gone.
STAGE_MARKER = ".trucesim-staging.json"


def notice(text: str) -> None:
    """Say on stderr what was done without being asked (a stale lock or stage removed)."""
    import sys

    print(f"note: {text}", file=sys.stderr)


def _mark_stage(stage: Path) -> None:
    stage.joinpath(STAGE_MARKER).write_text(json.dumps(
        {"tool": "trucesim", "pid": os.getpid(), "host": socket.gethostname()}))


def _stage_owner_gone(stage: Path, final: Path, kind: str) -> bool:
    """Whether ``stage`` is a staging folder of ``final`` that trucesim made and whose
    process is gone: it holds :data:`STAGE_MARKER` of a dead process on this host, or
    (made before that marker) nothing but the files ``kind`` writes, or (an ``.old.``
    folder) nothing but ``final``'s name holding trucesim's marker."""
    entries = {p.name for p in stage.iterdir()}
    if STAGE_MARKER in entries:
        try:
            owner = json.loads((stage / STAGE_MARKER).read_text())
        except (OSError, ValueError):
            return False
        return (isinstance(owner, dict) and owner.get("tool") == "trucesim"
                and owner.get("host") == socket.gethostname()
                and isinstance(owner.get("pid"), int) and not _alive(owner["pid"]))
    if entries == {final.name}:
        return read_marker(stage / final.name) is not None
    return entries <= KNOWN_FILES.get(kind, set()) | {MARKER}


def remove_stale_stages(final: str | Path, kind: str) -> list[Path]:
    """Remove the staging folders (``.<final>.XXXXXXXX/``, ``.<final>.old.XXXXXXXX/``) that
    a killed command left beside ``final`` (call with ``final``'s lock held), saying so
    on stderr. Returns the folders removed."""
    import re

    final = Path(final)
    pattern = re.compile(r"\." + re.escape(final.name) + r"\.(old\.)?[A-Za-z0-9_]{8}")
    removed = []
    try:
        candidates = list(final.parent.iterdir())
    except OSError:
        return removed
    for p in candidates:
        if (pattern.fullmatch(p.name) and p.is_dir() and not p.is_symlink()
                and _stage_owner_gone(p, final, kind)):
            shutil.rmtree(p, ignore_errors=True)
            notice(f"removed {p}, a staging folder left by a {kind} that was killed")
            removed.append(p)
    return removed


@contextmanager
def result_folder(final: str | Path, kind: str, settings: dict[str, Any], *,
                  force: bool = False) -> Iterator[Path]:
    """Build a results folder of ``kind`` aside and move it to ``final`` on success.

    Holds the folder's lock throughout. Before anything is written, ``final`` is
    checked with :func:`claim` (only an absent or empty folder, or trucesim's own
    result of the same kind, may be replaced; different settings need ``force``). The
    marker is written into the new folder. If the body raises, nothing is left behind
    and ``final`` is untouched.
    """
    final = Path(final)
    with FolderLock(final, kind):
        claim(final, kind, settings, force)
        remove_stale_stages(final, kind)
        stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        _mark_stage(stage)
        try:
            yield stage
            (stage / STAGE_MARKER).unlink()
            write_marker(stage, kind, settings)
            os.chmod(stage, 0o755)
            for f in stage.rglob("*"):
                os.chmod(f, 0o755 if f.is_dir() else 0o644)
            claim(final, kind, settings, force)  # unchanged while we worked (we hold the lock)
            if final.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=final.parent))
                _mark_stage(old)
                os.replace(final, old / final.name)
                os.replace(stage, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(stage, final)
        finally:
            if stage.exists():
                shutil.rmtree(stage)


@contextmanager
def resumable_folder(final: str | Path, kind: str, settings: dict[str, Any], *,
                     force: bool = False, files: list[str] | tuple[str, ...] = ()
                     ) -> Iterator[str]:
    """A results folder of ``kind`` written in place, so that a killed command resumes
    from what it finished (a backtest's origins, discover's sweeps).

    Holds the folder's lock throughout. :func:`claim` decides first, writing nothing
    (only an absent or empty folder, or trucesim's own result of ``kind``, may be used;
    other settings need ``force``); a result of other settings is then removed whole
    (claim proved it is trucesim's), the folder created and the marker written, listing
    ``files``. Yields the claim: ``"new"``, ``"same"`` (resume: the files already there
    are the same settings' work) or ``"replace"``.
    """
    final = Path(final)
    with FolderLock(final, kind):
        state = claim(final, kind, settings, force, replaces_same=False)
        if state == "replace":
            shutil.rmtree(final)
        final.mkdir(parents=True, exist_ok=True)
        write_marker(final, kind, settings, files=list(files))
        yield state

