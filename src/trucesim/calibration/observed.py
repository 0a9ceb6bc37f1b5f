"""A case's observed record, and the same statistics computed on simulated runs.

A record file (the main case's is bundled with the package) has one row per published
figure: a period, a quantity, a value, its unit and its source. Rows are
annual totals, monthly counts, counts over a span (the two weeks after the transfers),
daily means over a span, missing-person reports, police killed and gang members killed
by police. Every row becomes one comparable statistic: the **mean per day over the
row's span**, computed the same way on a simulated daily table.

Fitting window. A calibration fits rows that end on or before its last day of data (a
case's hindcast cutoff for protocol A, its as-of date for protocol B; see
:mod:`trucesim.cases`); later rows are for display and validation. :func:`select_rows`
refuses rows after a calibration's last day of data. Rows whose note starts with
:data:`NOWCAST_MARK` ("nowcast window only") are data an analyst had on the as-of date
but that a hindcast must never see: :func:`select_rows` refuses them under protocol A
whatever the cutoff; they stay loadable for display.

Flows and stocks. Most quantities are flows (killings counted over the row's span); a
few are stocks (members, members in prison: a level during the span), listed in
:data:`STOCK_QUANTITIES`. Both compare with the mean of a daily-table column over the
span: a flow's count is divided by its days, a stock's level is that mean already.
Quantities with no simulated counterpart are kept for display, each with its reason in
:data:`CONTEXT_QUANTITIES`.

Shares. A row in unit ``share`` (gang members among homicide victims) is a ratio of two
daily-table columns over its span, listed in :data:`RATIO_QUANTITIES`: the simulated
statistic is the sum of the numerator column over the span divided by the sum of the
denominator's (``gang_member_victims`` over ``homicides``: the recorded victims who were
gang members, among all recorded victims; see the column's definition in
:mod:`trucesim.core.metrics`). Its distance compares the two shares as counts out of
the span's days (:func:`log_ratio_distance`).

Disappearance reports. The police's missing-person reports include people who go
missing for reasons unrelated to gang concealment; the model's ``disappearances`` are
only killings hidden by cliques. A simulated report count is therefore the model's
disappearances plus a constant baseline of non-gang reports per day (see
:class:`Statistic`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from trucesim.outcomes import TYPES
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.files import read_text
from trucesim.scenario.maincase import main_case_date, main_case_file

#: A row whose note starts with this may never be fitted under protocol A (the hindcast).
NOWCAST_MARK = "nowcast window only"

#: Observed quantity -> simulated daily metric it is compared with.
QUANTITY_METRICS: dict[str, str] = {
    "homicides": "homicides",
    "homicides_per_day": "homicides",
    "disappearance_reports": "disappearances",
    "police_killed": "police_killed",
    "gang_members_killed_by_police": "gang_killed_by_police",
    "attacks_on_police": "attacks_on_police",  # recorded with mechanisms.police_gang_retaliation
    "gang_members": "members",  # members at liberty (the PNC's 2012 estimate sets world.members)
    "gang_members_in_prison": "prisoners",
    "gang_arrests": "arrests",  # arrests of people linked to gangs
    # Recorded victims the police identified as gang members (mechanisms.extortion_killings
    # records them), a count and a share of all homicide victims.
    "gang_member_victims": "gang_member_victims",
    "gang_member_victim_share": "gang_member_victims",
}

#: Quantities that are a share: the row's metric summed over the span, divided by this
#: metric summed over the span.
RATIO_QUANTITIES: dict[str, str] = {"gang_member_victim_share": "homicides"}

#: Quantities that are a level during the row's span (a stock), not a count over it.
STOCK_QUANTITIES = frozenset({"gang_members", "gang_members_in_prison", "cliques"})

#: Quantities with no simulated daily counterpart: kept for display and context, and why.
CONTEXT_QUANTITIES: dict[str, str] = {
    "cliques": (
        "the number of cliques is the size of the model's world (world.cliques), set from a "
        "source, not simulated; the 2008 study, the 2013 census and the 2017 estimate count "
        "by different rules"),
    "leaders_transferred_out_of_max_security": (
        "a dated event: scenarios enter it as a transfer event, not as a statistic"),
}

#: Stock metrics of the daily table a statistic may use (levels at the end of each day).
STOCK_METRICS = frozenset({"members", "prisoners"})

#: Daily-table metrics a statistic may use (the death types of the summaries, and the
#: member stocks).
STATISTIC_METRICS = (frozenset(TYPES) | STOCK_METRICS
                     | {"attacks_on_police", "arrests", "gang_member_victims"})

UNITS = frozenset({"count", "per_day", "share"})


def data_dir() -> Path:
    """Folder holding the bundled observed data files."""
    return Path(str(resources.files("trucesim") / "bundled" / "data"))


def observed_path() -> Path:
    """The main case's record file (bundled)."""
    return main_case_file("record")


@dataclass(frozen=True)
class ObservedRow:
    """One published figure: ``value`` (``unit`` count or per_day) of ``quantity``
    over ``start``..``end`` (both included)."""

    start: dt.date
    end: dt.date
    quantity: str
    value: float
    unit: str
    source: str
    note: str = ""
    #: Where the row was read (``file line N``), for error messages; not part of equality.
    origin: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        """Stable identifier ``quantity:start:end`` used to select the row."""
        return f"{self.quantity}:{self.start}:{self.end}"

    @property
    def days(self) -> int:
        """Length of the span in days, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def stock(self) -> bool:
        """True if the quantity is a level during the span (members), not a flow."""
        return self.quantity in STOCK_QUANTITIES

    @property
    def per_day(self) -> float:
        """The figure as the mean of its daily series over the span: a flow's count divided
        by the days, a stock's level as it is (a share: the share itself)."""
        if self.unit == "count" and not self.stock:
            return self.value / self.days
        return self.value

    @property
    def metric(self) -> str | None:
        """The simulated metric this row measures (None: not a daily-table quantity)."""
        return QUANTITY_METRICS.get(self.quantity)

    @property
    def nowcast_only(self) -> bool:
        """True if the row is marked "nowcast window only": never fitted under protocol A."""
        return self.note.lower().startswith(NOWCAST_MARK)

    def use(self, cutoff: dt.date) -> str:
        """What the row may be used for by a fit with data up to ``cutoff``: ``fit``,
        ``validation`` (it ends later), ``nowcast only`` or ``context`` (no simulated
        counterpart; see :attr:`context_reason`)."""
        if self.nowcast_only:
            return "nowcast only"
        if self.metric is None:
            return "context"
        return "validation" if self.end > cutoff else "fit"

    @property
    def context_reason(self) -> str:
        """Why a row without a simulated metric is display-only ("" if it has a metric)."""
        if self.metric is not None:
            return ""
        return CONTEXT_QUANTITIES.get(
            self.quantity, "no simulated metric; a calibration target must name one")


def load_observed(path: str | Path | None = None) -> list[ObservedRow]:
    """Read an observed data file (default: the main case's record).

    Raises:
        ConfigError: ``file: row N: reason`` for a malformed row, or duplicate row ids.
    """
    path = Path(path) if path is not None else observed_path()
    text = read_text(path)  # a regular UTF-8 file of bounded size, or a one-line error
    rows: list[ObservedRow] = []
    seen: set[str] = set()
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"period_start", "period_end", "quantity", "value", "unit", "source"}
        missing = need - set(reader.fieldnames or ())
        if missing:
            raise ConfigError(str(path), "", f"missing columns: {', '.join(sorted(missing))}")
        for n, rec in enumerate(reader, start=2):
            try:
                row = ObservedRow(
                    start=dt.date.fromisoformat(rec["period_start"]),
                    end=dt.date.fromisoformat(rec["period_end"]),
                    quantity=rec["quantity"].strip(),
                    value=float(rec["value"]),
                    unit=rec["unit"].strip(),
                    source=rec["source"].strip(),
                    note=(rec.get("note") or "").strip(),
                    origin=f"{path.name} line {n}",
                )
            except (TypeError, ValueError) as exc:
                raise ConfigError(str(path), f"line {n}", f"malformed row: {exc}") from None
            if row.end < row.start:
                raise ConfigError(str(path), f"line {n}", "period_end is before period_start")
            if row.unit not in UNITS:
                raise ConfigError(
                    str(path), f"line {n}", f"unit {row.unit!r}; valid: {', '.join(sorted(UNITS))}"
                )
            if (row.unit == "share") != (row.quantity in RATIO_QUANTITIES):
                raise ConfigError(
                    str(path), f"line {n}",
                    f"quantity {row.quantity!r} in unit {row.unit!r}: the shares "
                    f"({', '.join(sorted(RATIO_QUANTITIES))}) and only they take unit 'share'")
            if row.unit == "share" and not 0.0 <= row.value <= 1.0:
                raise ConfigError(str(path), f"line {n}",
                                  f"share {row.value} is outside 0..1")
            if row.id in seen:
                raise ConfigError(str(path), f"line {n}", f"duplicate row {row.id}")
            seen.add(row.id)
            rows.append(row)
    return rows


def observed_frame(rows: list[ObservedRow] | None = None) -> pd.DataFrame:
    """The observed rows as a table with ``id``, ``days``, ``per_day`` and ``metric``."""
    rows = load_observed() if rows is None else rows
    return pd.DataFrame(
        [
            {"id": r.id, "start": pd.Timestamp(r.start), "end": pd.Timestamp(r.end),
             "quantity": r.quantity, "value": r.value, "unit": r.unit, "days": r.days,
             "per_day": r.per_day, "metric": r.metric, "nowcast_only": r.nowcast_only,
             "source": r.source, "note": r.note}
            for r in rows
        ]
    )


def annual_homicides(rows: list[ObservedRow] | None = None) -> pd.Series:
    """Observed annual homicide totals indexed by year (all years, fit and validation)."""
    rows = load_observed() if rows is None else rows
    out = {
        r.start.year: r.value
        for r in rows
        if r.quantity == "homicides" and r.unit == "count"
        and r.start == dt.date(r.start.year, 1, 1) and r.end == dt.date(r.start.year, 12, 31)
    }
    return pd.Series(out, name="homicides", dtype=float).sort_index()


def select_rows(
    rows: list[ObservedRow],
    *,
    ids: list[str] | None = None,
    quantity: str | None = None,
    window: tuple[dt.date, dt.date] | None = None,
    min_days: int = 1,
    max_days: int = 100_000,
    source: str = "<calibration>",
    key: str = "targets",
    protocol: str = "A",
    cutoff: dt.date | None = None,
) -> list[ObservedRow]:
    """Rows picked by explicit ``ids``, or by ``quantity`` within ``window`` and a span length.

    A calibration names its ``protocol`` ("A", the hindcast, or "B", the nowcast) and its
    last day of data (``cutoff``: the calibration's ``data_until``, at most its case's
    date for the protocol; default: the main case's date for the protocol, its hindcast
    cutoff for A and its as-of date for B). A row is inside ``window``
    when its whole span is; a selection by quantity leaves out rows ending after
    ``cutoff``. Errors (``ConfigError`` with ``source`` and ``key``): an unknown id or
    quantity, a window or explicit row reaching past ``cutoff``, a row marked "nowcast
    window only" among the selected rows under protocol A, an empty selection.
    """
    if cutoff is None:
        cutoff = main_case_date("hindcast_cutoff" if protocol == "A" else "as_of")
    known = {r.id: r for r in rows}
    why = (f"the calibration's data_until is {cutoff} (protocol {protocol}; nothing after it "
           "may be fitted)")
    if window is not None and window[1] > cutoff:
        raise ConfigError(source, f"{key}.window",
                          f"the fitting window ends {window[1]}, after {cutoff}: {why}")
    if ids:
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ConfigError(
                source, f"{key}.rows",
                f"unknown data row {unknown[0]!r}; valid ids look like 'quantity:start:end', "
                f"e.g. {next(iter(known), 'none')!r} (see `trucesim observed`)",
            )
        chosen = [known[i] for i in ids]
        nowcast = [r for r in chosen if r.nowcast_only]
        if nowcast and protocol != "B":
            raise ConfigError(source, f"{key}.rows", nowcast_protocol_refusal(nowcast[0]))
        late = [r for r in chosen if r.end > cutoff]
        if late:
            raise ConfigError(source, f"{key}.rows",
                              f"row {late[0].id} ends after {cutoff}: {why}")
    else:
        quantities = {r.quantity for r in rows}
        if quantity not in quantities:
            raise ConfigError(
                source, f"{key}.quantity",
                f"unknown quantity {quantity!r}; valid: {', '.join(sorted(quantities))}",
            )
        chosen = [
            r for r in rows
            if r.quantity == quantity and min_days <= r.days <= max_days
            and (window is None or (window[0] <= r.start and r.end <= window[1]))
            and r.end <= cutoff
        ]
        nowcast = [r for r in chosen if r.nowcast_only]
        if nowcast and protocol != "B":
            raise ConfigError(source, f"{key}.quantity", nowcast_protocol_refusal(nowcast[0]))
    if not chosen:
        raise ConfigError(source, key, f"selects no data row up to {cutoff} (an empty data "
                          "window)")
    return chosen


def nowcast_protocol_refusal(row: ObservedRow) -> str:
    """Why ``row`` (marked "nowcast window only") cannot be fitted by a protocol A
    calibration: one line naming it."""
    where = f" ({row.origin})" if row.origin else ""
    return (f"row {row.id}{where} is marked {NOWCAST_MARK!r}: it may inform only a "
            'nowcast: set protocol = "B" (data_until at most the case\'s as-of date)')


@dataclass(frozen=True)
class Statistic:
    """An observed row paired with the simulated metric it is compared with.

    The simulated statistic is ``mean per day of metric over the row's span`` plus
    ``baseline`` (for disappearance reports: non-gang missing-person reports per day,
    which the model does not simulate); with a ``denominator`` (a share), the sum of
    ``metric`` over the span divided by the sum of ``denominator``.
    """

    row: ObservedRow
    metric: str
    baseline: float = 0.0
    denominator: str | None = None

    @property
    def observed(self) -> float:
        """Observed mean per day over the span."""
        return self.row.per_day


def statistics_for(
    rows: list[ObservedRow], metric: str | None = None, baseline: float = 0.0,
    source: str = "<calibration>", key: str = "targets",
) -> list[Statistic]:
    """Pair rows with a simulated metric (default: the one the row's quantity measures)."""
    out = []
    for r in rows:
        m = metric or r.metric
        if m is None:
            raise ConfigError(
                source, f"{key}.metric",
                f"row {r.id}: quantity {r.quantity!r} is not a daily-table statistic "
                f"({r.context_reason}); name a metric ({', '.join(sorted(STATISTIC_METRICS))})",
            )
        if m not in STATISTIC_METRICS:
            raise ConfigError(
                source, f"{key}.metric",
                f"unknown statistic {m!r}; valid: {', '.join(sorted(STATISTIC_METRICS))}",
            )
        out.append(Statistic(r, m, baseline, RATIO_QUANTITIES.get(r.quantity)))
    return out


def simulated_statistics(daily: pd.DataFrame, stats: list[Statistic]) -> np.ndarray:
    """Each statistic's simulated mean per day over its span (plus baseline).

    ``daily`` is one run's daily table, or a stack of runs with a ``replicate`` column
    (then the result is the mean over runs). A span the table does not fully cover
    gives NaN.
    """
    dates = pd.to_datetime(daily["date"]).to_numpy().astype("datetime64[D]")
    n_runs = daily["replicate"].nunique() if "replicate" in daily else 1
    first, last = dates.min(), dates.max()
    out = np.full(len(stats), math.nan)
    cache: dict[str, np.ndarray] = {}
    for i, s in enumerate(stats):
        start, end = np.datetime64(s.row.start, "D"), np.datetime64(s.row.end, "D")
        if start < first or end > last:
            continue
        for m in (s.metric, s.denominator):
            if m is not None and m not in cache:
                cache[m] = daily[m].to_numpy(dtype=float)
        mask = (dates >= start) & (dates <= end)
        if s.denominator is not None:
            total = cache[s.denominator][mask].sum()
            out[i] = cache[s.metric][mask].sum() / total if total > 0 else math.nan
        else:
            out[i] = cache[s.metric][mask].sum() / (s.row.days * n_runs) + s.baseline
    return out


def log_ratio_distance(simulated: np.ndarray, stats: list[Statistic]) -> np.ndarray:
    """Per statistic, the squared log ratio of simulated to observed counts over the span.

    ``(ln((S + 0.5) / (O + 0.5)))**2`` with ``S`` and ``O`` the simulated (mean per day
    times days) and observed counts: scale-free, so a homicide total and a dozen police
    killed weigh alike, and the half count keeps small counts and zeros finite. A share
    counts as the share times the span's days (the same log ratio, with the half count
    scaled to the span). NaN where the simulation gave no value.
    """
    days = np.array([s.row.days for s in stats], dtype=float)
    obs = np.array([s.observed for s in stats], dtype=float) * days
    sim = np.asarray(simulated, dtype=float) * days
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log((sim + 0.5) / (obs + 0.5)) ** 2
