"""Shared fixtures: small, fast scenarios built from the bundled files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib
import pytest

# Figures render to files only: the package itself leaves the backend alone (a notebook
# keeps its own), so the tests choose the non-interactive one, as the CLI does.
matplotlib.use("Agg")

from trucesim.scenario.schema import Scenario, load_scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def small(scenario: Scenario, cliques: int = 80, burn_in: int = 30, **overrides) -> Scenario:
    """A scenario shrunk to a small world and short burn-in for fast tests."""
    return scenario.with_overrides(
        {"world.cliques": cliques, "world.burn_in_days": burn_in, **overrides}
    )


def simple_scenario(**extra) -> Scenario:
    """A two-phase baseline -> truce scenario on a small world, from a plain mapping."""
    data = {
        "name": "test",
        "start": dt.date(2020, 1, 1),
        "end": dt.date(2020, 12, 31),
        "seed": 7,
        "world": {"cliques": 80, "burn_in_days": 30},
        "phases": [
            {"start": dt.date(2020, 1, 1), "regime": "baseline"},
            {"start": dt.date(2020, 7, 1), "regime": "truce"},
        ],
    }
    data.update(extra)
    return Scenario.parse(data, "test.toml")


@pytest.fixture
def el_salvador() -> Scenario:
    return load_scenario(SCENARIOS / "el-salvador-2010-2016.toml")


@pytest.fixture
def letter() -> Scenario:
    return load_scenario(SCENARIOS / "el-salvador-2016-letter.toml")
