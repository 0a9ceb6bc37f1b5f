"""The model behind the dashboard: a TruceModel built from the dashboard's controls.

Mesa's ``SolaraViz`` re-creates the model from its keyword arguments on *Reset*, so every
control is a keyword argument here: the scenario and variant, the leaders' isolation,
a cohesion scale and the seed. The burn-in is simulated on construction, so the first
step the user sees is the scenario's start date.

A regime override "from today on" acts on the running model instead
(:meth:`DashboardModel.switch_regime`): the phases from the current day on are replaced
by one phase under the chosen preset, the days already simulated keep their regimes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from trucesim.core.model import TruceModel
from trucesim.numerics.constants import STANCE_NAMES
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.regimes import PRESETS
from trucesim.scenario.schema import Scenario, load_scenario
from trucesim.seeds import parse_seed

#: Select value meaning "the scenario's own timeline" (no variant / no override).
BASE_TIMELINE = "(base timeline)"


@dataclass(frozen=True, slots=True)
class Controls:
    """The dashboard's model parameters, validated.

    Attributes:
        scenario: scenario file or bundled name.
        variant: variant name, or None for the base timeline.
        isolation: leaders' isolation imposed in every phase, or None to keep the regimes'.
        cohesion_scale: factor applied to every gang's cohesion (clipped to [0, 1]).
        seed: the run's seed, or None for the scenario's.
    """

    scenario: str
    variant: str | None = None
    isolation: float | None = None
    cohesion_scale: float = 1.0
    seed: int | None = None


def seed_control(text: object) -> tuple[int | None, str | None]:
    """A seed from the text box (:func:`trucesim.seeds.parse_seed`) and, for a bad one,
    why not: ``(None, None)`` when empty (the scenario's seed), ``(None, reason)``."""
    if text is None or not str(text).strip():
        return None, None
    try:
        return parse_seed(text), None
    except ValueError as exc:
        return None, str(exc)


def configure(scenario: Scenario, controls: Controls) -> Scenario:
    """The scenario with the controls applied (variant first, then isolation and cohesion).

    Raises:
        ConfigError: if the variant is unknown or a value is out of range.
    """
    cfg = scenario.variant(controls.variant)
    overrides: dict[str, object] = {}
    if controls.isolation is not None:
        for i in range(len(cfg.phases)):
            overrides[f"phases.{i}.overrides.isolation"] = float(controls.isolation)
    if controls.cohesion_scale != 1.0:
        for name, gang in cfg.gangs.items():
            scaled = min(1.0, max(0.0, gang.cohesion * controls.cohesion_scale))
            overrides[f"gangs.{name}.cohesion"] = scaled
    if controls.seed is not None:
        overrides["seed"] = controls.seed
    return cfg.with_overrides(overrides, source=f"{scenario.source} (dashboard controls)")


class DashboardModel(TruceModel):
    """A :class:`TruceModel` made from the dashboard's controls, burn-in already run.

    All arguments are keywords (Mesa's SolaraViz passes its model parameters so).

    Args:
        scenario_name: scenario file or bundled name.
        variant: variant name, or :data:`BASE_TIMELINE`.
        isolation_override: impose ``isolation`` in every phase.
        isolation: leaders' isolation, 0-1 (used when ``isolation_override``).
        cohesion_scale: factor on every gang's cohesion.
        seed: seed as text or int; empty or invalid means the scenario's seed.
        regime_override: preset to impose from the start, or :data:`BASE_TIMELINE`.

    Attributes:
        notices: messages for the user (e.g. a variant the scenario does not have).
        overrides: ``(date, regime)`` of each regime switch made on this run.
    """

    def __init__(
        self,
        *,
        scenario_name: str = "el-salvador-2016-letter",
        variant: str = BASE_TIMELINE,
        isolation_override: bool = False,
        isolation: float = 0.8,
        cohesion_scale: float = 1.0,
        seed: int | str | None = None,
        regime_override: str = BASE_TIMELINE,
    ):
        base = load_scenario(scenario_name)
        notices: list[str] = []
        chosen = None if variant in (None, "", BASE_TIMELINE) else variant
        if chosen is not None and chosen not in base.variants:
            notices.append(
                f"{base.name} has no variant {chosen!r}; showing the base timeline"
                + (f" (variants: {', '.join(base.variants)})" if base.variants else "")
            )
            chosen = None
        parsed_seed, why = seed_control(seed)
        if why is not None:
            notices.append(f"seed {str(seed)[:40]!r} is not a seed ({why}); using {base.seed}")
        self.controls = Controls(
            scenario=scenario_name,
            variant=chosen,
            isolation=float(isolation) if isolation_override else None,
            cohesion_scale=float(cohesion_scale),
            seed=parsed_seed,
        )
        cfg = configure(base, self.controls)
        super().__init__(cfg, rng=cfg.seed)
        self.notices = list(notices)
        self.overrides: list[tuple[dt.date, str]] = []
        if regime_override not in (None, "", BASE_TIMELINE):
            self.switch_regime(regime_override)

    def switch_regime(self, regime: str) -> None:
        """Replace the timeline from today on by one phase under preset ``regime``.

        Days already simulated keep their regimes; dated events still apply. Does
        nothing once the scenario's end has been simulated.

        Raises:
            ConfigError: if ``regime`` is not a preset.
        """
        if regime not in PRESETS:
            raise ConfigError(
                "dashboard", "regime", f"unknown regime {regime!r}; valid: {', '.join(PRESETS)}"
            )
        if self.finished:
            return
        today = self.date
        data = self.config.to_data()
        kept = [p for p in data["phases"] if p["start"] < today]
        kept.append({"start": today, "regime": regime, "label": f"{regime} (from {today})"})
        data["phases"] = kept
        self.replace_timeline(Scenario.parse(data, self.config.source))
        self.overrides.append((today, regime))

    @property
    def stances(self) -> dict[str, str]:
        """Each gang leadership's current stance."""
        gangs = self.gangs
        return {g: str(STANCE_NAMES[s]) if alive else "not formed yet"
                for g, s, alive in zip(self.gang_names, gangs.stance, gangs.exists, strict=True)}


def last_simulated(model: TruceModel) -> dt.date | None:
    """Date of the last simulated (recorded) day, or None before the start."""
    if model.day <= 0:
        return None
    return model.config.start + dt.timedelta(days=min(model.day, model.timeline.days) - 1)


def day_label(model: TruceModel) -> str:
    """``2016-07-15 (day 561 of 1096)``, or ``start 2015-01-01 (no day simulated yet)``."""
    last = last_simulated(model)
    if last is None:
        return f"start {model.config.start:%Y-%m-%d} (no day simulated yet)"
    return f"{last:%Y-%m-%d} (day {min(model.day, model.timeline.days)} of {model.timeline.days})"
