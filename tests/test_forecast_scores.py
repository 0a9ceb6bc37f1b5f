"""The scores against the formulas of Bracher et al. 2021 and Cramer et al. 2022, on cases
worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trucesim.forecast.scores import (
    QUANTILE_LEVELS,
    coverage,
    pairwise_theta,
    quantiles_of,
    relative_wis,
    score,
    weighted_interval_score,
)

THREE = (0.25, 0.5, 0.75)  # K = 1 interval, alpha = 0.5


@pytest.mark.parametrize(("y", "wis", "disp", "over", "under"), [
    # y = 10 above the interval [2, 6], median 4:
    #   IS_0.5 = (6 - 2) + 2/0.5 * (10 - 6) = 4 + 16 = 20
    #   WIS = (1/2 |10 - 4| + 0.5/2 * 20) / (1 + 1/2) = (3 + 5) / 1.5 = 16/3
    #   dispersion = 0.25 * 4 / 1.5 = 2/3; under = ((10 - 6) + 1/2 * 6) / 1.5 = 14/3
    (10.0, 16 / 3, 2 / 3, 0.0, 14 / 3),
    # y = 1 below: IS = 4 + 4 * (2 - 1) = 8; WIS = (1/2 * 3 + 0.25 * 8) / 1.5 = 7/3
    #   over = ((2 - 1) + 1/2 * 3) / 1.5 = 5/3
    (1.0, 7 / 3, 2 / 3, 5 / 3, 0.0),
    # y = 3 inside, below the median: IS = 4; WIS = (1/2 * 1 + 0.25 * 4) / 1.5 = 1
    #   over = 1/2 * 1 / 1.5 = 1/3 (the median's share)
    (3.0, 1.0, 2 / 3, 1 / 3, 0.0),
])
def test_wis_of_one_interval_by_hand(y, wis, disp, over, under):
    s = weighted_interval_score(np.array([[2.0, 4.0, 6.0]]), np.array([y]), THREE)
    assert s["wis"][0] == pytest.approx(wis)
    assert s["dispersion"][0] == pytest.approx(disp)
    assert s["overprediction"][0] == pytest.approx(over)
    assert s["underprediction"][0] == pytest.approx(under)


def test_wis_of_the_23_hub_levels_by_hand():
    # Quantiles q_tau = 100 tau; K = 11 intervals, alpha = 0.02, 0.05, 0.1, 0.2, ..., 0.9;
    # the interval at alpha is [50 alpha, 100 - 50 alpha], width 100 (1 - alpha).
    # Dispersion sum: sum alpha/2 * 100 (1 - alpha) = 50 * sum alpha (1 - alpha)
    #   alpha (1 - alpha): .0196 .0475 .09 .16 .21 .24 .25 .24 .21 .16 .09 -> 1.7171
    #   -> 85.855; divided by K + 1/2 = 11.5: 7.465652...
    q = np.array([[100 * t for t in QUANTILE_LEVELS]] * 2)
    s = weighted_interval_score(q, np.array([50.0, 120.0]))
    assert s["dispersion"][0] == pytest.approx(85.855 / 11.5)
    assert s["wis"][0] == pytest.approx(85.855 / 11.5)  # y = 50 is the median
    # y = 120 above every upper end u = 99 97.5 95 90 85 80 75 70 65 60 55:
    #   y - u = 21 22.5 25 30 35 40 45 50 55 60 65 -> 448.5; + 1/2 |120 - 50| = 35
    #   under = 483.5 / 11.5; WIS = (85.855 + 483.5) / 11.5 = 49.509...
    assert s["underprediction"][1] == pytest.approx(483.5 / 11.5)
    assert s["overprediction"][1] == 0.0
    assert s["wis"][1] == pytest.approx(569.355 / 11.5)


def test_wis_is_the_mean_pinball_loss():
    # The second form: WIS = 1/(K + 1/2) * sum over the 23 levels of the pinball loss.
    rng = np.random.default_rng(1)
    q = np.sort(rng.normal(10, 4, size=(200, 23)), axis=1)
    y = rng.normal(10, 6, size=200)
    tau = np.array(QUANTILE_LEVELS)
    u = y[:, None] - q
    pinball = np.where(u >= 0, tau * u, (tau - 1) * u).sum(axis=1) / 11.5
    s = weighted_interval_score(q, y)
    np.testing.assert_allclose(s["wis"], pinball, rtol=1e-12)
    np.testing.assert_allclose(s["dispersion"] + s["overprediction"] + s["underprediction"],
                               s["wis"])


def test_coverage_and_median_error():
    q = np.array([[100 * t for t in QUANTILE_LEVELS]] * 4)
    y = np.array([50.0, 80.0, 95.0, 96.0])  # 50% interval [25, 75], 90% [5, 95]
    assert coverage(q, y, 0.5).tolist() == [True, False, False, False]
    assert coverage(q, y, 0.9).tolist() == [True, True, True, False]  # ends included
    s = score(q, y)
    assert s["ae_median"].tolist() == [0.0, 30.0, 45.0, 46.0]
    assert s["cover_90"].tolist() == [True, True, True, False]


def test_quantiles_of_samples_are_monotone_and_refuse_bad_input():
    rng = np.random.default_rng(2)
    q = quantiles_of(rng.gamma(2.0, size=(300, 5)))
    assert q.shape == (5, 23) and np.all(np.diff(q, axis=1) >= 0)
    with pytest.raises(ValueError, match="finite"):
        quantiles_of(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="symmetric"):
        weighted_interval_score(np.array([[1.0, 2.0, 3.0]]), np.array([2.0]), (0.2, 0.5, 0.7))


def test_relative_wis_is_pairwise_with_geometric_means():
    # A forecasts t1, t2 (WIS 2, 4); B forecasts both (4, 8); C only t2 (3).
    #   theta_AB = 3 / 6 = 1/2; theta_AC = 4 / 3 (t2 only); theta_BC = 8 / 3
    #   theta_A = (1 * 1/2 * 4/3)^(1/3) = (2/3)^(1/3); theta_B = (2 * 1 * 8/3)^(1/3)
    #   = (16/3)^(1/3); theta_C = (3/4 * 3/8 * 1)^(1/3) = (9/32)^(1/3)
    #   A vs B: ((2/3) / (16/3))^(1/3) = (1/8)^(1/3) = 1/2
    #   A vs C: ((2/3) / (9/32))^(1/3) = (64/27)^(1/3) = 4/3 (the plain ratio of the means
    #   over each one's own targets would be 3 / 3 = 1)
    t = pd.DataFrame({"model": ["A", "A", "B", "B", "C"], "target": [1, 2, 1, 2, 2],
                      "wis": [2.0, 4.0, 4.0, 8.0, 3.0]})
    theta = pairwise_theta(t, ["target"])
    assert theta["A"] == pytest.approx((2 / 3) ** (1 / 3))
    assert theta["C"] == pytest.approx((9 / 32) ** (1 / 3))
    assert relative_wis(t, "B", ["target"])["A"] == pytest.approx(0.5)
    rel_c = relative_wis(t, "C", ["target"])
    assert rel_c["A"] == pytest.approx(4 / 3)
    assert rel_c["C"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="baseline"):
        relative_wis(t, "D", ["target"])
