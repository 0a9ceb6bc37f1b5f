"""Model state: named containers of arrays, owned by the model.

Every per-clique, per-edge, per-front and per-gang array lives in one container below,
declared once with its type (the annotation) and meaning (the comment); :func:`allocate`
builds a container from those declarations. The kernels of the mechanisms read and
update the arrays in place; Mesa agents are views onto them (:mod:`trucesim.core.agents`).
"""

from __future__ import annotations

import functools
from typing import Annotated, NamedTuple, get_type_hints

import numpy as np

Float = Annotated[np.ndarray, np.float64]
Int = Annotated[np.ndarray, np.int64]
Bool = Annotated[np.ndarray, np.bool_]


class Cliques(NamedTuple):
    """Per clique (one per territory), length n."""

    gang: Int  # index of the clique's gang (changes with splits and takeovers)
    x: Float  # west-east position of the territory's centre (splits choose by it)
    members: Int  # members on the street
    prisoners: Int  # members in prison
    autonomy: Float  # independence from the leadership, in [0, 1]
    baseline_autonomy: Float  # the gang's baseline autonomy, to which autonomy relaxes
    restraint: Float  # how far the clique follows a restraint order, in [0, 1]
    pressure: Float  # how far it follows an order to attack police, in [0, 1]
    police_grievance: Float  # grievance against police (members they killed; decays)
    heat: Float  # police heat on the territory today
    size: Float  # size factor s_a = (members / initial mean) ** size_power, this morning
    arms: Float  # arms stock, in stationary stocks of a clique of world.members (mechanism 3)
    own_excitation: Float  # its drive to retaliate: the sum of its excitation on its fronts
    recent_violence: Float  # exponentially weighted killings by and against the clique
    attack_excitation: Float  # its drive to attack police: members police killed, decaying
    force_excitation: Float  # police's drive to use lethal force on it: its attacks, decaying
    arrests: Int  # today: members arrested
    killed_by_police: Int  # today: members killed by police
    victims: Int  # today: members killed by rivals
    killings_by: Int  # today: killings committed (rivals and civilians)
    front_killings_by: Int  # today: killings of rival members on its fronts
    deterred: Float  # today: police deterrence on its killings, exp(-deterrence * heat)
    attacks_on_police: Int  # today: attacks on police (retaliation mechanism)
    share_lost: Float  # today: share of members lost (raises autonomy)
    # Command as state (mechanisms.command_state).
    disposition: Float  # fixed draw on [0, 1): it complies while below its gang's threshold
    order: Int  # stance code of the last order it heard (none when every channel is cut)


class Edges(NamedTuple):
    """Per directed adjacency edge a -> b (both directions of every edge, sorted by a),
    length 2E. The edges are fixed; which of them are fronts follows the gangs. While the
    fronts are rebuilt their state passes through here; an edge that is not a front
    keeps its day of last killing and no excitation."""

    src: Int  # attacking territory a
    dst: Int  # attacked territory b
    rev: Int  # index of the reverse edge b -> a
    excitation: Float  # e_ab: a's drive to retaliate against b
    last_killing: Int  # day of the last killing on a -> b


class Fronts(NamedTuple):
    """The fronts: directed edges between territories of hostile gangs, sorted by
    attacker, in contiguous arrays for the day's hottest loop. Rebuilt when the world
    changes (:func:`trucesim.core.world.refresh_fronts`); the first ``count[0]`` entries
    are the fronts (capacity 2E). Hostility is symmetric, so a front's reverse is a front."""

    count: Int  # (1,) number of fronts
    edge: Int  # index into Edges of each front
    src: Int  # attacking clique a
    dst: Int  # attacked clique b
    rev: Int  # position of the reverse front b -> a
    excitation: Float  # e_ab
    last_killing: Int  # day of the last killing on a -> b
    rate: Float  # today's killing rate
    killings: Int  # today's killings


class Gangs(NamedTuple):
    """Per gang, length G: every gang that exists at some time in the run (factions
    created by splits included, not existing before their split)."""

    exists: Bool  # the gang exists today
    hostile: Bool  # (G, G): True where two gangs fight
    cohesion: Float  # how hierarchical the gang is
    authority: Float  # the leaders' legitimacy with the cliques
    isolation: Float  # isolation of the imprisoned leaders from the street
    baseline_autonomy: Float  # baseline autonomy of the gang's cliques
    stance: Int  # today's stance code (constants.STANCE_NAMES)
    forced_stance: Int  # stance forced by a communique
    forced_until: Int  # day until which the forced stance holds (exclusive)
    control: Float  # share of the gang's cliques following today's order
    clique_count: Int  # cliques held
    # Two tiers of command (mechanisms.command_tiers): the street tier of leaders at liberty.
    street_tier: Bool  # the street tier exists (from its street_tier event on)
    street_reach: Float  # strength of its channel to the cliques, in [0, 1] (arrests cut it)
    street_heard: Int  # the imprisoned leadership's stance as the street tier last heard it
    street_stance: Int  # the stance the street tier relays to the cliques today
    street_forced_stance: Int  # stance forced on the street tier by its own communique
    street_forced_until: Int  # day until which that stance holds (exclusive)
    public_stance: Int  # stance of the latest public communique (either tier's)
    public_until: Int  # day until which it is broadcast to the cliques directly (exclusive)
    # Violence as bargaining capital (mechanisms.bargaining_violence).
    grievance: Float  # grievance against the state (withdrawals, refusals; decays)
    refusals: Int  # refusals of talks today, not yet weighed
    benefits_paid: Float  # benefits paid to the gang's leaders on the last day
    escalating: Bool  # the leaders order escalation today (grievance above threshold)
    # Stance as strategy (mechanisms.strategic_stance).
    lobbying: Int  # days of violent lobbying met with isolation since the last restraint


class Clock(NamedTuple):
    """Where the run is."""

    phase: Int  # (1,) phase in force (-1 before the first day)
    next_event: Int  # (1,) index of the next event to apply


class Nation(NamedTuple):
    """Nationwide processes, length 1."""

    other_excitation: Float  # (1,) excitation of the other armed actors' killings


class Scratch(NamedTuple):
    """Work arrays of the samplers (contents meaningless between kernels)."""

    factor: Float  # (n,) a per-clique factor (violence.front_killings: on its killings)
    cum: Float  # (max(n, 2E),) running sums of rates (sampling.events_of)
    cum2: Float  # (n,) running sums of a second per-clique rate, filled in the same pass
    uniform: Float  # (2 max(n, 2E),) a draw's uniforms, drawn and sorted (sampling.events_of)
    events: Int  # (max(n, 2E),) a draw's events: valid until the next draw


class State(NamedTuple):
    """The whole model state."""

    cliques: Cliques
    edges: Edges
    fronts: Fronts
    gangs: Gangs
    clock: Clock
    scratch: Scratch
    nation: Nation


def allocate[C: NamedTuple](container: type[C], size: int | tuple, **given: np.ndarray) -> C:
    """A ``container`` whose arrays are ``given`` or zeros of ``size`` and their type."""
    arrays = {}
    for name, dtype in _field_dtypes(container):
        if name in given:
            arrays[name] = np.ascontiguousarray(given[name], dtype=dtype)
        else:
            arrays[name] = np.zeros(size, dtype=dtype)
    return container(**arrays)


@functools.cache
def _field_dtypes(container: type[NamedTuple]) -> tuple[tuple[str, type], ...]:
    """Each field of ``container`` and the type its annotation declares, in field order
    (read once per container: evaluating the annotations costs more than allocating)."""
    hints = get_type_hints(container, include_extras=True)
    return tuple((name, hints[name].__metadata__[0]) for name in container._fields)


def copy_state(state: State) -> State:
    """An independent copy of ``state``: every array copied, the containers rebuilt.

    What a particle filter resamples with (:class:`trucesim.core.particle.Particle`):
    about 0.5 MB of arrays at 600 cliques, copied in tens of microseconds."""
    return type(state)(*(type(box)(*(a.copy() for a in box)) for box in state))
