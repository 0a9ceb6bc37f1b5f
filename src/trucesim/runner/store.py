"""The results folder of a sweep: layout, manifest, per-run records, consolidation.

Layout::

    <out>/manifest.json        resolved experiment, version, seeds, design, sessions
    <out>/runs.parquet         one row per run (consolidated from records/)
    <out>/records/<run>.json   the record of each finished or failed run
    <out>/daily/<run>.parquet  daily series of each run

Only the client (the process running the sweep) writes here: workers return each run's
record and kept daily columns (:mod:`trucesim.runner.tasks`), so they need no access to
this folder, as on a cluster whose workers do not see the client's disk. Results are
written as they arrive, so the client holds only the runs in flight.

Every file is written atomically (temporary name, then rename). A run counts as done
only when its record exists, and its daily part is written before its record, so a
sweep killed at any instant leaves nothing that a resume would wrongly trust: runs
without a record are simply run again (overwriting any daily part they left).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from trucesim.atomic import atomic_path, write_json, write_parquet
from trucesim.folders import KNOWN_FILES, claim, manifest, read_marker, write_marker
from trucesim.runner.experiment import RESERVED_COLUMNS, Experiment, Point
from trucesim.scenario.errors import ConfigError

#: Attempts a failed run gets in total (the first, and one retry on resume).
MAX_ATTEMPTS = 2
#: Columns of runs.parquet that vary between identical sweeps (timings).
TIMING_COLUMNS = ("elapsed_s",)


class CodeChangedWarning(UserWarning):
    """A sweep is resumed with different code than the one that started it."""


def run_id(point: int, replicate: int) -> str:
    """Stable identifier of a run: ``p<point>-r<replicate>``."""
    return f"p{point:05d}-r{replicate:04d}"


class SweepStore:
    """The results folder of one experiment."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    @property
    def records_dir(self) -> Path:
        return self.folder / "records"

    @property
    def daily_dir(self) -> Path:
        return self.folder / "daily"

    @property
    def runs_path(self) -> Path:
        return self.folder / "runs.parquet"

    # ------------------------------------------------------------------ opening
    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None when there is none; ConfigError when it is not a
        readable JSON object."""
        if not self.manifest_path.exists():
            return None
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc).split("\n")[0]
            raise ConfigError(str(self.manifest_path), "", f"unreadable manifest: "
                              f"{reason}") from None
        if not isinstance(manifest, dict):
            raise ConfigError(str(self.manifest_path), "", "unreadable manifest: not a "
                              "JSON object")
        return manifest

    def check(self, exp: Experiment, *, force: bool = False, resume: bool = False) -> bool:
        """Decide whether to start fresh or resume; return True when resuming.

        Only a folder trucesim made for a sweep (its marker, see :mod:`trucesim.folders`)
        is resumed or, with ``force``, replaced; one holding a sweep with different
        settings needs ``force`` and the refusal names the settings. Anything else that
        is not empty is refused. Writes nothing.
        """
        folder = self.folder
        if resume and force:
            raise ConfigError(str(folder), "", "--resume and --force contradict each other "
                              "(--force starts the sweep over)")
        settings = exp.settings()
        state = claim(folder, "sweep", settings, force, replaces_same=force)
        if state == "same" and not force:
            if self.read_manifest() is None:  # a marker but no manifest: start over
                return False
            return True
        if resume:
            raise ConfigError(str(folder), "", "nothing to resume: no sweep results here")
        return False

    def start(self, exp: Experiment, resuming: bool) -> dict[str, Any]:
        """Create (or clear, when replacing) the folder and write the marker and manifest.

        Clearing happens only after :meth:`check` proved the folder is trucesim's sweep
        result.
        """
        if not resuming and self.folder.exists() and read_marker(self.folder) is not None:
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_marker(self.folder, "sweep", exp.settings(), files=sorted(KNOWN_FILES["sweep"]))
        self.records_dir.mkdir(exist_ok=True)
        if exp.daily_columns() is not None:
            self.daily_dir.mkdir(exist_ok=True)
        self.remove_stale_temporaries()
        manifest = self.read_manifest() if resuming else None
        if manifest is None:
            manifest = new_manifest(exp)
        elif manifest.get("code_fingerprint") != code_fingerprint():
            warnings.warn(
                f"{self.folder}: the finished runs were made by different trucesim code "
                f"(version {manifest.get('trucesim_version')}, code "
                f"{manifest.get('code_fingerprint')}; now {code_fingerprint()}); resuming "
                "mixes the two. Use --force to start over.",
                CodeChangedWarning, stacklevel=3)
        write_json(self.manifest_path, manifest)
        return manifest

    def remove_stale_temporaries(self) -> int:
        """Delete temporary files left by a killed sweep; return how many."""
        n = 0
        for folder in (self.folder, self.records_dir, self.daily_dir):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp"):
                    tmp.unlink(missing_ok=True)
                    n += 1
        return n

    # ------------------------------------------------------------------ records
    def load_records(self) -> dict[str, dict[str, Any]]:
        """Every stored run record, by run id (unreadable or incomplete ones are ignored:
        those runs are run again)."""
        records = {}
        if self.records_dir.is_dir():
            for path in self.records_dir.glob("p*.json"):
                try:
                    rec = json.loads(path.read_text())
                except (ValueError, OSError):
                    continue
                if (not isinstance(rec, dict) or rec.get("run_id") != path.stem
                        or rec.get("status") not in ("ok", "failed")):
                    continue  # missing fields or not this run's: not done, run it again
                records[rec["run_id"]] = rec
        return records

    def save_daily(self, run_id: str, data: bytes) -> None:
        """Write one run's daily part (Arrow IPC bytes from a worker) as Parquet,
        atomically; done before the run's record, which marks the run done."""
        import pyarrow.parquet as pq

        with atomic_path(self.daily_dir / f"{run_id}.parquet") as tmp:
            pq.write_table(decode_daily(data), tmp)

    def save_record(self, record: dict[str, Any]) -> None:
        """Store one run's record (this marks the run done)."""
        write_json(self.records_dir / f"{record['run_id']}.json", record)

    def consolidate(self, exp: Experiment,
                    records: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
        """Build and atomically write runs.parquet from the records; return it.

        ``records`` are the run records by run id (default: read from records/).
        """
        table = runs_table(exp, self.load_records() if records is None else records)
        write_parquet(self.runs_path, table)
        return table

    def finish(self, manifest: dict[str, Any], session: dict[str, Any],
               counts: dict[str, int]) -> None:
        """Append a session's timings and totals to the manifest."""
        manifest.setdefault("sessions", []).append(session)
        manifest["totals"] = counts
        manifest["status"] = "complete" if counts["missing"] == 0 else "incomplete"
        write_json(self.manifest_path, manifest)


#: Key of a worker's record holding the run's kept daily columns (Arrow IPC bytes); the
#: client takes it out and writes the daily part before it stores the record.
DAILY = "daily_ipc"
#: Key of a worker's record holding the fingerprint of the code that ran it.
CODE = "code"


def encode_daily(part: pd.DataFrame) -> bytes:
    """A daily part as Arrow IPC stream bytes, zstd-compressed (what a worker returns)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(part, preserve_index=False)
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def decode_daily(data: bytes):
    """The Arrow table of :func:`encode_daily`'s bytes (read on the client)."""
    import pyarrow as pa

    with pa.ipc.open_stream(pa.py_buffer(data)) as reader:
        return reader.read_all()


#: Package parts that do not affect results (left out of the code fingerprint).
PRESENTATION = ("cli.py", "plots", "dashboard")


def code_fingerprint() -> str:
    """Hash of the trucesim source files that can change results.

    The package version alone does not change while the code is developed; resuming a
    sweep with different code would silently mix runs of two models.
    """
    import hashlib

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in PRESENTATION:
            continue
        digest.update(str(rel).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def new_manifest(exp: Experiment) -> dict[str, Any]:
    """The manifest of a new sweep (sessions and totals are added as it runs)."""
    return manifest(
        "sweep", **{
        "code_fingerprint": code_fingerprint(),
        "experiment": exp.resolved(),
        "fingerprint": exp.fingerprint(),
        "root_seed": exp.seed,
        "replicates": exp.replicates,
        "seeding": "replicate r of every design point uses numpy "
                   "SeedSequence(root_seed).spawn(replicates)[r] == "
                   "SeedSequence(root_seed, spawn_key=(r,)) (common random numbers)",
        "uncertainty": exp.uncertainty,
        "posterior": None if exp.draws is None else exp.draws.describe(),
        "design": {
            "method": exp.design.method,
            "parameters": exp.parameter_names,
            "problem": exp.problem() if exp.design.method in ("sobol", "morris", "lhs") else None,
            "points": [point_entry(p) for p in exp.points],
        },
        "runs": exp.runs,
        "daily_columns": exp.daily_columns(),
        "storage": "client: workers return each run's outputs, only the sweep process "
                   "writes this folder",
        "status": "running",
        "sessions": [],
    })


def point_entry(p: Point) -> dict[str, Any]:
    entry: dict[str, Any] = {"point": p.index, **p.values}
    if p.label is not None:
        entry["variant"] = p.label
    return entry


def runs_table(exp: Experiment, records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per recorded run in (point, replicate) order."""
    rows = []
    for p in exp.points:
        for r in range(exp.replicates):
            rec = records.get(run_id(p.index, r))
            if rec is None:
                continue
            row: dict[str, Any] = {"run_id": rec["run_id"], "point": p.index, "replicate": r}
            if exp.design.method == "variants":
                row["variant"] = p.label
            row.update(p.values)
            if exp.draws is not None:
                row["draw"] = r
            row.update(seed=exp.seed, status=rec["status"], error=rec.get("error"),
                       attempts=rec.get("attempts", 1), elapsed_s=rec.get("elapsed_s"))
            for k, v in (rec.get("outcomes") or {}).items():
                row[k] = v
            rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["run_id", "point", "replicate", "seed", "status", "error"])
    fixed = {*RESERVED_COLUMNS, *exp.parameter_names}
    for col in table.columns:
        if col not in fixed:
            table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    table["error"] = table["error"].astype(object)
    return table
