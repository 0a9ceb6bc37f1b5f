"""Differential evolution recovers parameters from synthetic data simulated with them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from trucesim.calibration.fit import Evaluator, fit, intervals
from trucesim.calibration.problem import CalibrationProblem, parse_calibration
from trucesim.core.model import TruceModel

from .conftest import phases, scenario_toml

TRUE = {"violence.mu": 0.005, "violence.background_rate": 2.0}
TOLERANCE = 0.15  # relative error allowed on each recovered parameter
#: The small test scenario as a year of baseline on a world large enough to fit.
SCENARIO = scenario_toml(
    name="synthetic", start=dt.date(2011, 1, 1), end=dt.date(2011, 12, 31), seed=None,
    world={"cliques": 1000, "burn_in_days": 60}, phases=phases((dt.date(2011, 1, 1), "baseline")),
)
QUARTERS = [("2011-01-01", "2011-03-31"), ("2011-04-01", "2011-06-30"),
            ("2011-07-01", "2011-09-30"), ("2011-10-01", "2011-12-31")]


def _synthetic_data(tmp_path) -> None:
    """Quarterly gang-on-gang and background counts, mean of 4 runs with the true values
    and seeds different from the calibration's."""
    from trucesim.scenario.schema import load_scenario

    scenario = load_scenario(tmp_path / "s.toml").with_overrides(TRUE)
    runs = [TruceModel(scenario, rng=np.random.default_rng(1000 + r), agents=False).run()
            for r in range(4)]
    lines = ["period_start,period_end,quantity,value,unit,source,note"]
    for quantity, metric in (("gang_killings", "gang_on_gang"), ("background", "background")):
        for a, b in QUARTERS:
            total = np.mean([d.loc[(d["date"] >= a) & (d["date"] <= b), metric].sum()
                             for d in runs])
            lines.append(f"{a},{b},{quantity},{total},count,synthetic,")
    (tmp_path / "obs.csv").write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_differential_evolution_recovers_known_parameters(tmp_path):
    (tmp_path / "s.toml").write_text(SCENARIO)
    _synthetic_data(tmp_path)
    spec = parse_calibration({
        "scenario": "s.toml", "data": "obs.csv",  # relative to the calibration file
        "replicates": 2, "seed": 3,
        "method": {"popsize": 4, "maxiter": 6, "seed": 2, "tol": 0.0},
        "parameters": {
            "violence.mu": {"low": 0.001, "high": 0.02, "scale": "log"},
            "violence.background_rate": {"low": 0.5, "high": 5.0},
        },
        "targets": [
            {"name": "gang", "quantity": "gang_killings", "metric": "gang_on_gang"},
            {"name": "background", "quantity": "background", "metric": "background"},
        ],
    }, "synthetic.toml")
    problem = CalibrationProblem(spec, tmp_path)
    assert problem.fit_end == dt.date(2011, 12, 31)
    evaluator = Evaluator(problem)
    result = fit(problem, evaluator)
    print(f"recovered {result['values']} (true {TRUE}), distance {result['distance']:.4f}")
    for name, true in TRUE.items():
        assert result["values"][name] == pytest.approx(true, rel=TOLERANCE), name
    # The optimum is far better than the typical initial guess.
    table = evaluator.table()
    assert result["distance"] < 0.1 * float(np.median(table["distance"].head(8)))
    spans = intervals(problem, table)
    for name in TRUE:
        lo, hi = spans[name]
        assert lo <= result["values"][name] <= hi


def test_resume_replays_failed_evaluations(tmp_path):
    """A vector that makes an invalid scenario (explosive branching) has distance inf;
    the checkpoint stores it as null, and a resumed evaluator reads it back as inf."""
    (tmp_path / "s.toml").write_text(SCENARIO)
    _synthetic_data(tmp_path)
    spec = parse_calibration({
        "scenario": "s.toml", "data": "obs.csv",  # relative to the calibration file
        "replicates": 1, "seed": 3,
        "parameters": {"violence.eta": {"low": 0.001, "high": 0.5}},
        "targets": [{"name": "gang", "quantity": "gang_killings", "metric": "gang_on_gang"}],
    }, "resume.toml")
    problem = CalibrationProblem(spec, tmp_path)
    checkpoint = tmp_path / "checkpoint.jsonl"
    population = np.array([[0.01], [0.45]])  # the second: branching ratio above 1
    first = Evaluator(problem, checkpoint=checkpoint).distances(population)
    assert np.isfinite(first[0]) and first[1] == np.inf
    resumed = Evaluator(problem, checkpoint=checkpoint)
    again = resumed.distances(population)
    assert again.dtype == np.float64 and resumed.replayed == 2
    assert again.tolist() == first.tolist()
    table = resumed.table()
    assert table["distance"].tolist() == first.tolist()
    assert "branching" in table["error"].iloc[1]
