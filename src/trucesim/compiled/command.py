"""Compiled orders and obedience: the loop form of :meth:`trucesim.mechanisms.command.Command.transmit`."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from trucesim.mechanisms.command import NONE, PRESSURE, RESTRAINT, RESTRAINT_FLOOR


@njit(cache=True)
def update_authority(authority, restraining, paid, authority_gain, authority_loss):
    """A day's change of the authority of leaderships ordering restraint: it grows with
    the benefits paid, and erodes when none are (as
    :meth:`trucesim.mechanisms.command.Command.decide` does with a stance already decided)."""
    for g in range(len(authority)):
        r = 1.0 if restraining[g] else 0.0
        if paid > 0.0:
            authority[g] += r * authority_gain * paid * (1.0 - authority[g])
        else:
            authority[g] -= r * authority_loss * authority[g]


@njit(cache=True)
def transmit(rng, gang, autonomy, restraint, pressure, own_excitation,
             stance, isolation, cohesion, authority, clique_count, control,
             contact_rate, defection_rate, defection_per_excitation, pressure_decay):
    """Orders reach and are obeyed by cliques; restraint and pressure then decay; each
    leadership's control is updated. Returns whether any clique was under restraint."""
    n, gangs = len(gang), len(stance)
    ordering = False
    for g in range(gangs):
        if stance[g] != NONE:
            ordering = True
    if ordering:
        channel = np.empty(gangs)
        for g in range(gangs):
            c = (1.0 - isolation[g]) * cohesion[g] * authority[g]
            c *= 1.0 if stance[g] != NONE else 0.0
            channel[g] = c * contact_rate
        u = rng.random(n)
        for i in range(n):
            if u[i] < (1.0 - autonomy[i]) * channel[gang[i]]:
                order = stance[gang[i]]
                if order == RESTRAINT:
                    restraint[i] = 1.0
                    pressure[i] = 0.0
                elif order == PRESSURE:
                    pressure[i] = 1.0
                    restraint[i] = 0.0
    restrained = False
    for i in range(n):
        if restraint[i] != 0.0:
            restrained = True
            break
    # Restraint and pressure decay, and each leadership's followers, in one pass.
    following = np.zeros(gangs)
    for i in range(n):
        r = restraint[i]
        if restrained and r != 0.0:
            r *= math.exp(own_excitation[i] * -defection_per_excitation - defection_rate)
            r = r if r >= RESTRAINT_FLOOR else 0.0
            restraint[i] = r
        pressure[i] *= pressure_decay
        if ordering:
            order = stance[gang[i]]
            if order != NONE and (r if order == RESTRAINT else pressure[i]) >= 0.5:
                following[gang[i]] += 1.0
    if not ordering:
        control[:] = 0.0
        return restrained
    for g in range(gangs):
        control[g] = following[g] / max(clique_count[g], 1.0)
    return restrained
