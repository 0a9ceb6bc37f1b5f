"""Exact samplers for many rare events, in time linear in the number of rates.

Most of the model's daily counts are rare (a front sees a killing every few hundred
days), and one Poisson variate per clique or front costs far more than the arithmetic
around it. Two exact constructions avoid that:

* :func:`poisson_events`: independent Poisson counts with rates ``lam_i`` are the same in
  distribution as a Poisson total with rate ``sum(lam)`` whose events are placed
  independently on ``i`` with probability ``lam_i / sum(lam)`` (superposition). Cost:
  one pass for the cumulative sums, one binary search per event; the caller then visits
  only the events (sorted by index), not every rate.
* Binomial(n, p) by darts: Poisson darts with rate ``n * -log(1 - p)`` thrown at the n
  trials; each trial is hit with probability p, independently, so the number of
  distinct trials hit (:func:`distinct_hits`) is Binomial(n, p).

``tests/test_sampling.py`` checks both against the Poisson and binomial distributions.
"""

from __future__ import annotations

import numpy as np

from trucesim.numerics.jit import kernel


@kernel
def poisson_events(rng, rates, cum):
    """Independent Poisson events of means ``rates``: the index of each event, sorted (an
    index appears once per event). ``cum`` is a work array at least as long as ``rates``."""
    n = len(rates)
    total = 0.0
    for i in range(n):
        total += rates[i]
        cum[i] = total
    return events_of(rng, cum, n, total, np.empty(0), np.empty(0, dtype=np.int64))


@kernel
def events_of(rng, cum, n, total, uniform, out):
    """:func:`poisson_events` of ``n`` rates once the caller has filled ``cum[:n]`` with
    their running sums (added in index order, from 0.0) and ``total`` is the last:
    callers that compute the rates in a loop of their own fill ``cum`` in the same loop,
    which saves a pass over the rates (the same sums, so the same events), and need not
    keep the rates themselves.

    The events are written to the start of the work array ``out`` and returned as a view
    of it (valid until its next use); ``uniform`` holds the ``k`` uniforms drawn, and
    sorted (:func:`sort_uniforms`), so it needs ``2 k`` places. A draw of more events than
    the work arrays hold (rare) gets arrays of its own."""
    k = rng.poisson(total) if total > 0.0 else 0
    if k > len(out) or 2 * k > len(uniform):
        uniform, out = np.empty(2 * k), np.empty(k, dtype=np.int64)
    events = out[:k]
    if k == 0:
        return events
    u, drawn = uniform[:k], uniform[k:2 * k]
    for j in range(k):  # the same draws as rng.random(k) * total
        drawn[j] = rng.random() * total
    sort_uniforms(drawn, total, u, events)
    # Each u is below total = cum[n - 1] (a uniform below 1 times a normal total rounds
    # below it; numba's Poisson draws no event for a smaller total), so its index i has
    # cum[i - 1] <= u < cum[i]: a rate that adds to the sums, and the events are sorted.
    place(cum, n, u, events)
    return events


@kernel
def sort_uniforms(drawn, total, out, work):
    """Write the values ``drawn`` (in ``[0, total)``) to ``out`` in ascending order, as
    ``np.sort(drawn)``, in expected time linear in their number ``k``: a counting pass
    puts each value in one of ``k`` equal bins of ``[0, total)`` (bins kept in order,
    about one value each for uniform values), an insertion sort orders each bin.
    ``work`` is an integer work array of length ``k``. The sorted values are the same
    values however they are sorted, so the events placed from them are too."""
    k = len(drawn)
    scale = k / total  # bin of x: int(x * scale), non-decreasing in x
    if k <= 16 or not scale < np.inf:  # few values (or a total too small to bin by)
        out[:] = drawn
    else:
        work[:] = 0
        for j in range(k):
            work[min(int(drawn[j] * scale), k - 1)] += 1
        start = 0
        for b in range(k):  # each bin's first place in out
            count = work[b]
            work[b] = start
            start += count
        for j in range(k):
            b = min(int(drawn[j] * scale), k - 1)
            out[work[b]] = drawn[j]
            work[b] += 1
    for j in range(1, k):  # insertion sort: values move only within their bin
        x = out[j]
        i = j - 1
        while i >= 0 and out[i] > x:
            out[i + 1] = out[i]
            i -= 1
        out[i + 1] = x


@kernel
def place(cum, n, u, out):
    """``out[j] = np.searchsorted(cum[:n], u[j], side="right")`` (the number of ``cum``
    values <= ``u[j]``) for sorted ``u`` and non-decreasing ``cum``: each search starts
    where the last ended and gallops (steps 1, 2, 4, ...) before bisecting, so a day's
    events cost about log(n / k) steps each, in order through memory, instead of a full
    bisection of ``cum`` each."""
    lo = 0  # every cum[< lo] is <= the current u
    for j in range(len(u)):
        x = u[j]
        if lo >= n or cum[lo] > x:
            out[j] = lo
            continue
        # cum[lo] <= x: gallop to a bound hi with cum[hi] > x (or hi = n)
        step = 1
        hi = lo + 1
        while hi < n and cum[hi] <= x:
            lo = hi
            step *= 2
            hi = lo + step
        if hi > n:
            hi = n
        while hi - lo > 1:  # cum[lo] <= x < cum[hi] (cum[n] taken as infinite)
            mid = (lo + hi) // 2
            if cum[mid] <= x:
                lo = mid
            else:
                hi = mid
        out[j] = hi
        lo = hi


@kernel
def runs(events, j):
    """The run of equal indices starting at position ``j`` of sorted ``events``:
    (index, how many times it occurs)."""
    i, end = events[j], j + 1
    while end < len(events) and events[end] == i:
        end += 1
    return i, end - j


@kernel
def distinct_hits(rng, darts, trials):
    """Number of distinct trials hit when ``darts`` darts land uniformly on ``trials``."""
    if darts <= 1 or trials <= 1:
        return min(darts, trials)
    hit = 0
    for _ in range(darts):
        # The dart lands on a trial not hit yet with probability (trials - hit) / trials.
        if rng.random() * trials < trials - hit:
            hit += 1
    return hit


@kernel
def dart_rate(p):
    """Dart rate per trial for Binomial(., p) by darts: ``-log(1 - p)`` (p < 1)."""
    return -np.log1p(-p)
