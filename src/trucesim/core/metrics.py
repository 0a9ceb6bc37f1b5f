"""The daily metrics: every output column declared once, by name.

A run records one row per day in a structured array whose fields are :data:`METRICS`
(:data:`DAILY`), and per gang the fields of :data:`GANG_METRICS` (:data:`GANG_DAILY`).
The kernels write fields by name (``row.homicides = ...``); the daily table's columns,
their order and their types all come from here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from trucesim.numerics.constants import STANCE_NAMES


class Metric(NamedTuple):
    """An output column: name, storage type, meaning, the one label and unit it is shown
    with (plots, tables, the dashboard), whether it is a flow (a count of the day's
    events, which sums over days) rather than a level, whether it is a component of true
    deaths (``deaths_true`` is the sum of these), and for a coded choice the names of its
    codes (code -1: missing)."""

    name: str
    dtype: type
    meaning: str
    label: str
    unit: str
    flow: bool = False
    death: bool = False  # a component of true deaths: deaths_true sums these
    categories: tuple[str, ...] | None = None  # a coded choice: its names, by code


#: A front is active if it saw a killing in this many days.
ACTIVE_WINDOW = 30

METRICS = (
    Metric("homicides", np.int64, "recorded homicides: deaths_true - disappearances",
           "recorded homicides", "per day", flow=True),
    Metric("deaths_true", np.int64, "every killing, recorded or hidden",
           "true deaths (recorded and hidden)", "per day", flow=True),
    Metric("gang_on_gang", np.int64, "killings on fronts (members of rival cliques)",
           "gang-on-gang killings", "per day", flow=True, death=True),
    Metric("gang_on_civilian", np.int64, "civilians killed by clique members",
           "civilians killed by gangs", "per day", flow=True, death=True),
    Metric("police_killed", np.int64, "police officers killed",
           "police officers killed", "per day", flow=True, death=True),
    Metric("gang_killed_by_police", np.int64, "gang members killed by police",
           "gang members killed by police", "per day", flow=True, death=True),
    Metric("attacks_on_police", np.int64,
           "gang attacks on police (0 unless mechanisms.police_gang_retaliation)",
           "gang attacks on police", "per day", flow=True),
    Metric("background", np.int64, "non-gang homicides",
           "non-gang (background) homicides", "per day", flow=True, death=True),
    Metric("other_actors", np.int64,
           "killings by armed actors no truce touches (mechanisms.other_actors)",
           "killings by other armed actors", "per day", flow=True, death=True),
    Metric("disappearances", np.int64, "killings hidden by cliques under restraint",
           "hidden killings (disappearances)", "per day", flow=True),
    Metric("gang_member_victims", np.int64,
           "recorded victims who were gang members: gang_on_gang + gang_killed_by_police - "
           "front killings hidden (0 unless mechanisms.extortion_killings, under which "
           "concealment is drawn per stream)", "recorded victims who were gang members",
           "per day", flow=True),
    Metric("arrests", np.int64, "members arrested", "arrests", "per day", flow=True),
    Metric("releases", np.int64, "prisoners released back to their clique",
           "releases from prison", "per day", flow=True),
    Metric("recruits", np.int64, "members recruited", "recruits", "per day", flow=True),
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
    Metric("benefits_paid", np.float64, "benefits actually paid to leaders today",
           "benefits paid to leaders", "0 to 1"),
)

GANG_METRICS = (
    Metric("control", np.float64, "share of the gang's cliques following today's order",
           "share of cliques following orders", "share of cliques"),
    Metric("authority", np.float64, "the leaders' authority", "leaders' authority", "0 to 1"),
    Metric("stance", np.int64, "the leaders' stance", "leaders' stance", "stance",
           categories=tuple(STANCE_NAMES)),
    Metric("street_stance", np.int64,
           "the stance the street tier relays (missing unless mechanisms.command_tiers and "
           "the tier exists)", "street tier's stance", "stance", categories=tuple(STANCE_NAMES)),
    Metric("grievance", np.float64,
           "the leaders' grievance against the state (0 unless mechanisms.bargaining_violence)",
           "leaders' grievance", "0 to 1"),
)

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
