"""The shared summary statistics (trucesim.stats) against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trucesim import stats
from trucesim.outcomes import counterfactual_table


def test_effective_size_by_hand():
    assert stats.effective_size(np.full(4, 0.25)) == pytest.approx(4.0)
    assert stats.effective_size(np.array([1.0, 0.0, 0.0])) == pytest.approx(1.0)
    # 1 / (0.5**2 + 0.25**2 + 0.25**2) = 1 / 0.375
    assert stats.effective_size(np.array([0.5, 0.25, 0.25])) == pytest.approx(8 / 3)


def test_quantiles_and_interval_by_hand():
    x = np.arange(11.0)  # 0..10: the q-quantile is 10 q (linear interpolation)
    assert list(stats.quantiles(x)) == pytest.approx([0.5, 5.0, 9.5])
    med, lo, hi = stats.interval(x)
    assert (med, lo, hi) == pytest.approx((5.0, 0.5, 9.5))
    med, lo, hi = stats.interval(x, level=0.5)
    assert (med, lo, hi) == pytest.approx((5.0, 2.5, 7.5))
    # along an axis: one row per quantile
    q = stats.quantiles(np.stack([x, 2 * x]), axis=1)
    assert q.shape == (3, 2)
    assert list(q[:, 1]) == pytest.approx([1.0, 10.0, 19.0])


def test_weighted_quantiles_by_hand():
    x = np.array([3.0, 1.0, 2.0])
    w = np.array([0.2, 0.5, 0.3])  # sorted: 1 (0.5), 2 (0.8), 3 (1.0)
    assert stats.weighted_quantiles(x, w) == (1.0, 1.0, 3.0)
    assert stats.weighted_quantiles(x, w, (0.6, 0.81)) == (2.0, 3.0)
    assert stats.weighted_quantiles(x, 10 * w, (0.6,)) == (2.0,)  # any positive sum


def test_paired_difference_by_hand():
    values = np.array([10.0, 12.0, 9.0, 20.0, 14.0])
    reference = np.array([11.0, 10.0, 9.0, 15.0, 16.0])
    d = stats.paired_difference(values, reference)  # differences -1, 2, 0, 5, -2
    assert d["mean"] == pytest.approx(0.8)
    # sorted -2, -1, 0, 2, 5: the 5% point is -2 + 0.2 * 1, the 95% point 2 + 0.8 * 3
    assert d["p05"] == pytest.approx(-1.8)
    assert d["p50"] == pytest.approx(0.0)
    assert d["p95"] == pytest.approx(4.4)
    assert d["share_below"] == pytest.approx(0.4)
    # pairing matters: the same values against the reference reversed differ
    assert stats.paired_difference(values, reference[::-1])["p05"] != pytest.approx(-1.8)


def test_paired_difference_refuses_what_does_not_pair():
    with pytest.raises(ValueError, match="do not pair"):
        stats.paired_difference(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="no pairs"):
        stats.paired_difference(np.ones(0), np.ones(0))


def test_counterfactual_table_is_the_paired_difference():
    """The run command's table pairs replicate r of a variant with replicate r of the
    counterfactual (the values are hand-made totals, one day each)."""
    day = pd.Timestamp("2012-03-01")
    base = [11.0, 10.0, 9.0, 15.0, 16.0]
    truce = [10.0, 12.0, 9.0, 20.0, 14.0]
    rows = [{"variant": v, "replicate": r, "date": day, "homicides": h, "deaths_true": h}
            for v, hs in (("base", base), ("truce", truce)) for r, h in enumerate(hs)]
    table = counterfactual_table(pd.DataFrame(rows), "base", start=day)
    t = table.loc["truce"]
    assert t["difference"] == pytest.approx(0.8)
    assert t["diff_p05"] == pytest.approx(-1.8)
    assert t["diff_p95"] == pytest.approx(4.4)
    assert table.loc["base", "difference"] == 0.0
