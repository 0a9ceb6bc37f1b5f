"""Compiled samplers and sums: the loops behind :mod:`trucesim.mechanisms.sampling`.

Each function draws from the generator in exactly the order and amounts of its numpy
counterpart, so the compiled day and the numpy day consume the same random numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trucesim.mechanisms.sampling import FusedPoisson

BLOCK = FusedPoisson.BLOCK
FLAT_MAX = FusedPoisson.FLAT_MAX

#: numpy's block size for pairwise summation (``PW_BLOCKSIZE`` in its C source).
PAIRWISE_BLOCK = 128


@njit(cache=True)
def _pairwise_leaf(a, start, n):
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    end = n - n % 8
    while i < end:
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += a[start + i]
        i += 1
    return total


@njit(cache=True)
def float_sum(a):
    """Sum of a float64 array, rounded exactly as ``np.add.reduce`` rounds it.

    numpy sums in blocks of 8 accumulators up to :data:`PAIRWISE_BLOCK` values and
    splits longer arrays in halves (a multiple of 8 long) recursively; the same tree is
    walked here with an explicit stack, so both engines see the same totals.
    """
    n = len(a)
    if n <= PAIRWISE_BLOCK:
        return _pairwise_leaf(a, 0, n)
    starts = np.empty(64, dtype=np.int64)
    sizes = np.empty(64, dtype=np.int64)
    right_done = np.zeros(64, dtype=np.bool_)
    left = np.empty(64)
    starts[0], sizes[0], right_done[0] = 0, n, False
    depth = 1
    value = 0.0
    returned = False  # value holds the sum of the top frame's latest child
    while depth > 0:
        top = depth - 1
        if returned:
            if not right_done[top]:
                left[top] = value
                right_done[top] = True
                returned = False
                half = sizes[top] // 2
                half -= half % 8
                starts[depth], sizes[depth], right_done[depth] = (
                    starts[top] + half, sizes[top] - half, False)
                depth += 1
            else:
                value = left[top] + value
                depth -= 1
            continue
        size = sizes[top]
        if size <= PAIRWISE_BLOCK:
            value = _pairwise_leaf(a, starts[top], size)
            depth -= 1
            returned = True
        else:
            half = size // 2
            half -= half % 8
            starts[depth], sizes[depth], right_done[depth] = starts[top], half, False
            depth += 1
    return value


@njit(cache=True)
def event_positions(rng, total):
    """A Poisson(``total``) number of events at sorted uniform positions in
    ``[0, total)`` (none, and no draw, if ``total`` is 0)."""
    if not total > 0.0:
        return np.empty(0)
    n = rng.poisson(total)
    if n == 0:
        return np.empty(0)
    u = rng.random(n)
    u.sort()
    u *= total
    return u


@njit(cache=True)
def run_end(sorted_values, start):
    """End (exclusive) of the run of values equal to ``sorted_values[start]``."""
    end = start + 1
    while end < len(sorted_values) and sorted_values[end] == sorted_values[start]:
        end += 1
    return end


@njit(cache=True)
def place_events(rng, rates, cum):
    """Sorted event indices for independent Poisson counts with ``rates``.

    The flat method of :class:`trucesim.mechanisms.sampling.FusedPoisson`: a Poisson total, then
    each event placed by a binary search of a sorted uniform in the cumulative rates.
    ``cum`` is a scratch array as long as ``rates``.
    """
    total = 0.0
    for i in range(len(rates)):
        total += rates[i]
        cum[i] = total
    u = event_positions(rng, total)
    idx = np.searchsorted(cum, u, side="right")
    last = len(cum) - 1
    for j in range(len(u)):
        if idx[j] > last:
            idx[j] = last
    return idx


@njit(cache=True)
def place_events_in_blocks(rng, rates, block, block_sums, block_cum):
    """Sorted event indices by the two-level method of
    :class:`trucesim.mechanisms.sampling.FusedPoisson` for long rate buffers: a binary search in
    the cumulative sums of blocks of ``block`` rates, then a walk within the block.
    Besides the sum within each block (sequential here, numpy's ``einsum`` order there),
    the arithmetic is the numpy engine's, so both place events alike up to rounding."""
    n_blocks = len(block_sums)
    total = 0.0
    for b in range(n_blocks):
        s = 0.0
        for j in range(b * block, (b + 1) * block):
            s += rates[j]
        block_sums[b] = s
        total += s
        block_cum[b] = total
    u = event_positions(rng, total)
    where = np.searchsorted(block_cum, u, side="right")
    idx = np.empty(len(u), dtype=np.int64)
    for e in range(len(u)):
        b = min(where[e], n_blocks - 1)
        offset_in_block = u[e] - block_cum[b] + block_sums[b]
        first = b * block
        acc = 0.0
        offset = 0
        for j in range(first, first + block):
            acc += rates[j]
            if acc <= offset_in_block:
                offset += 1
        i = first + min(offset, block - 1)
        if rates[i] == 0.0:  # rounding put the event past the block's last positive rate
            i = first + block - 1
            for j in range(first + block - 1, first - 1, -1):
                if rates[j] > 0.0:
                    i = j
                    break
        idx[e] = i
    return idx


@njit(cache=True)
def place_fused(rng, rates, cum, block_sums):
    """Events of one fused rate buffer (a multiple of :data:`BLOCK` long), placed by the
    numpy engine's method for its length (:class:`trucesim.mechanisms.sampling.FusedPoisson`)."""
    if len(rates) <= FLAT_MAX:
        return place_events(rng, rates, cum)
    return place_events_in_blocks(rng, rates, BLOCK, block_sums, cum[: len(block_sums)])


@njit(cache=True)
def segment(events, lo, hi):
    """Events (sorted indices) falling in ``[lo, hi)``, shifted to start at 0."""
    a = np.searchsorted(events, lo)
    b = np.searchsorted(events, hi)
    return events[a:b] - lo


@njit(cache=True)
def distinct_hits(rng, darts, n, out):
    """Write to ``out`` the distinct trials hit per group when each dart (a group index,
    sorted) lands on one of its group's ``n`` trials (see
    :func:`trucesim.mechanisms.sampling.distinct_hits`)."""
    out[:] = 0
    m = len(darts)
    if m == 0:
        return
    repeated = False
    for j in range(1, m):
        if darts[j] == darts[j - 1]:
            repeated = True
            break
    if not repeated:
        for j in range(m):
            out[darts[j]] += 1
        return
    u = rng.random(m)
    j = 0
    while j < m:
        group = darts[j]
        k = run_end(darts, j)
        if k - j == 1:
            out[group] = 1
        else:
            slots = np.empty(k - j, dtype=np.int64)
            for q in range(j, k):
                slots[q - j] = np.int64(u[q] * n[group])
            slots.sort()
            hits = 1
            for q in range(1, k - j):
                if slots[q] != slots[q - 1]:
                    hits += 1
            out[group] = hits
        j = k
