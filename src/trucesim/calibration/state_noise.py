"""Latent-state process noise in the nowcast: what may move the *state* between periods.

The bootstrap filter (:mod:`trucesim.calibration.nowcast`) selects model states by their
fit to the record. Without noise on the state, copies of a resampled particle hold the
same grievance, authority, arms, autonomy and members and differ only through the
model's own randomness (which clique kills whom today); when the model does not make a
change of level on its own (the 2015-16 surge), nothing lets a state follow it and the
ensemble collapses onto a few particles.

Two settings (``--state-noise``):

``off``
    The state moves only by the model's mechanisms (the filter as before).

``on``
    After each assimilated period but the last (after its resampling, if any), every
    particle's latent state in :data:`PERTURBED` takes a step of process noise for the
    days since the previous step: the transition law below is exact for any step, so
    one step over a year has the law of twelve monthly ones; taken right after
    resampling it is also what tells copies of one state apart. (A variant stepping
    every 30 days of the scenario whatever the record's periods fitted the main case's
    record worse: docs/nowcast.md.) Each variable is
    shocked per gang (one shock for a gang's cliques: what moves a gang's arms or
    autonomy outside the model moves its cliques together; independent shocks per
    clique would average out over 600 cliques and move no national level), in a space
    where its valid range is the whole line (log for a stock, logit for a share,
    ``log(1 + g)`` for a grievance that may be 0). The shock is the increment of an
    Ornstein-Uhlenbeck *offset* per particle, gang and variable,

        x' = x * exp(-dt / tau) + sd * sqrt(1 - exp(-2 dt / tau)) * z,   z ~ N(0, 1)

    (the exact transition; stationary law N(0, sd**2)), and the variable moves by
    ``x' - x`` in its space. The noise's total contribution is therefore bounded in law
    by its stated ``sd`` (it cannot wander), and the model's own relaxation (arms toward
    the members' stock, autonomy toward its baseline, grievance decaying) acts on top.
    Members are integers: a clique's new count is its scaled count rounded stochastically
    (unbiased). Every value is kept in its valid range.

    The shocks come from each particle's own generator (:attr:`Particle.rng
    <trucesim.core.particle.Particle.rng>`), in a fixed order; the filter gives each
    copy of a resampled particle after the first a new generator, so copies take
    independent shocks. The offsets go with the particle when it is resampled. In the
    branches the noise goes on every 30 days, with the same shocks in each branch of a
    particle (a generator per particle re-created for each branch), so the branches stay
    paired.

What is not perturbed, and why, is in :data:`NOT_PERTURBED`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: The settings of ``--state-noise``.
STATE_NOISE_MODES = ("off", "on")
#: The default (see docs/nowcast.md for the evidence it was chosen on).
DEFAULT_STATE_NOISE = "on"


@dataclass(frozen=True)
class Perturbed:
    """A latent state variable the noise moves, with its stated prior.

    Attributes:
        box: state container (``gangs`` or ``cliques``).
        field: array in it.
        space: ``log`` (a stock > 0), ``logit`` (a share in [0, 1]) or ``log1p`` (>= 0,
            may be 0).
        sd: stationary sd of the noise's offset in that space.
        reversion_days: reversion time of the offset.
        integer: the array holds counts (rounded stochastically).
        why: the reason it may move outside the model's mechanisms, and the size.
    """

    box: str
    field: str
    space: str
    sd: float
    reversion_days: float
    integer: bool = False
    why: str = ""

    @property
    def name(self) -> str:
        return f"{self.box}.{self.field}"


#: The one list of perturbed variables and their priors (docs/nowcast.md shows it).
PERTURBED: tuple[Perturbed, ...] = (
    Perturbed("gangs", "grievance", "log1p", 0.5, 180.0, why=(
        "grievance against the state: the timeline carries withdrawals and refusals of "
        "talks, not the transfers, raids and killings of members by police that also "
        "anger leaders; sd 0.5 in log(1 + G) lets a gang at half the escalation threshold "
        "(about 0.7) cross it (1.4) at about 1.3 sd, and a gang at it fall back; 180 days: "
        "a grievance the model does not see lasts months, as its own decay (100 days)")),
    Perturbed("gangs", "authority", "logit", 0.5, 365.0, why=(
        "the leaders' legitimacy with the cliques: moved by internal politics (expulsions, "
        "succession, faction disputes) the model has no events for; sd 0.5 in logit moves "
        "an authority of 0.5 to 0.38-0.62 at 1 sd; a year: legitimacy changes slowly, and "
        "the model has no relaxation of authority, so the offset's own reversion bounds it")),
    Perturbed("cliques", "arms", "log", 0.2, 365.0, why=(
        "arms stock: trafficking, seizures and caches outside the model's extortion income; "
        "per gang, x0.82-x1.22 at 1 sd, as the drift's 20% of the non-gang background; "
        "a year, shorter than the model's own relaxation of arms (about 2 years)")),
    Perturbed("cliques", "autonomy", "logit", 0.3, 365.0, why=(
        "the cliques' independence from the leadership: lost contact, new cohorts of "
        "leaders on the street; sd 0.3 in logit (an autonomy of 0.3 to 0.24-0.37 at 1 sd); "
        "the model relaxes autonomy to its baseline in about 11 months")),
    Perturbed("cliques", "members", "log", 0.05, 365.0, integer=True, why=(
        "members on the street: recruitment, migration and deaths the model does not "
        "count; 5% at 1 sd (the record's member counts are censuses years apart, and "
        "prison counts move by a few thousand of about 60,000); integers, rounded "
        "stochastically")),
)

#: Latent state the noise leaves alone, and why.
NOT_PERTURBED: dict[str, str] = {
    "cliques.restraint, cliques.pressure": "set by each order a clique obeys (to 1) and "
    "decaying: a shock would be overwritten at the next order; the noise moves what "
    "governs who obeys (authority, autonomy) and what the leaders order (grievance)",
    "gangs.stance, cliques.order, cliques.disposition": "discrete decisions and a fixed "
    "draw; they follow grievance and authority",
    "fronts.excitation (faction war intensity)": "decays in about 17 days "
    "(violence.omega 0.06), shorter than most periods, and with a branching ratio of "
    "about 0.3 carries little of the level; the split of Barrio 18 is an event of the "
    "timeline",
    "cliques.prisoners, gangs.isolation, cliques.heat": "set by the regime and the arrests "
    "of the timeline (the record's prison counts are targets of the calibration)",
}


def check_mode(mode: str) -> str:
    """``mode`` if it is a setting of :data:`STATE_NOISE_MODES`.

    Raises:
        ValueError: one line naming the settings.
    """
    if mode not in STATE_NOISE_MODES:
        raise ValueError(f"{mode!r} is not a state-noise setting; use one of "
                         f"{', '.join(STATE_NOISE_MODES)}")
    return mode


def perturbed(mode: str) -> tuple[Perturbed, ...]:
    """The variables ``mode`` perturbs (none when it is ``off``)."""
    return () if check_mode(mode) == "off" else PERTURBED


def new_offsets(particles: int, gangs: int, variables: tuple[Perturbed, ...]) -> np.ndarray:
    """Zero offsets, (particles, variables, gangs)."""
    return np.zeros((particles, len(variables), gangs))


def _forward(v: np.ndarray, space: str) -> np.ndarray:
    if space == "log":
        return np.log(np.maximum(v, 1e-12))
    if space == "logit":
        c = np.clip(v, 1e-9, 1.0 - 1e-9)
        return np.log(c / (1.0 - c))
    if space == "log1p":
        return np.log1p(np.maximum(v, 0.0))
    raise ValueError(f"unknown space {space!r}")


def _back(x: np.ndarray, space: str) -> np.ndarray:
    if space == "log":
        return np.exp(x)
    if space == "logit":
        return 1.0 / (1.0 + np.exp(-x))
    if space == "log1p":
        return np.maximum(np.expm1(x), 0.0)
    raise ValueError(f"unknown space {space!r}")


def step_offsets(offsets: np.ndarray, days: float, variables: tuple[Perturbed, ...],
                 z: np.ndarray) -> np.ndarray:
    """The exact OU transition of one particle's offsets (variables, gangs) over
    ``days``, with standard normals ``z`` of the same shape."""
    out = np.empty_like(offsets)
    for k, var in enumerate(variables):
        decay = math.exp(-days / var.reversion_days)
        out[k] = offsets[k] * decay + var.sd * math.sqrt(1.0 - decay * decay) * z[k]
    return out


def perturb(state, offsets: np.ndarray, days: float, variables: tuple[Perturbed, ...],
            rng: np.random.Generator) -> np.ndarray:
    """Move ``state`` (in place) by one step of the noise over ``days`` and return the
    new offsets (variables, gangs). Draws from ``rng``, in this order: one normal per
    variable and gang, then one uniform per clique for each integer variable. Gangs that
    do not exist move nothing (their offsets still step)."""
    if not variables or days <= 0:
        return offsets
    z = rng.standard_normal(offsets.shape)
    new = step_offsets(offsets, days, variables, z)
    delta = new - offsets
    gang_of = state.cliques.gang
    exists = state.gangs.exists
    for k, var in enumerate(variables):
        target = getattr(getattr(state, var.box), var.field)
        shift = np.where(exists, delta[k], 0.0)
        if var.box == "cliques":
            shift = shift[gang_of]
        if var.integer:
            u = rng.random(len(target))
            target[:] = np.floor(target * np.exp(shift) + u).astype(target.dtype)
        elif var.space == "log":
            target *= np.exp(shift)
        else:  # a value with no shift stays exactly as it is (0 and 1 included)
            moved = _back(_forward(target, var.space) + shift, var.space)
            target[:] = np.where(shift != 0.0, moved, target)
    return new


def noise_settings(mode: str) -> dict:
    """The setting and its prior, as the summary and manifest record them."""
    return {"setting": mode,
            "perturbed": {v.name: {"space": v.space, "sd": v.sd,
                                   "reversion_days": v.reversion_days}
                          for v in perturbed(mode)}}
