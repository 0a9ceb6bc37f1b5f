"""The packed constants that the compiled day reads, one name per slot.

The compiled day takes the model's constants and the regime's as two float arrays
(one argument each instead of dozens); these tuples name the slots, and the module
constants below are their indices (numba freezes them at compile time). The values
are computed in Python by :class:`trucesim.compiled.day.CompiledDay` with the same
expressions as the numpy mechanisms, so both engines round them identically.
"""

from __future__ import annotations

#: Per-model constants (fixed for a run).
MODEL = (
    "size_scale",                # 1 / world.members
    "size_power",                # violence.size_power
    "restraint_efficacy",        # violence.restraint_efficacy (rho)
    "mu", "eta",                 # violence.mu, violence.eta
    "excitation_decay",          # exp(-violence.omega)
    "civilian_rate", "background_rate", "concealment",
    "recent_decay",              # exp(-1 / policing.hotspot_memory)
    "contact_rate", "defection_rate", "defection_per_excitation",
    "pressure_decay",            # exp(-command.pressure_decay)
    "grievance_decay",           # exp(-policing.grievance_decay)
    "grievance_weight", "pressure_confrontations", "attack_rate", "attack_lethality",
    "release_darts",             # -log1p(-release_rate), or 0 when every prisoner leaves
    "release_all",               # 1.0 if release_rate >= 1
    "autonomy_per_loss", "autonomy_relax", "capacity",
    "leaders_on", "police_on", "demography_on", "other_killings_on",
)
#: Per-regime constants (one array per phase).
REGIME = (
    "allocation",                # 0 uniform, 1 hotspot, 2 focused
    "police_force", "pullback", "arrest_rate", "confrontation_rate",
    "lethality", "police_lethality", "deterrence",
    "uniform_arrest_darts",      # -log1p(-min(arrest_rate * police_force, 1))
    "uniform_certain",           # 1.0 if that arrest probability is 1
    "uniform_attacker",          # exp(-deterrence * police_force)
    "focus_count",               # k, cliques in the focused top share
    "focus_base", "focus_extra",  # heat off and added on the top k
    "hotspot_force",             # police_force * cliques
    "recruit_coefficient",       # recruitment_rate * recruitment_factor / capacity
)

(SIZE_SCALE, SIZE_POWER, RESTRAINT_EFFICACY, MU, ETA, EXCITATION_DECAY, CIVILIAN_RATE,
 BACKGROUND_RATE, CONCEALMENT, RECENT_DECAY, CONTACT_RATE, DEFECTION_RATE,
 DEFECTION_PER_EXCITATION, PRESSURE_DECAY, GRIEVANCE_DECAY, GRIEVANCE_WEIGHT,
 PRESSURE_CONFRONTATIONS, ATTACK_RATE, ATTACK_LETHALITY, RELEASE_DARTS, RELEASE_ALL,
 AUTONOMY_PER_LOSS, AUTONOMY_RELAX, CAPACITY, LEADERS_ON, POLICE_ON, DEMOGRAPHY_ON,
 OTHER_KILLINGS_ON) = range(len(MODEL))

(ALLOCATION, POLICE_FORCE, PULLBACK, ARREST_RATE, CONFRONTATION_RATE, LETHALITY,
 POLICE_LETHALITY, DETERRENCE, UNIFORM_ARREST_DARTS, UNIFORM_CERTAIN, UNIFORM_ATTACKER,
 FOCUS_COUNT, FOCUS_BASE, FOCUS_EXTRA, HOTSPOT_FORCE, RECRUIT_COEFFICIENT) = range(len(REGIME))

UNIFORM, HOTSPOT, FOCUSED = 0, 1, 2

#: Slots of the day's tallies (an int64 array the compiled day fills).
TALLIES = ("gang_on_gang", "civilians", "police_killed", "killed_by_police_total",
           "background", "disappearances", "arrests_total", "releases", "recruits")
(GANG_ON_GANG, CIVILIANS, POLICE_KILLED, KILLED_BY_POLICE_TOTAL, BACKGROUND,
 DISAPPEARANCES, ARRESTS_TOTAL, RELEASES, RECRUITS) = range(len(TALLIES))
