"""``trucesim calibrate`` on bad input (exit 2, clear message) and a tiny end-to-end run."""

from __future__ import annotations

import datetime as dt
import textwrap

import pandas as pd
import pytest

from trucesim.cli.main import main

from .conftest import phases, scenario_toml

GOOD_TARGET = """
[[targets]]
name = "annual"
quantity = "homicides"
window = [2010-01-01, 2010-12-31]
min_days = 365
"""


def _calibration(tmp_path, parameters: str, targets: str = GOOD_TARGET, top: str = "") -> str:
    text = textwrap.dedent(f"""
        scenario = "el-salvador-2010-2016"
        replicates = 1
        overrides = {{"world.cliques" = 30, "world.burn_in_days" = 10}}
        {top}
        [method]
        popsize = 2
        maxiter = 0
        """) + textwrap.dedent(parameters) + textwrap.dedent(targets)
    path = tmp_path / "cal.toml"
    path.write_text(text)
    return str(path)


MU = """
[parameters."violence.mu"]
low = 0.001
high = 0.005
"""


@pytest.mark.parametrize(
    "parameters, targets, message",
    [
        (MU, GOOD_TARGET.replace('min_days = 365', 'min_days = 365\nmetric = "robberies"'),
         "unknown statistic 'robberies'"),
        (MU, '[[targets]]\nname = "x"\nrows = ["homicides:2010-02-01:2010-02-28"]\n',
         "unknown data row"),
        (MU, GOOD_TARGET.replace("2010-12-31]", "2014-12-31]"), "validation only"),
        ('[parameters."violence.mu"]\nlow = 0.005\nhigh = 0.001\n', GOOD_TARGET,
         "low (0.005) must be below high (0.001)"),
        ('[parameters."violence.muu"]\nlow = 0.001\nhigh = 0.005\n', GOOD_TARGET,
         "names no parameter"),
        (MU, GOOD_TARGET.replace("quantity", "quantityy"), "unknown key"),
    ],
    ids=["unknown-statistic", "unknown-row", "future-window", "bounds", "unknown-path",
         "unknown-key"],
)
def test_bad_calibration_files_exit_2_with_file_key_reason(tmp_path, capsys, parameters,
                                                           targets, message):
    path = _calibration(tmp_path, parameters, targets)
    assert main(["calibrate", path, "--workers", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "cal.toml" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "fitted.toml").exists()


def test_no_finite_distance_is_an_error(tmp_path, capsys):
    # eta >= 1 - exp(-omega) makes every parameter vector an explosive process.
    params = '[parameters."violence.eta"]\nlow = 0.07\nhigh = 0.09\n'
    path = _calibration(tmp_path, params)
    assert main(["calibrate", path, "--workers", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no parameter vector of the initial population gave a finite distance" in err
    assert "branching ratio" in err
    assert not (tmp_path / "out" / "fitted.toml").exists()


NOWCAST_ROW = '[[targets]]\nname = "x"\nrows = ["homicides:2016-04-01:2016-04-30"]\n'
NOWCAST_QUANTITY = """
[[targets]]
name = "monthly"
quantity = "homicides"
window = [2010-01-01, 2016-12-31]
min_days = 28
max_days = 31
"""


@pytest.mark.parametrize("targets", [NOWCAST_ROW, NOWCAST_QUANTITY], ids=["row", "window"])
@pytest.mark.parametrize("flag", ["", "allow_future_data = true"], ids=["default", "allowed"])
def test_calibration_targeting_nowcast_rows_is_refused_in_one_line(tmp_path, capsys, targets,
                                                                   flag):
    path = _calibration(tmp_path, MU, targets, top=flag)
    assert main(["calibrate", path, "--workers", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    row = "2016-04-01:2016-04-30" if targets is NOWCAST_ROW else "2016-01-01:2016-01-31"
    if targets is NOWCAST_QUANTITY and not flag:  # the window is refused first
        assert "set allow_future_data = true to override" in err
    else:
        assert len(err.splitlines()) == 1, err
        key = "rows" if targets is NOWCAST_ROW else "quantity"
        assert err.startswith(f"error: {path}: targets.0.{key}: ")
        assert f"row homicides:{row} (el_salvador_observed.csv line " in err
        assert "marked 'nowcast window only'" in err and "never a protocol A fit" in err
    assert not (tmp_path / "out").exists()


#: The small test scenario around the fit cutoff (2013-12-31): two months of baseline.
TINY_SCENARIO = scenario_toml(
    name="tiny", start=dt.date(2013, 12, 1), end=dt.date(2014, 1, 31), seed=None,
    world={"cliques": 30, "burn_in_days": 10}, phases=phases((dt.date(2013, 12, 1), "baseline")),
)
TINY_DATA = """period_start,period_end,quantity,value,unit,source,note
2013-12-01,2013-12-31,homicides,60,count,test,
2014-01-01,2014-01-31,homicides,62,count,test,after the cutoff
"""


def test_future_data_needs_the_flag_and_is_announced_in_the_report(tmp_path, capsys):
    (tmp_path / "tiny.toml").write_text(TINY_SCENARIO)
    (tmp_path / "obs.csv").write_text(TINY_DATA)
    body = textwrap.dedent("""
        scenario = "tiny.toml"
        data = "obs.csv"
        replicates = 1
        {flag}
        [method]
        popsize = 2
        maxiter = 1
        [parameters."violence.background_rate"]
        low = 0.5
        high = 3.0
        [[targets]]
        name = "months"
        quantity = "homicides"
        """)
    path = tmp_path / "cal.toml"
    out = tmp_path / "out"
    path.write_text(body.format(flag=""))
    # Without the flag, the quantity selector cannot reach the 2014 row.
    assert main(["calibrate", str(path), "--workers", "1", "--out", str(tmp_path / "o1")]) == 0
    used = pd.read_parquet(tmp_path / "o1" / "statistics.parquet")["row"].tolist()
    assert used == ["homicides:2013-12-01:2013-12-31"]
    assert "WARNING" not in (tmp_path / "o1" / "fit_report.md").read_text()
    path.write_text(body.format(flag="allow_future_data = true"))
    assert main(["calibrate", str(path), "--workers", "1", "--out", str(out)]) == 0
    first = (out / "fit_report.md").read_text().splitlines()[0]
    assert "uses data after 2013-12-31" in first
    assert "allow_future_data = true" in (out / "fitted.toml").read_text()
    capsys.readouterr()
    # Rerunning resumes from the checkpoint: every evaluation is replayed, none simulated.
    checkpoint = (out / "checkpoint.jsonl").read_text()
    fitted = (out / "fitted.toml").read_text()
    assert main(["calibrate", str(path), "--workers", "1", "--out", str(out)]) == 0
    assert "resuming" in capsys.readouterr().out
    assert (out / "checkpoint.jsonl").read_text() == checkpoint
    assert (out / "fitted.toml").read_text() == fitted
