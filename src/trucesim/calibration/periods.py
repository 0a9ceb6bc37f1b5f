"""The periods a nowcast assimilates: a case's homicide rows up to a cutoff, made into
periods that never count a day twice.

**Observations** (:func:`nowcast_periods`). The record's homicide rows (annual, monthly,
half-month counts, and daily means over a span) that start on or after the filter's
first day and end on or before the cutoff (the as-of date). Rows overlap (a month inside
its year, two sources for one span), so they are made into periods that never count a
day twice, finest first: a row disjoint from the periods kept so far is kept whole; a
row that wholly contains every kept period it touches becomes a *residual* period (its
days minus theirs, its count minus theirs: e.g. a year without three of its months); a
row that partly overlaps a kept period is left out (listed with the reason). Each period
is assimilated on its last day, from each particle's own history of those days.

Nothing after the case's as-of date is ever an input: :func:`check_cutoff` refuses a
later cutoff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from trucesim.calibration.observed import ObservedRow
from trucesim.cases import Case, load_case, main_case_path
from trucesim.scenario.errors import ConfigError

#: Record quantities that count recorded homicides.
HOMICIDE_QUANTITIES = ("homicides", "homicides_per_day")


def main_case() -> Case:
    """The case of the main job (``trucesim run`` with no argument)."""
    return load_case(main_case_path())


# ---------------------------------------------------------------------------- periods
@dataclass(frozen=True)
class Period:
    """An observed count over a set of days, assimilated on its last day.

    Attributes:
        row: the record row it comes from.
        spans: (first, last) date pairs, both included, that it counts.
        count: observed recorded homicides over the spans.
        kind: ``row`` (the row whole) or ``residual`` (the row minus finer periods).
    """

    row: ObservedRow
    spans: tuple[tuple[dt.date, dt.date], ...]
    count: float
    kind: str = "row"

    @property
    def end(self) -> dt.date:
        """The day it is assimilated (its last day)."""
        return max(last for _, last in self.spans)

    @property
    def days(self) -> int:
        return sum((b - a).days + 1 for a, b in self.spans)

    @property
    def per_day(self) -> float:
        return self.count / self.days

    @property
    def label(self) -> str:
        base = f"{self.row.start}..{self.row.end}"
        return base if self.kind == "row" else f"{base} (rest)"


def check_cutoff(cutoff: dt.date, case: Case, source: str = "--as-of") -> None:
    """Refuse a cutoff after the case's as-of date, or before its scenario starts, in one
    line."""
    if cutoff > case.as_of:
        raise ConfigError(source, "", f"{cutoff} is after case {case.name}'s as-of date "
                          f"{case.as_of}: nothing after it may be a nowcast input")
    if cutoff < case.scenario.start:
        raise ConfigError(source, "", f"{cutoff} is before case {case.name}'s scenario starts "
                          f"({case.scenario.start})")


def _spans(days: list[int]) -> tuple[tuple[dt.date, dt.date], ...]:
    """Contiguous runs of day ordinals as date pairs."""
    out, start = [], None
    for i, d in enumerate(days):
        if start is None:
            start = d
        if i + 1 == len(days) or days[i + 1] != d + 1:
            out.append((dt.date.fromordinal(start), dt.date.fromordinal(d)))
            start = None
    return tuple(out)


def nowcast_periods(rows: list[ObservedRow] | None = None, *,
                    first: dt.date | None = None, cutoff: dt.date | None = None,
                    case: Case | None = None) -> tuple[list[Period], list[str]]:
    """The periods the filter assimilates, in order of their last day, and a line per
    homicide row left out and why (see the module docstring).

    ``case`` (default: the main job's) gives the default ``rows`` (its record), ``first``
    (its scenario's first day) and ``cutoff`` (its as-of date).

    Raises:
        ConfigError: for a cutoff after the case's as-of date (one line).
    """
    case = case or main_case()
    cutoff = case.as_of if cutoff is None else cutoff
    first = case.scenario.start if first is None else first
    check_cutoff(cutoff, case)
    return decompose(case.record if rows is None else rows, first, cutoff)


def decompose(rows: list[ObservedRow], first: dt.date, cutoff: dt.date
              ) -> tuple[list[Period], list[str]]:
    """:func:`nowcast_periods` of ``rows`` from ``first`` to ``cutoff``, for any rows (no
    case: the caller has checked the cutoff, or, as the backtest's baselines, reads only
    rows known before it)."""
    skipped: list[str] = []
    candidates = []
    for r in rows:
        if r.quantity not in HOMICIDE_QUANTITIES:
            continue
        if r.start < first:
            skipped.append(f"{r.id}: starts before the filter's first day {first}")
        elif r.end > cutoff:
            skipped.append(f"{r.id}: ends after the cutoff {cutoff}")
        else:
            candidates.append(r)
    candidates.sort(key=lambda r: (r.days, r.start))
    kept: list[tuple[Period, set[int]]] = []
    for r in candidates:
        days = set(range(r.start.toordinal(), r.end.toordinal() + 1))
        count = r.value if r.unit == "count" else r.per_day * r.days
        touched = [(p, d) for p, d in kept if d & days]
        if not touched:
            kept.append((Period(r, _spans(sorted(days)), count), days))
            continue
        if any(not d <= days for _, d in touched):
            skipped.append(f"{r.id}: overlaps a finer period only in part")
            continue
        inner = set().union(*(d for _, d in touched))
        rest, rest_count = days - inner, count - sum(p.count for p, _ in touched)
        if not rest:
            skipped.append(f"{r.id}: wholly covered by finer periods")
        elif rest_count < 0:
            skipped.append(f"{r.id}: finer periods (other sources) count more than it")
        else:
            kept.append((Period(r, _spans(sorted(rest)), rest_count, "residual"), rest))
    periods = sorted((p for p, _ in kept), key=lambda p: (p.end, p.days))
    return periods, skipped
