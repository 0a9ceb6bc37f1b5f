"""Shared fixtures: small, fast scenarios built from the bundled files."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import matplotlib
import pytest

# Figures render to files only: the package itself leaves the backend alone (a notebook
# keeps its own), so the tests choose the non-interactive one, as the CLI does.
matplotlib.use("Agg")

# A checkout tested with a relative PYTHONPATH (PYTHONPATH=src): made absolute, so that a
# subprocess a test starts in another folder (a dashboard server, a fresh interpreter)
# imports this checkout's code, not an installed trucesim compiled for other sources.
if os.environ.get("PYTHONPATH"):
    os.environ["PYTHONPATH"] = os.pathsep.join(
        os.path.abspath(p) for p in os.environ["PYTHONPATH"].split(os.pathsep) if p)


from trucesim.scenario.load import load_scenario
from trucesim.scenario.schema import Scenario


def pytest_configure(config):
    """Compile the model's kernels once, in the controlling process (and, from an empty
    cache, a second process compiling ahead: :mod:`trucesim.cli.warm`), before any test
    worker starts: the workers then load them from numba's cache instead of each
    compiling them (about 40 s of CPU each) at the same time."""
    if hasattr(config, "workerinput"):  # a pytest-xdist worker
        return
    from trucesim.cli import warm

    warm.start()  # nothing cached and the other core idle: it compiles too

    from trucesim.runner import preload  # importing it loads the day's kernels

    assert preload.FAILED is None, f"the kernels could not be loaded: {preload.FAILED}"


def pytest_collection_modifyitems(config, items):
    """Long tests (marked ``slow``) first: with ``-n 2`` the workers start on them and
    fill in with the short ones, instead of one worker running a long test alone at the
    end of the session. The order within each group is the collection order."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def small(scenario: Scenario, cliques: int = 80, burn_in: int = 30, **overrides) -> Scenario:
    """A scenario shrunk to a small world and short burn-in for fast tests."""
    return scenario.with_overrides(
        {"world.cliques": cliques, "world.burn_in_days": burn_in, **overrides}
    )


#: The small test scenario: a two-phase baseline -> truce year on an 80-clique world.
SMALL_SCENARIO: dict[str, Any] = {
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


def scenario_data(**changes: Any) -> dict[str, Any]:
    """The small test scenario's data with top-level keys replaced by ``changes``.

    A change to None drops the key (``seed=None``: the default seed; ``world=None``: the
    default world). ``world`` is merged key by key into the small world, so
    ``world={"cliques": 30}`` keeps the small burn-in.
    """
    data = copy.deepcopy(SMALL_SCENARIO)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        elif key == "world" and "world" in data:
            data["world"] = {**data["world"], **value}
        else:
            data[key] = copy.deepcopy(value)
    return data


def phases(*spec: tuple) -> list[dict[str, Any]]:
    """Phase tables from ``(start, regime)`` or ``(start, regime, label)`` tuples."""
    return [dict(zip(("start", "regime", "label"), p, strict=False)) for p in spec]


def scenario_toml(**changes: Any) -> str:
    """The small test scenario as the text of a scenario file (see :func:`scenario_data`)."""
    return toml_text(scenario_data(**changes))


def write_scenario(path: Path, **changes: Any) -> Path:
    """Write the small test scenario (with ``changes``) to ``path``; return the path."""
    path.write_text(scenario_toml(**changes))
    return path


def assert_cli_refuses_change(tmp_path: Path, capsys: Any, change: dict, key: str,
                              reason: str) -> None:
    """The small test scenario with ``change``: `check` and `run` exit 2 with
    `file: key: reason`, and `run` writes nothing."""
    from trucesim.cli.main import main

    path = write_scenario(tmp_path / "bad.toml", **change)
    out = tmp_path / "out"
    assert main(["check", str(path)]) == 2
    assert main(["run", str(path), "-n", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {key}" in err and reason in err, err
    assert not out.exists()


def simple_scenario(**changes: Any) -> Scenario:
    """The small test scenario, parsed (``changes`` as in :func:`scenario_data`)."""
    return Scenario.parse(scenario_data(**changes), "test.toml")


def toml_text(data: dict[str, Any]) -> str:
    """TOML for nested dicts and lists of dicts of strings, numbers, booleans and dates."""
    return "\n".join(_toml_lines(data, ())) + "\n"


def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum()
    return key if bare else json.dumps(key)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def _toml_lines(data: dict[str, Any], prefix: tuple[str, ...]) -> list[str]:
    def is_tables(v):
        return isinstance(v, list) and v and all(isinstance(x, dict) for x in v)

    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items()
             if not isinstance(v, dict) and not is_tables(v)]
    for k, v in data.items():
        path = (*prefix, _toml_key(k))
        if isinstance(v, dict):
            lines += [f"[{'.'.join(path)}]", *_toml_lines(v, path)]
        elif is_tables(v):
            for item in v:
                lines += [f"[[{'.'.join(path)}]]", *_toml_lines(item, path)]
    return lines


@pytest.fixture
def el_salvador() -> Scenario:
    return load_scenario(SCENARIOS / "el-salvador-2010-2016.toml")


@pytest.fixture
def letter() -> Scenario:
    return load_scenario(SCENARIOS / "el-salvador-2016-letter.toml")
