"""Policy regime presets.

A regime is a named bundle of police and prison parameters
(:class:`trucesim.scenario.params.Regime`).
The presets below are starting points; any field can be overridden per phase in a scenario
file. All preset values are assumptions unless the parameter table says otherwise; they
are chosen to express the contrasts the record shows, not fitted one by one.
"""

from __future__ import annotations

from trucesim.scenario.params import Allocation, Regime

#: What each preset stands for (shown by ``trucesim regimes`` and in the README).
PRESET_DESCRIPTIONS: dict[str, str] = {
    "baseline": "Pre-2012 status quo: moderate patrol and arrests, leaders partly isolated.",
    "hardline": "Mano dura: more patrol and arrests, hotspot allocation, higher lethality, "
    "leaders isolated in maximum security.",
    "extraordinary": "The April 2016 extraordinary measures: leaders fully isolated, visits "
    "suspended, maximum patrol and lethality.",
    "truce": "The 2012 truce: leaders moved out of maximum security (low isolation), "
    "benefits flow, police pull back from complying territories.",
    "dialogue": "The mechanism the 2016 letter asks for: benefits paid only while verified "
    "recorded violence stays under a target.",
    "focused_deterrence": "Ceasefire-style policing: force focused on the most violent "
    "cliques, high deterrence, exit services that lower recruitment.",
}

PRESETS: dict[str, Regime] = {
    "baseline": Regime(
        isolation=0.6, benefits=0.0, repression=0.3, police_force=1.0,
        allocation=Allocation.UNIFORM, arrest_rate=0.0003, confrontation_rate=0.0004,
        lethality=0.3, police_lethality=0.03, deterrence=0.2,
    ),
    "hardline": Regime(
        isolation=0.8, benefits=0.0, repression=0.7, police_force=1.4,
        allocation=Allocation.HOTSPOT, arrest_rate=0.0004, confrontation_rate=0.0007,
        lethality=0.45, police_lethality=0.04, deterrence=0.2,
    ),
    "extraordinary": Regime(
        isolation=1.0, benefits=0.0, repression=1.0, police_force=1.8,
        allocation=Allocation.HOTSPOT, arrest_rate=0.0006, confrontation_rate=0.0009,
        lethality=0.55, police_lethality=0.04, deterrence=0.25,
    ),
    "truce": Regime(
        isolation=0.1, benefits=0.8, repression=0.1, police_force=0.8,
        allocation=Allocation.UNIFORM, pullback=0.5, arrest_rate=0.0002,
        confrontation_rate=0.0003, lethality=0.25, police_lethality=0.03, deterrence=0.2,
    ),
    "dialogue": Regime(
        isolation=0.3, benefits=0.8, repression=0.2, conditional=True, violence_target=8.0,
        verification_days=30, police_force=1.0, allocation=Allocation.UNIFORM, pullback=0.3,
        arrest_rate=0.0003, confrontation_rate=0.0004, lethality=0.3, police_lethality=0.03,
        deterrence=0.2,
    ),
    "focused_deterrence": Regime(
        isolation=0.6, benefits=0.0, repression=0.3, police_force=1.0,
        allocation=Allocation.FOCUSED, focus_share=0.1, arrest_rate=0.0004,
        confrontation_rate=0.0004, lethality=0.25, police_lethality=0.03, deterrence=0.8,
        recruitment_factor=0.7,
    ),
}


def preset(name: str) -> Regime:
    """Return the preset regime called ``name`` (KeyError lists the valid names)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown regime {name!r}; valid: {', '.join(PRESETS)}") from None


def preset_table() -> str:
    """Every preset's value of every regime field, one row per field (``trucesim regimes``)."""
    from enum import Enum

    names = list(PRESETS)
    rows = [["field", *names]]
    for field in Regime.model_fields:
        cells = [field]
        for name in names:
            value = getattr(PRESETS[name], field)
            if isinstance(value, Enum):
                value = value.value
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            elif isinstance(value, float):
                value = f"{value:g}"
            cells.append(str(value))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)
