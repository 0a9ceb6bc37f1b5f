"""The one seeded replicate runner (trucesim.api.run_replicates) and the seeds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trucesim import api
from trucesim.seeds import SEED_MAX, parse_seed, replicate_seed

from .conftest import phases, simple_scenario


@pytest.fixture(scope="module")
def tiny():
    return simple_scenario(name="tiny", start=dt.date(2013, 12, 1), end=dt.date(2013, 12, 31),
                           seed=None, world={"cliques": 20, "burn_in_days": 5},
                           phases=phases((dt.date(2013, 12, 1), "baseline")))


def test_replicate_seed_is_the_spawned_child():
    for r, child in enumerate(np.random.SeedSequence(41).spawn(5)):
        mine = replicate_seed(41, r)
        assert mine.spawn_key == child.spawn_key == (r,)
        assert (mine.generate_state(8) == child.generate_state(8)).all()


def test_replicate_r_runs_child_r_in_every_variant(tiny):
    runs = list(api.run_replicates(tiny, 3, 17, (None, None)))
    assert [(run.variant, run.replicate) for run in runs] == [
        (None, 0), (None, 1), (None, 2), (None, 0), (None, 1), (None, 2)]
    children = np.random.SeedSequence(17).spawn(3)
    for run in runs:
        assert run.seed.spawn_key == (run.replicate,)
        want = api.simulate(tiny, seed=children[run.replicate])
        pd.testing.assert_frame_equal(run.daily, want)
    # paired: the two passes over the replicates ran the same runs
    pd.testing.assert_frame_equal(runs[1].daily, runs[4].daily)
    assert not runs[0].daily["homicides"].equals(runs[1].daily["homicides"])


def test_stack_labels_variant_and_replicate(tiny):
    out = api.stack(api.run_replicates(tiny, 2, 3, (None,), columns=("date", "homicides")))
    assert list(out.columns) == ["variant", "replicate", "date", "homicides"]
    assert out["variant"].unique().tolist() == ["base"]
    assert out["replicate"].unique().tolist() == [0, 1]


@pytest.mark.parametrize(("text", "value"), [("0", 0), (" 42 ", 42), (str(SEED_MAX), SEED_MAX)])
def test_parse_seed_accepts(text, value):
    assert parse_seed(text) == value


@pytest.mark.parametrize(("text", "words"), [
    ("abc", "'abc' is not an integer"), ("-1", "-1 is outside 0 to 2**63-1"),
    (str(SEED_MAX + 1), "is outside 0 to 2**63-1"), ("9" * 30, "longer than a seed"),
    ("", "is not an integer")])
def test_parse_seed_refuses_in_one_line(text, words):
    with pytest.raises(ValueError, match=None) as info:
        parse_seed(text)
    assert words in str(info.value) and "\n" not in str(info.value)
