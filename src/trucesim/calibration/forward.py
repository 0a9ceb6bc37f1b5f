"""A filtered particle run on past the filter's last day: the one forward run that the
nowcast's branches (:func:`~trucesim.calibration.branches.run_branches`) and the
backtest's forecasts (:class:`~trucesim.forecast.model.ModelForecaster`) share.

The run goes in chunks of :data:`CHUNK_DAYS` days. At the start of each chunk the
particle takes that chunk's parameter constants from its path (the reverting drift going
on past the filter, :func:`~trucesim.calibration.branches.branch_parameters`; one set
throughout when nothing drifts) and, with latent-state noise on
(:mod:`trucesim.calibration.state_noise`), one step of the noise over the chunk before
it, from the generator it is given, so the state keeps the uncertainty the filter gave
it. The first chunk starts from the filter's state as it is: the filter's last step of
the noise came after its second-to-last period, so the days from there to the first
chunk's end take no step of their own (the noise's first step past the filter comes
after the first chunk).
"""

from __future__ import annotations

import math

import numpy as np

from trucesim.calibration.state_noise import Perturbed, perturb
from trucesim.core.particle import Particle

#: Days between the forward run's steps of the reverting drift and of the state noise.
CHUNK_DAYS = 30


def run_on(q: Particle, path: list, day0: int, days: int, record: tuple,
           variables: tuple[Perturbed, ...] = (), offsets: np.ndarray | None = None,
           rng: np.random.Generator | None = None) -> None:
    """Advance particle ``q`` (in place) from day ``day0`` to ``day0 + days``.

    Args:
        q: the particle, on day ``day0`` (a copy of a filtered one: it is changed).
        path: its parameter constants chunk by chunk (the last one holds to the end).
        day0, days: the first day (model days) and how many to run.
        record: the workers' scratch record (:class:`~trucesim.calibration.nowcast.Workers`).
        variables: the latent variables the noise moves (none: no noise, nothing drawn).
        offsets: the particle's noise offsets (variables, gangs) on day ``day0``.
        rng: the noise's generator (used by nothing else).
    """
    chunks = math.ceil(days / CHUNK_DAYS) if variables else len(path)
    for k in range(chunks):
        if variables and k:
            offsets = perturb(q.state, offsets, CHUNK_DAYS, variables, rng)
        q.params = path[min(k, len(path) - 1)]
        last = k + 1 == chunks
        q.advance(day0 + days if last else day0 + (k + 1) * CHUNK_DAYS, record)
