"""Exact samplers for many rare events, in time linear in the number of rates.

Most of the model's daily counts are rare (a front sees a killing every few hundred
days). Drawing one Poisson or binomial variate per front or clique costs far more than
the arithmetic around it, so the engine uses two exact constructions instead:

* :func:`poisson_events`: independent Poisson counts with rates ``lam_i`` are the same
  in distribution as a Poisson total with rate ``sum(lam)`` whose events are placed
  independently on ``i`` with probability ``lam_i / sum(lam)``. Cost: one cumulative sum
  and one binary search per event.
* :func:`binomial_counts`: inversion of the binomial CDF from one uniform per trial
  group; only the rare groups with a non-zero count go through the (vectorised) CDF
  walk.

Both are exact (no approximation); ``tests/test_sampling.py`` checks them against the
Poisson and binomial distributions.
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
    if not (darts[1:] == darts[:-1]).any():
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
    in place (:meth:`segment`); :meth:`draw` then places all events with one cumulative
    sum, one Poisson total and one binary search per event, exactly as
    :func:`poisson_events` does for a single array. By superposition the segments'
    counts are independent Poisson with their own rates, so fusing draws changes the
    order of random numbers but not the distribution. Segments must not depend on one
    another's events (draw those in a separate :class:`FusedPoisson`).

    Args:
        sizes: segment name -> length, in buffer order.
    """

    def __init__(self, sizes: dict[str, int]):
        self.names = list(sizes)
        self.starts = np.cumsum([0, *sizes.values()]).astype(np.int64)
        self.rates = np.zeros(int(self.starts[-1]))
        self._cum = np.empty_like(self.rates)
        self._empty = np.zeros(0, dtype=np.int64)
        self._views = {
            name: self.rates[self.starts[i] : self.starts[i + 1]]
            for i, name in enumerate(self.names)
        }

    def segment(self, name: str) -> np.ndarray:
        """The (writable) rate array of segment ``name``."""
        return self._views[name]

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        """Draw the events; return, per segment in order, its events' (segment-local,
        sorted) indices, an index repeated once per event."""
        if len(self.rates) == 0:
            return [self._empty] * len(self.names)
        cum = np.cumsum(self.rates, out=self._cum)
        total_rate = float(cum[-1])
        n = rng.poisson(total_rate) if total_rate > 0.0 else 0
        if n == 0:
            return [self._empty] * len(self.names)
        u = rng.random(n)
        u.sort()  # sorted keys make the binary searches cache-friendly; idx comes sorted
        u *= total_rate
        idx = np.searchsorted(cum, u, side="right")
        np.minimum(idx, len(cum) - 1, out=idx)
        cuts = np.searchsorted(idx, self.starts)
        return [
            idx[cuts[i] : cuts[i + 1]] - self.starts[i] for i in range(len(self.names))
        ]
