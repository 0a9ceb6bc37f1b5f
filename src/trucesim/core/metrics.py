"""The daily metrics: every output column declared once, by name.

A run records one row per day in a structured array whose fields are :data:`METRICS`
(:data:`DAILY`), and per gang the fields of :data:`GANG_METRICS` (:data:`GANG_DAILY`).
The kernels write fields by name (``row.homicides = ...``); the daily table's columns,
their order and their types all come from here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from trucesim.scenario.params import STANCE_NAMES


class Metric(NamedTuple):
    """An output column: name, storage type, meaning, whether it is a flow (a count of
    the day's events, which sums over days) rather than a level, and for a coded choice
    the names of its codes (code -1: missing)."""

    name: str
    dtype: type
    meaning: str
    flow: bool = False
    categories: tuple[str, ...] | None = None  # a coded choice: its names, by code


#: A front is active if it saw a killing in this many days.
ACTIVE_WINDOW = 30

METRICS = (
    Metric("homicides", np.int64, "recorded homicides: deaths_true - disappearances", flow=True),
    Metric("deaths_true", np.int64, "every killing, recorded or hidden", flow=True),
    Metric("gang_on_gang", np.int64, "killings on fronts (members of rival cliques)", flow=True),
    Metric("gang_on_civilian", np.int64, "civilians killed by clique members", flow=True),
    Metric("police_killed", np.int64, "police officers killed", flow=True),
    Metric("gang_killed_by_police", np.int64, "gang members killed by police", flow=True),
    Metric("attacks_on_police", np.int64,
           "gang attacks on police (0 unless mechanisms.police_gang_retaliation)", flow=True),
    Metric("background", np.int64, "non-gang homicides", flow=True),
    Metric("other_actors", np.int64,
           "killings by armed actors no truce touches (mechanisms.other_actors)", flow=True),
    Metric("disappearances", np.int64, "killings hidden by cliques under restraint", flow=True),
    Metric("gang_member_victims", np.int64,
           "recorded victims who were gang members: gang_on_gang + gang_killed_by_police - "
           "front killings hidden (0 unless mechanisms.extortion_killings, under which "
           "concealment is drawn per stream)", flow=True),
    Metric("arrests", np.int64, "members arrested", flow=True),
    Metric("releases", np.int64, "prisoners released back to their clique", flow=True),
    Metric("recruits", np.int64, "members recruited", flow=True),
    Metric("members", np.int64, "members on the street (end of day)"),
    Metric("prisoners", np.int64, "members in prison (end of day)"),
    Metric("restraint_share", np.float64, "share of cliques with restraint >= 0.5"),
    Metric("pressure_share", np.float64, "share of cliques with pressure >= 0.5"),
    Metric("mean_autonomy", np.float64, "mean clique autonomy"),
    Metric("mean_heat", np.float64, "mean police heat per territory"),
    Metric("active_fronts", np.int64,
           f"directed fronts with a killing in the last {ACTIVE_WINDOW} days"),
    Metric("benefits_paid", np.float64, "benefits actually paid to leaders today"),
)

GANG_METRICS = (
    Metric("control", np.float64, "share of the gang's cliques following today's order"),
    Metric("authority", np.float64, "the leaders' authority"),
    Metric("stance", np.int64, "the leaders' stance", categories=tuple(STANCE_NAMES)),
    Metric("street_stance", np.int64,
           "the stance the street tier relays (missing unless mechanisms.command_tiers and "
           "the tier exists)", categories=tuple(STANCE_NAMES)),
    Metric("grievance", np.float64,
           "the leaders' grievance against the state (0 unless mechanisms.bargaining_violence)"),
)

DAILY = np.dtype([(m.name, m.dtype) for m in METRICS])
GANG_DAILY = np.dtype([(m.name, m.dtype) for m in GANG_METRICS])
#: Names of the daily metrics, in column order (per-gang columns follow).
METRIC_NAMES = tuple(m.name for m in METRICS)
#: Names of the flow metrics (counts of the day's events).
FLOW_METRICS = tuple(m.name for m in METRICS if m.flow)


def gang_column(metric: str, gang: str) -> str:
    """Name of the per-gang column of ``metric`` for ``gang``."""
    return f"{metric}_{gang}"


def column_names(gang_names: list[str]) -> list[str]:
    """The metric columns of a daily table, in order: the metrics, then each per-gang
    metric for every gang."""
    return list(METRIC_NAMES) + [gang_column(m.name, g) for m in GANG_METRICS
                                 for g in gang_names]
