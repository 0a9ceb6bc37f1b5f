"""The posterior file format (scenario/posterior.py): checks, weighted draws, and
load_scenario(draw=k)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest

from trucesim.scenario.errors import ConfigError
from trucesim.scenario.load import bundled_dir, load_scenario
from trucesim.scenario.params import MODEL_VERSION
from trucesim.scenario.posterior import (
    Posterior,
    load_posterior,
    parse_posterior,
    posterior_toml,
)


def small(**changes) -> Posterior:
    args = dict(
        names=("violence.mu", "command.contact_rate"),
        values=np.array([[0.001, 0.3], [0.002, 0.4], [0.003, 0.5]]),
        weights=np.array([0.2, 0.3, 0.5]), protocol="A", data_until=dt.date(2013, 12, 31),
        seed=7, scenario="test",
    )
    args.update(changes)
    return Posterior(**args)


def data(**changes):
    d = small().to_data()
    d.update(changes)
    return d


def test_round_trip(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(posterior_toml(small()))
    p = load_posterior(path)
    assert p.names == small().names
    np.testing.assert_allclose(p.values, small().values)
    np.testing.assert_allclose(p.weights, [0.2, 0.3, 0.5])
    assert p.protocol == "A" and p.data_until == dt.date(2013, 12, 31) and p.seed == 7


def test_a_file_read_again_gives_its_current_contents(tmp_path):
    """Parsing is done once per text, not per path: a file rewritten between two reads
    (a calibration resumed into the same folder) is read as it is now, and a posterior
    built from it is not shared with the earlier one."""
    path = tmp_path / "p.toml"
    path.write_text(posterior_toml(small()))
    first = load_posterior(path)
    path.write_text(posterior_toml(small(weights=np.array([0.5, 0.3, 0.2]), seed=8)))
    second = load_posterior(path)
    np.testing.assert_allclose(second.weights, [0.5, 0.3, 0.2])
    assert second.seed == 8 and first.seed == 7
    np.testing.assert_allclose(first.weights, [0.2, 0.3, 0.5])
    again = load_posterior(path)
    assert again is not second and again.overrides_fixed is not second.overrides_fixed
    np.testing.assert_array_equal(again.values, second.values)


def test_draws_follow_weights_and_repeat():
    p = small(values=np.array([[0.001, 0.3], [0.002, 0.4]]), weights=np.array([0.9, 0.1]))
    idx = p.indices(4000)
    assert abs(np.mean(idx == 0) - 0.9) < 0.02
    # Draw k is the same whatever the number of draws asked for first.
    again = small(values=p.values, weights=p.weights)
    assert again.overrides(17) == p.overrides(17)
    assert list(again.indices(20)) == list(idx[:20])


def test_weighted_quantiles():
    p = small(weights=np.array([0.0, 0.0, 1.0]))
    assert p.quantiles()["violence.mu"] == (0.003, 0.003, 0.003)


@pytest.mark.parametrize(("changes", "key", "words"), [
    ({"format": "other/1"}, "format", "not a trucesim posterior"),
    ({"model_version": "0"}, "model_version", "model version"),
    ({"protocol": "C"}, "protocol", "not a protocol"),
    ({"data_until": "2014-01-01"}, "data_until", "not a date"),
    ({"weights": [0.5, -0.1, 0.6]}, "weights", "non-negative"),
    ({"weights": [0.0, 0.0, 0.0]}, "weights", "positive sum"),
    ({"weights": [0.5, 0.5]}, "parameters.violence.mu", "3 values for 2 weights"),
    ({"parameters": {}}, "parameters", "empty"),
    ({"parameters": {"violence.mu": [1, "x", 2]}}, "parameters.violence.mu", "numbers only"),
    ({"parameters": {"violence.mu": [1.0, float("nan"), 2.0]}}, "parameters.violence.mu",
     "non-finite"),
    ({"seed": -1}, "seed", "non-negative"),
    ({"extra": 1}, "extra", "unknown key"),
])
def test_refusals(changes, key, words):
    with pytest.raises(ConfigError) as err:
        parse_posterior(data(**changes), "post.toml")
    assert err.value.key == key
    assert words in err.value.reason
    assert err.value.message.startswith("post.toml: ")


@pytest.mark.parametrize(("changes", "words"), [
    ({"data_until": dt.date(2014, 1, 1)},
     "2014-01-01 is after protocol A's date in case el-salvador-2016, 2013-12-31"),
    ({"protocol": "B", "data_until": dt.date(2016, 7, 15)},
     "2016-07-15 is after protocol B's date in case el-salvador-2016, 2016-07-14"),
])
def test_a_case_refuses_a_posterior_fitted_after_its_dates(changes, words):
    """A posterior's data_until is checked against the case that uses it (the protocols'
    dates are the case's: A its hindcast cutoff, B its as-of date)."""
    from trucesim.cases import load_case

    case = load_case("el-salvador-2016")
    post = parse_posterior(data(**changes), "post.toml")
    with pytest.raises(ConfigError) as err:
        case.check_posterior(post)
    assert err.value.message == f"post.toml: data_until: {words}"
    fine = parse_posterior(data(), "post.toml")
    assert case.check_posterior(fine) is fine


def test_malformed_file(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("format = [")
    with pytest.raises(ConfigError, match="malformed TOML"):
        load_posterior(path)


def test_model_version_recorded():
    assert small().to_data()["model_version"] == MODEL_VERSION


@pytest.fixture
def scenario_with_posterior(tmp_path) -> Path:
    src = bundled_dir() / "el-salvador-2010-2016.toml"
    text = src.read_text().replace('calibration = "calibrated/el-salvador.toml"', "")
    text = re.sub(r'(?m)^posterior = .*$', 'posterior = "post.toml"', text)
    (tmp_path / "s.toml").write_text(text + '\n[command]\ndefection_rate = 0.004\n')
    return tmp_path / "s.toml"


def test_load_scenario_applies_draw(scenario_with_posterior):
    post = small()
    (scenario_with_posterior.parent / "post.toml").write_text(posterior_toml(post))
    for k in (0, 5):
        s = load_scenario(scenario_with_posterior, draw=k)
        want = post.overrides(k)
        assert s.violence.mu == pytest.approx(want["violence.mu"])
        assert s.command.contact_rate == pytest.approx(want["command.contact_rate"])
    assert load_scenario(scenario_with_posterior).command.defection_rate == 0.004


def test_scenario_file_values_win(scenario_with_posterior):
    post = small(names=("violence.mu", "command.defection_rate"))
    (scenario_with_posterior.parent / "post.toml").write_text(posterior_toml(post))
    s = load_scenario(scenario_with_posterior, draw=0)
    assert s.command.defection_rate == 0.004  # set in the scenario file itself
    assert s.violence.mu == pytest.approx(post.overrides(0)["violence.mu"])


def test_unknown_parameter_in_posterior(scenario_with_posterior):
    post = small(names=("violence.nope", "command.contact_rate"))
    (scenario_with_posterior.parent / "post.toml").write_text(posterior_toml(post))
    with pytest.raises(ConfigError) as err:
        load_scenario(scenario_with_posterior, draw=0)
    assert err.value.key == "parameters.violence.nope"


def test_draw_without_posterior():
    with pytest.raises(ConfigError, match="names no posterior"):
        load_scenario("honduras-like-2013", draw=0)


def test_posterior_from_another_version(scenario_with_posterior):
    text = posterior_toml(small()).replace(f'model_version = "{MODEL_VERSION}"',
                                           'model_version = "old"')
    (scenario_with_posterior.parent / "post.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_scenario(scenario_with_posterior, draw=0)
    assert err.value.key == "model_version"
