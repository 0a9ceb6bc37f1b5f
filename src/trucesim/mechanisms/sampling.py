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
    k = rng.poisson(total) if total > 0.0 else 0
    events = np.empty(k, dtype=np.int64)
    if k == 0:
        return events
    u = rng.random(k) * total
    u.sort()
    events[:] = np.searchsorted(cum[:n], u, side="right")
    for j in range(k):
        i = min(events[j], n - 1)
        while rates[i] <= 0.0:  # rounding put the event past the last positive rate
            i -= 1
        events[j] = i
    events.sort()
    return events


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
