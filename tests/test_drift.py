"""The nowcast's parameter drift: off (parameters at the draw) or reverting (an
Ornstein-Uhlenbeck step in log space toward the draw), and its ``--drift`` setting."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trucesim.calibration.branches import branch_parameters, run_branches
from trucesim.calibration.drift import (
    DRIFTING,
    HELD,
    DriftPrior,
    check_mode,
    log_deviation,
    ou_step,
    step_draws,
)
from trucesim.calibration.nowcast import (
    ParameterBuilder,
    nowcast_scenario,
    read_posterior,
    run_filter,
)
from trucesim.cli.main import main
from trucesim.core.particle import new_record, params_of

from .conftest import small


@pytest.fixture(scope="module")
def small_nowcast():
    return small(nowcast_scenario(), cliques=60, burn_in=60)


def test_every_posterior_parameter_is_either_drifting_or_held_with_a_reason():
    names = set(read_posterior(None).names)
    assert names == set(DRIFTING) | set(HELD)
    assert not set(DRIFTING) & set(HELD)
    assert all(len(r) > 20 for r in (*DRIFTING.values(), *HELD.values()))


def test_ou_step_matches_its_transition_law():
    """From x0, one step of dt days: mean x0 exp(-dt/tau), variance sd^2 (1 - exp(-2dt/tau))."""
    prior = DriftPrior(sd=0.2, reversion_days=365.0)
    rng = np.random.default_rng(1)
    n = 200_000
    for dt, x0 in ((30.0, 0.5), (200.0, -0.3), (1000.0, 1.0)):
        x = ou_step(np.full(n, x0), dt, prior, rng.standard_normal(n))
        mean = x0 * math.exp(-dt / 365.0)
        var = 0.04 * (1 - math.exp(-2 * dt / 365.0))
        assert abs(x.mean() - mean) < 5 * math.sqrt(var / n)
        assert abs(x.var() / var - 1) < 5 * math.sqrt(2 / n)


@pytest.mark.slow
def test_reverting_drift_has_the_stated_stationary_law(small_nowcast):
    """Through the filter's own step (step_draws on particles' draws, via the parameter
    builder), after many uneven steps the log-deviations of a drifting parameter from
    each draw have the OU stationary law N(0, sd^2): mean 0 and variance sd^2, within
    sampling error; the held parameters never move."""
    sc = small_nowcast
    post = read_posterior(None)
    builder = ParameterBuilder(sc, tuple(post.names))
    n = 4000
    draws = [builder.start(post.overrides(k % len(post.weights)), k) for k in range(5)]
    draws = [draws[k % 5] for k in range(n)]
    name = ("violence.background_rate",)
    prior = DriftPrior(sd=0.25, reversion_days=120.0)
    rng = np.random.default_rng(7)
    gaps = rng.integers(10, 60, size=40)  # about 4 reversion times in all
    for gap in gaps:
        draws = step_draws(draws, builder, name, float(gap), prior, rng)
    x = np.array([log_deviation(d, name)[0] for d in draws])
    assert abs(x.mean()) < 5 * 0.25 / math.sqrt(n)
    assert abs(x.var() / 0.25**2 - 1) < 5 * math.sqrt(2 / n)
    for d in draws[:5]:
        start = params_of(d.scenario)
        assert d.params.violence.mu == start.violence.mu
        assert d.params.violence.eta == start.violence.eta
        assert d.params.command == start.command
        assert d.params.violence.background_rate == d.values[name[0]]


def test_drift_off_keeps_every_parameter_at_the_draw_in_filter_and_branches(small_nowcast):
    post = read_posterior(None)
    r = run_filter(6, posterior=post, scenario=small_nowcast, workers=1, seed=4, drift="off",
                   state_noise="off")  # the branches are then the draw's model exactly
    assert r.settings["drift"] == "off" and r.settings["drifting"] == []
    for p, d in zip(r.ensemble.particles, r.ensemble.draws, strict=True):
        assert p.params == params_of(d.scenario)  # every block, every value
        assert d.values == dict(zip(post.names, post.values[d.posterior].tolist(), strict=True))
    days = 200
    paths = branch_parameters(r, days)
    assert all(path == [params_of(d.scenario)] for path, d in zip(paths, r.ensemble.draws,
                                                                  strict=True))
    # the branches run at the draw: particle 0's hardline branch, advanced by hand with
    # the draw's constants, gives the same days
    p0, d0 = r.ensemble.particles[0], r.ensemble.draws[0]
    q = p0.copy()
    b = run_branches(r, workers=1)
    from trucesim.core.timeline import compile_timeline

    k = b.names.index("hardline")
    q.follow(compile_timeline(r.scenario.variant("hardline")))
    q.params = params_of(d0.scenario)
    day0 = r.day_of(b.start)
    q.advance(day0 + len(b.dates), new_record(len(q.history), len(r.scenario.gang_names)))
    assert np.array_equal(q.history["homicides"][day0 + q.burn_in:], b.homicides[k, 0])


def test_reverting_drift_moves_only_the_drifting_parameters_and_goes_on_in_branches(
        small_nowcast):
    post = read_posterior(None)
    r = run_filter(6, posterior=post, scenario=small_nowcast, workers=1, seed=4,
                   drift="reverting")
    assert r.settings["drifting"] == [n for n in post.names if n in DRIFTING]
    moved = 0
    for p, d in zip(r.ensemble.particles, r.ensemble.draws, strict=True):
        start = params_of(d.scenario)
        assert p.params == d.params
        for block in ("command", "bargaining", "retaliation"):
            assert getattr(p.params, block) == getattr(start, block)
        for key in ("mu", "eta", "civilian_rate", "restraint_efficacy", "nongang_share"):
            assert getattr(p.params.violence, key) == getattr(start.violence, key)
        moved += p.params.violence.background_rate != start.violence.background_rate
    assert moved == 6
    paths = branch_parameters(r, 200)
    assert all(len(path) == 7 for path in paths)  # 200 days in chunks of 30
    assert paths[0][0] == r.ensemble.draws[0].params
    assert paths[0][1].violence.background_rate != paths[0][0].violence.background_rate
    assert paths[0][1].violence.mu == paths[0][0].violence.mu
    assert branch_parameters(r, 200) == paths  # the same path for every call (paired)


def test_drift_setting_is_validated():
    assert check_mode("off") == "off" and check_mode("reverting") == "reverting"
    with pytest.raises(ValueError, match="'walk' is not a drift setting; use one of off, rev"):
        check_mode("walk")
    with pytest.raises(ValueError, match="not a drift setting"):
        run_filter(2, drift="on")


@pytest.mark.parametrize("argv", [
    ["run", "--drift", "sideways"],
    ["nowcast", "--drift", "random-walk"],
    ["run", "el-salvador-2016-letter", "--drift", "off"],
])
def test_bad_drift_is_refused_in_one_line(tmp_path, capsys, argv):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --drift: ") and "\n" not in err
    assert not out.exists()


def test_the_main_job_records_its_drift_setting(tmp_path, capsys):
    out = tmp_path / "main"
    assert main(["run", "--particles", "10", "--seed", "3", "--drift", "reverting",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Parameter drift: reverting" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["drift"]["setting"] == "reverting"
    assert summary["drift"]["drifting"] == [n for n in read_posterior(None).names
                                            if n in DRIFTING]
    assert set(summary["drift"]["at_cutoff"]) == set(summary["drift"]["drifting"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["drift"] == "reverting" and manifest["drift_sd"] == DriftPrior().sd


def test_the_nowcast_records_the_default_drift(tmp_path, capsys):
    from trucesim.calibration.drift import DEFAULT_DRIFT

    out = tmp_path / "now"
    assert main(["nowcast", "--particles", "10", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["drift"] == DEFAULT_DRIFT
    assert f"Parameter drift: {DEFAULT_DRIFT}" in (out / "report.md").read_text()


def test_resampled_copies_have_independent_futures(small_nowcast):
    """Without drift, only the propagation noise tells copies of one resampled state
    apart: each copy after the first gets a new generator, so their next days differ;
    the kept original goes on with its own."""
    from trucesim.calibration.nowcast import Ensemble
    from trucesim.core.particle import Particle
    from trucesim.core.timeline import compile_timeline

    sc = small_nowcast
    tl = compile_timeline(sc)
    rows = sc.world.burn_in_days + tl.days
    rec = new_record(rows, len(sc.gang_names))
    p = Particle.start(sc, np.random.default_rng(5), tl, rec)
    p.advance(300, rec)
    twin = p.copy()  # what the ancestor alone would do next
    seeds = iter(np.random.SeedSequence(9).spawn(3))
    ens = Ensemble([p], [None], np.ones(1))
    ens.resample(np.array([0, 0, 0]), fresh=lambda: np.random.default_rng(next(seeds)))
    for q in (*ens.particles, twin):
        q.advance(700, rec)
    days = [q.history["homicides"][300 + q.burn_in: 700 + q.burn_in] for q in ens.particles]
    assert np.array_equal(days[0], twin.history["homicides"][300 + twin.burn_in:
                                                             700 + twin.burn_in])
    assert not np.array_equal(days[0], days[1])
    assert not np.array_equal(days[1], days[2])
