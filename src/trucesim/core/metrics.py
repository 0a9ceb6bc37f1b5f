"""The daily metrics: every output column declared once, by name.

A run records one row per day in a structured array whose fields are :data:`METRICS`
(:data:`DAILY`), and per gang the fields of :data:`GANG_METRICS` (:data:`GANG_DAILY`).
Each mechanism declares the columns its step writes
(:class:`~trucesim.mechanisms.declare.Mechanism`, listed in
:mod:`trucesim.core.registry`); the day's record declares its own (:data:`RECORDED`).
The kernels write fields by name (``row.homicides = ...``); the daily table's columns,
their order and their types all come from here.
"""

from __future__ import annotations

import numpy as np

from trucesim.core.registry import MECHANISMS
from trucesim.mechanisms.declare import Mechanism, Metric

#: A front is active if it saw a killing in this many days.
ACTIVE_WINDOW = 30

#: The daily columns the day's record (:func:`trucesim.core.day.record`) writes itself:
#: the totals and the end-of-day state. The mechanisms declare the others.
RECORDED = (
    Metric("homicides", np.int64, "recorded homicides: deaths_true - disappearances",
           "recorded homicides", "per day", flow=True),
    Metric("deaths_true", np.int64, "every killing, recorded or hidden",
           "true deaths (recorded and hidden)", "per day", flow=True),
    Metric("members", np.int64, "members on the street (end of day)",
           "gang members at large", "people"),
    Metric("prisoners", np.int64, "members in prison (end of day)",
           "gang members in prison", "people"),
    Metric("restraint_share", np.float64, "share of cliques with restraint >= 0.5",
           "cliques under restraint", "share of cliques"),
    Metric("pressure_share", np.float64, "share of cliques with pressure >= 0.5",
           "cliques under a pressure order", "share of cliques"),
    Metric("mean_autonomy", np.float64, "mean clique autonomy",
           "mean clique autonomy", "0 to 1"),
    Metric("mean_heat", np.float64, "mean police heat per territory",
           "mean police heat", "index, 1 = baseline"),
    Metric("active_fronts", np.int64,
           f"directed fronts with a killing in the last {ACTIVE_WINDOW} days",
           f"active fronts (a killing in the last {ACTIVE_WINDOW} days)", "fronts"),
)

#: The order of the daily columns since they were first written (the record's field
#: order, which tables and files keep). A metric declared later, not named here, follows
#: them in the order of the registry; a name here that nothing declares is an error.
COLUMN_ORDER = (
    "homicides", "deaths_true", "gang_on_gang", "gang_on_civilian", "police_killed",
    "gang_killed_by_police", "attacks_on_police", "background", "other_actors",
    "disappearances", "gang_member_victims", "arrests", "releases", "recruits", "members",
    "prisoners", "restraint_share", "pressure_share", "mean_autonomy", "mean_heat",
    "active_fronts", "benefits_paid",
)


def daily_metrics(mechanisms: tuple[Mechanism, ...]) -> tuple[Metric, ...]:
    """The daily columns: those the record writes and those ``mechanisms`` declare, in
    :data:`COLUMN_ORDER` (then the others, in declaration order). A column declared twice
    or ordered but never declared raises ``ValueError``."""
    declared = [*RECORDED, *(metric for m in mechanisms for metric in m.metrics)]
    by_name: dict[str, Metric] = {}
    for metric in declared:
        if metric.name in by_name:
            raise ValueError(f"daily column {metric.name!r} is declared twice")
        by_name[metric.name] = metric
    unknown = [name for name in COLUMN_ORDER if name not in by_name]
    if unknown:
        raise ValueError(f"COLUMN_ORDER names undeclared columns: {', '.join(unknown)}")
    rest = [m for m in declared if m.name not in COLUMN_ORDER]
    return tuple(by_name[name] for name in COLUMN_ORDER) + tuple(rest)


#: Every daily column, in column order (the fields of :data:`DAILY`).
METRICS = daily_metrics(MECHANISMS)

#: The per-gang columns (one column each per gang), as the mechanisms declare them, in
#: the order of the registry.
GANG_METRICS = tuple(metric for m in MECHANISMS for metric in m.gang_metrics)

DAILY = np.dtype([(m.name, m.dtype) for m in METRICS])
GANG_DAILY = np.dtype([(m.name, m.dtype) for m in GANG_METRICS])
#: Names of the daily metrics, in column order (per-gang columns follow).
METRIC_NAMES = tuple(m.name for m in METRICS)
#: Names of the flow metrics (counts of the day's events).
FLOW_METRICS = tuple(m.name for m in METRICS if m.flow)
#: Names of the kinds of death, in column order: their sum is ``deaths_true``
#: (:func:`trucesim.core.day.record`; checked in tests/test_model.py).
DEATH_TYPES = tuple(m.name for m in METRICS if m.death)
#: Every metric, daily and per gang, by name.
BY_NAME = {m.name: m for m in METRICS + GANG_METRICS}


def gang_column(metric: str, gang: str) -> str:
    """Name of the per-gang column of ``metric`` for ``gang``."""
    return f"{metric}_{gang}"


def column_names(gang_names: list[str]) -> list[str]:
    """The metric columns of a daily table, in order: the metrics, then each per-gang
    metric for every gang."""
    return list(METRIC_NAMES) + [gang_column(m.name, g) for m in GANG_METRICS
                                 for g in gang_names]
