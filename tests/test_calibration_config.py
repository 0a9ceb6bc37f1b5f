"""The scenario key ``calibration``: calibrated overrides applied at load."""

from __future__ import annotations

import datetime as dt

import pytest

from trucesim.scenario.errors import ConfigError
from trucesim.scenario.load import load_scenario

from .conftest import phases, write_scenario

#: The small test scenario's file (default world and seed), calibrated by cal/fit.toml.
SCENARIO = {"name": "t", "start": dt.date(2010, 1, 1), "end": dt.date(2010, 3, 31),
            "seed": None, "world": None, "calibration": "cal/fit.toml",
            "phases": phases((dt.date(2010, 1, 1), "baseline"))}


def _write(tmp_path, overrides: str, **extra):
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "fit.toml").write_text(f"description = 'x'\n[overrides]\n{overrides}\n")
    return write_scenario(tmp_path / "s.toml", **SCENARIO, **extra)


def test_calibrated_overrides_are_applied_at_load(tmp_path):
    path = _write(tmp_path, '"violence.mu" = 0.0041\n"command.contact_rate" = 0.12')
    s = load_scenario(path)
    assert s.violence.mu == 0.0041
    assert s.command.contact_rate == 0.12
    raw = load_scenario(path, calibrated=False)
    assert raw.violence.mu != 0.0041


def test_values_set_in_the_scenario_file_win(tmp_path):
    path = _write(tmp_path, '"violence.mu" = 0.0041\n"violence.eta" = 0.02',
                  violence={"mu": 0.005})
    s = load_scenario(path)
    assert s.violence.mu == 0.005
    assert s.violence.eta == 0.02


@pytest.mark.parametrize(
    "overrides, key",
    [('"violence.muu" = 0.1', "violence.muu"), ('"violence.mu" = -1.0', "violence.mu")],
)
def test_bad_calibration_file_names_the_file_and_key(tmp_path, overrides, key):
    path = _write(tmp_path, overrides)
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert "fit.toml" in str(err.value) and key in str(err.value)


def test_missing_calibration_file_is_a_config_error(tmp_path):
    path = write_scenario(tmp_path / "s.toml", **SCENARIO)
    with pytest.raises(ConfigError, match="no such file"):
        load_scenario(path)


def test_bundled_el_salvador_scenarios_use_the_shipped_calibration():
    import tomllib

    from trucesim.scenario.load import bundled_dir

    cal = tomllib.loads((bundled_dir() / "calibrated" / "el-salvador.toml").read_text())
    assert cal["fit"]["data_until"] <= dt.date(2013, 12, 31)  # no data after the cutoff
    assert "allow_future_data" not in cal["fit"]
    for name in ("el-salvador-2010-2016", "el-salvador-2016-letter"):
        s = load_scenario(name)
        data = s.to_data()
        for path, value in cal["overrides"].items():
            group, key = path.split(".")
            assert data[group][key] == value, (name, path)
