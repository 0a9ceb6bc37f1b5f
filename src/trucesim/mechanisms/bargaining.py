"""Violence as bargaining capital (docs/model.md, mechanism 2; part of step 2 of a day).

Lessing 2015 (J. Conflict Resolution 59(8)) and Jones and Lloyd 2024 (J. Empirical
Legal Studies 22(1), "Killing as Capital"): when the state withdraws what a truce gave,
or refuses talks the gangs seek, leaders may order escalation to force it back to the
table. With ``mechanisms.bargaining_violence``, each gang's grievance against the state
evolves as

    G_g(t) = exp(-grievance_decay) * G_g(t-1)
             + withdrawal_grievance * max(0, paid_g(t-1) - offered(t))
             + refusal_grievance * refusals_g(t)

where ``paid_g(t-1)`` is what its leaders were paid yesterday, ``offered(t)`` the benefits
the regime offers today and ``refusals_g(t)`` today's ``refusal`` events naming the gang.
While ``G_g > escalation_threshold`` the leaders order escalation: the pressure stance
(:func:`trucesim.mechanisms.command.decide`; with ``mechanisms.command_tiers`` the street
tier orders it itself, :func:`trucesim.mechanisms.command.street_decide`, so isolating the
imprisoned leaders does not stop it), under which cliques confront and attack police more
(step 4, as any pressure order) and kill more civilians (step 6,
:func:`trucesim.mechanisms.violence.civilians`). The leaders' authority erodes by
``exp(-authority_erosion * G_g)`` a day: leaders who delivered a truce that then brought
nothing lose standing with their cliques.
"""

from __future__ import annotations

import math

import numpy as np

from trucesim.mechanisms.declare import Mechanism, Metric
from trucesim.numerics.jit import kernel
from trucesim.scenario.params import BargainingParams

DECLARATION = Mechanism(
    "bargaining", "violence as bargaining capital: grievance against the state "
    "(mechanisms.bargaining_violence)", steps=(2,), params=BargainingParams,
    gang_metrics=(
        Metric("grievance", np.float64,
               "the leaders' grievance against the state (0 unless "
               "mechanisms.bargaining_violence)", "leaders' grievance", "0 to 1"),
    ),
    state=("gangs.grievance", "gangs.refusals", "gangs.benefits_paid", "gangs.escalating"),
)


@kernel
def weigh(gangs, regime, paid, p):
    """Update each gang's grievance with today's withdrawal and refusals, decide whether
    its leaders escalate, erode their authority, and remember today's payment."""
    keep = math.exp(-p.grievance_decay)
    for g in range(len(gangs.grievance)):
        if not gangs.exists[g]:
            gangs.refusals[g] = 0
            continue
        withdrawn = max(0.0, gangs.benefits_paid[g] - regime.benefits)
        grievance = (keep * gangs.grievance[g] + p.withdrawal_grievance * withdrawn
                     + p.refusal_grievance * gangs.refusals[g])
        gangs.grievance[g] = grievance
        gangs.refusals[g] = 0
        gangs.benefits_paid[g] = paid
        gangs.escalating[g] = grievance > p.escalation_threshold
        gangs.authority[g] *= math.exp(-p.authority_erosion * grievance)
