"""Each mechanism declares itself; what listed the mechanisms by hand is derived.

The registry (:mod:`trucesim.core.registry`) lists the mechanism modules once; from
their declarations come the kernels' ``Params``, the daily columns and the kinds of
death summed into ``deaths_true``. The scenario's blocks (:data:`BLOCKS`, in the layer
below, which cannot import the registry) must name the same blocks.
"""

from __future__ import annotations

from typing import get_type_hints

import numpy as np
import pytest

from tests.conftest import SCENARIOS, simple_scenario, small
from trucesim.core import day as day_module
from trucesim.core.day import Params
from trucesim.core.metrics import (
    COLUMN_ORDER,
    DAILY,
    DEATH_TYPES,
    GANG_DAILY,
    GANG_METRICS,
    METRICS,
    RECORDED,
    daily_metrics,
)
from trucesim.core.model import TruceModel
from trucesim.core.registry import MECHANISMS, MODULES
from trucesim.core.state import State
from trucesim.mechanisms.declare import Mechanism, Metric
from trucesim.scenario.load import load_scenario
from trucesim.scenario.params import BLOCKS, PARAMETER_GROUPS
from trucesim.scenario.schema import Scenario


def test_every_module_declares_itself_once_by_its_own_name():
    assert [m.name for m in MECHANISMS] == [mod.__name__.rsplit(".", 1)[1] for mod in MODULES]
    assert len({m.name for m in MECHANISMS}) == len(MECHANISMS)


def test_params_has_one_field_per_declared_block_then_the_switches():
    blocks = [m.name for m in MECHANISMS if m.params is not None]
    assert list(Params._fields) == [*blocks, "mechanisms"]


def test_the_scenario_blocks_are_the_declared_blocks():
    """Every declared block is a scenario block of the same class, and no scenario block
    lacks a mechanism: a block added to one list and not the other fails here."""
    declared = {m.name: m.params for m in MECHANISMS if m.params is not None}
    assert declared == BLOCKS
    for name, model in BLOCKS.items():
        assert Scenario.model_fields[name].annotation is model, name
        assert PARAMETER_GROUPS[name] is model, name


def test_daily_columns_are_the_record_s_and_the_declared():
    declared = [metric for m in MECHANISMS for metric in m.metrics]
    assert sorted(m.name for m in METRICS) == sorted(m.name for m in [*RECORDED, *declared])
    for metric in declared:
        assert metric in METRICS, metric.name
    assert DAILY.names == tuple(m.name for m in METRICS)
    assert DEATH_TYPES == tuple(m.name for m in METRICS if m.death)


def test_per_gang_columns_are_the_declared_ones_in_registry_order():
    declared = [metric for m in MECHANISMS for metric in m.gang_metrics]
    assert list(GANG_METRICS) == declared
    assert GANG_DAILY.names == tuple(m.name for m in declared)
    assert not {m.name for m in GANG_METRICS} & {m.name for m in METRICS}


def test_a_declared_metric_becomes_a_column_after_the_ordered_ones():
    extra = Metric("toy_killings", np.int64, "killings by a toy", "toy killings", "per day",
                   flow=True, death=True)
    toy = Mechanism("toy", "a toy mechanism", steps=(6,), metrics=(extra,))
    metrics = daily_metrics((*MECHANISMS, toy))
    assert metrics[:len(COLUMN_ORDER)] == METRICS[:len(COLUMN_ORDER)]
    assert metrics[-1] is extra
    assert [m.name for m in metrics if m.death][-1] == "toy_killings"


def test_a_column_declared_twice_or_ordered_and_never_declared_is_an_error():
    twice = Mechanism("toy", "a toy mechanism", steps=(6,), metrics=(METRICS[0],))
    with pytest.raises(ValueError, match="'homicides' is declared twice"):
        daily_metrics((*MECHANISMS, twice))
    with pytest.raises(ValueError, match="undeclared columns: benefits_paid"):
        daily_metrics(tuple(m for m in MECHANISMS if m.name != "command"))


def test_each_owned_state_array_exists_and_has_one_owner():
    fields = {f"{box}.{name}" for box, container in get_type_hints(State).items()
              for name in container._fields}
    owners: dict[str, str] = {}
    for m in MECHANISMS:
        for key in m.state:
            assert key in fields, f"{m.name} owns {key}, which State does not have"
            assert key not in owners, f"{key} owned by {owners[key]} and {m.name}"
            owners[key] = m.name


@pytest.fixture(scope="module")
def violent_run() -> np.recarray:
    """The daily record of a short run in which every kind of death occurs."""
    scenario = small(load_scenario(SCENARIOS / "el-salvador-2010-2016.toml"), cliques=100,
                     **{"mechanisms.other_actors": True})
    model = TruceModel(scenario, rng=1, agents=False)
    model.run()
    return model.daily[model.burn_in:]


def test_deaths_true_is_the_sum_of_the_death_metrics_on_a_real_run(violent_run):
    for name in DEATH_TYPES:  # each kind occurs, so leaving one out would show
        assert violent_run[name].sum() > 0, name
    total = sum(violent_run[name] for name in DEATH_TYPES)
    np.testing.assert_array_equal(violent_run.deaths_true, total)


def test_record_sums_the_declared_kinds_not_a_list_of_its_own(violent_run, monkeypatch):
    """record() (run as Python) sums whatever the declarations make a kind of death."""
    row = violent_run[-1:].copy().view(np.recarray)
    kinds = DEATH_TYPES[:2]
    monkeypatch.setattr(day_module, "DEATH_TYPES", kinds)
    model = TruceModel(simple_scenario(), rng=0, agents=False)
    day_module.record.py_func(row[0], model.gang_daily[0], 0, model.state, False, False)
    assert row[0].deaths_true == sum(row[0][k] for k in kinds)
    assert row[0].deaths_true != sum(row[0][k] for k in DEATH_TYPES)
