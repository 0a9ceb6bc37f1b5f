"""A handle on a sweep's results folder: the runs table and the daily series."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from trucesim.runner.store import SweepStore
from trucesim.scenario.errors import ConfigError


class SweepResults:
    """Results of a sweep, read lazily from its folder.

    Attributes:
        folder: the results folder.
        manifest: the parsed ``manifest.json``.
        report: what the invocation that returned this handle did (or None).
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.store = SweepStore(self.folder)
        manifest = self.store.read_manifest()
        if manifest is None:
            raise ConfigError(str(self.folder), "", "not a sweep results folder (no manifest.json)")
        self.manifest: dict[str, Any] = manifest
        if manifest.get("kind") != "sweep":
            raise ConfigError(str(self.store.manifest_path), "kind",
                              f"a {manifest.get('kind') or 'kind-less'!r} result, not a sweep")
        if not self.store.runs_path.exists():
            raise ConfigError(str(self.folder), "", "no runs.parquet: the sweep never finished "
                              "a session; run the same sweep command again to resume it")
        self.report = None

    def __repr__(self) -> str:
        return f"SweepResults({str(self.folder)!r}, runs={len(self.runs)})"

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per run: run_id, point, replicate, design values, seed, status, outcomes."""
        return pd.read_parquet(self.store.runs_path)

    @property
    def design(self) -> dict[str, Any]:
        """The design section of the manifest (method, parameters, points, SALib problem)."""
        return self.manifest["design"]

    def _selected(self, run_ids: Iterable[str] | None, where: dict[str, Any]) -> pd.DataFrame:
        runs = self.runs[self.runs["status"] == "ok"]
        if run_ids is not None:
            runs = runs[runs["run_id"].isin(list(run_ids))]
        for col, value in where.items():
            if col not in runs.columns:
                raise KeyError(f"runs.parquet has no column {col!r}")
            values = value if isinstance(value, list | tuple | set) else [value]
            runs = runs[runs[col].isin(values)]
        return runs

    def iter_daily(self, run_ids: Iterable[str] | None = None, columns: list[str] | None = None,
                   **where: Any) -> Iterator[pd.DataFrame]:
        """Yield the daily table of each selected run, one at a time (bounded memory)."""
        if self.manifest.get("daily_columns") is None:
            raise ConfigError(str(self.folder), "outcomes.daily",
                              "this sweep kept no daily series (set outcomes.daily)")
        keys = [c for c in ("point", "replicate", "variant") if c in self.runs.columns]
        for row in self._selected(run_ids, where).itertuples(index=False):
            part = pd.read_parquet(self.store.daily_dir / f"{row.run_id}.parquet",
                                   columns=None if columns is None else ["run_id", *columns])
            for i, key in enumerate(keys):
                part.insert(1 + i, key, getattr(row, key))
            yield part

    def daily(self, run_ids: Iterable[str] | None = None, columns: list[str] | None = None,
              **where: Any) -> pd.DataFrame:
        """Daily series of the selected successful runs, stacked.

        Select with ``run_ids`` and/or equality filters on runs.parquet columns, e.g.
        ``results.daily(variant="truce", columns=["homicides"])`` or
        ``results.daily(point=[0, 1])``. Each row carries run_id, point and replicate
        (and variant). Select what you need: only those parts are read.
        """
        frames = list(self.iter_daily(run_ids, columns, **where))
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)


def open_results(folder: str | Path) -> SweepResults:
    """Open an existing sweep results folder."""
    return SweepResults(folder)
