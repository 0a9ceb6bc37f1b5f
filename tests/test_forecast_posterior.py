"""Forecasts over a posterior: one draw per replicate, the same draw in every branch.

The posterior files here are made by hand (``posterior_toml``): the fixture
``fixtures/posterior-A.toml`` holds 50 particles spread around the bundled fit within its
intervals; toy ones are written to ``tmp_path``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import trucesim.api as api
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.posterior import Posterior, load_posterior, posterior_toml
from trucesim.scenario.schema import Scenario, load_scenario
from trucesim.uncertainty import NOISE_ONLY, POSTERIOR, parameter_draws

from .conftest import phases, scenario_data

FIXTURES = Path(__file__).parent / "fixtures"


def toy_posterior(values: dict[str, list[float]], seed: int = 1, protocol: str = "A",
                  weights: list[float] | None = None) -> Posterior:
    n = len(next(iter(values.values())))
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights) / np.sum(weights)
    return Posterior(names=tuple(values), values=np.column_stack(list(values.values())),
                     weights=w, protocol=protocol,
                     data_until=dt.date(2013, 12, 31) if protocol == "A" else dt.date(2016, 7, 14),
                     seed=seed, description="toy")


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
