"""Mesa agents: leaders, cliques and the police force, as thin views on model arrays.

The model keeps all state in arrays (see :mod:`trucesim.core.state`) and updates them
in compiled kernels; these agents let Mesa users inspect and select the population as usual
(``model.agents_by_type[Clique].select(lambda c: c.gang == "MS13")``). Reading an
attribute reads the array; nothing is copied.
"""

from __future__ import annotations

import mesa
import numpy as np

from trucesim.scenario.params import STANCE_NAMES, Stance


class Leader(mesa.Agent):
    """The imprisoned leadership of one gang."""

    def __init__(self, model: mesa.Model, index: int, gang: str):
        super().__init__(model)
        self.index = index
        self.gang = gang

    @property
    def stance(self) -> Stance:
        """Today's stance: none, restraint or pressure."""
        return Stance(STANCE_NAMES[self.model.gangs.stance[self.index]])

    @property
    def authority(self) -> float:
        """Legitimacy with the cliques: chance an order that arrives is obeyed."""
        return float(self.model.gangs.authority[self.index])

    @property
    def cohesion(self) -> float:
        """How hierarchical the gang is."""
        return float(self.model.gangs.cohesion[self.index])

    @property
    def isolation(self) -> float:
        """Isolation from the street; the order channel is 1 - isolation."""
        return float(self.model.gangs.isolation[self.index])

    @property
    def exists(self) -> bool:
        """Whether the gang exists today (a faction exists from its split on)."""
        return bool(self.model.gangs.exists[self.index])

    @property
    def control(self) -> float:
        """Share of the gang's cliques following today's order."""
        return float(self.model.gangs.control[self.index])


class Clique(mesa.Agent):
    """A street clique (clica) holding one territory."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def territory(self) -> int:
        """Index of the territory the clique holds (same as its clique index)."""
        return self.index

    @property
    def gang(self) -> str:
        """Name of the clique's gang."""
        return self.model.gang_names[self.model.cliques.gang[self.index]]

    @property
    def members(self) -> int:
        """Members on the street."""
        return int(self.model.cliques.members[self.index])

    @property
    def arms(self) -> float:
        """Arms stock, in stationary stocks of a clique of the initial mean size (moves
        only under ``mechanisms.truce_capacity``)."""
        return float(self.model.cliques.arms[self.index])

    @property
    def prisoners(self) -> int:
        """Members in prison."""
        return int(self.model.cliques.prisoners[self.index])

    @property
    def autonomy(self) -> float:
        """Independence from the imprisoned leadership, in [0, 1]."""
        return float(self.model.cliques.autonomy[self.index])

    @property
    def restraint(self) -> float:
        """How far the clique currently follows a restraint order, in [0, 1]."""
        return float(self.model.cliques.restraint[self.index])

    @property
    def pressure(self) -> float:
        """How far the clique follows an order to attack police, in [0, 1]."""
        return float(self.model.cliques.pressure[self.index])

    @property
    def police_grievance(self) -> float:
        """Grievance against police from members they killed (decays)."""
        return float(self.model.cliques.police_grievance[self.index])

    @property
    def heat(self) -> float:
        """Police heat on the clique's territory today."""
        return float(self.model.cliques.heat[self.index])

    @property
    def excitation(self) -> dict[int, float]:
        """Retaliation excitation against each rival clique it borders."""
        f = self.model.fronts
        count = f.count[0]
        mine = np.flatnonzero(f.src[:count] == self.index)
        return dict(zip(f.dst[mine].tolist(), f.excitation[mine].tolist(), strict=True))


class PoliceForce(mesa.Agent):
    """The national police force, acting under the regime in force."""

    @property
    def regime(self) -> str:
        """Name of the regime (phase) in force today."""
        return self.model.phase_name

    @property
    def heat(self) -> np.ndarray:
        """Today's heat per territory (a read-only view)."""
        view = self.model.cliques.heat.view()
        view.flags.writeable = False
        return view
