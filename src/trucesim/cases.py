"""Cases: a truce as an analyst saw it on one day, with its own record and as-of date.

A case is a folder holding ``case.toml`` and the files it names (each path relative to
``case.toml``, or a bare bundled scenario name)::

    name = "my-truce"
    description = "..."
    scenario = "scenario.toml"        # the timeline as it happened, up to the as-of date
    record = "record.csv"             # the observed record (period_start, period_end, ...)
    events = "events.csv"             # dated events with their sources (date, event, source)
    as_of = 2020-06-30                # the analyst's present: nothing after it is an input
    hindcast_cutoff = 2019-12-31      # optional: a protocol-A style check fits data to here

    [seeds]
    run = 1                           # the branches' default seed (trucesim run CASE)
    nowcast = 2                       # trucesim nowcast CASE's default seed

    [posterior]                       # posterior files by protocol (optional each)
    hindcast = "posterior-A.toml"     # protocol A: data_until <= hindcast_cutoff
    nowcast = "posterior.toml"        # protocol B: data_until <= as_of

    [calibration]                     # the calibration files that make them (optional)
    nowcast = "calibration.toml"

    [branches]
    scenario = "branches.toml"        # a scenario whose variants start after as_of
    status_quo = "no-truce"           # the variant the others are compared with

The rule "nothing after the as-of date" is checked here for every case, each refusal one
``file: key.path: reason`` line: the as-of date (and the hindcast cutoff) must lie inside
the scenario; the scenario may have no phase starting, and no event other than a
``marker`` dated, after it; every branch must start after it and change only the
timeline; the status quo must name a branch; the record may hold only known quantities
and no two rows of one quantity that overlap in part (a row inside another is fine: the
nowcast assimilates the outer one's remainder). Record rows after the as-of date are
loaded for display only ("what happened"): :meth:`Case.rows_until` is what the nowcast
and the calibrations read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator

from trucesim.calibration.observed import (
    CONTEXT_QUANTITIES,
    QUANTITY_METRICS,
    ObservedRow,
    load_observed,
)
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.files import is_bare_name, named_path, read_text
from trucesim.scenario.load import load_scenario, resolve_path
from trucesim.scenario.maincase import (
    CASE_FILE,
    bundled_cases,
    bundled_cases_dir,
    main_case_path,
)
from trucesim.scenario.names import check_name
from trucesim.scenario.params import Frozen
from trucesim.scenario.posterior import Posterior, load_posterior
from trucesim.scenario.schema import Scenario

__all__ = ["CASE_FILE", "Case", "CaseSpec", "bundled_cases", "bundled_cases_dir",
           "case_path", "is_case", "load_case", "main_case_path"]
#: Known record quantities: those with a simulated counterpart and the context ones.
KNOWN_QUANTITIES = frozenset(QUANTITY_METRICS) | frozenset(CONTEXT_QUANTITIES)
#: Protocol -> the case date it fits data up to.
PROTOCOLS = {"A": "hindcast_cutoff", "B": "as_of"}


class CaseSeeds(Frozen):
    """Default seeds of the case's commands."""

    run: int = Field(0, ge=0, le=2**63 - 1, description="trucesim run CASE (the branches).")
    nowcast: int = Field(0, ge=0, le=2**63 - 1, description="trucesim nowcast CASE.")


class CasePosteriors(Frozen):
    """Posterior files by protocol (relative to the case file)."""

    hindcast: str | None = Field(None, description="Protocol A: data up to hindcast_cutoff.")
    nowcast: str | None = Field(None, description="Protocol B: data up to as_of.")


class CaseCalibrations(Frozen):
    """The calibration files that fit the posteriors (relative to the case file)."""

    hindcast: str | None = None
    nowcast: str | None = None


class CaseBranches(Frozen):
    """The branches: a scenario's variants from the day after the as-of date."""

    scenario: str = Field(description="Scenario file (relative to the case file) or bundled "
                          "name whose variants are the branches.")
    status_quo: str = Field(description="The variant the other branches are compared with.")


class CaseSpec(Frozen):
    """The contents of ``case.toml``."""

    name: str
    description: str = ""
    scenario: str
    record: str
    events: str
    as_of: dt.date
    hindcast_cutoff: dt.date | None = None
    seeds: CaseSeeds = Field(default_factory=CaseSeeds)
    posterior: CasePosteriors = Field(default_factory=CasePosteriors)
    calibration: CaseCalibrations = Field(default_factory=CaseCalibrations)
    branches: CaseBranches
    source: str = Field("<case>", exclude=True)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return check_name(name)

    @field_validator("hindcast_cutoff")
    @classmethod
    def _before_as_of(cls, cutoff: dt.date | None, info) -> dt.date | None:
        as_of = info.data.get("as_of")
        if cutoff is not None and as_of is not None and cutoff >= as_of:
            raise ValueError(f"{cutoff} is not before the as-of date {as_of}")
        return cutoff


@dataclass(frozen=True)
class EventRow:
    """A dated event of the case's events file, with its source."""

    date: dt.date
    event: str
    source: str


@dataclass
class Case:
    """A loaded, checked case.

    Attributes:
        spec: the validated ``case.toml``.
        path: the case file.
        scenario: the timeline as it happened (calibrated, as ``load_scenario`` gives it).
        branch_scenario: the scenario whose variants are the branches.
        record: every row of the record (rows after the as-of date: display only).
        events: the events file's rows.
    """

    spec: CaseSpec
    path: Path
    scenario: Scenario
    branch_scenario: Scenario
    record: list[ObservedRow]
    events: list[EventRow]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def as_of(self) -> dt.date:
        return self.spec.as_of

    @property
    def record_path(self) -> Path:
        return self.file(self.spec.record, "record")

    def file(self, spec: str, key: str) -> Path:
        """A path named at ``key`` of the case file, relative to it."""
        return named_path(spec, self.path, key)

    def cutoff(self, protocol: str, source: str | None = None, key: str = "protocol") -> dt.date:
        """The last day of data a fit of ``protocol`` may use: A the hindcast cutoff, B the
        as-of date.

        Raises:
            ConfigError: protocol A for a case without a hindcast cutoff.
        """
        if protocol == "A":
            if self.spec.hindcast_cutoff is None:
                raise ConfigError(source or str(self.path), key, f"protocol A needs a hindcast "
                                  f"cutoff, and case {self.name} ({self.path}) has none")
            return self.spec.hindcast_cutoff
        return self.as_of

    def rows_until(self, date: dt.date | None = None) -> list[ObservedRow]:
        """The record rows that end on or before ``date`` (default: the as-of date)."""
        date = self.as_of if date is None else date
        return [r for r in self.record if r.end <= date]

    def rows_after(self, date: dt.date | None = None) -> list[ObservedRow]:
        """The record rows that end after ``date`` (display only: "what happened")."""
        date = self.as_of if date is None else date
        return [r for r in self.record if r.end > date]

    def posterior_path(self, protocol: str) -> Path | None:
        """The case's posterior file of ``protocol`` (None if it names none)."""
        spec = self.spec.posterior.hindcast if protocol == "A" else self.spec.posterior.nowcast
        key = "posterior.hindcast" if protocol == "A" else "posterior.nowcast"
        return None if spec is None else self.file(spec, key)

    def check_posterior(self, posterior: Posterior, as_of: dt.date | None = None) -> Posterior:
        """Refuse a posterior fitted on data after ``as_of`` (default: the case's) or after
        its protocol's date in this case; return it otherwise."""
        as_of = self.as_of if as_of is None else as_of
        if posterior.protocol not in PROTOCOLS:
            raise ConfigError(posterior.source, "protocol",
                              f"{posterior.protocol!r} is not a protocol (valid: A, B)")
        cutoff = self.cutoff(posterior.protocol, posterior.source)
        if posterior.data_until > cutoff:
            raise ConfigError(posterior.source, "data_until", f"{posterior.data_until} is after "
                              f"protocol {posterior.protocol}'s date in case {self.name}, "
                              f"{cutoff}")
        if posterior.data_until > as_of:
            raise ConfigError(posterior.source, "data_until", f"{posterior.data_until} is after "
                              f"the as-of date {as_of}: nothing after it may be an input")
        return posterior

    def posterior_for(self, as_of: dt.date | None = None) -> Path:
        """The case's posterior fitted on the most data up to ``as_of`` (protocol B if its
        data end by then, else A).

        Raises:
            ConfigError: when no posterior of the case was fitted on data up to ``as_of``.
        """
        as_of = self.as_of if as_of is None else as_of
        for protocol in ("B", "A"):
            path = self.posterior_path(protocol)
            if path is None:
                continue
            posterior = load_posterior(path)
            if posterior.data_until <= as_of:
                return path
        raise ConfigError(str(self.path), "posterior", f"no posterior of case {self.name} was "
                          f"fitted on data up to {as_of} only; give one (--posterior FILE)")

    def branch_start(self) -> dt.date:
        """The first day of the branches (the day after the as-of date)."""
        return self.as_of + dt.timedelta(days=1)


# ---------------------------------------------------------------------------- loading
def case_path(spec: str | Path) -> Path:
    """The case file of ``spec``: a ``case.toml``, a folder holding one, or a bundled
    case's name (only a bare name, and only when no such file or folder exists here)."""
    path = Path(spec)
    if path.is_dir():
        return path / CASE_FILE
    if path.exists() or not is_bare_name(spec):
        return path
    return bundled_cases().get(path.name, path)


def is_case(spec: str | Path) -> bool:
    """True when ``spec`` names a case (a case file, a folder (a case folder, or one that
    should be), or a bundled case)."""
    if Path(spec).is_dir():
        return True
    path = case_path(spec)
    return path.name == CASE_FILE and path.is_file()


def _named(spec: str, case_file: Path, key: str, kind: str = "scenarios") -> Path:
    """A file named at ``key``: relative to the case file, or a bundled name."""
    if is_bare_name(spec) and not (case_file.parent / spec).exists():
        return resolve_path(spec, kind)
    return named_path(spec, case_file, key)


def _require_file(path: Path, case_file: Path, key: str) -> None:
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "missing"
        raise ConfigError(str(case_file), key, f"{path} is {what}")


def load_events(path: Path) -> list[EventRow]:
    """Read an events file (columns date, event, source).

    Raises:
        ConfigError: ``file: line N: reason`` for a malformed row or missing columns.
    """
    text = read_text(path)
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"date", "event", "source"} - set(reader.fieldnames or ())
        if missing:
            raise ConfigError(str(path), "", f"missing columns: {', '.join(sorted(missing))}")
        out = []
        for n, rec in enumerate(reader, start=2):
            try:
                date = dt.date.fromisoformat((rec["date"] or "").strip())
            except ValueError as exc:
                raise ConfigError(str(path), f"line {n}", f"malformed date: {exc}") from None
            if not (rec["event"] or "").strip() or not (rec["source"] or "").strip():
                raise ConfigError(str(path), f"line {n}", "an event needs a text and a source")
            out.append(EventRow(date, rec["event"].strip(), rec["source"].strip()))
    return out


def check_record(rows: list[ObservedRow], path: Path) -> None:
    """Refuse unknown quantities and two rows of one quantity that overlap in part.

    Raises:
        ConfigError: ``file: line N: reason``.
    """
    for r in rows:
        if r.quantity not in KNOWN_QUANTITIES:
            raise ConfigError(str(path), _line(r), f"unknown quantity {r.quantity!r}; "
                              f"valid: {', '.join(sorted(KNOWN_QUANTITIES))}")
    by_quantity: dict[str, list[ObservedRow]] = {}
    for r in rows:
        by_quantity.setdefault(r.quantity, []).append(r)
    for same in by_quantity.values():
        same = sorted(same, key=lambda r: (r.start, -r.days))
        for i, a in enumerate(same):
            for b in same[i + 1:]:
                if b.start > a.end:
                    break
                if not (b.end <= a.end):  # b starts inside a and ends after it
                    raise ConfigError(str(path), _line(b), f"row {b.id} overlaps row {a.id} "
                                      f"({_line(a)}) in part: rows of one quantity may nest "
                                      "(a month inside its year) but not overlap in part")


def _line(row: ObservedRow) -> str:
    """``line N`` of a row read from a file."""
    return "line " + row.origin.rsplit(" ", 1)[-1] if " line " in row.origin else row.origin


def load_case(spec: str | Path, *, posteriors: bool = True) -> Case:
    """Load and check a case (a case file or folder, or a bundled case's name).

    ``posteriors=False`` (a calibration, which makes them) skips the posterior files.

    Raises:
        ConfigError: ``file: key.path: reason`` for any problem: a missing file, an as-of
            date or hindcast cutoff outside the scenario, a phase or an event (other than a
            marker) after the as-of date, a branch starting on or before it or changing
            more than the timeline, a status quo naming no branch, a record with unknown
            quantities or rows of one quantity overlapping in part.
    """
    path = case_path(spec)
    if not path.is_file():
        folder = path.parent if path.name == CASE_FILE else path
        if path.name == CASE_FILE and folder.is_dir():
            raise ConfigError(str(folder), CASE_FILE, "missing: a case folder holds a "
                              "case.toml (trucesim case new NAME writes one)")
        raise ConfigError(str(spec), "", "no such case (a case.toml, a folder holding one, "
                          f"or a bundled case: {', '.join(bundled_cases())})")
    try:
        data = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"malformed TOML: {exc}") from None
    from trucesim.scenario.schema import validate

    case_spec = validate(CaseSpec, data, str(path))
    src = str(path)
    files = {"scenario": _named(case_spec.scenario, path, "scenario"),
             "record": named_path(case_spec.record, path, "record"),
             "events": named_path(case_spec.events, path, "events"),
             "branches.scenario": _named(case_spec.branches.scenario, path,
                                         "branches.scenario")}
    named = [("posterior.hindcast", case_spec.posterior.hindcast),
             ("posterior.nowcast", case_spec.posterior.nowcast)] if posteriors else []
    for key, spec_ in (*named,
                       ("calibration.hindcast", case_spec.calibration.hindcast),
                       ("calibration.nowcast", case_spec.calibration.nowcast)):
        if spec_ is not None:
            files[key] = named_path(spec_, path, key)
    for key, p in files.items():
        _require_file(p, path, key)
    scenario = load_scenario(files["scenario"])
    as_of = case_spec.as_of
    if not scenario.start <= as_of <= scenario.end:
        raise ConfigError(src, "as_of", f"{as_of} is outside the scenario {scenario.name} "
                          f"({scenario.start} to {scenario.end})")
    cut = case_spec.hindcast_cutoff
    if cut is not None and cut < scenario.start:
        raise ConfigError(src, "hindcast_cutoff", f"{cut} is before the scenario "
                          f"{scenario.name} starts ({scenario.start})")
    late = [p for p in scenario.phases if p.start > as_of]
    if late:
        raise ConfigError(src, "scenario", f"{files['scenario']}: a phase starts "
                          f"{late[0].start}, after the as-of date {as_of}: the case's scenario "
                          "is the timeline as it happened up to then (later ones are branches)")
    late_events = [e for e in scenario.events if e.date > as_of and e.kind != "marker"]
    if late_events:
        e = late_events[0]
        raise ConfigError(src, "scenario", f"{files['scenario']}: a {e.kind} event is dated "
                          f"{e.date}, after the as-of date {as_of}: nothing after it may be an "
                          "input (put it in a branch)")
    branches = load_scenario(files["branches.scenario"])
    _check_branches(case_spec, branches, src)
    record = load_observed(files["record"])
    check_record(record, files["record"])
    events = load_events(files["events"])
    posteriors_read = {key: load_posterior(files[key]) for key in
                       ("posterior.hindcast", "posterior.nowcast") if key in files}
    for key, posterior in posteriors_read.items():
        want = "A" if key.endswith("hindcast") else "B"
        if posterior.protocol != want:
            raise ConfigError(src, key, f"{files[key]} is a protocol {posterior.protocol} "
                              f"posterior; {key} needs protocol {want}")
    case = Case(case_spec, path, scenario, branches, record, events)
    for posterior in posteriors_read.values():
        case.check_posterior(posterior)
    return case


def _check_branches(spec: CaseSpec, branches: Scenario, src: str) -> None:
    names = list(branches.variants)
    if not names:
        raise ConfigError(src, "branches.scenario", f"{branches.source} has no variants: the "
                          "branches are its variants")
    if spec.branches.status_quo not in names:
        raise ConfigError(src, "branches.status_quo", f"{spec.branches.status_quo!r} names no "
                          f"branch (valid: {', '.join(names)})")
    for name, v in branches.variants.items():
        if not v.phases:
            raise ConfigError(src, "branches.scenario", f"variant {name!r} of "
                              f"{branches.source} has no phases: a branch replaces the "
                              "timeline from a day after the as-of date")
        if v.phases[0].start <= spec.as_of:
            raise ConfigError(src, "branches.scenario", f"variant {name!r} of "
                              f"{branches.source} starts {v.phases[0].start}, on or before the "
                              f"as-of date {spec.as_of}")
        early = [e for e in v.events if e.date <= spec.as_of]
        if early:
            raise ConfigError(src, "branches.scenario", f"variant {name!r} of "
                              f"{branches.source} has an event dated {early[0].date}, on or "
                              f"before the as-of date {spec.as_of}")
        if v.overrides:
            raise ConfigError(src, "branches.scenario", f"variant {name!r} of "
                              f"{branches.source} overrides {next(iter(v.overrides))}: a branch "
                              "changes the timeline only (its parameters are the filtered "
                              "particle's)")
    if branches.end <= spec.as_of:
        raise ConfigError(src, "branches.scenario", f"{branches.source} ends {branches.end}, "
                          f"not after the as-of date {spec.as_of}")
