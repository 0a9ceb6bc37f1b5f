"""The exact sparse samplers match the Poisson and binomial distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from trucesim.mechanisms.sampling import binomial_counts, poisson_counts, poisson_events


def _chi2_pvalue(counts: np.ndarray, pmf: np.ndarray) -> float:
    k = len(pmf)
    observed = np.bincount(np.minimum(counts, k - 1), minlength=k)
    expected = pmf.copy()
    expected[-1] += 1.0 - pmf.sum()
    expected *= len(counts)
    keep = expected > 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    return stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue


def test_poisson_counts_match_poisson_distribution():
    rng = np.random.default_rng(11)
    lam = np.array([0.01, 0.3, 2.0, 0.0])
    draws = np.stack([poisson_counts(rng, lam) for _ in range(20000)])
    assert draws[:, 3].max() == 0  # a zero rate never fires
    for j, rate in enumerate(lam[:3]):
        p = _chi2_pvalue(draws[:, j], stats.poisson.pmf(np.arange(8), rate))
        assert p > 1e-3, (rate, p)
    # independence between entries: correlation near zero
    assert abs(np.corrcoef(draws[:, 1], draws[:, 2])[0, 1]) < 0.03


def test_poisson_events_edge_cases():
    rng = np.random.default_rng(0)
    assert len(poisson_events(rng, np.zeros(0))) == 0
    assert len(poisson_events(rng, np.zeros(5))) == 0
    idx = poisson_events(rng, np.array([0.0, 50.0, 0.0]))
    assert set(idx.tolist()) == {1}


def test_binomial_counts_match_binomial_distribution():
    rng = np.random.default_rng(12)
    n = np.array([7, 100, 0, 3, 40])
    p = np.array([0.3, 0.002, 0.5, 1.0, 0.05])
    draws = np.stack([binomial_counts(rng, n, p) for _ in range(20000)])
    assert (draws[:, 2] == 0).all()
    assert (draws[:, 3] == 3).all()
    for j in (0, 1, 4):
        pmf = stats.binom.pmf(np.arange(n[j] + 1), n[j], p[j])[:12]
        pval = _chi2_pvalue(draws[:, j], pmf)
        assert pval > 1e-3, (j, pval)
    assert (draws <= n).all()


def test_binomial_counts_scalar_probability():
    rng = np.random.default_rng(3)
    n = np.full(50000, 20)
    x = binomial_counts(rng, n, 0.01)
    assert abs(x.mean() - 0.2) < 0.01
    assert abs(x.var() - 20 * 0.01 * 0.99) < 0.01


@pytest.mark.parametrize("flat_max", [0, 10**9], ids=["blocks", "flat"])
def test_fused_poisson_segments_are_independent_poisson(flat_max, monkeypatch):
    """Each segment's counts are Poisson with its own rates (mean = variance = rate),
    zero rates never fire, and segments are uncorrelated; both placement methods."""
    from trucesim.mechanisms.sampling import FusedPoisson

    monkeypatch.setattr(FusedPoisson, "FLAT_MAX", flat_max)
    rng = np.random.default_rng(11)
    lam = {"a": rng.random(37) * 0.3 * (rng.random(37) < 0.6),
           "b": np.array([0.0, 2.0, 0.0, 0.5, 0.0]), "c": np.zeros(0), "d": rng.random(50) * 0.1}
    fused = FusedPoisson({k: len(v) for k, v in lam.items()})
    for k, v in lam.items():
        fused.segment(k)[:] = v
    reps = 20000
    counts = {k: np.zeros((reps, len(v))) for k, v in lam.items()}
    for r in range(reps):
        for (k, v), events in zip(lam.items(), fused.draw(rng), strict=True):
            assert np.all(np.diff(events) >= 0)
            counts[k][r] = np.bincount(events, minlength=len(v))
    for k, v in lam.items():
        c = counts[k]
        assert np.all(c[:, v == 0] == 0)
        pos = v > 0
        if not pos.any():
            continue
        z = (c.mean(axis=0)[pos] - v[pos]) / np.sqrt(v[pos] / reps)
        assert np.abs(z).max() < 4.5, k
        np.testing.assert_allclose(c.var(axis=0)[pos], v[pos], rtol=0.1, atol=0.005)
    totals = np.stack([counts[k].sum(axis=1) for k in ("a", "b", "d")])
    corr = np.corrcoef(totals)
    assert np.abs(corr[np.triu_indices(3, 1)]).max() < 0.04
