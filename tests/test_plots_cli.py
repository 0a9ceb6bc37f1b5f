"""`trucesim plot` on folders that are not results: a clear message, exit 2, nothing written."""

from __future__ import annotations

import json

import pytest

from trucesim.cli.main import main


@pytest.mark.parametrize("make, words", [
    (lambda p: None, ["no such folder"]),
    (lambda p: p.mkdir(), ["not a trucesim results folder", "manifest.json"]),
    (lambda p: p.write_text("x"), ["no such folder"]),
    (lambda p: (p.mkdir(), (p / "manifest.json").write_text("{oops")),
     ["unreadable manifest"]),
    (lambda p: (p.mkdir(), (p / "manifest.json").write_text(json.dumps({"kind": "calibration"}))),
     ["unknown results kind 'calibration'", "run, sweep"]),
    (lambda p: (p.mkdir(), (p / "manifest.json").write_text(json.dumps({"kind": "run"}))),
     ["incomplete results folder: no daily.parquet"]),
    (lambda p: (p.mkdir(), (p / "manifest.json").write_text(json.dumps({"kind": "sweep"}))),
     ["incomplete results folder: no runs.parquet"]),
])
def test_not_a_results_folder(tmp_path, capsys, make, words):
    folder = tmp_path / "results"
    make(folder)
    out = tmp_path / "figs"
    assert main(["plot", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    for w in words:
        assert w in err
    assert not out.exists()


def test_unknown_kind_is_refused_before_reading_anything(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "missing"), "--kind", "pie"]) == 2
    err = capsys.readouterr().err
    assert "unknown kind 'pie'; valid: fan, compare, annual, composition, control, " \
           "response, sensitivity" in err


def test_unknown_format_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["plot", str(tmp_path), "--format", "gif"])
    assert exc.value.code == 2
    assert "png, svg, pdf" in capsys.readouterr().err.replace("'", "")


def test_kinds_follow_the_columns_the_results_hold(tmp_path, capsys):
    # A run folder whose daily table holds recorded homicides only (as a sweep may keep).
    import numpy as np
    import pandas as pd

    folder = tmp_path / "run"
    folder.mkdir()
    dates = pd.date_range("2016-01-01", "2016-06-30")
    daily = pd.concat([pd.DataFrame({"variant": "base", "replicate": r, "date": dates,
                                     "phase": "hardline", "homicides": np.full(len(dates), r)})
                       for r in range(2)])
    daily.to_parquet(folder / "daily.parquet")
    (folder / "manifest.json").write_text(json.dumps({"kind": "run", "scenario": {"name": "x"}}))
    out = tmp_path / "figs"
    assert main(["plot", str(folder), "--out", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["fan-homicides.png"]
    assert main(["plot", str(folder), "--kind", "composition", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "killings by type" in err and "Kinds that fit these run results: fan" in err
    assert not (tmp_path / "c").exists()
