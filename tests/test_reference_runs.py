"""The bundled runs are bit-identical to their reference fingerprints for the same seed.

The fingerprints (``tests/fixtures/reference_runs.json``) were written by the code
before the daily step was optimised (``tests/reference_runs.py``): a faster day must
give the very same runs, column by column and state array by state array.
"""

from __future__ import annotations

import json

import pytest

from tests.reference_runs import FIXTURE, all_fingerprints


@pytest.fixture(scope="module")
def fingerprints():
    return all_fingerprints()


def test_reference_runs_are_bit_identical(fingerprints):
    reference = json.loads(FIXTURE.read_text())
    assert fingerprints.keys() == reference.keys()
    changed = [f"{run}: {key}" for run, prints in reference.items()
               for key, digest in prints.items() if fingerprints[run].get(key) != digest]
    missing = [f"{run}: {key}" for run, prints in fingerprints.items()
               for key in prints if key not in reference[run]]
    assert not changed, f"{len(changed)} columns or arrays changed, e.g. {changed[:5]}"
    assert not missing, f"not in the reference: {missing[:5]}"


def test_fingerprints_see_a_one_bit_change(fingerprints):
    """A single changed value of a single column changes its digest."""
    import numpy as np

    from tests.reference_runs import _digest, scenario_of
    from trucesim.core.model import TruceModel

    scenario, _ = scenario_of("el-salvador")
    model = TruceModel(scenario, rng=0, agents=False)
    model.run()
    homicides = model.daily.homicides[model.burn_in:].copy()
    assert _digest(homicides) == fingerprints["el-salvador/seed=0"]["column:homicides"]
    homicides[1000] += 1
    assert _digest(homicides) != fingerprints["el-salvador/seed=0"]["column:homicides"]
    arms = model.state.cliques.arms.copy()
    arms[7] = np.nextafter(arms[7], 2.0)
    assert _digest(arms) != fingerprints["el-salvador/seed=0"]["state:cliques.arms"]
