"""Prison terms (issue 20.4; docs/model.md mechanism 9; ``mechanisms.prison_terms``).

Of a clique's arrests, Binomial(arrests, h) go to prison, ``h = min(custody_share *
custody_factor, 1)``; the rest return the same day. Prisoners are released at
``1 / sentence_days`` a day. Under constant arrests the stock is an infinite-server
queue whose stationary mean (end of day) is ``h * arrests a day * (sentence_days - 1)``.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from trucesim.api import simulate
from trucesim.core.state import Cliques, Scratch, allocate
from trucesim.mechanisms import demography
from trucesim.numerics.constants import constants
from trucesim.scenario.params import DemographyParams, Regime
from trucesim.scenario.schema import Scenario

from .conftest import assert_cli_refuses_change


def test_held_share_is_the_product_capped_at_one():
    assert demography.held_share(0.4, 1.5) == pytest.approx(0.6)
    assert demography.held_share(0.8, 2.0) == 1.0
    assert demography.held_share(0.5, 0.0) == 0.0


def test_losses_hold_a_binomial_share_of_arrests():
    """E[held] = h * arrests; members fall by the held only; without terms all arrests
    go to prison."""
    n, arrests, h, days = 50, 20, 0.3, 200
    rng = np.random.default_rng(5)
    held = 0
    for _ in range(days):
        c = allocate(Cliques, n, members=np.full(n, 1000), arrests=np.full(n, arrests))
        demography.losses(rng, c, True, h)
        assert np.array_equal(1000 - c.members, c.prisoners)
        held += c.prisoners.sum()
    total = n * arrests * days
    assert abs(held / total - h) < 4 * math.sqrt(h * (1 - h) / total)
    c = allocate(Cliques, n, members=np.full(n, 1000), arrests=np.full(n, arrests))
    demography.losses(rng, c, False, h)
    assert (c.prisoners == arrests).all() and (c.members == 1000 - arrests).all()


def run_prison(days, arrests, h, sentence, n=10, seed=11, prisoners=0):
    """Losses and gains alone, with ``arrests`` a day per clique and no recruitment;
    returns the daily prisoner stock."""
    rng = np.random.default_rng(seed)
    c = allocate(Cliques, n, members=np.full(n, 10**7), prisoners=np.full(n, prisoners))
    scratch = allocate(Scratch, n)
    p = constants(DemographyParams(recruitment_rate=0.0, autonomy_per_loss=0.0))
    regime = constants(Regime())
    stock = np.empty(days)
    for d in range(days):
        c.arrests[:] = arrests
        demography.losses(rng, c, True, h)
        demography.gains(rng, c, regime, p, 100.0, scratch, False, 1.0 / sentence)
        stock[d] = c.prisoners.sum()
    return stock


def test_releases_at_one_over_the_sentence():
    """With no arrests, E[P_t] = P_0 (1 - 1/S) ** t."""
    sentence, days, p0 = 200.0, 300, 2000
    stock = run_prison(days, 0, 0.5, sentence, n=10, prisoners=p0)
    theory = 10 * p0 * (1 - 1 / sentence) ** days
    surv = (1 - 1 / sentence) ** days
    assert abs(stock[-1] - theory) < 4 * math.sqrt(10 * p0 * surv * (1 - surv))


@pytest.mark.slow
def test_prison_stock_reaches_its_stationary_mean():
    """Stationary stock h * A * (S - 1) (A arrests a day): the mean over the last 4,000 days
    against theory, with the standard error of a stock whose variance is its mean
    (Poisson, an infinite-server queue) and correlation time S."""
    arrests, h, sentence, n = 5, 0.4, 50.0, 10
    theory = demography.stationary_prisoners(arrests * n, h, sentence)
    assert theory == pytest.approx(980.0)
    stock = run_prison(5000, arrests, h, sentence, n=n)
    tail = stock[1000:]
    se = math.sqrt(theory * 2 * sentence / len(tail))
    assert abs(tail.mean() - theory) < 4 * se, (tail.mean(), theory)
    assert tail.var() == pytest.approx(theory, rel=0.35)


def prison_scenario(terms, **regime) -> Scenario:
    return Scenario.parse({
        "name": "prison", "start": dt.date(2000, 1, 1), "end": dt.date(2004, 12, 31),
        "seed": 2, "world": {"cliques": 60, "burn_in_days": 0},
        "mechanisms": {"prison_terms": terms, "leaders": False, "other_killings": False},
        "violence": {"mu": 0.0},
        "phases": [{"start": dt.date(2000, 1, 1), "regime": "extraordinary",
                    "overrides": regime}],
    }, "prison")


def test_prisoners_stay_bounded_under_the_harshest_regime():
    """Under the extraordinary regime held for five years, the stock with prison terms
    levels off near h * arrests * (S - 1); without them every arrest is held for about three
    years and the stock keeps growing."""
    on = simulate(prison_scenario(True, sentence_days=365.0))
    off = simulate(prison_scenario(False))
    arrests = on["arrests"].iloc[-365:].mean()
    level = demography.stationary_prisoners(arrests, 0.6, 365.0)
    assert on["prisoners"].iloc[-365:].mean() == pytest.approx(level, rel=0.15)
    last_year_growth = off["prisoners"].iloc[-1] - off["prisoners"].iloc[-365]
    assert last_year_growth > 0.1 * off["prisoners"].iloc[-365]
    assert abs(on["prisoners"].iloc[-1] - on["prisoners"].iloc[-365]) < 0.1 * level


def test_custody_factor_and_sentence_are_regime_levers():
    base = simulate(prison_scenario(True))
    fewer = simulate(prison_scenario(True, custody_factor=0.5))
    shorter = simulate(prison_scenario(True, sentence_days=100.0))
    end = base["prisoners"].iloc[-1]
    assert fewer["prisoners"].iloc[-1] < 0.75 * end
    assert shorter["prisoners"].iloc[-1] < 0.5 * end


@pytest.mark.parametrize("change, key, reason", [
    ({"demography": {"custody_share": 1.5}}, "demography.custody_share",
     "less than or equal to 1"),
    ({"policing": {"arrest_scale": -1.0}}, "policing.arrest_scale",
     "greater than or equal to 0"),
    ({"phases": [{"start": dt.date(2020, 1, 1), "regime": "baseline",
                  "overrides": {"sentence_days": 0.5}}]},
     "phases.0.overrides.sentence_days", "greater than or equal to 1"),
    ({"phases": [{"start": dt.date(2020, 1, 1), "regime": "baseline",
                  "overrides": {"custody_factor": -1.0}}]},
     "phases.0.overrides.custody_factor", "greater than or equal to 0"),
    ({"mechanisms": {"prison_terms": 1}}, "mechanisms.prison_terms", "not a boolean"),
])
def test_bad_prison_input_stops_the_cli_with_its_location(tmp_path, capsys, change, key,
                                                          reason):
    assert_cli_refuses_change(tmp_path, capsys, change, key, reason)


def test_arrest_scale_multiplies_every_regimes_arrest_rate():
    """Arrests are Binomial(members, arrest_scale * arrest_rate * heat): over the first
    month, twice the scale gives about twice the arrests, 0 none."""
    def arrests(scale):
        s = prison_scenario(True).with_overrides({"policing.arrest_scale": scale,
                                                  "end": "2000-01-30"})
        return sum(simulate(s, seed=k)["arrests"].sum() for k in range(3))

    one, two = arrests(1.0), arrests(2.0)
    assert arrests(0.0) == 0
    assert two / one == pytest.approx(2.0, rel=0.1), (one, two)
