"""Bounded, finite input: every number has finite bounds, files are regular, bounded and
named relative to the file that names them, absurd work is refused before it starts,
and every failure is one line with a non-zero exit (no traceback)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap

import pytest

from tests.sweep_support import TINY_SCENARIO
from trucesim.cli.main import main
from trucesim.scenario.files import ALLOW_ABSOLUTE_ENV, MAX_BYTES


def _write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _with(section: str, line: str) -> str:
    if f"\n[{section}]\n" in TINY_SCENARIO:
        return TINY_SCENARIO.replace(f"\n[{section}]\n", f"\n[{section}]\n{line}\n")
    return TINY_SCENARIO.replace("\n[world]\n", f"\n[{section}]\n{line}\n\n[world]\n")


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ") or "usage:" in err, err
    return err


@pytest.mark.parametrize(("section", "line", "key", "reason"), [
    ("violence", "background_rate = inf", "violence.background_rate", "finite number"),
    ("violence", "mu = inf", "violence.mu", "finite number"),
    ("violence", "mu = nan", "violence.mu", "finite number"),
    ("violence", "civilian_rate = 1e6", "violence.civilian_rate", "less than or equal to 0.01"),
    ("world", "members = 1e15", "world.members", "less than or equal to 10000"),
    ("world", "prisoners = 1e12", "world.prisoners", "less than or equal to 10000"),
])
def test_infinite_nan_and_absurd_values_are_refused_by_check(tmp_path, capsys, section, line,
                                                              key, reason):
    path = _write(tmp_path, _with(section, line))
    assert main(["check", str(path)]) == 2
    err = _error(capsys)
    assert f"{path}: {key}: " in err and reason in err


@pytest.mark.parametrize("line", ["police_force = inf", "recruitment_factor = inf",
                                  "police_force = 1e9"])
def test_regime_overrides_are_finite_and_bounded(tmp_path, capsys, line):
    text = TINY_SCENARIO.replace('regime = "truce"\nlabel = "truce"',
                                 f'regime = "truce"\nlabel = "truce"\noverrides = {{ {line} }}')
    path = _write(tmp_path, text)
    assert main(["check", str(path)]) == 2
    assert f"phases.1.overrides.{line.split()[0]}" in _error(capsys)


def test_a_boolean_is_not_a_number(tmp_path, capsys):
    text = TINY_SCENARIO.replace("[world]", "[gangs.A]\nshare = true\n[gangs.B]\nshare = 0.5\n\n"
                                 "[world]")
    path = _write(tmp_path, text)
    assert main(["check", str(path)]) == 2
    assert f"{path}: gangs.A.share: true is a boolean, not a number" in _error(capsys)


def test_a_utf8_bom_is_accepted(tmp_path, capsys):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TINY_SCENARIO.encode())
    assert main(["check", str(path)]) == 0
    assert ": ok: tiny" in capsys.readouterr().out


def test_check_validates_variant_overrides_as_run_does(tmp_path, capsys):
    text = TINY_SCENARIO.replace("[variants.truce]",
                                 '[variants.truce]\noverrides = { "violence.mu" = 5.0 }')
    path = _write(tmp_path, text)
    assert main(["check", str(path)]) == 2
    check_err = _error(capsys)
    assert f"{path}: variants.truce: violence.mu: Input should be less than or equal to 1" in (
        check_err)
    assert main(["run", str(path), "-n", "1", "--out", str(tmp_path / "out")]) == 2
    assert _error(capsys) == check_err
    assert not (tmp_path / "out").exists()


def test_an_endless_timeline_is_refused_with_its_cost(tmp_path, capsys):
    path = _write(tmp_path, TINY_SCENARIO.replace("end = 2012-04-30", "end = 9999-12-31"))
    assert main(["check", str(path)]) == 2
    err = _error(capsys)
    assert f"{path}: end: 9999-12-31 is 2,917,557 days after start; the limit is 36,500" in err
    assert "of memory and" in err and "of computing" in err


def test_absurd_replicates_are_refused_before_any_work(tmp_path, capsys):
    path = _write(tmp_path, TINY_SCENARIO)
    out = tmp_path / "out"
    assert main(["run", str(path), "-n", str(10**12), "--out", str(out)]) == 2
    err = _error(capsys)
    assert "error: -n/--replicates: 3,000,000,000,000 run(s) of 121 days" in err  # 3 branches
    assert "PB of memory" in err and "years of computing" in err
    assert not out.exists()
    assert main(["validate", "-n", str(10**12), "--out", str(out)]) == 2
    assert "error: -n/--replicates: 2,000,000,000,000 run(s)" in _error(capsys)


# --------------------------------------------------------------------- named files
def _calibrated(tmp_path, target: str) -> os.PathLike:
    return _write(tmp_path, TINY_SCENARIO.replace('seed = 1\n', f'seed = 1\ncalibration = '
                                                  f'"{target}"\n', 1))


def test_calibration_on_a_device_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "endless").symlink_to("/dev/zero")
    path = _calibrated(tmp_path, "endless")
    assert main(["check", str(path)]) == 2  # the link leads outside the file's folder
    assert "'endless' leads outside this file's folder" in _error(capsys)
    monkeypatch.setenv(ALLOW_ABSOLUTE_ENV, "1")  # allowed outside: the device is refused
    assert main(["check", str(path)]) == 2
    assert (f"error: {tmp_path / 'endless'}: is not a regular file (a device, pipe or socket)"
            in _error(capsys))


def test_an_absolute_calibration_path_needs_permission(tmp_path, capsys, monkeypatch):
    cal = _write(tmp_path, "[overrides]\n\"violence.mu\" = 0.003\n", "cal.toml")
    path = _calibrated(tmp_path, str(cal))
    assert main(["check", str(path)]) == 2
    assert f"{path}: calibration: '{cal}' is an absolute path; give it relative" in (
        _error(capsys))
    monkeypatch.setenv(ALLOW_ABSOLUTE_ENV, "1")
    assert main(["check", str(path)]) == 0


@pytest.mark.parametrize(("content", "reason"), [
    (None, "is a folder, not a file"),
    (b"\x00\x01\x02binary", "holds binary data (NUL bytes), not text"),
    (b"\xff\xfe\xfa not utf-8", "not UTF-8 text"),
])
def test_a_calibration_that_is_not_text_is_one_line(tmp_path, capsys, content, reason):
    target = tmp_path / "cal"
    if content is None:
        target.mkdir()
    else:
        target.write_bytes(content)
    path = _calibrated(tmp_path, "cal")
    assert main(["check", str(path)]) == 2
    assert f"error: {target}: {reason}" in _error(capsys)


def test_a_huge_file_is_refused_without_reading_it(tmp_path, capsys):
    big = tmp_path / "big.toml"
    with big.open("wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: costs no disk
    assert main(["check", str(big)]) == 2
    assert "files above 16 MB are refused" in _error(capsys)


def test_calibration_data_that_is_a_folder_or_binary(tmp_path, capsys):
    (tmp_path / "tiny.toml").write_text(TINY_SCENARIO)
    (tmp_path / "obs").mkdir()
    (tmp_path / "bin.csv").write_bytes(os.urandom(64) + b"\x00")
    for data, reason in (("obs", "is a folder, not a file"), ("bin.csv", "holds binary data")):
        cal = _write(tmp_path, textwrap.dedent(f"""
            scenario = "tiny.toml"
            data = "{data}"
            [parameters."violence.mu"]
            low = 0.001
            high = 0.01
            [[targets]]
            name = "h"
            quantity = "homicides"
            metric = "homicides"
            """), "cal.toml")
        assert main(["calibrate", str(cal), "--workers", "1",
                     "--out", str(tmp_path / "out")]) == 2
        assert f"{tmp_path / data}: {reason}" in _error(capsys)
        assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------- command line
@pytest.mark.parametrize(("argv", "message"), [
    (["run", "honduras-like-2013", "--seed", "-1"], "--seed: -1 is outside 0 to"),
    (["validate", "--seed", "-1"], "--seed: -1 is outside 0 to"),
    (["plot", "nowhere", "--dpi", "0"], "--dpi: 0 is outside 10 to 1200"),
])
def test_bad_numbers_on_the_command_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_validate_another_scenario_is_one_line(capsys):
    assert main(["validate", "--scenario", "honduras-like-2013", "-n", "2"]) == 2
    assert "covers 2012-01-01 to 2014-12-31, but validate compares with El Salvador's" in (
        _error(capsys))


def test_out_that_is_a_file_or_unwritable(tmp_path, capsys):
    scenario = _write(tmp_path, TINY_SCENARIO)
    file = tmp_path / "FILE"
    file.write_text("mine")
    assert main(["run", str(scenario), "-n", "1", "--out", str(file)]) == 2
    assert f"error: {file}: exists and is not a folder" in _error(capsys)
    assert main(["run", str(scenario), "-n", "1", "--out", "/proc/no/such"]) == 2
    assert "error: /proc/no/such: cannot create its parent folder" in _error(capsys)
    assert file.read_text() == "mine"


def test_plot_out_file_and_random_bytes_manifest(tmp_path, capsys):
    scenario = _write(tmp_path, TINY_SCENARIO)
    run = tmp_path / "run"
    assert main(["run", str(scenario), "-n", "1", "--out", str(run)]) == 0
    (tmp_path / "FILE").write_text("x")
    capsys.readouterr()
    assert main(["plot", str(run), "--out", str(tmp_path / "FILE")]) == 2
    err = _error(capsys)
    assert "FILE: exists and is not a folder" in err and "Errno" not in err
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "manifest.json").write_bytes(bytes(range(128, 256)))
    assert main(["plot", str(junk)]) == 2
    assert "manifest.json: unreadable manifest" in _error(capsys)


def _cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "trucesim.cli.main", *args],
                          capture_output=True, text=True, timeout=300, **kwargs)


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    scenario = _write(tmp_path, TINY_SCENARIO)

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    out = tmp_path / "out"
    proc = _cli("run", str(scenario), "-n", "2", "--out", str(out), preexec_fn=small_files)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "error: writing the results failed: " in proc.stderr
    assert "File too large" in proc.stderr and "nothing half-written is kept" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_a_closed_pipe_is_one_line(tmp_path):
    """`trucesim params | head -c 10`: the pipe holds 4 kB, less than the table."""
    import fcntl

    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    proc = subprocess.Popen([sys.executable, "-m", "trucesim.cli.main", "params"],
                            stdout=write_end, stderr=subprocess.PIPE, text=True)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        assert reader.read(10)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert err == ("error: output closed early (broken pipe); what was written before "
                   "is complete\n")


def test_an_absurd_sweep_is_refused_before_any_work(tmp_path, capsys):
    from tests.sweep_support import write_tiny

    text = TINY_SCENARIO.replace("cliques = 50", "cliques = 100000").replace(
        "end = 2012-04-30", "end = 2099-12-31")
    exp = write_tiny(tmp_path, replicates=1_000_000)
    (tmp_path / "tiny.toml").write_text(text)
    assert main(["sweep", str(exp), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    err = _error(capsys)
    assert "exp.toml: design: 4,000,000 run(s) of " in err and "100,000 cliques" in err
    assert "years of computing" in err
    assert not (tmp_path / "out").exists()
