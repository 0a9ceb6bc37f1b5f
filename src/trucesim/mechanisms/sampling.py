"""Exact samplers for many rare events, in time linear in the number of rates.

Most of the model's daily counts are rare (a front sees a killing every few hundred
days). Drawing one Poisson or binomial variate per front or clique costs far more than
the arithmetic around it, so the engine uses two exact constructions instead:

* :func:`poisson_events`: independent Poisson counts with rates ``lam_i`` are the same
  in distribution as a Poisson total with rate ``sum(lam)`` whose events are placed
  independently on ``i`` with probability ``lam_i / sum(lam)``. Cost: one cumulative sum
  and one binary search per event.
* :func:`binomial_counts`: Poisson darts with rate ``-log(1 - p)`` per trial, thrown
  at each group's trials; the number of distinct trials hit is Binomial(n, p). Only the
  rare darts are handled one by one (:func:`distinct_hits`).

Both are exact (no approximation); ``tests/test_sampling.py`` checks them against the
Poisson and binomial distributions. The daily step uses :class:`FusedPoisson` (several
rate arrays in one draw) and :func:`distinct_hits`; :func:`poisson_events` and
:func:`binomial_counts` are the single-array forms they are tested against.
"""

from __future__ import annotations

import numpy as np


def poisson_events(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """Draw independent Poisson counts with rates ``lam``; return the events' indices.

    The result lists index ``i`` once per event drawn for it (so ``np.bincount(result,
    minlength=len(lam))`` are the counts), in no particular order.
    """
    if len(lam) == 0:
        return np.zeros(0, dtype=np.int64)
    cum = np.cumsum(lam)
    total_rate = float(cum[-1])
    if total_rate <= 0.0:
        return np.zeros(0, dtype=np.int64)
    n = rng.poisson(total_rate)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.searchsorted(cum, rng.random(n) * total_rate, side="right")
    np.minimum(idx, len(lam) - 1, out=idx)
    return idx


def poisson_counts(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """Independent Poisson counts with rates ``lam`` (dense int64 array)."""
    return np.bincount(poisson_events(rng, lam), minlength=len(lam))


def binomial_counts(rng: np.random.Generator, n: np.ndarray, p: np.ndarray | float) -> np.ndarray:
    """Independent Binomial(n_i, p_i) counts, exactly, in time linear in ``len(n)``.

    Throw Poisson(n_i * lambda_i) darts uniformly at the n_i trials of group i, with
    ``lambda_i = -log(1 - p_i)``: each trial is hit at least once with probability
    ``1 - exp(-lambda_i) = p_i``, independently, so the number of distinct trials hit is
    Binomial(n_i, p_i). Only the (rare) darts are handled one by one. ``p`` may be a
    scalar (the same probability for every group), which saves the per-group logarithm.
    """
    n = np.asarray(n)
    if np.ndim(p) == 0:
        p = float(p)
        if p >= 1.0:
            return n.astype(np.int64)
        darts = poisson_events(rng, n * -np.log1p(-p))
        darts.sort()
        return distinct_hits(rng, darts, n)
    p = np.asarray(p, dtype=float)
    certain = p >= 1.0
    any_certain = bool(certain.any())
    with np.errstate(divide="ignore"):
        lam = -np.log1p(-np.minimum(p, 1.0))
    if any_certain:
        lam = np.where(certain, 0.0, lam)
    darts = poisson_events(rng, n * lam)
    darts.sort()
    out = distinct_hits(rng, darts, n)
    if any_certain:
        out = np.where(np.broadcast_to(certain, n.shape), n, out)
    return out


def distinct_hits(rng: np.random.Generator, darts: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per group, the number of distinct trials hit when each dart (a group index, in
    sorted order) lands on one of its group's ``n`` trials uniformly at random."""
    if len(darts) == 0:
        return np.zeros(n.shape, dtype=np.int64)
    if not np.count_nonzero(darts[1:] == darts[:-1]):
        # One dart per group: each hits one trial, wherever it lands.
        return np.bincount(darts, minlength=len(n))
    slot = (rng.random(len(darts)) * n[darts]).astype(np.int64)
    # Distinct (group, trial) pairs: one key per trial across groups.
    stride = int(n.max()) + 1
    keys = darts * stride + slot
    keys.sort()
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    return np.bincount(keys // stride, minlength=len(n))


class FusedPoisson:
    """Independent Poisson counts for several rate arrays, drawn together.

    The rates live in named segments of one preallocated buffer that the mechanisms fill
    in place (:meth:`segment`); :meth:`draw` then draws the Poisson total and places each
    event with probability proportional to its rate, exactly as :func:`poisson_events`
    does for a single array. By superposition the segments' counts are independent
    Poisson with their own rates, so fusing draws changes the order of random numbers but
    not the distribution. Segments must not depend on one another's events (draw those
    in a separate :class:`FusedPoisson`).

    Small buffers place events by one cumulative sum and a binary search per event.
    Large ones (over :attr:`FLAT_MAX`) place them in two levels, which avoids the
    cumulative sum over the whole buffer (a slow sequential pass): the buffer is viewed
    as blocks of :attr:`BLOCK` rates, summed in one vectorised pass (``einsum``, not
    threaded BLAS); each event picks a block by binary search in the blocks' cumulative
    sums, then a rate within its block.

    Args:
        sizes: segment name -> length, in buffer order.
    """

    BLOCK = 16
    #: Buffers up to this length use one cumulative sum (fewer calls, cheaper when small).
    FLAT_MAX = 32768

    def __init__(self, sizes: dict[str, int]):
        self.names = list(sizes)
        self.starts = np.cumsum([0, *sizes.values()]).astype(np.int64)
        size = int(self.starts[-1])
        padded = -(-size // self.BLOCK) * self.BLOCK
        self.rates = np.zeros(padded)  # the padding stays at rate 0
        self._blocks = self.rates.reshape(-1, self.BLOCK)
        self._block_sums = np.empty(len(self._blocks))
        self._cum = np.empty(len(self._blocks))
        self._flat_cum = np.empty(padded)
        self._lanes = np.arange(self.BLOCK)[:, None]
        self._empty = np.zeros(0, dtype=np.int64)
        self._views = {
            name: self.rates[self.starts[i] : self.starts[i + 1]]
            for i, name in enumerate(self.names)
        }

    def segment(self, name: str) -> np.ndarray:
        """The (writable) rate array of segment ``name``."""
        return self._views[name]

    def _place_flat(self, rng: np.random.Generator) -> np.ndarray | None:
        """Sorted event indices, by one cumulative sum (cheapest for small buffers)."""
        cum = self.rates.cumsum(out=self._flat_cum)
        total_rate = float(cum[-1])
        n = rng.poisson(total_rate) if total_rate > 0.0 else 0
        if n == 0:
            return None
        u = rng.random(n)
        u.sort()  # sorted keys make the binary searches cache-friendly; idx comes sorted
        u *= total_rate
        idx = cum.searchsorted(u, side="right")
        np.minimum(idx, len(cum) - 1, out=idx)
        return idx

    def _place_in_blocks(self, rng: np.random.Generator) -> np.ndarray | None:
        """Sorted event indices, by block sums then a search within each event's block."""
        block_sums = np.einsum("ij->i", self._blocks, out=self._block_sums)
        cum = np.cumsum(block_sums, out=self._cum)
        total_rate = float(cum[-1])
        n = rng.poisson(total_rate) if total_rate > 0.0 else 0
        if n == 0:
            return None
        u = rng.random(n)
        u.sort()
        u *= total_rate
        block = cum.searchsorted(u, side="right")
        np.minimum(block, len(cum) - 1, out=block)
        u -= cum[block]
        u += block_sums[block]  # u is now the offset into its block's rates
        first = block * self.BLOCK
        # (BLOCK, n): each column an event's block of rates, accumulated down the column
        # (a long vectorised inner loop, unlike a cumsum along short rows).
        within = self.rates[first + self._lanes]
        np.cumsum(within, axis=0, out=within)
        offset = np.add.reduce(within <= u, axis=0, dtype=np.int64)
        np.minimum(offset, self.BLOCK - 1, out=offset)
        idx = first + offset
        zero = self.rates[idx] == 0.0
        if zero.any():  # rounding put an event past its block's last positive rate
            rows = self._blocks[block[zero]]
            last = self.BLOCK - 1 - np.argmax(rows[:, ::-1] > 0.0, axis=1)
            idx[zero] = block[zero] * self.BLOCK + last
        return idx

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        """Draw the events; return, per segment in order, its events' (segment-local,
        sorted) indices, an index repeated once per event."""
        if len(self.rates) == 0:
            return [self._empty] * len(self.names)
        if len(self.rates) <= self.FLAT_MAX:
            idx = self._place_flat(rng)
        else:
            idx = self._place_in_blocks(rng)
        if idx is None:
            return [self._empty] * len(self.names)
        cuts = idx.searchsorted(self.starts)
        return [
            idx[cuts[i] : cuts[i + 1]] - self.starts[i] for i in range(len(self.names))
        ]
