"""Reading results folders for plotting: a ``trucesim run`` folder or a sweep folder.

A run folder (``manifest.json`` with ``"kind": "run"``) holds ``daily.parquet``: every
run's daily table stacked with ``variant`` and ``replicate`` columns. A sweep folder
(``"kind": "sweep"``) holds ``runs.parquet`` (one row per run: ``run_id``, ``point``,
``replicate``, the design parameters by name, ``variant`` for a variants design,
``status``, and the summary outcomes) and, when the experiment kept them, daily series
in ``daily/<run_id>.parquet``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trucesim.plots.series import variants_of
from trucesim.runner.experiment import RESERVED_COLUMNS
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.schema import Scenario
from trucesim.uncertainty import NOISE_ONLY


@dataclass
class RunPlotData:
    """A ``trucesim run`` results folder read into memory for plotting."""

    folder: Path
    manifest: dict[str, Any]
    daily: pd.DataFrame
    scenario: Scenario | None

    kind = "run"

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.manifest.get("scenario", {}).get("name") or self.folder.name

    @property
    def uncertainty(self) -> str:
        """What the intervals over replicates carry (runs made before posteriors: noise)."""
        return self.manifest.get("uncertainty") or NOISE_ONLY

    @property
    def counterfactual(self) -> str | None:
        """The scenario's counterfactual variant, if it was run."""
        cf = self.manifest.get("scenario", {}).get("counterfactual")
        return cf if cf in variants_of(self.daily) else None


@dataclass
class SweepPlotData:
    """A sweep results folder read for plotting: the runs table in memory, and the
    design's parameters and outcomes (the daily series through the runner's
    :class:`~trucesim.runner.results.SweepResults`)."""

    folder: Path
    manifest: dict[str, Any]
    runs: pd.DataFrame
    scenario: Scenario | None
    _daily: pd.DataFrame | None = field(default=None, repr=False)

    kind = "sweep"

    @property
    def name(self) -> str:
        """The experiment's name."""
        return self.manifest.get("experiment", {}).get("name") or self.folder.name

    @property
    def uncertainty(self) -> str:
        """What the spread over replicates carries (sweeps before posteriors: noise)."""
        return self.manifest.get("uncertainty") or NOISE_ONLY

    @property
    def method(self) -> str:
        """The design method: grid, lhs, sobol, morris or variants."""
        return str(self.manifest.get("design", {}).get("method", ""))

    @property
    def replicates(self) -> int:
        """Replicates per design point."""
        return int(self.manifest.get("replicates") or self.runs["replicate"].nunique())

    @property
    def parameters(self) -> list[str]:
        """Design parameter columns of runs.parquet, in design order."""
        names = self.manifest.get("design", {}).get("parameters") or []
        return [n for n in names if n in self.runs.columns]

    @property
    def varied(self) -> list[str]:
        """Design parameters that take more than one value."""
        return [p for p in self.parameters if self.runs[p].nunique(dropna=True) > 1]

    @property
    def outcomes(self) -> list[str]:
        """Numeric summary outcome columns of runs.parquet."""
        skip = RESERVED_COLUMNS | set(self.parameters)
        return [c for c in self.runs.columns
                if c not in skip and pd.api.types.is_numeric_dtype(self.runs[c])]

    @property
    def ok_runs(self) -> pd.DataFrame:
        """Runs that finished."""
        if "status" not in self.runs:
            return self.runs
        return self.runs[self.runs["status"] == "ok"]

    @property
    def has_daily(self) -> bool:
        """Whether daily series were stored."""
        d = self.folder / "daily"
        return d.is_dir() and any(d.glob("*.parquet"))

    def daily(self) -> pd.DataFrame:
        """Stored daily series of a variants design, stacked with ``variant`` and ``replicate``.

        Raises ConfigError when the sweep kept no daily series or is not a variants design.
        """
        if self._daily is not None:
            return self._daily
        if not self.has_daily:
            raise ConfigError(str(self.folder), "daily",
                              "this sweep kept no daily series (outcomes.daily = false)")
        if "variant" not in self.runs:
            raise ConfigError(str(self.folder), "design.method",
                              f"daily-series plots of a sweep need a 'variants' design, not "
                              f"{self.method!r}")
        from trucesim.runner.results import SweepResults

        ok = self.ok_runs
        daily = SweepResults(self.folder).daily()
        if daily.empty:
            raise ConfigError(str(self.folder), "daily", "no daily series of finished runs")
        daily = daily.drop(columns=[c for c in ("run_id", "point") if c in daily])
        order = list(dict.fromkeys(ok["variant"].astype(str)))
        daily["variant"] = pd.Categorical(daily["variant"], categories=order)
        daily["date"] = pd.to_datetime(daily["date"])
        self._daily = daily
        return daily


@dataclass
class MainJobPlotData:
    """The folder of a case's branches from the nowcast (``trucesim run`` with no scenario,
    the main job, or ``trucesim run CASE``), kept as each branch's daily mean and 5/50/95%
    points over the particles (``branches_daily.parquet``)."""

    folder: Path
    manifest: dict[str, Any]
    branches: pd.DataFrame

    kind = "main"

    @property
    def name(self) -> str:
        return f"{self.manifest.get('case', 'case')}-nowcast"


PlotData = RunPlotData | SweepPlotData | MainJobPlotData


def load_results(folder: str | Path) -> PlotData:
    """Open a run or sweep results folder.

    Raises:
        ConfigError: ``folder: reason`` when it is not a trucesim results folder, or a
            file it needs is missing or unreadable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(str(folder), "", "no such folder (expected a trucesim run or "
                          "sweep results folder)")
    mpath = folder / "manifest.json"
    if not mpath.exists():
        raise ConfigError(str(folder), "", "not a trucesim results folder (no manifest.json); "
                          "give the folder written by `trucesim run` or `trucesim sweep`")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError) as exc:  # not JSON, not UTF-8 (random bytes), unreadable
        raise ConfigError(str(mpath), "", f"unreadable manifest: {exc}") from None
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    if kind == "run" and "branches" in manifest:  # a case's branches from the nowcast
        table = _read_parquet(folder / "branches_daily.parquet")
        table["date"] = pd.to_datetime(table["date"])
        return MainJobPlotData(folder, manifest, table)
    if kind == "run":
        daily = _read_parquet(folder / "daily.parquet")
        daily["date"] = pd.to_datetime(daily["date"])
        return RunPlotData(folder, manifest, daily, _scenario(manifest.get("scenario"), mpath))
    if kind == "sweep":
        runs = _read_parquet(folder / "runs.parquet")
        base = manifest.get("experiment", {}).get("base_scenario")
        return SweepPlotData(folder, manifest, runs, _scenario(base, mpath))
    if kind is None:
        raise ConfigError(str(mpath), "", "not a trucesim results manifest (no 'kind'); give "
                          "the folder written by `trucesim run` or `trucesim sweep`")
    raise ConfigError(str(mpath), "kind", f"unknown results kind {kind!r}; valid: run, sweep")


def _read_parquet(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise ConfigError(str(path.parent), "", f"incomplete results folder: no {path.name}")
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user problem
        raise ConfigError(str(path), "", f"unreadable Parquet file: {exc}") from None


def _scenario(data: dict | None, source: Path) -> Scenario | None:
    """The scenario stored in a manifest (None if absent or not parseable by this version)."""
    if not isinstance(data, dict):
        return None
    data = {k: v for k, v in data.items() if k != "source"}
    try:
        return Scenario.parse(data, str(source))
    except ConfigError:
        return None
