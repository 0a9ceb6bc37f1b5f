"""ABC-SMC recovers known parameters: data simulated with them lie inside the posterior.

Synthetic records (quarterly gang-on-gang and background killings of one run with the
true values, a different run for each data set) are calibrated from wide priors; the
90% posterior intervals should cover the truth for most parameters and data sets, and
be much narrower than the priors.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from trucesim.calibration.problem import CalibrationProblem, parse_calibration
from trucesim.core.model import TruceModel

from .conftest import phases, scenario_toml

TRUE = {"violence.mu": 0.005, "violence.background_rate": 2.0}
PRIORS = {"violence.mu": {"prior": "loguniform", "low": 0.001, "high": 0.025},
          "violence.background_rate": {"low": 0.5, "high": 5.0}}
#: Half a year of baseline on a small world.
SCENARIO = scenario_toml(
    name="synthetic", start=dt.date(2011, 1, 1), end=dt.date(2011, 6, 30), seed=None,
    world={"cliques": 100, "burn_in_days": 20}, phases=phases((dt.date(2011, 1, 1), "baseline")),
)
PERIODS = [("2011-01-01", "2011-02-28"), ("2011-03-01", "2011-04-30"),
           ("2011-05-01", "2011-06-30")]
DATASETS = (0, 1, 2)


def _problem(tmp_path, k: int) -> CalibrationProblem:
    """Data set ``k``: one run with the true values (seed 1000 + k), and its calibration."""
    from trucesim.scenario.load import load_scenario

    folder = tmp_path / f"d{k}"
    folder.mkdir()
    (folder / "s.toml").write_text(SCENARIO)
    scenario = load_scenario(folder / "s.toml").with_overrides(TRUE)
    daily = TruceModel(scenario, rng=np.random.default_rng(1000 + k), agents=False).run()
    lines = ["period_start,period_end,quantity,value,unit,source,note"]
    for quantity, metric in (("gang_killings", "gang_on_gang"), ("background", "background")):
        for a, b in PERIODS:
            total = daily.loc[(daily["date"] >= a) & (daily["date"] <= b), metric].sum()
            lines.append(f"{a},{b},{quantity},{total},count,synthetic,")
    (folder / "obs.csv").write_text("\n".join(lines) + "\n")
    spec = parse_calibration({
        "scenario": "s.toml", "data": "obs.csv", "seed": 70 + k,
        "method": {"population_size": 30, "max_generations": 3},
        "parameters": PRIORS,
        "targets": [
            {"name": "gang", "quantity": "gang_killings", "metric": "gang_on_gang"},
            {"name": "background", "quantity": "background", "metric": "background"},
        ],
    }, str(folder / "synthetic.toml"))
    return CalibrationProblem(spec, folder)


def _posterior_intervals(problem: CalibrationProblem, db) -> dict[str, tuple[float, ...]]:
    import pyabc

    from trucesim.calibration.smc import generations, make_abc, posterior_of

    np.random.seed(problem.spec.seed)
    abc = make_abc(problem, pyabc.sampler.SingleCoreSampler())
    abc.new(f"sqlite:///{db}", {"s": np.array([s.observed for s in problem.stats])},
            meta_info={"trucesim_digest": problem.digest()})
    history = abc.run(max_nr_populations=problem.spec.method.max_generations)
    table = generations(history)
    assert list(table["generation"]) == [0, 1, 2]
    assert table["epsilon"].is_monotonic_decreasing
    return posterior_of(problem, history, "synthetic.toml", table).quantiles((0.05, 0.5, 0.95))


@pytest.mark.slow
def test_abc_smc_posteriors_cover_the_true_parameters(tmp_path):
    pytest.importorskip("pyabc")
    covered, total = 0, 0
    for k in DATASETS:
        problem = _problem(tmp_path, k)
        qs = _posterior_intervals(problem, tmp_path / f"d{k}" / "history.db")
        print(f"data set {k}: " + ", ".join(
            f"{n} {med:.4g} [{lo:.4g}, {hi:.4g}]" for n, (lo, med, hi) in qs.items()))
        for name, true in TRUE.items():
            lo, _, hi = qs[name]
            covered += lo <= true <= hi
            total += 1
            # The posterior is much narrower than the prior (on the prior's scale).
            prior = PRIORS[name]
            if prior.get("prior") == "loguniform":
                width = np.log(hi / lo) / np.log(prior["high"] / prior["low"])
            else:
                width = (hi - lo) / (prior["high"] - prior["low"])
            assert width < 0.6, (k, name, width)
    print(f"covered {covered} of {total}")
    assert covered >= total - 1
