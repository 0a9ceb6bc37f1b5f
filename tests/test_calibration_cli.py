"""``trucesim calibrate`` on bad input (exit 2, one-line ``file: key: reason``), the
history database (resume, refusals) and a tiny end-to-end ABC-SMC run."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap

import pytest

from trucesim.cli.main import main
from trucesim.scenario.posterior import load_posterior

from .conftest import phases, scenario_toml

pytest.importorskip("pyabc")

GOOD_TARGET = """
[[targets]]
name = "annual"
quantity = "homicides"
window = [2010-01-01, 2010-12-31]
min_days = 365
"""

MU = """
[parameters."violence.mu"]
prior = "loguniform"
low = 0.001
high = 0.005
"""


def _calibration(tmp_path, parameters: str = MU, targets: str = GOOD_TARGET, top: str = "",
                 method: str = "population_size = 10\nmax_generations = 1") -> str:
    text = textwrap.dedent(f"""
        scenario = "el-salvador-2010-2016"
        seed = 3
        overrides = {{"world.cliques" = 30, "world.burn_in_days" = 10}}
        {top}
        [method]
        {method}
        """) + textwrap.dedent(parameters) + textwrap.dedent(targets)
    path = tmp_path / "cal.toml"
    path.write_text(text)
    return str(path)


def _refused(tmp_path, capsys, path, *extra) -> str:
    out = tmp_path / "out"
    assert main(["calibrate", path, "--workers", "1", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


NOWCAST_ROW = '[[targets]]\nname = "x"\nrows = ["homicides:2016-04-01:2016-04-30"]\n'
NOWCAST_WINDOW = """
[[targets]]
name = "monthly 2016"
quantity = "homicides"
window = [2016-01-01, 2016-07-14]
min_days = 28
max_days = 31
"""


@pytest.mark.parametrize(
    "parameters, targets, top, message",
    [
        ('[parameters."violence.mu"]\nlow = 0.005\nhigh = 0.001\n', GOOD_TARGET, "",
         "cal.toml: parameters.violence.mu: low (0.005) must be below high (0.001)"),
        ('[parameters."violence.mu"]\nlow = 0.001\nhigh = 2.0\n', GOOD_TARGET, "",
         "cal.toml: parameters.violence.mu.high: 2.0 is above the parameter table's bound 1.0"),
        ('[parameters."violence.mu"]\nlow = -0.1\nhigh = 0.5\n', GOOD_TARGET, "",
         "cal.toml: parameters.violence.mu.low: -0.1 is below the parameter table's bound 0.0"),
        ('[parameters."violence.mu"]\nprior = "loguniform"\n', GOOD_TARGET, "",
         "cal.toml: parameters.violence.mu.low: a loguniform prior needs low > 0"),
        ('[parameters."violence.mu"]\nprior = "cauchy"\n', GOOD_TARGET, "",
         "cal.toml: parameters.violence.mu.prior: "),
        ('[parameters."violence.mu"]\nprior = "normal"\nmean = 0.003\n', GOOD_TARGET, "",
         "a normal prior needs mean and sd"),
        ('[parameters."violence.mu"]\nprior = "normal"\nmean = 0.5\nsd = 0.1\nhigh = 0.1\n',
         GOOD_TARGET, "", "cal.toml: parameters.violence.mu.mean: 0.5 is outside the "
         "truncation [0.0, 0.1]"),
        ('[parameters."violence.mu"]\nprior = "uniform"\nsd = 0.1\n', GOOD_TARGET, "",
         "mean and sd belong to a normal prior, not 'uniform'"),
        ('[parameters."violence.muu"]\nlow = 0.001\nhigh = 0.005\n', GOOD_TARGET, "",
         "cal.toml: parameters.violence.muu: names no parameter"),
        (MU + 'colour = "red"\n', GOOD_TARGET, "", "cal.toml: parameters.violence.mu.colour: "),
        (MU, GOOD_TARGET, "data_until = 2007-12-31",
         "cal.toml: data_until: 2007-12-31 is before the first data row (2008-01-01): an "
         "empty data window"),
        (MU, GOOD_TARGET, "data_until = 2010-06-30",
         "cal.toml: targets.0.window: the fitting window ends 2010-12-31, after 2010-06-30"),
        (MU, '[[targets]]\nname = "police"\nquantity = "police_killed"\n',
         "data_until = 2010-06-30", "cal.toml: targets.0: selects no data row up to "
         "2010-06-30 (an empty data window)"),
        (MU, GOOD_TARGET, 'protocol = "B"\ndata_until = 2016-07-15',
         "cal.toml: data_until: 2016-07-15 is after case el-salvador-2016's as-of date "
         "2016-07-14 (protocol B); nothing after the case's as-of date may be an input"),
        (MU, GOOD_TARGET, "data_until = 2014-06-30",
         "cal.toml: data_until: 2014-06-30 is after case el-salvador-2016's hindcast cutoff "
         '2013-12-31 (protocol A); a nowcast fit needs protocol = "B"'),
        (MU, NOWCAST_ROW, "",
         "cal.toml: targets.0.rows: row homicides:2016-04-01:2016-04-30 "
         "(el_salvador_observed.csv line 40) is marked 'nowcast window only': it may inform "
         'only a nowcast: set protocol = "B"'),
        (MU, GOOD_TARGET.replace("2010-12-31]", "2014-12-31]"), "",
         "cal.toml: targets.0.window: the fitting window ends 2014-12-31, after 2013-12-31"),
        (MU, GOOD_TARGET, "DE", "cal.toml: method.name: "),
        (MU, GOOD_TARGET, "KERNEL",
         "cal.toml: method.kernel_scaling: Input should be greater than 0"),
    ],
    ids=["low>=high", "above-table", "below-table", "loguniform-zero", "unknown-prior",
         "normal-without-sd", "normal-mean-outside", "sd-on-uniform", "unknown-parameter",
         "unknown-key", "empty-window-before-data", "window-after-cutoff",
         "empty-selection", "cutoff-after-2016-07-14", "A-after-2013", "nowcast-without-B",
         "future-window", "de-method", "kernel-scaling-zero"],
)
def test_invalid_calibration_files_exit_2_in_one_line(tmp_path, capsys, parameters, targets,
                                                      top, message):
    if top == "DE":
        path = _calibration(tmp_path, parameters, targets, method='name = "differential_evolution"')
    elif top == "KERNEL":
        path = _calibration(tmp_path, parameters, targets,
                            method='name = "abc_smc"\nkernel_scaling = 0.0')
    else:
        path = _calibration(tmp_path, parameters, targets, top=top)
    err = _refused(tmp_path, capsys, path)
    assert err.startswith("error: ") and message in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("targets", [NOWCAST_ROW, NOWCAST_WINDOW], ids=["row", "window"])
def test_nowcast_rows_are_usable_with_protocol_b_only(tmp_path, capsys, targets):
    from trucesim.calibration.problem import load_calibration

    path = _calibration(tmp_path, MU, targets, top='protocol = "B"\ndata_until = 2016-07-14')
    problem = load_calibration(path)
    assert all(s.row.nowcast_only for s in problem.stats)
    assert problem.fit_end <= dt.date(2016, 7, 14)
    assert problem.scenario.end == problem.fit_end  # simulated only up to the data
    a = _calibration(tmp_path, MU, targets, top="")
    err = _refused(tmp_path, capsys, a)
    assert "nowcast window only" in err or "after 2013-12-31" in err


def test_default_bounds_come_from_the_parameter_table(tmp_path):
    from trucesim.calibration.problem import load_calibration

    path = _calibration(tmp_path, '[parameters."violence.restraint_efficacy"]\n')
    prior = load_calibration(path).priors["violence.restraint_efficacy"]
    assert (prior.prior, prior.low, prior.high) == ("uniform", 0.0, 1.0)


#: The small test scenario around the protocol A cutoff (2013-12-31): two months.
TINY_SCENARIO = scenario_toml(
    name="tiny", start=dt.date(2013, 11, 1), end=dt.date(2014, 1, 31), seed=None,
    world={"cliques": 30, "burn_in_days": 10}, phases=phases((dt.date(2013, 11, 1), "baseline")),
)
TINY_DATA = """period_start,period_end,quantity,value,unit,source,note
2013-11-01,2013-11-30,homicides,55,count,test,
2013-12-01,2013-12-31,homicides,60,count,test,
2014-01-01,2014-01-31,homicides,62,count,test,after the cutoff
"""
TINY_CAL = """
scenario = "tiny.toml"
data = "obs.csv"
seed = 11
[method]
population_size = 12
max_generations = {generations}
[parameters."violence.background_rate"]
low = 0.5
high = 3.0
[[targets]]
name = "months"
quantity = "homicides"
"""


def _write_tiny(folder):
    (folder / "tiny.toml").write_text(TINY_SCENARIO)
    (folder / "obs.csv").write_text(TINY_DATA)
    path = folder / "cal.toml"
    path.write_text(TINY_CAL.format(generations=1))
    return path


@pytest.fixture
def tiny(tmp_path):
    return _write_tiny(tmp_path)


@pytest.fixture(scope="module")
def finished_once(tmp_path_factory):
    """One finished 1-generation calibration of ``tiny``, run once for the module (each
    run costs 1.5-3.5 s): the tests that need a finished folder get a copy of it
    (:func:`finished`), and never write into this one. Only the file names of the
    calibration are recorded in what it compares (the digest and the posterior name
    ``scenario = "tiny.toml"``, ``data = "obs.csv"``, ``calibration = "cal.toml"``), so a
    copy resumes from another folder holding the same files."""
    folder = tmp_path_factory.mktemp("calibration")
    out = folder / "done"
    assert main(["calibrate", str(_write_tiny(folder)), "--workers", "1", "--out",
                 str(out)]) == 0
    return out


def test_a_run_writes_the_posterior_and_report_and_resumes(tiny, tmp_path, capsys,
                                                           finished_once):
    # The first run is the shared one (the same command on the same files); resuming
    # writes, so into a copy.
    out = tmp_path / "out"
    shutil.copytree(finished_once, out)
    for name in ("posterior.toml", "report.md", "marginals.png", "pairs.png",
                 "predictive.png", "history.db", ".trucesim-result.json", "manifest.json"):
        assert (out / name).is_file(), name
    post = load_posterior(out / "posterior.toml")
    assert post.protocol == "A" and post.data_until == dt.date(2013, 12, 31)
    assert post.names == ("violence.background_rate",) and len(post) == 12
    assert 0.5 <= post.values.min() and post.values.max() <= 3.0
    report = (out / "report.md").read_text()
    # Only the rows up to the cutoff are targets, and every one is checked.
    assert "homicides:2013-12-01:2013-12-31" in report and "2014-01-01" not in report
    assert "| generation | epsilon |" in report and "90% interval" in report
    capsys.readouterr()
    # Rerunning without --resume is refused; with it, one more generation is run.
    assert main(["calibrate", str(tiny), "--workers", "1", "--out", str(out)]) == 2
    assert "add --resume to continue it" in capsys.readouterr().err
    tiny.write_text(TINY_CAL.format(generations=2))  # the stopping rule may change
    assert main(["calibrate", str(tiny), "--workers", "1", "--out", str(out), "--resume"]) == 0
    assert "resuming: 1 generation(s)" in capsys.readouterr().out
    assert "| 1 |" in (out / "report.md").read_text()


def test_one_worker_runs_are_reproducible(tiny, tmp_path, finished_once):
    # "a" is the shared run (same files, another folder: the posterior names only the
    # calibration file's name); "b" is run here.
    assert main(["calibrate", str(tiny), "--workers", "1", "--out",
                 str(tmp_path / "b")]) == 0
    assert ((finished_once / "posterior.toml").read_text()
            == (tmp_path / "b" / "posterior.toml").read_text())


@pytest.fixture
def finished(tiny, tmp_path, finished_once):
    """A finished calibration of ``tiny`` in this test's folder: a copy of the shared one."""
    out = tmp_path / "done"
    shutil.copytree(finished_once, out)
    return out


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_history_from_another_calibration_is_refused(tiny, finished, capsys):
    before = _snapshot(finished)
    tiny.write_text(TINY_CAL.format(generations=1).replace("seed = 11", "seed = 12"))
    capsys.readouterr()
    assert main(["calibrate", str(tiny), "--workers", "1", "--out", str(finished),
                 "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "history.db: is the history of another calibration (digest " in err
    assert _snapshot(finished) == before


@pytest.mark.parametrize("damage", ["overwrite", "truncate", "other-db"])
def test_a_corrupted_history_is_refused(tiny, finished, capsys, damage):
    db = finished / "history.db"
    if damage == "overwrite":
        db.write_bytes(b"\x00garbage" * 500)
    elif damage == "truncate":
        db.write_bytes(db.read_bytes()[:3000])
    else:
        import sqlite3

        db.unlink()
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
    before = _snapshot(finished)
    capsys.readouterr()
    assert main(["calibrate", str(tiny), "--workers", "1", "--out", str(finished),
                 "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "history.db: is not a readable pyabc history (" in err
    assert _snapshot(finished) == before


def test_folders_that_are_not_calibrations_are_left_alone(tiny, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert main(["calibrate", str(tiny), "--workers", "1", "--out", str(mine)]) == 2
    assert "is not a folder trucesim made" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert main(["calibrate", str(tiny), "--workers", "1", "--out", str(tmp_path / "none"),
                 "--resume"]) == 2
    assert "holds no calibration to resume" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_the_shipped_calibration_files_load():
    from pathlib import Path

    from trucesim.calibration.problem import load_calibration

    root = Path(__file__).resolve().parents[1] / "calibration"
    a = load_calibration(root / "el-salvador-2013.toml")
    b = load_calibration(root / "el-salvador-2016-07-14.toml")
    assert (a.spec.protocol, a.data_until, a.fit_end) == ("A", dt.date(2013, 12, 31),
                                                          dt.date(2013, 12, 31))
    assert (b.spec.protocol, b.data_until, b.fit_end) == ("B", dt.date(2016, 7, 14),
                                                          dt.date(2016, 7, 14))
    assert a.names == b.names and a.priors == b.priors
    assert not any(s.row.nowcast_only for s in a.stats)
    assert {s.row.id for s in a.stats} < {s.row.id for s in b.stats}
    assert sum(s.row.nowcast_only for s in b.stats) == 13


@pytest.mark.parametrize("protocol, calibration, until", [
    ("A", "el-salvador-2013.toml", dt.date(2013, 12, 31)),
    ("B", "el-salvador-2016-07-14.toml", dt.date(2016, 7, 14)),
])
def test_the_bundled_posteriors_match_their_calibrations(protocol, calibration, until):
    from importlib import resources
    from pathlib import Path

    from trucesim.calibration.problem import load_calibration

    bundled = Path(str(resources.files("trucesim") / "bundled" / "posterior"))
    post = load_posterior(bundled / f"el-salvador-{protocol}.toml")
    problem = load_calibration(Path(__file__).resolve().parents[1] / "calibration" / calibration)
    assert (post.protocol, post.data_until, post.calibration) == (protocol, until, calibration)
    assert list(post.names) == problem.names
    for j, prior in enumerate(problem.priors.values()):
        assert prior.low <= post.values[:, j].min() and post.values[:, j].max() <= prior.high


def test_an_unreachable_scheduler_is_refused_before_anything_is_written(tiny, tmp_path,
                                                                       capsys):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    assert main(["calibrate", str(tiny), "--backend", "dask", "--scheduler",
                 "tcp://127.0.0.1:9", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --scheduler: tcp://127.0.0.1:9: cannot reach the Dask")
    assert not out.exists()


def test_priors_of_invalid_scenarios_give_no_posterior(tmp_path, capsys):
    # eta >= 1 - exp(-omega) makes every particle an explosive process.
    path = _calibration(tmp_path, '[parameters."violence.eta"]\nlow = 0.07\nhigh = 0.09\n')
    out = tmp_path / "out"
    assert main(["calibrate", path, "--workers", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cal.toml: parameters: 10 accepted particles have an infinite distance" in err
    assert not (out / "posterior.toml").exists()
