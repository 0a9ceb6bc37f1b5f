"""Forecasts over a posterior: one draw per replicate, the same draw in every branch.

The posterior files here are made by hand (``posterior_toml``): the fixture
``fixtures/posterior-A.toml`` holds 50 particles spread around the bundled fit within its
intervals; toy ones are written to ``tmp_path``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest

import trucesim.api as api
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.load import load_scenario
from trucesim.scenario.params import MODEL_VERSION
from trucesim.scenario.posterior import Posterior, load_posterior, posterior_toml
from trucesim.scenario.schema import Scenario
from trucesim.uncertainty import NOISE_ONLY, POSTERIOR, parameter_draws

from .conftest import phases, scenario_data

FIXTURES = Path(__file__).parent / "fixtures"


def toy_posterior(values: dict[str, list[float]], seed: int = 1, protocol: str = "A",
                  weights: list[float] | None = None, scenario: str = "test") -> Posterior:
    n = len(next(iter(values.values())))
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights) / np.sum(weights)
    return Posterior(names=tuple(values), values=np.column_stack(list(values.values())),
                     weights=w, protocol=protocol,
                     data_until=dt.date(2013, 12, 31) if protocol == "A" else dt.date(2016, 7, 14),
                     seed=seed, description="toy", scenario=scenario)


def write_posterior(path: Path, posterior: Posterior) -> Path:
    path.write_text(posterior_toml(posterior))
    return path


def toy_scenario(**changes) -> Scenario:
    data = scenario_data(
        world={"cliques": 30, "burn_in_days": 20}, end=dt.date(2020, 6, 30),
        phases=phases((dt.date(2020, 1, 1), "baseline")),
        variants={"truce": {"phases": phases((dt.date(2020, 4, 1), "truce"))}}, **changes)
    return Scenario.parse(data, "<toy>")


MU_SPREAD = {"violence.mu": list(np.geomspace(0.0003, 0.006, 20)),
             "violence.eta": list(np.linspace(0.01, 0.04, 20))}
#: Non-gang killings per day: they set the level of recorded homicides in the toy world.
BACKGROUND_SPREAD = {"violence.background_rate": list(np.linspace(1.0, 8.0, 20))}


def _recording(monkeypatch):
    calls = []
    real = api.simulate

    def recorded(scenario, seed=None, variant=None, **kw):
        calls.append((variant or "base", seed.spawn_key, scenario.violence.mu,
                      scenario.violence.eta))
        return real(scenario, seed=seed, variant=variant, **kw)

    monkeypatch.setattr(api, "simulate", recorded)
    return calls


def test_replicate_r_of_every_variant_runs_draw_r(monkeypatch):
    post = toy_posterior(MU_SPREAD)
    calls = _recording(monkeypatch)
    daily = api.simulate_variants(toy_scenario(), seed=3, replicates=4, posterior=post)
    assert daily.attrs["uncertainty"] == POSTERIOR
    by_rep = {}
    for variant, key, mu, eta in calls:
        by_rep.setdefault(key[-1], set()).add((mu, eta))
        assert variant in ("base", "truce")
    assert len(calls) == 8
    for r, params in by_rep.items():  # the same parameters in both branches
        assert params == {(post.overrides(r)["violence.mu"], post.overrides(r)["violence.eta"])}
    assert len({next(iter(p)) for p in by_rep.values()}) > 1  # and they differ across replicates


def test_without_a_posterior_every_replicate_runs_the_scenario_values(monkeypatch):
    scenario = toy_scenario()
    calls = _recording(monkeypatch)
    daily = api.simulate_variants(scenario, seed=3, replicates=3, variants=[None])
    assert {c[2] for c in calls} == {scenario.violence.mu}
    assert daily.attrs["uncertainty"] == NOISE_ONLY


def test_posterior_intervals_are_wider_than_noise_only():
    """On a toy world where the background rate sets the level, drawing it widens the
    spread of the totals over replicates."""
    scenario = toy_scenario()
    post = toy_posterior(BACKGROUND_SPREAD)

    def totals(posterior):
        d = api.simulate_variants(scenario, seed=11, replicates=8, variants=[None],
                                  posterior=posterior)
        return d.groupby("replicate")["homicides"].sum().to_numpy()

    noise, both = totals(None), totals(post)
    spread = lambda x: np.quantile(x, 0.95) - np.quantile(x, 0.05)  # noqa: E731
    assert spread(both) > 2 * spread(noise)


def test_draws_match_load_scenario_and_hold_what_the_file_sets(tmp_path):
    post_path = write_posterior(tmp_path / "post.toml", toy_posterior(MU_SPREAD))
    scen = tmp_path / "s.toml"
    scen.write_text(
        'name = "toy"\nstart = 2020-01-01\nend = 2020-03-31\nposterior = "post.toml"\n'
        "[world]\ncliques = 30\nburn_in_days = 20\n[violence]\neta = 0.02\n"
        '[[phases]]\nstart = 2020-01-01\nregime = "baseline"\n')
    scenario = load_scenario(scen)
    draws = parameter_draws(scenario, True)
    assert draws.held == ("violence.eta",)
    for k in (0, 5):
        drawn = load_scenario(scen, draw=k)
        mine = draws.apply(scenario, k)
        assert mine.violence.mu == drawn.violence.mu == post_path_values(post_path, k)
        assert mine.violence.eta == drawn.violence.eta == 0.02


def test_what_the_file_sets_is_recorded_when_it_is_loaded(tmp_path):
    """A loaded scenario holds the posterior parameters its file set when it was loaded:
    editing or deleting the file afterwards changes nothing (it is not read again); its
    overridden copies and variants hold the same; one built in code holds none."""
    write_posterior(tmp_path / "post.toml", toy_posterior(MU_SPREAD))
    scen = tmp_path / "s.toml"
    text = ('name = "toy"\nstart = 2020-01-01\nend = 2020-03-31\nposterior = "post.toml"\n'
            "[world]\ncliques = 30\nburn_in_days = 20\n[violence]\neta = 0.02\n"
            '[[phases]]\nstart = 2020-01-01\nregime = "baseline"\n')
    scen.write_text(text)
    scenario = load_scenario(scen)
    assert scenario.sets("violence.eta") and scenario.sets("violence")
    assert not scenario.sets("violence.mu")
    scen.write_text(text.replace("[violence]\neta = 0.02\n", ""))  # the file changes
    assert parameter_draws(scenario, True).held == ("violence.eta",)
    assert parameter_draws(scenario.with_overrides({"violence.mu": 0.001}), True).held == (
        "violence.eta",)
    assert load_scenario(scen).file_keys != scenario.file_keys  # a new load reads anew
    scen.unlink()
    assert parameter_draws(scenario, True).held == ("violence.eta",)
    built = Scenario.parse(scenario.to_data(), str(scen))
    assert built.file_keys == frozenset()


def post_path_values(path: Path, k: int) -> float:
    return load_posterior(path).overrides(k)["violence.mu"]


def test_the_fixture_posterior_fits_the_bundled_scenarios():
    post = load_posterior(FIXTURES / "posterior-A.toml")
    assert len(post) == 50 and post.protocol == "A"
    scenario = load_scenario("el-salvador-2016-letter")
    draws = parameter_draws(scenario, FIXTURES / "posterior-A.toml")
    assert set(draws.overrides(0)) == set(post.names)


def test_a_posterior_naming_an_unknown_parameter_is_refused(tmp_path):
    path = write_posterior(tmp_path / "p.toml", toy_posterior({"violence.nope": [1.0, 2.0]}))
    with pytest.raises(ConfigError, match=r"p\.toml: parameters\.violence\.nope: names no"):
        parameter_draws(toy_scenario(), path)
    with pytest.raises(ConfigError, match="names no posterior file"):
        parameter_draws(toy_scenario(), True)


# ---------------------------------------------------------------------- trucesim run
def _toy_files(tmp_path: Path, posterior: Posterior | None = None) -> Path:
    write_posterior(tmp_path / "post.toml", posterior or toy_posterior(BACKGROUND_SPREAD))
    scen = tmp_path / "toy.toml"
    scen.write_text(
        'name = "toy"\nstart = 2020-01-01\nend = 2020-04-30\nposterior = "post.toml"\n'
        'counterfactual = "base"\n'
        "[world]\ncliques = 30\nburn_in_days = 20\n"
        '[[phases]]\nstart = 2020-01-01\nregime = "baseline"\n'
        '[variants.truce]\n[[variants.truce.phases]]\nstart = 2020-03-01\nregime = "truce"\n')
    return scen


def test_run_with_posterior_end_to_end(tmp_path, capsys, monkeypatch):
    import json

    from trucesim.cli.main import main

    ran = []
    real = api.simulate

    def recorded(scenario, seed=None, variant=None, **kw):
        ran.append((variant, seed.spawn_key[-1], scenario.violence.background_rate))
        return real(scenario, seed=seed, variant=variant, **kw)

    scen = _toy_files(tmp_path)
    out = tmp_path / "r"
    monkeypatch.setattr(api, "simulate", recorded)
    assert main(["run", str(scen), "-n", "3", "--posterior", "--out", str(out)]) == 0
    post = load_posterior(tmp_path / "post.toml")
    assert len(ran) == 6 and {v for v, _, _ in ran} == {None, "truce"}
    for _, r, rate in ran:  # replicate r of both branches ran draw r
        assert rate == post.overrides(r)["violence.background_rate"]
    printed = capsys.readouterr().out
    assert f"Intervals over replicates carry {POSTERIOR}: replicate r of every branch " \
        "runs posterior draw r from" in printed
    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert summary["uncertainty"] == manifest["uncertainty"] == POSTERIOR
    assert manifest["posterior"]["protocol"] == "A"
    for row in summary["runs"]:  # both branches: replicate r ran draw r
        assert row["draw"] == row["replicate"]
        assert row["parameters"] == post.overrides(row["replicate"])
    # without the flag: noise only, said so
    plain = tmp_path / "p"
    assert main(["run", str(scen), "-n", "2", "--out", str(plain)]) == 0
    assert f"Intervals over replicates carry {NOISE_ONLY}" in capsys.readouterr().out
    assert json.loads((plain / "manifest.json").read_text())["uncertainty"] == NOISE_ONLY


def test_compare_plot_caption_says_what_the_intervals_carry(tmp_path):
    from trucesim.plots.data import load_results
    from trucesim.plots.fan import compare_chart

    run = _run_folder(tmp_path)
    fig = compare_chart(run.daily, scenario=run.scenario, reference="base",
                        uncertainty=run.uncertainty)
    caption = fig.get_supxlabel().replace("\n", " ")
    assert f"Intervals carry {POSTERIOR}." in caption
    assert "same posterior draw" in caption
    import matplotlib.pyplot as plt

    plt.close(fig)
    assert load_results(tmp_path / "r").uncertainty == POSTERIOR
    from trucesim.plots.render import plot_results

    for path in plot_results(tmp_path / "r", kind="fan", out=tmp_path / "plots"):
        assert path.exists()
    from trucesim.plots.fan import fan_chart

    fig = fan_chart(run.daily, scenario=run.scenario, uncertainty=NOISE_ONLY)
    assert f"Intervals carry {NOISE_ONLY}." in fig.get_supxlabel().replace("\n", " ")
    plt.close(fig)


def _run_folder(tmp_path):
    from trucesim.cli.main import main
    from trucesim.plots.data import load_results

    scen = _toy_files(tmp_path)
    assert main(["run", str(scen), "-n", "2", "--posterior", str(tmp_path / "post.toml"),
                 "--out", str(tmp_path / "r")]) == 0
    return load_results(tmp_path / "r")


BAD_POSTERIORS = {
    "model_version": (f'model_version = "{MODEL_VERSION}"', 'model_version = "1"',
                      "fitted to model version"),
    "parameters.violence.nope": ('"violence.background_rate"', '"violence.nope"',
                                 "names no parameter"),
    "": ("[parameters]", "[parameters", "malformed TOML"),
    "weights": ("weights = [", "weights = [-1, ", "non-negative"),
    "parameters.violence.background_rate": ('"violence.background_rate" = [1,',
                                            '"violence.background_rate" = [-1,',
                                            "particle 0 (-1): "),
}


@pytest.mark.parametrize("key", list(BAD_POSTERIORS))
def test_run_refuses_a_bad_posterior_and_writes_nothing(tmp_path, capsys, key):
    from trucesim.cli.main import main

    scen = _toy_files(tmp_path)
    old, new, reason = BAD_POSTERIORS[key]
    path = tmp_path / "post.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    out = tmp_path / "r"
    assert main(["run", str(scen), "-n", "2", "--posterior", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}: {key}: " if key else f"error: {path}: ")
    assert reason in err and len(err.splitlines()) == 1
    assert not out.exists()


# ---------------------------------------------------------------------- sweeps
SWEEP = """
name = "toy-posterior"
scenario = "toy.toml"
replicates = 3
seed = 4
posterior = {posterior}

[design]
method = "variants"

[variants.base]
[variants.truce]
variant = "truce"
[variants.calm]
overrides = {{"violence.background_rate" = 0.5}}

[outcomes]
summary = ["mean_homicides"]
"""


def _sweep_files(tmp_path: Path, posterior: str = "true") -> Path:
    _toy_files(tmp_path)
    path = tmp_path / "exp.toml"
    path.write_text(SWEEP.format(posterior=posterior))
    return path


def test_sweep_tasks_carry_their_draw_and_its_values(tmp_path):
    import pickle

    from trucesim.runner.experiment import load_experiment
    from trucesim.runner.store import SweepStore
    from trucesim.runner.sweep import plan

    exp = load_experiment(_sweep_files(tmp_path))
    post = load_posterior(tmp_path / "post.toml")
    tasks, _ = plan(exp, {}, SweepStore(tmp_path / "out"))
    assert len(tasks) == 9
    (tmp_path / "post.toml").unlink()  # a worker reads no posterior file
    for task in tasks:
        task = pickle.loads(pickle.dumps(task))
        assert task.draw == task.replicate
        assert dict(task.parameters) == post.overrides(task.replicate)
        rate = task.scenario().violence.background_rate
        if task.point.label == "calm":  # what the experiment sets wins over the draw
            assert rate == 0.5
        else:  # base and truce: the same draw for the same replicate
            assert rate == post.overrides(task.replicate)["violence.background_rate"]
    assert exp.draws.held == ()
    assert len({dict(t.parameters)["violence.background_rate"] for t in tasks}) > 1


def _sweeps_in_a_thread(monkeypatch):
    """The sweep command's runs in a thread of this process instead of a process pool:
    starting the pool's fork server and a worker importing the package was about 2 s of
    a 3 s test that checks which draw each run gets. The pool itself is tested in
    test_sweep_run and test_sweep_kill; a task crossing to a process (pickled) in
    test_sweep_tasks_carry_their_draw_and_its_values."""
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import contextmanager

    from trucesim.runner import sweep
    from trucesim.runner.backends import Backend

    @contextmanager
    def in_a_thread(backend="process", workers=None, scheduler=None):
        assert backend == "process" and scheduler is None
        with ThreadPoolExecutor(max_workers=1) as pool:
            yield Backend(pool, 1, "1 thread (test)")

    monkeypatch.setattr(sweep, "open_backend", in_a_thread)


def test_sweep_with_posterior_end_to_end(tmp_path, capsys, monkeypatch):
    import json

    import pandas as pd

    from trucesim.cli.main import main

    _sweeps_in_a_thread(monkeypatch)
    path = _sweep_files(tmp_path, '"post.toml"')
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--workers", "1", "--out", str(out)]) == 0
    assert f"the spread over replicates carries {POSTERIOR}" in capsys.readouterr().out
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs["draw"]) == list(runs["replicate"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["uncertainty"] == POSTERIOR
    assert manifest["posterior"]["file"].endswith("post.toml")
    from trucesim.plots.data import load_results

    assert load_results(out).uncertainty == POSTERIOR


def test_sweep_refuses_a_bad_posterior_before_running(tmp_path, capsys):
    from trucesim.cli.main import main

    path = _sweep_files(tmp_path, '"post.toml"')
    post = tmp_path / "post.toml"
    post.write_text(post.read_text().replace(f'model_version = "{MODEL_VERSION}"',
                                             'model_version = "0"'))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--workers", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {post}: model_version: fitted to model version '0'")
    assert not out.exists()
    path.write_text(SWEEP.format(posterior="true").replace("toy.toml", "plain.toml"))
    (tmp_path / "plain.toml").write_text(
        (tmp_path / "toy.toml").read_text().replace('posterior = "post.toml"\n', ""))
    assert main(["sweep", str(path), "--workers", "1", "--out", str(out)]) == 2
    assert "exp.toml: posterior: true, but scenario 'toy' names no posterior file" in \
        capsys.readouterr().err


def test_sweep_fixed_values_win_over_the_draw(tmp_path):
    from trucesim.runner.experiment import load_experiment
    from trucesim.runner.store import SweepStore
    from trucesim.runner.sweep import plan

    path = _sweep_files(tmp_path)
    path.write_text(path.read_text().replace(
        "\n[design]", '\n[fixed]\n"violence.background_rate" = 2.0\n\n[design]'))
    exp = load_experiment(path)
    assert exp.draws.held == ("violence.background_rate",)
    tasks, _ = plan(exp, {}, SweepStore(tmp_path / "out"))
    assert {t.scenario().violence.background_rate for t in tasks
            if t.point.label != "calm"} == {2.0}


# ---------------------------------------------------------------------- validate
def _fake_validation(monkeypatch):
    """Hand-made histories instead of simulations (as in test_calibration_validation)."""
    from trucesim.calibration.validation import validate

    from .test_calibration_validation import _fake_ablation, _history, _honduras

    calls = []

    def fake_replicates(scenario, replicates, root_seed, pool, bar=None, draws=None):
        calls.append((scenario, draws))
        history = (_history(conceal=1.5, reps=replicates) if len(calls) == 1
                   else _honduras(0.95))
        return history.assign(restraint_share=0.0)

    monkeypatch.setattr(validate, "simulate_replicates", fake_replicates)
    monkeypatch.setattr(validate, "ablation", _fake_ablation)
    return calls


def _blank_figures(monkeypatch):
    """Each validation figure a blank one: what the command draws is checked in
    test_calibration_validation (test_run_validation_writes_the_report_it_prints), not
    here, and saving the three drawn figures was 1.2 s of each command's 1.7 s."""
    import matplotlib.pyplot as plt

    from trucesim.calibration.validation import validate

    for name in ("trajectory_figure", "annual_figure", "facts_figure"):
        monkeypatch.setattr(validate, name, lambda *a, **k: plt.figure(figsize=(1, 1)))


def test_validate_with_a_hindcast_posterior_gives_posterior_predictive_intervals(
        tmp_path, monkeypatch, capsys):
    import json

    from trucesim.cli.main import main

    calls = _fake_validation(monkeypatch)
    _blank_figures(monkeypatch)
    out = tmp_path / "v"
    fixture = FIXTURES / "posterior-A.toml"
    assert main(["validate", "-n", "3", "--workers", "1", "--posterior", str(fixture),
                 "--out", str(out)]) == 0
    post = load_posterior(fixture)
    (es, es_draws), (hon, hon_draws) = calls
    for r in range(3):  # replicate r runs draw r, in both scenarios
        assert es_draws.overrides(r) == hon_draws.overrides(r) == post.overrides(r)
    text = (out / "validation.md").read_text()
    assert "Intervals are posterior predictive: the central 90% of replicates, replicate r " \
        "running draw r of the posterior" in text
    assert "the ablation runs at the fitted point" in text
    assert "posterior median, 5-95% (protocol A" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["uncertainty"] == POSTERIOR and manifest["posterior"]["protocol"] == "A"
    assert f"intervals carry {POSTERIOR}" in capsys.readouterr().out
    # by default: the scenario's own posterior (the bundled protocol-A one)
    calls.clear()
    assert main(["validate", "-n", "3", "--workers", "1", "--out", str(tmp_path / "d")]) == 0
    assert calls[0][1] is not None and calls[0][1].posterior.protocol == "A"
    capsys.readouterr()
    # with --no-posterior: noise only, said so
    calls.clear()
    assert main(["validate", "-n", "3", "--workers", "1", "--no-posterior",
                 "--out", str(tmp_path / "w")]) == 0
    assert calls[0][1] is None
    assert "carry noise only, at one fitted point" in (tmp_path / "w" / "validation.md").read_text()
    assert f"intervals carry {NOISE_ONLY}" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["protocol B", "model version", "unknown parameter",
                                  "malformed", "none named"])
def test_validate_refuses_a_bad_posterior_and_writes_nothing(tmp_path, monkeypatch, capsys,
                                                             case):
    from trucesim.cli.main import main

    calls = _fake_validation(monkeypatch)
    path = tmp_path / "post.toml"
    text = (FIXTURES / "posterior-A.toml").read_text()
    key, reason = {
        "protocol B": ("protocol", "B: fitted to data up to 2016-07-14, so it saw the "
                       "2014-2016 record that validate holds out (not a hindcast)"),
        "model version": ("model_version", "fitted to model version '1'"),
        "unknown parameter": ("parameters.violence.nope", "names no parameter"),
        "malformed": ("", "malformed TOML"),
        "none named": ("posterior", "this scenario names no posterior file"),
    }[case]
    if case == "protocol B":
        path.write_text((FIXTURES / "posterior-B.toml").read_text())
    elif case == "model version":
        path.write_text(text.replace(f'model_version = "{MODEL_VERSION}"', 'model_version = "1"'))
    elif case == "unknown parameter":
        path.write_text(text.replace('"violence.mu"', '"violence.nope"'))
    elif case == "malformed":
        path.write_text(text.replace("[parameters]", "[parameters"))
    args = ["validate", "-n", "2", "--workers", "1", "--out", str(tmp_path / "v"), "--posterior"]
    if case != "none named":
        args.append(str(path))
    else:  # the bundled El Salvador scenario without its posterior line
        from trucesim.scenario.files import ALLOW_ABSOLUTE_ENV
        from trucesim.scenario.load import bundled_dir

        src = bundled_dir() / "el-salvador-2010-2016.toml"
        text = re.sub(r"(?m)^posterior = .*$", "", src.read_text()).replace(
            '"calibrated/el-salvador.toml"', f'"{src.parent / "calibrated/el-salvador.toml"}"')
        (tmp_path / "es.toml").write_text(text)
        monkeypatch.setenv(ALLOW_ABSOLUTE_ENV, "1")
        args += ["--scenario", str(tmp_path / "es.toml")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and reason in err, err
    if case != "none named":
        assert err.startswith(f"error: {path}: {key}: " if key else f"error: {path}: ")
    assert not calls and not (tmp_path / "v").exists()
