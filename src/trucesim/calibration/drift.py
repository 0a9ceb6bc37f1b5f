"""Parameter drift in the nowcast: none, or a mean-reverting step toward each draw.

The particle filter (:mod:`trucesim.calibration.nowcast`) gives each particle a full
model state (clique members, prisoners, arms, autonomy, restraint and pressure, every
front's excitation, each gang's authority, isolation, stance, grievance and factions)
and a posterior draw of the parameters. Resampling on the record moves the *state*; the
question here is what may move the *parameters*.

Two settings (``--drift``):

``off``
    Every parameter stays at the particle's posterior draw, through the filter and
    into the branches. The state alone must follow the record.

``reverting``
    Only the parameters of :data:`DRIFTING` (processes the model has no state for) may
    move, by an Ornstein-Uhlenbeck process in log space around the draw: with
    ``x = log(value / draw)``, over ``dt`` days

        x' = x * exp(-dt / tau) + sd * sqrt(1 - exp(-2 dt / tau)) * z,   z ~ N(0, 1)

    (the exact transition; stationary law N(0, sd**2), reversion time ``tau``). Every
    other parameter stays at its draw. A step that leaves a parameter's valid range is
    not taken (the block keeps its values), as a scenario file would refuse the value.
    In the branches the process goes on (:func:`branch_paths`): each particle's drifting
    values continue from where the filter left them, reverting toward the draw, with one
    path per particle shared by its branches (the branches stay paired).

Both replace the earlier unbounded random walk (log-scale sd 0.3 per sqrt(year) on every
posterior parameter), whose values by the as-of date were far from any draw and then held
for the whole branch horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trucesim.stats import interval

#: The settings of ``--drift``.
DRIFT_MODES = ("off", "reverting")
#: The default (see docs/nowcast.md for the evidence it was chosen on).
DEFAULT_DRIFT = "reverting"

#: The parameters that may drift under ``reverting``, and why (shown in reports and in
#: docs/nowcast.md). Each stands for a process outside the model's state: nothing the
#: filter can resample would move it.
DRIFTING: dict[str, str] = {
    "violence.background_rate": "homicides the model has no mechanism for (common crime, "
    "other armed actors, the part of gang killing outside its streams); no state variable "
    "drives it, so only a drift can follow a change in it",
    "violence.concealment": "how much of a restraining clique's killing is hidden as "
    "disappearances: a recording practice, with no state behind it",
}

#: The posterior's other parameters, held at the draw in every setting, and why.
HELD: dict[str, str] = {
    "violence.mu": "front killing rate: the state holds fronts, members and arms that scale it",
    "violence.eta": "retaliation weight: the state holds every front's excitation",
    "violence.civilian_rate": "killings per member: the state holds members and stance",
    "violence.restraint_efficacy": "the state holds each clique's restraint",
    "violence.nongang_share": "a split of the background, not a rate",
    "command.compliance": "the state holds each clique's disposition, authority and autonomy",
    "command.relay_latency": "the state holds each clique's order and the channels open",
    "demography.custody_share": "the state holds the prisoners and members",
    "policing.arrest_scale": "the state holds heat and the regime in force",
    "command.defection_rate": "the state holds authority and autonomy",
    "retaliation.base_attack_rate": "the state holds pressure and police excitation",
    "bargaining.escalation_threshold": "the state holds each gang's grievance",
}


@dataclass(frozen=True)
class DriftPrior:
    """The stated prior of the reverting drift (log space, around each particle's draw).

    Attributes:
        sd: stationary standard deviation of ``log(value / draw)`` (dimensionless).
            0.2: a typical departure of about 20%, 95% within x0.67-x1.49 of the draw.
            Assumption: the drifting parameters stand for what the model leaves out, and
            a departure larger than the posterior's own spread would be a new model, not
            a drift.
        reversion_days: reversion time ``tau`` in days. 365: a departure halves in
            about 8 months. Assumption: with ``sd`` it gives, over a few weeks, the same
            local step as the earlier random walk (``sd * sqrt(2 / tau)`` = 0.28 per
            sqrt(year), against 0.3), while bounding where the walk went.
    """

    sd: float = 0.2
    reversion_days: float = 365.0

    def __post_init__(self) -> None:
        if not (self.sd >= 0 and math.isfinite(self.sd)):
            raise ValueError(f"drift sd must be finite and >= 0, not {self.sd}")
        if not (self.reversion_days > 0 and math.isfinite(self.reversion_days)):
            raise ValueError(f"reversion_days must be finite and > 0, not {self.reversion_days}")


def check_mode(mode: str) -> str:
    """``mode`` if it is a setting of :data:`DRIFT_MODES`.

    Raises:
        ValueError: one line naming the settings.
    """
    if mode not in DRIFT_MODES:
        raise ValueError(f"{mode!r} is not a drift setting; use one of "
                         f"{', '.join(DRIFT_MODES)}")
    return mode


def ou_step(x: np.ndarray, days: float, prior: DriftPrior, z: np.ndarray) -> np.ndarray:
    """The exact Ornstein-Uhlenbeck transition of log-deviations ``x`` over ``days``,
    with standard normal innovations ``z`` (same shape)."""
    decay = math.exp(-days / prior.reversion_days)
    return x * decay + prior.sd * math.sqrt(1.0 - decay * decay) * z


def drifting_names(mode: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """Of the posterior parameters ``names`` that could move, those that drift under
    ``mode`` (none when it is ``off``)."""
    if check_mode(mode) == "off":
        return ()
    return tuple(n for n in names if n in DRIFTING)


def origin_of(draw, name: str) -> float:
    """The particle's posterior draw of ``name`` (the value it started with)."""
    block, key = name.split(".")
    return float(getattr(getattr(draw.scenario, block), key))


def log_deviation(draw, names: tuple[str, ...]) -> np.ndarray:
    """``log(value / draw)`` of each of ``names`` for a particle's :class:`Draw`
    (0 where the draw is 0)."""
    out = np.zeros(len(names))
    for j, n in enumerate(names):
        origin, value = origin_of(draw, n), draw.values[n]
        out[j] = math.log(value / origin) if origin > 0 and value > 0 else 0.0
    return out


def step_draws(draws: list, builder, names: tuple[str, ...], days: float,
               prior: DriftPrior, rng: np.random.Generator) -> list:
    """Each particle's draw after ``days`` of the reverting drift of ``names`` (one
    normal per particle and name from ``rng``, in that order)."""
    if not names or days <= 0:
        return list(draws)
    z = rng.standard_normal((len(draws), len(names)))
    out = []
    for d, zi in zip(draws, z, strict=True):
        x = log_deviation(d, names)
        target = ou_step(x, days, prior, zi)
        out.append(builder.moved(d, dict(zip(names, target - x, strict=True))))
    return out


def branch_paths(draws: list, builder, names: tuple[str, ...], days: int, chunk: int,
                 prior: DriftPrior, rng: np.random.Generator) -> list[list]:
    """For each particle, its parameter constants over the branches' days in chunks of
    ``chunk`` days: element ``k`` holds from day ``k * chunk`` of the branches. Without
    drifting names each path is the particle's constants, once. The first chunk keeps the
    filter's last values; each next chunk is one reverting step on."""
    if not names:
        return [[d.params] for d in draws]
    paths = [[d.params] for d in draws]
    current = list(draws)
    for _ in range(1, math.ceil(days / chunk)):
        current = step_draws(current, builder, names, chunk, prior, rng)
        for path, d in zip(paths, current, strict=True):
            path.append(d.params)
    return paths


def deviation_summary(draws: list, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Per drifting name: the median, 5% and 95% of ``value / draw`` over the ensemble."""
    out = {}
    for j, n in enumerate(names):
        r = np.exp([log_deviation(d, names)[j] for d in draws])
        med, lo, hi = interval(r)
        out[n] = {"median_ratio": med, "p05": lo, "p95": hi}
    return out
