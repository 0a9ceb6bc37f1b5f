"""The folder of ``trucesim calibrate``: what it holds, and whether a run may use it.

A calibration folder holds trucesim's marker (:mod:`trucesim.folders`), pyabc's SQLite
history (:data:`HISTORY`: every finished generation and the calibration's digest), the
posterior file (:data:`POSTERIOR`), the report (:data:`REPORT`), figures, tables and a
manifest. :func:`claim` decides, writing nothing, whether ``--out`` is new or holds a
history to resume; :func:`history_digest` reads the digest a history was made with.
"""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

from trucesim.folders import result_of_kind
from trucesim.scenario.errors import ConfigError

HISTORY = "history.db"
POSTERIOR = "posterior.toml"
REPORT = "report.md"


def claim(out: Path, resume: bool) -> bool:
    """Whether ``out`` holds a history to resume; refuses (ConfigError) anything else:
    a folder trucesim did not make or of another kind (:func:`trucesim.folders.result_of_kind`),
    a calibration without a history, a history without ``--resume``, ``--resume`` with
    nothing to resume. Writes nothing.
    """
    marker = result_of_kind(out, "calibration")
    if marker is None:
        if resume:
            raise ConfigError(str(out), "", "holds no calibration to resume (drop --resume "
                              "to start one)")
        return False
    if not (out / HISTORY).is_file():
        raise ConfigError(str(out), "", f"holds a calibration without a {HISTORY} (made by an "
                          "older trucesim); choose another --out")
    if not resume:
        raise ConfigError(str(out), "", f"holds a calibration history ({HISTORY}); add "
                          "--resume to continue it, or choose another --out")
    return True


def history_digest(db: Path) -> str:
    """The calibration digest recorded in a history database, read without writing to it.

    Raises:
        ConfigError: the file is not a readable pyabc history of exactly one run with a
            trucesim digest (corrupted, truncated, or some other database).
    """
    why = None
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            ok = con.execute("PRAGMA quick_check").fetchone()
            if ok is None or ok[0] != "ok":
                why = f"integrity check failed ({ok[0] if ok else 'no answer'})"
            else:
                rows = con.execute("SELECT json_parameters FROM abc_smc").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        why = str(exc)
    if why is None and len(rows) != 1:
        why = f"{len(rows)} runs in it, not one"
    if why is None:
        try:
            meta = ast.literal_eval(rows[0][0])
            digest = meta["trucesim_digest"]
        except (ValueError, SyntaxError, TypeError, KeyError):
            why = "no trucesim calibration digest in it"
    if why is not None:
        raise ConfigError(str(db), "", f"is not a readable pyabc history ({why}); nothing was "
                          "changed: use another --out")
    return str(digest)
