"""The scenario as the model takes it: schema, validation, variants and dotted-path
overrides. Reads no files: :mod:`trucesim.scenario.load` reads scenario files (and the
calibration and posterior files they name) into a :class:`Scenario`.

A scenario is validated with pydantic (unknown keys are errors). Every problem is
reported as a :class:`~trucesim.scenario.errors.ConfigError` carrying
``file: key.path: reason``; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError, create_model, model_validator

from trucesim import budget
from trucesim.scenario.errors import ConfigError, ConfigErrors
from trucesim.scenario.names import NAME_RULE, check_name
from trucesim.scenario.params import BLOCKS, Frozen, GangParams, Mechanisms, Regime, Stance
from trucesim.scenario.regimes import PRESETS

#: Name of the base timeline (the scenario as written) among the variants that run.
BASE = "base"
GANG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

#: Every Regime field, optional: what a phase may override.
RegimeOverrides = create_model(
    "RegimeOverrides",
    __base__=Frozen,
    **{
        name: (field.annotation | None, Field(None, **_constraints))
        for name, field in Regime.model_fields.items()
        for _constraints in [
            {
                k: getattr(m, k)
                for m in field.metadata
                for k in ("ge", "gt", "le", "lt")
                if getattr(m, k, None) is not None
            }
        ]
    },
)


class Phase(Frozen):
    """A span of the timeline under one regime, from ``start`` to the next phase."""

    start: dt.date
    regime: str
    label: str | None = None
    overrides: RegimeOverrides = Field(default_factory=RegimeOverrides)  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _known_regime(self) -> Phase:
        if self.regime not in PRESETS:
            raise ValueError(f"unknown regime {self.regime!r}; valid: {', '.join(PRESETS)}")
        return self

    @property
    def name(self) -> str:
        """The phase's label, or its regime's name."""
        return self.label or self.regime

    def resolved_regime(self) -> Regime:
        """The preset with this phase's overrides applied."""
        changes = {k: v for k, v in self.overrides.model_dump().items() if v is not None}
        return PRESETS[self.regime].model_copy(update=changes)


class Event(Frozen):
    """A dated event: leaders transferred, a communique forcing a stance, a gang splitting
    into two hostile factions, territory taken by a rival, a street tier of leaders at
    liberty created or its leaders arrested, the state refusing talks the gangs seek, or a
    marker (a plot label)."""

    date: dt.date
    kind: Literal["transfer", "communique", "split", "takeover", "street_tier",
                  "street_arrest", "refusal", "marker"]
    label: str = ""
    gangs: list[str] | None = Field(
        None, description="transfer, communique, street_tier, street_arrest, refusal: gangs "
        "concerned (every gang existing then when omitted)."
    )
    isolation: float | None = Field(
        None, ge=0.0, le=1.0,
        description="transfer: the leaders' isolation from this date until the next phase.",
    )
    stance: Stance | None = Field(None, description="communique: the stance forced.")
    days: int | None = Field(None, ge=1, le=3650, description="communique: for how many days.")
    tier: Literal["ranfla", "street"] | None = Field(
        None, description="communique: who issues it, the imprisoned leadership ('ranfla', "
        "when omitted) or the street tier of leaders at liberty ('street', which needs the "
        "gang's street_tier event before it). Without mechanisms.command_tiers every "
        "communique forces the leadership's stance.",
    )
    reach: float | None = Field(
        None, gt=0.0, le=1.0,
        description="street_tier: strength of the new tier's channel to the cliques.",
    )
    gang: str | None = Field(
        None, description="split: the gang that splits; takeover: the gang losing territory."
    )
    faction: str | None = Field(
        None, description="split: name of the new faction (a new gang, hostile to its parent)."
    )
    to: str | None = Field(None, description="takeover: the gang taking the territory.")
    share: float | None = Field(
        None, gt=0.0, le=1.0,
        description="split: share of the gang's cliques (the westmost) that leave; takeover: "
        "share of the loser's territories bordering the winner (the westmost) that pass; "
        "street_arrest: share of the street tier's reach the arrests cut.",
    )

    #: The fields each kind needs (the others must be absent).
    NEEDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "transfer": ("isolation",),
        "communique": ("stance", "days"),
        "split": ("gang", "faction", "share"),
        "takeover": ("gang", "to", "share"),
        "street_tier": ("reach",),
        "street_arrest": ("share",),
        "refusal": (),
        "marker": (),
    }

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Event:
        needs = self.NEEDS[self.kind]
        missing = [f for f in needs if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} event needs {', '.join(map(repr, missing))}")
        for f in {f for fields in self.NEEDS.values() for f in fields} - set(needs):
            if getattr(self, f) is not None:
                kinds = [k for k, fs in self.NEEDS.items() if f in fs]
                raise ValueError(f"{f!r} is only for {' and '.join(kinds)} events")
        if self.gangs is not None and self.kind in ("split", "takeover"):
            raise ValueError(f"a {self.kind} event names one 'gang', not 'gangs'")
        if self.tier is not None and self.kind != "communique":
            raise ValueError("'tier' is only for communique events")
        return self

    @property
    def from_street(self) -> bool:
        """A communique issued by the street tier."""
        return self.tier == "street"


class Variant(Frozen):
    """A named branch: phases replacing the timeline from their first start, extra events,
    and dotted-path overrides of any scenario value."""

    description: str = ""
    phases: list[Phase] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)


def _valid_name(name: str) -> bool:
    try:
        check_name(name)
    except ValueError:
        return False
    return True


def _default_gangs() -> dict[str, GangParams]:
    return {
        "MS13": GangParams(share=0.55, cohesion=0.8, authority=0.8, autonomy=0.2),
        "B18S": GangParams(share=0.25, cohesion=0.6, authority=0.7, autonomy=0.3),
        "B18R": GangParams(share=0.20, cohesion=0.6, authority=0.7, autonomy=0.3),
    }


#: The scenario's parameter blocks, one field per block of :data:`BLOCKS` (each its
#: model's defaults when the file omits it): the base of :class:`Scenario`.
ParameterBlocks = create_model(
    "ParameterBlocks",
    __base__=Frozen,
    __doc__="Every parameter block of a scenario (``[world]``, ``[violence]``, ...).",
    **{name: (model, Field(default_factory=model)) for name, model in BLOCKS.items()},
)


class Scenario(ParameterBlocks):  # type: ignore[valid-type,misc]
    """A complete scenario: dates, world, gangs, mechanisms' parameters and the timeline.
    The parameter blocks (``world``, ``violence``, ...) are fields of its base,
    :data:`ParameterBlocks`."""

    name: str = Field(description="Names the default results folder: " + NAME_RULE + ".")
    description: str = ""
    start: dt.date
    end: dt.date
    seed: int = Field(0, ge=0, le=2**63 - 1)
    gangs: dict[str, GangParams] = Field(default_factory=_default_gangs)
    peace: list[tuple[str, str]] = Field(
        default_factory=list, description="Pairs of gangs that do not fight each other."
    )
    mechanisms: Mechanisms = Field(default_factory=Mechanisms)
    phases: list[Phase] = Field(min_length=1)
    events: list[Event] = Field(default_factory=list)
    variants: dict[str, Variant] = Field(default_factory=dict)
    counterfactual: str | None = Field(
        None, description="Variant (or 'base', the timeline as written) that the others are "
        "compared against."
    )
    calibration: str | None = Field(
        None,
        description="Calibrated-parameters file (relative to the scenario file) applied at "
        "load; values set in the scenario file itself win.",
    )
    posterior: str | None = Field(
        None,
        description="Posterior sample file (relative to the scenario file): forecasts can "
        "draw one parameter vector per replicate from it (load_scenario(..., draw=k)).",
    )
    source: str = Field("<scenario>", exclude=True, description="Where it was loaded from.")
    file_keys: frozenset[str] = Field(
        frozenset(), exclude=True, repr=False,
        description="Every dotted path its file sets (``world``, ``world.cliques``, "
        "``phases.0.start``), recorded when the file is loaded (empty for a scenario built "
        "in code); kept by overrides and variants. See :meth:`sets`.")

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        problems = list(self._problems())
        if problems:
            raise ConfigErrors([ConfigError(self.source, k, r) for k, r in problems])
        return self

    def _problems(self):
        name, bracket, variant = self.name.partition("[")  # "<name>[<variant>]": .variant()
        if not (_valid_name(name) and (not bracket or (variant.endswith("]")
                                                        and _valid_name(variant[:-1])))):
            yield "name", f"{self.name!r} is not a valid name: {NAME_RULE}"
        for v in self.variants:
            if not _valid_name(v):
                yield f"variants.{v}", f"{v!r} is not a valid variant name: {NAME_RULE}"
        if self.end <= self.start:
            yield "end", f"end {self.end} is not after start {self.start}"
        elif (self.end - self.start).days > budget.MAX_DAYS:
            days = (self.end - self.start).days + 1
            memory, seconds = budget.cost(1, days, self.world.cliques, self.world.burn_in_days)
            yield "end", (f"{self.end} is {days:,} days after start; the limit is "
                          f"{budget.MAX_DAYS:,} days (100 years): one run would need about "
                          f"{budget.human_bytes(memory)} of memory and "
                          f"{budget.human_seconds(seconds)} of computing")
        if self.mechanisms.leaderless_retaliation:
            n = self.violence.leaderless_branching_ratio
            if n >= 1.0:
                yield "violence.leaderless_gain", (
                    f"effective branching ratio eta * (1 + leaderless_gain) / (1 - exp(-omega))"
                    f" = {n:.3f} >= 1 at autonomy 1 under mechanisms.leaderless_retaliation: "
                    "the retaliation of autonomous cliques is explosive (no stationary "
                    "level); lower leaderless_gain or eta, or raise omega")
        if not self.gangs:
            yield "gangs", "at least one gang is needed"
        for g in self.gangs:
            if not GANG_NAME.match(g):
                yield f"gangs.{g}", "gang names are letters, digits and _ (starting with a letter)"
        total = sum(g.share for g in self.gangs.values())
        if self.gangs and abs(total - 1.0) > 1e-6:
            yield "gangs", f"shares sum to {total:.4g}, not 1"
        for i, pair in enumerate(self.peace):
            for g in pair:
                if g not in self.gangs:
                    yield f"peace.{i}", f"unknown gang {g!r}; valid: {', '.join(self.gangs)}"
        yield from self._timeline_problems(self.phases, self.events, "")
        for name, v in self.variants.items():
            yield from self._timeline_problems(v.phases, v.events, f"variants.{name}.", False)
        if BASE in self.variants:
            yield f"variants.{BASE}", (f"{BASE!r} is the name of the base timeline (it always "
                                       "runs); give this variant another name")
        if self.counterfactual is not None and self.counterfactual not in self.branch_names:
            valid = ", ".join(self.branch_names)
            yield "counterfactual", f"unknown variant {self.counterfactual!r}; valid: {valid}"

    def _timeline_problems(self, phases, events, prefix, first_at_start=True):
        if first_at_start and phases and phases[0].start != self.start:
            yield f"{prefix}phases.0.start", (
                f"the first phase must start on the scenario start {self.start}"
            )
        for i, p in enumerate(phases):
            if not self.start <= p.start <= self.end:
                yield f"{prefix}phases.{i}.start", (
                    f"{p.start} is outside the scenario ({self.start} to {self.end})"
                )
            if i and p.start <= phases[i - 1].start:
                yield f"{prefix}phases.{i}.start", "phases must be in strictly increasing order"
        for i, e in enumerate(events):
            if not self.start <= e.date <= self.end:
                yield f"{prefix}events.{i}.date", (
                    f"{e.date} is outside the scenario ({self.start} to {self.end})"
                )
        yield from self._world_problems(events, prefix)

    def _world_problems(self, events, prefix):
        """Events name gangs that exist on their date (a faction from its split on, on a
        day after the split's or later in the file); factions have new names."""
        if prefix:  # a variant's events join the base timeline's
            indexed = [(e, f"{prefix}events.{i}") for i, e in enumerate(events)]
            indexed += [(e, None) for e in self.events]
        else:
            indexed = [(e, f"events.{i}") for i, e in enumerate(events)]
        alive = list(self.gangs)
        tiers: set[str] = set()  # gangs with a street tier
        for e, key in sorted(indexed, key=lambda pair: pair[0].date):
            named = [("gangs", g) for g in e.gangs or ()]
            named += [(k, getattr(e, k)) for k in ("gang", "to") if getattr(e, k) is not None]
            for field, g in named:
                if g not in alive and key is not None:
                    yield f"{key}.{field}", (
                        f"unknown gang {g!r} on {e.date}; existing then: {', '.join(alive)}")
            concerned = [g for g in (e.gangs if e.gangs is not None else alive) if g in alive]
            if e.kind == "street_tier":
                tiers.update(concerned)
            elif e.kind == "street_arrest" or (e.kind == "communique" and e.from_street):
                lacking = [g for g in concerned if g not in tiers]
                if lacking and key is not None:
                    what = "street-tier communique" if e.kind == "communique" else e.kind
                    yield f"{key}.gangs" if e.gangs is not None else key, (
                        f"a {what} needs the street tier of {', '.join(lacking)}: no "
                        f"street_tier event for it on or before {e.date}")
            if key is not None and e.kind == "takeover" and e.gang == e.to:
                yield f"{key}.to", "a gang cannot take territory from itself"
            if e.kind != "split":
                continue
            if key is not None and not GANG_NAME.match(e.faction):
                yield f"{key}.faction", (
                    "gang names are letters, digits and _ (starting with a letter)")
            elif key is not None and e.faction in alive:
                yield f"{key}.faction", (
                    f"{e.faction!r} already exists; a faction needs a new name")
            alive.append(e.faction)

    # ------------------------------------------------------------------ derived
    def sets(self, path: str) -> bool:
        """Whether the file this scenario was loaded from sets dotted ``path`` itself (as
        it read when loaded: the file is not read again)."""
        return path in self.file_keys

    @property
    def gang_names(self) -> list[str]:
        """Every gang of the run in column order: the gangs in file order, then the
        factions that splits create, in date order."""
        splits = sorted((e for e in self.events if e.kind == "split"), key=lambda e: e.date)
        return list(self.gangs) + [e.faction for e in splits]

    @property
    def factions(self) -> dict[str, str]:
        """Each faction created by a split, with its parent gang."""
        return {e.faction: e.gang for e in self.events if e.kind == "split"}

    @property
    def days(self) -> int:
        """Number of simulated (recorded) days, start and end included."""
        return (self.end - self.start).days + 1

    @property
    def dates(self):
        """The recorded calendar days as a numpy datetime64[D] array."""
        import numpy as np

        return np.arange(
            np.datetime64(self.start, "D"),
            np.datetime64(self.end, "D") + np.timedelta64(1, "D"),
            dtype="datetime64[D]",
        )

    # ------------------------------------------------------------------ building
    @classmethod
    def parse(cls, data: dict[str, Any], source: str = "<scenario>",
              file_keys: frozenset[str] = frozenset()) -> Scenario:
        """Validate a scenario from a mapping; errors are :class:`ConfigError` with ``source``.
        ``file_keys``: the dotted paths its file sets (:attr:`file_keys`)."""
        return validate(cls, {**data, "file_keys": file_keys}, source)

    def to_data(self) -> dict[str, Any]:
        """The scenario as a plain mapping that :meth:`parse` accepts."""
        return self.model_dump(mode="python", exclude={"source"})

    def with_overrides(self, overrides: dict[str, Any], source: str | None = None) -> Scenario:
        """A copy with values replaced at dotted paths (``"gangs.MS13.cohesion": 0.5``).

        Paths index into tables by key and into lists by position
        (``"phases.1.overrides.benefits"``). A path that names no parameter, or a value
        that fails validation, raises :class:`ConfigError`.
        """
        source = source or self.source
        data = self.to_data()
        for path, value in overrides.items():
            set_path(data, path, value, source)
        return Scenario.parse(data, source, self.file_keys)

    @property
    def branch_names(self) -> list[str]:
        """What ``run`` simulates: :data:`BASE` (the timeline as written), then every variant."""
        return [BASE, *self.variants]

    def variant(self, name: str | None) -> Scenario:
        """The scenario with variant ``name`` applied (``None`` or :data:`BASE`: the base
        timeline).

        The variant's phases replace every phase starting on or after its first phase; its
        events are added; its overrides are applied. The result has no variants.
        """
        if name is None or name == BASE:
            return self
        if name not in self.variants:
            valid = ", ".join(self.branch_names)
            raise ConfigError(self.source, "variant", f"unknown variant {name!r}; valid: {valid}")
        v = self.variants[name]
        data = self.to_data()
        if v.phases:
            cut = v.phases[0].start
            data["phases"] = [p for p in data["phases"] if p["start"] < cut] + [
                p.model_dump(mode="python") for p in v.phases
            ]
        data["events"] = sorted(
            data["events"] + [e.model_dump(mode="python") for e in v.events],
            key=lambda e: e["date"],
        )
        data["variants"] = {}
        data["counterfactual"] = None
        data["name"] = f"{self.name}[{name}]"
        for path, value in v.overrides.items():
            set_path(data, path, value, f"{self.source}: variants.{name}.overrides")
        try:
            return Scenario.parse(data, self.source, self.file_keys)
        except ConfigError as exc:  # say which variant made the value
            errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
            raise ConfigErrors([
                ConfigError(e.source, f"variants.{name}: {e.key}" if e.key else
                            f"variants.{name}", e.reason) for e in errors]) from None


def set_path(data: dict[str, Any], path: str, value: Any, source: str) -> None:
    """Set ``value`` at dotted ``path`` inside nested dicts and lists, in place."""
    keys = path.split(".")
    node: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[: depth + 1])
        if isinstance(node, dict):
            if key not in node:
                raise ConfigError(source, path, f"names no parameter ({where!r} not found)")
            if last:
                node[key] = copy.deepcopy(value)
            else:
                node = node[key]
        elif isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ConfigError(
                    source, path, f"names no parameter ({where!r}: index out of range)"
                )
            if last:
                node[int(key)] = copy.deepcopy(value)
            else:
                node = node[int(key)]
        else:
            raise ConfigError(source, path, f"names no parameter ({where!r} is a value)")


def _loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if not str(p).startswith("function-after"))


def _from_validation_error(exc: ValidationError, source: str) -> ConfigErrors:
    errors = []
    for err in exc.errors():
        msg = err["msg"]
        msg = msg.removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        errors.append(ConfigError(source, _loc(err["loc"]), msg))
    return ConfigErrors(errors)


def resourced(exc: ConfigError, source: str) -> ConfigError:
    """``exc`` (one error or several) with every error's file replaced by ``source``."""
    inner = exc.errors if isinstance(exc, ConfigErrors) else [exc]
    return ConfigErrors([ConfigError(source, e.key, e.reason) for e in inner])


def validate[M: Frozen](cls: type[M], data: dict[str, Any], source: str) -> M:
    """``cls.model_validate(data)`` with ``source`` set; every problem a ConfigError.

    Pydantic errors become ``source: key.path: reason``; ConfigErrors raised by
    validators are re-sourced to ``source``.
    """
    data = dict(data)
    data["source"] = source
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise _from_validation_error(exc, source) from None
    except ConfigError as exc:
        raise resourced(exc, source) from None


def walk_path(data: Any, dotted: str) -> tuple[Any, str | None]:
    """``(value, None)`` at a dotted path in nested dicts and lists (list items by
    index), or ``(None, the first prefix not found)``."""
    node = data
    keys = dotted.split(".")
    for depth, key in enumerate(keys):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None, ".".join(keys[: depth + 1])
    return node, None


def dotted_paths(data: Any, prefix: str = "") -> frozenset[str]:
    """Every dotted path in nested dicts and lists (tables by key, list items by index):
    ``{"world": {"cliques": 600}}`` gives ``world`` and ``world.cliques``."""
    found: set[str] = set()
    items = (data.items() if isinstance(data, dict)
             else enumerate(data) if isinstance(data, list) else ())
    for key, value in items:
        path = f"{prefix}{key}"
        found.add(path)
        found |= dotted_paths(value, path + ".")
    return frozenset(found)
