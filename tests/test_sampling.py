"""The exact sparse samplers match the Poisson and binomial distributions."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from trucesim.mechanisms.sampling import (
    dart_rate,
    distinct_hits,
    place,
    poisson_events,
    runs,
    sort_uniforms,
)


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


def _poisson_draws(rates: np.ndarray, repeats: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cum = np.empty(len(rates))
    out = np.empty((repeats, len(rates)), dtype=np.int64)
    for r in range(repeats):
        events = poisson_events(rng, rates, cum)
        assert (np.diff(events) >= 0).all()  # sorted
        out[r] = np.bincount(events, minlength=len(rates))
    return out


def test_poisson_events_match_poisson_distribution():
    rates = np.array([0.0, 0.02, 0.5, 1.7, 0.0, 3.0])
    draws = _poisson_draws(rates, 20_000, seed=1)
    assert (draws[:, [0, 4]] == 0).all()  # a zero rate never gets an event
    for i in (1, 2, 3, 5):
        pmf = stats.poisson.pmf(np.arange(15), rates[i])
        assert _chi2_pvalue(draws[:, i], pmf) > 1e-3, i
    # Independent across indices (superposition): covariances near zero.
    corr = np.corrcoef(draws[:, [2, 3, 5]].T)
    assert np.abs(corr[np.triu_indices(3, 1)]).max() < 0.03


def test_poisson_events_edge_cases():
    rng = np.random.default_rng(0)
    cum = np.empty(3)
    assert len(poisson_events(rng, np.zeros(3), cum)) == 0
    assert len(poisson_events(rng, np.zeros(0), cum)) == 0
    # The first rate positive only: every event lands on it, however the rounding falls.
    rates = np.array([5.0, 0.0, 0.0])
    for _ in range(50):
        assert (poisson_events(rng, rates, cum) == 0).all()


def test_runs_of_sorted_events():
    events = np.array([2, 2, 2, 5, 7, 7])
    assert runs(events, 0) == (2, 3)
    assert runs(events, 3) == (5, 1)
    assert runs(events, 4) == (7, 2)


def test_darts_give_binomial_counts():
    """Poisson(n * -log(1 - p)) darts on n trials hit Binomial(n, p) distinct trials."""
    rng = np.random.default_rng(3)
    for n, p in ((5, 0.3), (40, 0.05), (1, 0.6), (12, 0.9)):
        lam = n * dart_rate(p)
        hits = np.array([distinct_hits(rng, rng.poisson(lam), n) for _ in range(20_000)])
        assert hits.max() <= n
        pmf = stats.binom.pmf(np.arange(n + 1), n, p)
        assert _chi2_pvalue(hits, pmf) > 1e-3, (n, p)


def test_distinct_hits_bounds():
    rng = np.random.default_rng(0)
    assert distinct_hits(rng, 0, 10) == 0
    assert distinct_hits(rng, 1, 10) == 1
    assert distinct_hits(rng, 5, 0) == 0
    assert distinct_hits(rng, 50, 1) == 1
    assert all(1 <= distinct_hits(rng, 3, 4) <= 3 for _ in range(100))


def test_place_is_searchsorted_right():
    """The galloping search gives np.searchsorted(side="right") exactly, ties, runs of
    zero rates, values below the first and past the last sum included."""
    rng = np.random.default_rng(3)
    for trial in range(300):
        n = int(rng.integers(1, 60))
        rates = rng.random(n) * (rng.random(n) < 0.6)  # runs of zeros: equal sums
        cum = np.cumsum(rates)
        k = int(rng.integers(0, 40))
        total = cum[-1] if cum[-1] > 0 else 1.0
        u = np.sort(np.concatenate([rng.random(k) * total * 1.1, rng.choice(cum, 3),
                                    [0.0, total]]))
        out = np.empty(len(u), dtype=np.int64)
        place(cum, n, u, out)
        assert (out == np.searchsorted(cum, u, side="right")).all(), trial
    # only the first n values of a longer work array count
    cum = np.array([1.0, 2.0, 3.0, 0.0, 0.0])
    out = np.empty(2, dtype=np.int64)
    place(cum, 3, np.array([2.5, 9.0]), out)
    assert list(out) == [2, 3]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0.0, 1.0, exclude_max=True), max_size=150),
       st.sampled_from([1.0, 0.37, 2.0**-30, 1e6, 1e-310]), st.booleans())
@example([0.0, *(j / 41 for j in range(40, 0, -1))], 1e-310, False)  # always tried
def test_sorting_the_uniforms_is_np_sort(fractions, total, clustered):
    """sort_uniforms gives np.sort exactly, whatever the values: ties, 0, values rounding
    to ``total``, a total too small to bin by (1e-310: k / total overflows), and
    (``clustered``) most values in the first few bins."""
    drawn = np.array(fractions) ** (8 if clustered else 1) * total
    out, work = np.empty(len(drawn)), np.empty(len(drawn), dtype=np.int64)
    sort_uniforms(drawn.copy(), total, out, work)
    assert out.tolist() == np.sort(drawn).tolist()


def test_events_in_work_arrays_are_the_events_drawn_without_them():
    """events_of with work arrays (the day's path) gives, for the same generator state,
    the events poisson_events allocates for (the path the tests above check in
    distribution), whether the work arrays hold the draw or are too small for it."""
    from trucesim.mechanisms.sampling import events_of

    rates = np.array([0.3, 0.0, 2.5, 1.2, 0.7, 4.0])
    cum = np.cumsum(rates)
    for size in (0, 1, 5, 50):
        for seed in range(40):
            expected = poisson_events(np.random.default_rng(seed), rates, np.empty(6))
            uniform, out = np.zeros(2 * size), np.zeros(size, dtype=np.int64)
            got = events_of(np.random.default_rng(seed), cum, len(rates), cum[-1], uniform, out)
            assert got.tolist() == expected.tolist(), (size, seed)
            if 0 < len(got) <= size:
                assert np.shares_memory(got, out)  # written into the work array


def test_events_are_numpys_sorted_uniforms_placed_by_searchsorted():
    """For a seed, events_of gives what numpy computes from the same generator, written
    independently of the kernels: k = poisson(total), k uniforms times total, sorted,
    each placed by searchsorted(side="right") on the running sums (rates with runs of
    zeros, and a rate too small to move the sums, included)."""
    from trucesim.mechanisms.sampling import events_of

    gen = np.random.default_rng(11)
    checked = 0
    for trial in range(300):
        n = int(gen.integers(1, 300))
        rates = gen.random(n) * 3.0 * (gen.random(n) < 0.7)
        if trial % 4 == 0:
            rates[gen.integers(n)] = 1e-20
        cum = np.cumsum(rates)
        if cum[-1] == 0.0:
            continue
        seed = int(gen.integers(1 << 30))
        got = events_of(np.random.default_rng(seed), cum, n, cum[-1], np.zeros(2 * n),
                        np.zeros(n, dtype=np.int64))
        reference = np.random.default_rng(seed)
        k = reference.poisson(cum[-1])
        u = np.sort(reference.random(k) * cum[-1])
        expected = np.minimum(np.searchsorted(cum, u, side="right"), n - 1)
        assert got.tolist() == expected.tolist(), trial
        checked += len(got)
    assert checked > 10_000
