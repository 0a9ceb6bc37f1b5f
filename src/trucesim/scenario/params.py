"""Model parameters: every number the model uses, with its unit, meaning and source.

Parameters are frozen pydantic models grouped by mechanism. Each field carries its unit
and its source (a reference, or ``assumption``) in its metadata; ``trucesim params``
and the README's parameter table are generated from these definitions, so this module
is the one place where a default, its unit and its justification live.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, ClassVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

ASSUMPTION = "assumption"
#: Version of the model's equations and parameter table. Fitted posteriors record it and
#: are refused by another version: bump it when a change to a mechanism or a parameter's
#: meaning makes earlier fits invalid (not for refactors that leave results unchanged).
MODEL_VERSION = "3"


def param(default: Any, unit: str, source: str, description: str, **constraints: Any) -> Any:
    """Declare a parameter field with its unit and source recorded in the schema."""
    return Field(
        default,
        description=description,
        json_schema_extra={"unit": unit, "source": source},
        **constraints,
    )


class Frozen(BaseModel):
    """Base for every parameter block: immutable, unknown keys are errors, numbers are
    finite (no inf or NaN) and a boolean is not a number."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if annotation is not bool and bool not in get_args(annotation):
                raise ValueError(f"{str(value).lower()} is a boolean, not a number or text")
        return value


class WorldParams(Frozen):
    """The territory and the initial size of the gangs."""

    cliques: int = param(
        600, "cliques", "authorities via EFE (2017): more than 600 cliques nationwide",
        "Number of cliques, one per territory.", ge=2, le=100_000,
    )
    patch_size: float = param(
        4.0, "territories", ASSUMPTION,
        "Mean number of territories in a contiguous patch grown from one seed; small patches "
        "interleave the gangs so that most cliques border a rival.", ge=1.0, le=1000.0,
    )
    members: float = param(
        100.0,
        "members per clique",
        "PNC anti-gang unit (2012): about 60,000 members / 600 cliques",
        "Initial mean members per clique.", gt=0.0, le=10_000.0,
    )
    capacity: float = param(
        130.0, "members per clique", ASSUMPTION,
        "Carrying capacity of logistic recruitment per clique.", gt=0.0, le=10_000.0,
    )
    prisoners: float = param(
        15.0, "prisoners per clique", "PNC: about 10,000 more members in prison by 2014 (/600)",
        "Initial mean imprisoned members per clique.", ge=0.0, le=10_000.0,
    )
    burn_in_days: int = param(
        365, "days", ASSUMPTION,
        "Days simulated under the first phase's regime before the start date (not recorded), "
        "so that retaliation reaches its stationary level.", ge=0, le=36500,
    )


class GangParams(Frozen):
    """One gang and its imprisoned leadership."""

    share: float = param(
        0.34, "fraction", "InSight Crime: MS-13 about 0.55, Barrio 18 factions the rest",
        "Expected share of territories held.", gt=0.0, le=1.0,
    )
    cohesion: float = param(
        0.7, "0-1", ASSUMPTION,
        "How hierarchical the gang is: scales the chance that an order reaches a clique.",
        ge=0.0, le=1.0,
    )
    authority: float = param(
        0.8, "0-1", ASSUMPTION,
        "Leaders' initial legitimacy: chance that a clique that hears an order obeys it.",
        ge=0.0, le=1.0,
    )
    autonomy: float = param(
        0.25, "0-1", ASSUMPTION,
        "Baseline autonomy of the gang's cliques from the leadership.", ge=0.0, le=1.0,
    )


class ViolenceParams(Frozen):
    """Killings: the Hawkes process on fronts, civilians, background, concealment."""

    mu: float = param(
        0.0028, "killings per directed front-day", ASSUMPTION,
        "Base rate of killings on a directed front a -> b for a clique of reference size.",
        ge=0.0, le=1.0,
    )
    eta: float = param(
        0.03, "killings per front-day per unit excitation", ASSUMPTION,
        "Extra killing rate per unit of retaliation excitation.", ge=0.0, le=1.0,
    )
    omega: float = param(
        0.06, "1/day", ASSUMPTION,
        "Decay rate of excitation: it is multiplied by exp(-omega) each day.", gt=0.0, le=10.0,
    )
    size_power: float = param(
        1.0, "dimensionless", ASSUMPTION,
        "Exponent of the size factor s_a = (members_a / initial mean members) ** size_power.",
        ge=0.0, le=4.0,
    )
    restraint_efficacy: float = param(
        0.8, "0-1", ASSUMPTION,
        "rho: share of a clique's killings suppressed under full restraint.", ge=0.0, le=1.0,
    )
    civilian_rate: float = param(
        0.00006, "killings per member-day", ASSUMPTION,
        "Civilian killings (extortion, score-settling) per clique member per day.", ge=0.0, le=0.01,
    )
    background_rate: float = param(
        1.5, "homicides per day", ASSUMPTION,
        "Non-gang homicides per day nationwide.", ge=0.0, le=1000.0,
    )
    nongang_share: float = param(
        0.5, "fraction of background_rate",
        "assumption: the record up to 2013 does not separate the two, so the midpoint; the "
        "floor share * background_rate is bounded by the 2012 truce floor (PNC via El Faro: "
        "79 homicides 9-22 March 2012, about 5.6 a day; PNC via InSight Crime: 156 in April "
        "2012)",
        "Under mechanisms.civilian_split, the share of background_rate that is a constant "
        "non-gang floor; the rest becomes gang killings of civilians.",
        ge=0.0, le=1.0,
    )
    concealment: float = param(
        0.25, "0-1", ASSUMPTION,
        "Share of its killings a clique under full restraint hides as disappearances.",
        ge=0.0, le=1.0,
    )
    leaderless_gain: float = param(
        0.5, "per unit autonomy",
        "assumption: not calibrated; Calderon et al. 2015 and Lindo and Padilla-Romo 2018 "
        "give the direction (leaderless groups are more violent), not this weight; 0.5 keeps "
        "the default process stable (branching 0.77 at autonomy 1)",
        "Under mechanisms.leaderless_retaliation, a clique's retaliation weight is "
        "eta * (1 + leaderless_gain * autonomy).",
        ge=0.0, le=10.0,
    )

    extortion_power: float = param(
        0.5, "dimensionless",
        "assumption: not calibrated; extortion, the gangs' main income, is a tax collected "
        "from the businesses and bus routes of a clique's territory (Cruz et al. 2017, The "
        "New Face of Street Gangs, FIU; InSight Crime 2015), and killing civilians enforces "
        "it, so the rate follows the territory more than the head count; 0.5 is halfway "
        "between a rate per territory (0) and the per-member rate (1); the record up to 2013 "
        "does not separate the streams",
        "Under mechanisms.extortion_killings, a clique's civilian killings per day are "
        "c * world.members * (members / world.members) ** extortion_power: a rate per "
        "territory held, equal to the per-member rate at the reference size.",
        ge=0.0, le=1.0,
    )
    arms_power: float = param(
        1.0, "dimensionless",
        "assumption: not calibrated; as size_power (killings in proportion to the means of "
        "killing, as to the members who use them); the record up to 2013 has no arms series",
        "Under mechanisms.truce_capacity, the size factor becomes "
        "(members / world.members) ** size_power * arms ** arms_power.",
        ge=0.0, le=4.0,
    )

    @property
    def branching_ratio(self) -> float:
        """Expected retaliations caused by one killing: eta / (1 - exp(-omega))."""
        return self.eta / -math.expm1(-self.omega)

    @property
    def leaderless_branching_ratio(self) -> float:
        """Under ``mechanisms.leaderless_retaliation``, the branching ratio of a fully
        autonomous clique: eta * (1 + leaderless_gain) / (1 - exp(-omega))."""
        return self.branching_ratio * (1.0 + self.leaderless_gain)

    @model_validator(mode="after")
    def _stable(self) -> ViolenceParams:
        n = self.branching_ratio
        if n >= 1.0:
            raise ValueError(
                f"branching ratio eta / (1 - exp(-omega)) = {n:.3f} >= 1: the retaliation "
                "process is explosive (no stationary level); lower eta or raise omega"
            )
        return self


class OtherActorsParams(Frozen):
    """Killings by armed actors no gang truce touches (drug-trafficking organisations,
    contract killers, death squads): a national discrete-time Hawkes process, used when
    ``mechanisms.other_actors`` is on. Not calibrated: the defaults are assumptions of
    the right order for El Salvador, where gangs did most of the killing."""

    mu: float = param(
        0.3, "killings per day", "assumption: not calibrated; a small share of El Salvador's "
        "homicides, where the gangs did most of the killing",
        "mu_o: base rate of killings by other armed actors nationwide.", ge=0.0, le=1000.0,
    )
    eta: float = param(
        0.02, "killings per day per unit excitation",
        "assumption: not calibrated; weak retaliation (branching ratio about 0.2)",
        "eta_o: extra killing rate per unit of the other actors' excitation.", ge=0.0, le=10.0,
    )
    omega: float = param(
        0.1, "1/day", "assumption: not calibrated; memory of about 10 days",
        "omega_o: decay rate of the other actors' excitation (multiplied by exp(-omega_o) a "
        "day).", gt=0.0, le=10.0,
    )

    @property
    def branching_ratio(self) -> float:
        """Expected killings caused by one killing: eta / (1 - exp(-omega))."""
        return self.eta / -math.expm1(-self.omega)

    @property
    def stationary_mean(self) -> float:
        """Stationary mean killings per day, mu / (1 - n)."""
        return self.mu / (1.0 - self.branching_ratio)

    @model_validator(mode="after")
    def _stable(self) -> OtherActorsParams:
        n = self.branching_ratio
        if n >= 1.0:
            raise ValueError(
                f"branching ratio eta / (1 - exp(-omega)) = {n:.3f} >= 1: the other actors' "
                "process is explosive (no stationary level); lower eta or raise omega"
            )
        return self


class CommandParams(Frozen):
    """Leaders' decisions and how their orders travel."""

    contact_rate: float = param(
        0.6, "1/day", ASSUMPTION,
        "Without mechanisms.command_state, daily chance that an order would reach a fully "
        "connected clique (channel 1, cohesion 1, autonomy 0).", ge=0.0, le=1.0,
    )
    benefit_threshold: float = param(
        0.5, "0-1", ASSUMPTION,
        "Leaders order restraint when the regime's offered benefits reach this level.",
        ge=0.0, le=1.0,
    )
    pressure_threshold: float = param(
        0.5, "0-1", ASSUMPTION,
        "Without mechanisms.strategic_stance, leaders order pressure on the state when "
        "isolation * repression reaches this level.",
        ge=0.0, le=1.0,
    )
    defection_rate: float = param(
        0.004, "1/day", ASSUMPTION,
        "Base daily decay rate of a clique's restraint.", ge=0.0, le=1.0,
    )
    defection_per_excitation: float = param(
        0.15, "1/day per unit excitation", ASSUMPTION,
        "Extra decay of restraint per unit of the clique's own retaliation excitation "
        "(an attacked clique breaks the truce).", ge=0.0, le=100.0,
    )
    pressure_decay: float = param(
        0.02, "1/day", ASSUMPTION, "Daily decay rate of a clique's pressure state.", ge=0.0, le=1.0,
    )
    authority_gain: float = param(
        0.004, "1/day", ASSUMPTION,
        "Daily rise of authority (toward 1) while leaders order restraint and benefits flow.",
        ge=0.0, le=1.0,
    )
    authority_loss: float = param(
        0.003, "1/day", ASSUMPTION,
        "Daily erosion of authority while leaders order restraint that brings no benefits.",
        ge=0.0, le=1.0,
    )
    street_link_rate: float = param(
        0.5, "1/day",
        "assumption: not calibrated; the street leaders at liberty met or phoned their "
        "imprisoned leadership several times a week during the 2012 truce (El Faro, October "
        "2014), so an open channel passes a new stance within days",
        "Under mechanisms.command_tiers, daily chance that the street tier hears the imprisoned "
        "leadership's stance when isolation is 0 (times 1 - isolation).", ge=0.0, le=1.0,
    )
    communique_reach: float = param(
        0.5, "1/day",
        "assumption: not calibrated; a communique read in the media or passed on at prison "
        "visits reaches an obedient clique within days, the speed of the step drop within "
        "days of the March 2012 transfers",
        "Under mechanisms.command_tiers, daily chance that a public communique in force "
        "reaches a clique directly (times authority and 1 - autonomy; no isolation factor).",
        ge=0.0, le=1.0,
    )


    # --- Command as state (mechanisms.command_state) ---
    compliance: float = param(
        2.0, "multiplier",
        "fitted (protocol A, calibration/el-salvador-2013.toml): the depth of the March 2012 "
        "drop (the two weeks after the transfers at 0.41 of the pre-truce mean) against the "
        "2012-2013 plateau (about 0.6, Katz, Hedberg and Amaya 2016); default inside its "
        "prior, chosen on those in-sample ratios at the protocol-A point values (1.5 left "
        "the 2012-2013 ratio at 0.83): every MS-13 clique (cohesion 0.8, authority 0.8, "
        "autonomy 0.2) complies while authority holds, six in ten of Barrio 18's (InSight "
        "Crime: some cliques reliably comply, others never)",
        "Under mechanisms.command_state, reach: a clique complies with its leaders' orders "
        "while its fixed disposition (uniform on 0-1) is below compliance * cohesion * "
        "authority * (1 - autonomy); the share of a gang's cliques that complies.",
        ge=0.0, le=10.0,
    )
    relay_latency: float = param(
        1.0, "days",
        "fitted (protocol A, calibration/el-salvador-2013.toml): the speed of the March 2012 "
        "drop (homicides fell within days of the 8-10 March transfers, El Faro; first "
        "two weeks at 0.41 of the pre-truce mean); default inside its prior, chosen on that "
        "in-sample ratio (2 days gave 0.62-0.64, 0.5 days 0.53, at compliance 2.5-4)",
        "Under mechanisms.command_state, speed: mean days for a new order to reach a clique "
        "through a fully open relay (the leaders' direct channel at isolation 0, or a street "
        "tier of reach 1): the latency is exponential with this mean and the order is heard "
        "on the day it ends (daily hazard strength / relay_latency, the strength 1 - isolation "
        "(direct) or street_reach (street tier); mean 1 / (1 - exp(-1/relay_latency)) whole "
        "days, about relay_latency + 1/2).",
        gt=0.0, le=365.0,
    )
    communique_latency: float = param(
        2.0, "days",
        "assumption: not calibrated; of the order of the relays (relay_latency): a "
        "communique read in the media or passed on at prison visits; no public communique "
        "before 2014 identifies it separately",
        "Under mechanisms.command_state with mechanisms.command_tiers, mean days for a public "
        "communique in force to reach a clique (daily hazard 1 / communique_latency, whatever "
        "the isolation).",
        gt=0.0, le=365.0,
    )
    prison_reach: float = param(
        1.0, "multiplier",
        "assumption: not calibrated; Katz, Hedberg and Amaya 2016 (Bulletin of the WHO) give "
        "the direction (the 2012 truce worked better where more MS-13 members were "
        "imprisoned), not a size in these units; at 1 a clique with 13% of its members in "
        "prison (world.prisoners 15 of 115 at the start) has a 13% higher threshold",
        "Under mechanisms.prison_command, relative rise of a clique's compliance threshold "
        "per unit share of its members in prison, for the imprisoned leaders' direct orders.",
        ge=0.0, le=100.0,
    )
    # --- Stance as strategy (mechanisms.strategic_stance) ---
    signal_isolation: float = param(
        0.8, "0-1",
        "assumption: the isolation of maximum security (the hardline preset's Zacatecoluca; "
        "Lessing 2015: violence met with isolation rather than concessions)",
        "Under mechanisms.strategic_stance, leaders count a day of violent lobbying as met "
        "with isolation when their isolation is at least this.", ge=0.0, le=1.0,
    )
    signal_patience: float = param(
        90.0, "days",
        "assumption: a season of violence that buys nothing; not identified up to 2013 (no "
        "unilateral restraint before 2014), so not fitted: the shipped protocols A and B fit "
        "the same parameters",
        "Under mechanisms.strategic_stance, days of violent lobbying met with isolation "
        "(and no benefits) after which leaders offer unilateral restraint as a signal.",
        ge=1.0, le=3650.0,
    )
    signal_days: float = param(
        30.0, "days",
        "assumption: a month, the verification window of a conditional regime "
        "(regime.verification_days); not identified up to 2013, so not fitted",
        "Under mechanisms.strategic_stance, span of a unilateral restraint signal: a public "
        "restraint communique of the leaders (of the street tier while the leaders are cut "
        "off), rounded to whole days.", ge=1.0, le=3650.0,
    )


class BargainingParams(Frozen):
    """Violence as bargaining capital (docs/model.md, mechanism 2; switch
    ``mechanisms.bargaining_violence``; Lessing 2015, J. Conflict Resolution 59(8); Jones
    and Lloyd 2024, J. Empirical Legal Studies 22(1)). Per gang, a grievance jumps when the
    state withdraws benefits it was paying or refuses talks (a ``refusal`` event) and
    decays; while it exceeds a threshold the leaders order escalation (the pressure
    stance), under which cliques also kill more civilians, and their authority erodes.
    Only ``escalation_threshold`` is fitted (up to 2013, in the El Salvador calibrations);
    none was chosen to match 2014-2016 figures."""

    grievance_decay: float = param(
        0.01, "1/day",
        "assumption: not calibrated; a grievance remembered for months (half-life about 70 "
        "days)",
        "Daily decay rate of a gang's grievance against the state (multiplied by "
        "exp(-grievance_decay) each day).", gt=0.0, le=10.0,
    )
    withdrawal_grievance: float = param(
        1.0, "grievance per unit of benefits",
        "assumption: the unit of grievance is one unit of benefits withdrawn",
        "Grievance added per unit by which the benefits offered today fall below those paid "
        "yesterday.", ge=0.0, le=100.0,
    )
    refusal_grievance: float = param(
        0.5, "grievance per refusal",
        "assumption: a refusal of talks the gangs seek weighs as much as withdrawing half "
        "the full benefits (0.5 on the 0-1 benefits scale)",
        "Grievance added by a refusal event.", ge=0.0, le=100.0,
    )
    escalation_threshold: float = param(
        0.25, "grievance",
        "assumption: half a refusal; a withdrawal of the truce's benefits (0.8 to 0.3, 2013) "
        "or one refusal then drives escalation for about 70 days at the default decay",
        "Leaders order escalation (the pressure stance) while their grievance exceeds this.",
        ge=0.0, le=100.0,
    )
    civilian_escalation: float = param(
        1.0, "multiplier",
        "assumption: not calibrated; Lessing 2015 and Jones and Lloyd 2024 give the direction "
        "(killings, civilians included, used to force the state back), not the size; 1 "
        "doubles a clique's civilian killings under a full pressure order",
        "Extra civilian killings (relative) by a clique under a full pressure order: the rate "
        "is multiplied by 1 + civilian_escalation * pressure.", ge=0.0, le=100.0,
    )
    authority_erosion: float = param(
        0.003, "1/day per unit grievance",
        "assumption: the order of command.authority_loss (restraint that brings nothing)",
        "Daily erosion of the leaders' authority per unit of grievance (leaders who delivered "
        "a truce that then brought nothing lose standing): authority is multiplied by "
        "exp(-authority_erosion * grievance).", ge=0.0, le=1.0,
    )


class PolicingParams(Frozen):
    """How police conduct plays out on the street (regime-independent parts)."""

    hotspot_memory: float = param(
        30.0, "days", ASSUMPTION,
        "Time scale of the recent-violence memory used by hotspot and focused allocation.",
        gt=0.0, le=3650.0,
    )
    focus_weight: float = param(
        0.8, "0-1", ASSUMPTION,
        "Share of the force concentrated on the targeted cliques under focused allocation.",
        ge=0.0, le=1.0,
    )
    grievance_weight: float = param(
        0.5, "per unit grievance", ASSUMPTION,
        "Confrontation rate multiplier per unit of a clique's grievance against police.",
        ge=0.0, le=100.0,
    )
    grievance_decay: float = param(
        0.01, "1/day", ASSUMPTION, "Daily decay rate of police grievance.", ge=0.0, le=1.0,
    )
    pressure_confrontations: float = param(
        2.0, "multiplier", ASSUMPTION,
        "Extra confrontations (relative) for a clique under a full pressure order.",
        ge=0.0, le=100.0,
    )
    attack_rate: float = param(
        0.0004, "attacks per clique-day", ASSUMPTION,
        "Direct attacks on police per clique per day under a full pressure order.", ge=0.0, le=1.0,
    )
    attack_lethality: float = param(
        0.3, "0-1", ASSUMPTION, "Chance that a direct attack kills a police officer.",
        ge=0.0, le=1.0,
    )
    arrest_scale: float = param(
        1.0, "multiplier",
        "fitted (protocol B: the 2016 gang arrests, 10,646 in January-April, PNC); default 1 "
        "(the regime presets' arrest rates, assumptions); protocol A fits it with the same "
        "prior, but its record up to 2013 has no arrest count (only the product with "
        "demography.custody_share is constrained)",
        "Multiplier on every regime's arrest_rate.", ge=0.0, le=100.0,
    )


class RetaliationParams(Frozen):
    """Police and gangs retaliate against each other (docs/model.md, mechanism 4; switch
    ``mechanisms.police_gang_retaliation``).

    Per clique, two excitations decay by exp(-decay) each day: the clique's drive to
    attack police (+1 per member police kill) and the police's drive to use lethal force
    on the clique (+1 per attack by it on police). Attacks on police are Poisson with rate
    ``base_attack_rate * s * (1 + pressure_weight * pressure) + gang_excitation * e_attack``;
    retaliatory confrontations Poisson with rate ``police_excitation * e_police``, on top
    of the ordinary ones, each killing with the regime's lethality.
    """

    decay: float = param(
        0.05, "1/day", ASSUMPTION + ": a retaliation memory of about 20 days, the time scale "
        "of the front process's excitation (violence.omega 0.06)",
        "omega_p: both excitations are multiplied by exp(-decay) each day.", gt=0.0, le=10.0,
    )
    base_attack_rate: float = param(
        0.0005, "attacks per clique-day", ASSUMPTION + ": order of magnitude of the 2013 "
        "anchor (140 attacks on police / 600 cliques / 365 days = 0.00064, less the part the "
        "default excitation adds); the prior of the fit up to 2013",
        "Attacks on police per clique of reference size per day, with no order and no "
        "excitation.", ge=0.0, le=1.0,
    )
    pressure_weight: float = param(
        2.0, "multiplier", ASSUMPTION + ": as policing.pressure_confrontations",
        "Extra attacks on police (relative) by a clique under a full pressure order.",
        ge=0.0, le=100.0,
    )
    gang_excitation: float = param(
        0.0488, "attacks per clique-day per unit excitation", ASSUMPTION + ": one attack on "
        "police in revenge per member killed by police (branching 1.0 at decay 0.05); with "
        "the 2013 anchors about 27 of the 140 attacks",
        "alpha_pg: extra attacks on police per unit of the clique's excitation (members "
        "killed by police, decaying).", ge=0.0, le=1.0,
    )
    police_excitation: float = param(
        0.0195, "confrontations per clique-day per unit excitation", ASSUMPTION + ": 0.4 "
        "retaliatory confrontations per attack on police (branching 0.4 at decay 0.05), "
        "about 0.1 gang members killed per attack at the truce's lethality 0.25",
        "alpha_gp: extra confrontations with police per unit of police excitation against "
        "the clique (its attacks on police, decaying).", ge=0.0, le=1.0,
    )

    @property
    def gang_branching(self) -> float:
        """n_pg: expected attacks on police caused by one member killed by police."""
        return self.gang_excitation / -math.expm1(-self.decay)

    @property
    def police_branching(self) -> float:
        """n_gp: expected retaliatory confrontations caused by one attack on police."""
        return self.police_excitation / -math.expm1(-self.decay)

    def spectral_radius(self, lethality: float) -> float:
        """Spectral radius of the branching matrix K at a regime's ``lethality``:
        sqrt(lethality * n_pg * n_gp)."""
        return math.sqrt(lethality * self.gang_branching * self.police_branching)

    @model_validator(mode="after")
    def _stable(self) -> RetaliationParams:
        r = self.spectral_radius(1.0)
        if r >= 1.0:
            raise ValueError(
                f"spectral radius of police-gang retaliation sqrt(n_pg * n_gp) = {r:.3f} >= 1 "
                "at lethality 1 (n = excitation / (1 - exp(-decay))): under a lethal enough "
                "regime the exchange is explosive (no stationary level); lower "
                "gang_excitation or police_excitation, or raise decay"
            )
        return self


class DemographyParams(Frozen):
    """Recruitment, prison release and the autonomy of cliques."""

    custody_share: float = param(
        0.6, "fraction of arrests",
        "fitted (calibration/el-salvador-2013.toml, protocol A: the May 2013 prison census, "
        "9,553 gang members; protocol B adds the April 2015 count, 12,851); default 0.6 "
        "reaches the 2013 census on the bundled El Salvador scenario (9,530, mean of 8 "
        "replicates; 14,100 with every arrest held, 4 replicates), a provisional estimate from "
        "protocol-A "
        "data until the fit",
        "Under mechanisms.prison_terms, the share of arrested members held in prison (times "
        "the regime's custody_factor); the rest return to the street the same day.",
        ge=0.0, le=1.0,
    )

    recruitment_rate: float = param(
        0.0015, "1/day", ASSUMPTION,
        "Logistic growth rate of clique membership.", ge=0.0, le=1.0,
    )
    release_rate: float = param(
        0.0009, "1/day", ASSUMPTION,
        "Daily chance that a prisoner is released back to the clique (mean stay ~3 years); "
        "under mechanisms.prison_terms the regime's sentence_days sets it instead.",
        ge=0.0, le=1.0,
    )
    autonomy_per_loss: float = param(
        3.0, "per fraction of members lost", ASSUMPTION,
        "Rise of autonomy (toward 1) per fraction of members lost to arrest or death in a day.",
        ge=0.0, le=1000.0,
    )
    autonomy_relax: float = param(
        0.003, "1/day", ASSUMPTION,
        "Daily relaxation of autonomy back to the gang's baseline.", ge=0.0, le=1.0,
    )
    growth_order: float = param(
        0.25, "fraction of capacity per unit restraint",
        "assumption: not calibrated; police intelligence reports leaders' orders during the "
        "truce to grow MS-13 and admit members who had not killed (docs/model.md, mechanism 3) but "
        "no size; "
        "the membership estimates up to 2013 (12,500 in 2008, 60,000 in 2012, 1,955 cliques "
        "and 9,553 in prison in 2013) come from different counts, a factor 2 apart, and do "
        "not identify it; 0.25 stays well within that spread",
        "Under mechanisms.truce_capacity, a clique's carrying capacity is "
        "world.capacity * (1 + growth_order * restraint): the leaders' growth order widens "
        "the pool of recruits.",
        ge=0.0, le=100.0,
    )
    arms_depreciation: float = param(
        0.00137, "1/day",
        "assumption: not calibrated; a stock of arms and ammunition lasts about two years "
        "(1/730 a day), the length of the 2012-2013 truce, so that capacity built during a "
        "truce is still there when it ends; no arms series up to 2013",
        "Under mechanisms.truce_capacity, the daily depreciation of a clique's arms stock, "
        "which income from extortion (in proportion to members) replenishes.",
        gt=0.0, le=1.0,
    )


#: Source of the switches of docs/model.md's numbered mechanisms the El Salvador scenarios turn on.
SWITCH_ON_IN_EL_SALVADOR = (ASSUMPTION + ": off by default (a scenario decides); on in the El "
                            "Salvador scenarios, chosen on evidence up to 2013 and the "
                            "literature (docs/calibration.md)")


class Mechanisms(Frozen):
    """Switches for whole mechanisms.

    The first four are on by default. Turning police, leaders, demography and other
    killings off leaves the front process alone: a linear Hawkes process whose stationary
    mean is known (verification). The numbered mechanisms of docs/model.md are off by default: a
    scenario turns on those its evidence supports (the El Salvador scenarios: 1-4 and 6,
    fitted up to 2013; honduras-2013: 7).
    """

    leaders: bool = param(True, "flag", ASSUMPTION, "Leaders decide and send orders.")
    police: bool = param(True, "flag", ASSUMPTION, "Police allocate, arrest and confront.")
    demography: bool = param(
        True, "flag", ASSUMPTION, "Membership changes (losses, prison, release, recruitment)."
    )
    other_killings: bool = param(
        True, "flag", ASSUMPTION, "Civilian and background killings."
    )
    police_gang_retaliation: bool = param(
        False, "flag", SWITCH_ON_IN_EL_SALVADOR,
        "Police and gangs retaliate against each other: attacks on police and lethal police "
        "force excite each other (section retaliation).",
    )
    civilian_split: bool = param(
        False, "flag", SWITCH_ON_IN_EL_SALVADOR,
        "docs/model.md, mechanism 6: background_rate splits into a constant non-gang floor "
        "(nongang_share "
        "of it) and gang killings of civilians that scale with members and fall under restraint.",
    )
    other_actors: bool = param(
        False, "flag", ASSUMPTION + ": off by default; on in honduras-2013 (no evidence of such "
        "actors in El Salvador up to 2013)",
        "docs/model.md, mechanism 7: killings by armed actors no truce touches, a national Hawkes "
        "process.",
    )
    leaderless_retaliation: bool = param(
        False, "flag", ASSUMPTION + ": off: no measurable contribution in the El Salvador "
        "ablation (docs/calibration.md)",
        "docs/model.md, mechanism 5: autonomous cliques retaliate more; the attacker's retaliation "
        "weight is "
        "eta * (1 + violence.leaderless_gain * autonomy).",
    )
    truce_capacity: bool = param(
        False, "flag", SWITCH_ON_IN_EL_SALVADOR,
        "docs/model.md, mechanism 3: capacity built during a truce; restraint raises the carrying "
        "capacity "
        "(demography.growth_order) and each clique's arms stock, fed by extortion in "
        "proportion to members, scales its violence (violence.arms_power).",
    )

    command_tiers: bool = param(
        False, "flag", SWITCH_ON_IN_EL_SALVADOR,
        "docs/model.md, mechanism 1: the imprisoned leadership passes its stance to a street tier "
        "of leaders "
        "at liberty (the channel isolation cuts), which relays it to the cliques; a public "
        "communique also reaches cliques directly.",
    )
    bargaining_violence: bool = param(
        False, "flag", SWITCH_ON_IN_EL_SALVADOR,
        "docs/model.md, mechanism 2: a withdrawal of benefits or a refusal of talks raises a "
        "grievance; "
        "above a threshold leaders order escalation (pressure, more civilian killings) and "
        "their authority erodes.",
    )

    extortion_killings: bool = param(
        False, "flag", SWITCH_ON_IN_EL_SALVADOR,
        "Issue 20.3: gang killings of civilians are a rate per territory held, tied to "
        "extortion (violence.extortion_power), not per member; concealment is drawn per "
        "stream, so the day's gang_member_victims are recorded.",
    )
    deterrence_all_streams: bool = param(
        False, "flag", SWITCH_ON_IN_EL_SALVADOR,
        "Issue 20.3: police deterrence exp(-deterrence * heat) acts on every gang stream "
        "(front killings, civilian killings, attacks on police), not only on the fronts.",
    )
    prison_terms: bool = param(
        False, "flag", SWITCH_ON_IN_EL_SALVADOR,
        "Issue 20.4: only demography.custody_share * custody_factor of arrests go to prison, "
        "for a mean of the regime's sentence_days; the rest return the same day.",
    )
    command_state: bool = param(
        False, "flag", SWITCH_ON_IN_EL_SALVADOR + "; InSight Crime on MS-13 (some cliques "
        "reliably comply, others never)",
        "Issue 20.1: command as state. Each clique has a fixed disposition to comply (reach, "
        "command.compliance) and holds the last order it heard; an order reaches it after a "
        "relay latency (speed, command.relay_latency) through whichever channel is open, "
        "persists until replaced and lapses to none when every channel is cut. Off: the "
        "daily lottery of contact_rate.",
    )
    prison_command: bool = param(
        False, "flag", ASSUMPTION + ": off, in the El Salvador scenarios too: the record we "
        "hold has no prison counts by clique or municipality to size it (Katz, Hedberg and "
        "Amaya 2016 give the direction)",
        "Issue 20.1 (optional): prison as a node of command. Under command_state, the "
        "imprisoned leaders' direct orders reach further into cliques with more members in "
        "prison (command.prison_reach).",
    )
    strategic_stance: bool = param(
        False, "flag", SWITCH_ON_IN_EL_SALVADOR + "; Lessing 2015 (Making Peace in Drug Wars); "
        "Cruz and Duran-Martinez 2016 (J. Peace Research 53(2))",
        "Issue 20.2: stance as strategy. Leaders lobby by violence only when talks or "
        "benefits are withdrawn or refused (bargaining.escalation_threshold), and offer "
        "unilateral restraint as a signal when their violence is met with isolation "
        "(command.signal_*). Off: pressure whenever isolation * repression >= "
        "command.pressure_threshold.",
    )

    #: The first model's mechanisms; every other switch is one of the numbered mechanisms of
    #: docs/model.md.
    FOUNDATION: ClassVar[tuple[str, ...]] = ("leaders", "police", "demography", "other_killings")
    #: The mechanisms of docs/model.md as groups of the switches that make them up, for
    #: attribution (``trucesim attribute --mechanisms command,...``): a group is one player,
    #: its switches on or off together. Every switch but the foundation's is in one group.
    GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "command": ("command_tiers", "command_state", "strategic_stance", "prison_command"),
        "bargaining": ("bargaining_violence",),
        "capacity": ("truce_capacity",),
        "police_retaliation": ("police_gang_retaliation",),
        "leaderless": ("leaderless_retaliation",),
        "killing_streams": ("civilian_split", "extortion_killings", "deterrence_all_streams"),
        "prisons": ("prison_terms",),
        "other_armed_actors": ("other_actors",),
    }

    @classmethod
    def design_2b(cls) -> list[str]:
        """The switches of the numbered mechanisms (docs/model.md), in the table's order."""
        return [m for m in cls.model_fields if m not in cls.FOUNDATION]

    @field_validator("*", mode="before")
    @classmethod
    def _only_booleans(cls, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not a boolean (true or false)")
        return value


class Stance(StrEnum):
    """A leadership's stance toward the state, and the order it sends to its cliques."""

    NONE = "none"
    RESTRAINT = "restraint"
    PRESSURE = "pressure"


#: Stance names in code order (a stance's code is its position in :class:`Stance`, as
#: :func:`trucesim.numerics.constants.code` gives it).
STANCE_NAMES: tuple[str, ...] = tuple(s.value for s in Stance)


class Allocation(StrEnum):
    """How police spread their force over territories."""

    UNIFORM = "uniform"
    HOTSPOT = "hotspot"
    FOCUSED = "focused"


class Regime(Frozen):
    """A policy regime: police and prison parameters in force during a phase.

    Presets are in :mod:`trucesim.scenario.regimes`; every field can be overridden per phase.
    """

    isolation: float = param(
        0.6, "0-1", ASSUMPTION,
        "Isolation of imprisoned leaders from the street; the order channel is 1 - isolation.",
        ge=0.0, le=1.0,
    )
    benefits: float = param(
        0.0, "0-1", ASSUMPTION,
        "Benefits offered to leaders (prison access, negotiation).", ge=0.0, le=1.0,
    )
    repression: float = param(
        0.3, "0-1", ASSUMPTION,
        "Intensity of repression as perceived by leaders; with isolation drives pressure orders.",
        ge=0.0, le=1.0,
    )
    conditional: bool = param(
        False, "flag", ASSUMPTION,
        "Benefits are paid only while recent recorded homicides stay under violence_target.",
    )
    violence_target: float = param(
        8.0, "homicides per day", ASSUMPTION,
        "Verification target of a conditional regime (mean recorded homicides per day).",
        gt=0.0, le=10_000.0,
    )
    verification_days: int = param(
        30, "days", ASSUMPTION,
        "Window over which a conditional regime verifies recorded violence.", ge=1, le=365,
    )
    police_force: float = param(
        1.0, "heat per territory", ASSUMPTION,
        "Mean police heat per territory.", ge=0.0, le=100.0,
    )
    allocation: Allocation = param(
        Allocation.UNIFORM, "choice", ASSUMPTION,
        "How the force is spread: uniform, hotspot (by recent violence) or focused.",
    )
    focus_share: float = param(
        0.1, "fraction of cliques", ASSUMPTION,
        "Share of the most violent cliques targeted under focused allocation.", gt=0.0, le=1.0,
    )
    pullback: float = param(
        0.0, "0-1", ASSUMPTION,
        "Reduction of heat on territories whose clique complies with restraint.",
        ge=0.0, le=1.0,
    )
    arrest_rate: float = param(
        0.0003, "1/(member-day) per unit heat", ASSUMPTION,
        "Daily arrest probability per member per unit heat.", ge=0.0, le=1.0,
    )
    confrontation_rate: float = param(
        0.0004, "confrontations per clique-day per unit heat", ASSUMPTION,
        "Armed confrontations per clique of reference size per unit heat per day.", ge=0.0, le=1.0,
    )
    lethality: float = param(
        0.3, "deaths per confrontation", "PNC via Diario1 (2013: 27 killed by police)",
        "Chance that a confrontation kills a gang member.", ge=0.0, le=1.0,
    )
    police_lethality: float = param(
        0.03, "deaths per confrontation", "El Faro via InSight Crime (6 police killed, 2012)",
        "Chance that a confrontation kills a police officer.", ge=0.0, le=1.0,
    )
    deterrence: float = param(
        0.2, "per unit heat", ASSUMPTION,
        "delta: front killings are multiplied by exp(-deterrence * heat of the attacker) "
        "(under mechanisms.deterrence_all_streams also civilian killings and attacks on "
        "police).",
        ge=0.0, le=100.0,
    )
    recruitment_factor: float = param(
        1.0, "multiplier", ASSUMPTION,
        "Multiplier on recruitment (exit services under focused deterrence lower it).",
        ge=0.0, le=100.0,
    )
    sentence_days: float = param(
        1111.0, "days",
        "assumption: about 3 years, the mean stay of demography.release_rate (1/0.0009); a "
        "lever (longer sentences, e.g. the 2015-2016 anti-terror charges, raise it)",
        "Under mechanisms.prison_terms, the mean days a member held in prison serves: "
        "prisoners are released at 1 / sentence_days a day.", ge=1.0, le=36500.0,
    )
    custody_factor: float = param(
        1.0, "multiplier",
        "assumption: 1 in every preset; a lever (pretrial detention as the rule raises it, "
        "releases on arrest lower it)",
        "Under mechanisms.prison_terms, multiplier on demography.custody_share (the share "
        "of arrests held in prison, at most 1).", ge=0.0, le=100.0,
    )


#: The parameter blocks of a scenario, by their key there (``[violence]``): each the block
#: of the mechanism of that name, which declares it (``DECLARATION`` of its module, listed
#: in :mod:`trucesim.core.registry`; tests/test_declare.py checks both name the same
#: blocks). The :class:`~trucesim.scenario.schema.Scenario`'s block fields and
#: :data:`PARAMETER_GROUPS` are derived from it; the kernels' ``Params`` from the registry.
BLOCKS: dict[str, type[Frozen]] = {
    "world": WorldParams,
    "violence": ViolenceParams,
    "other_actors": OtherActorsParams,
    "command": CommandParams,
    "bargaining": BargainingParams,
    "policing": PolicingParams,
    "retaliation": RetaliationParams,
    "demography": DemographyParams,
}


def _groups() -> dict[str, type[Frozen]]:
    groups: dict[str, type[Frozen]] = {"mechanisms": Mechanisms}
    for name, model in BLOCKS.items():
        groups[name] = model
        if name == "world":  # each gang's parameters, with the world's
            groups["gangs.<GANG>"] = GangParams
    groups["regime (phases.<i>.overrides)"] = Regime
    return groups


#: Every group of parameters, in the order of the parameter table: the switches, the
#: blocks (:data:`BLOCKS`; the gangs' after the world's) and the regime.
PARAMETER_GROUPS: dict[str, type[Frozen]] = _groups()


def value_range(field: Any) -> str:
    """The values a field accepts, as the parameter table shows them: ``0 <= x <= 1``,
    ``0 < x <= 10``, a choice or ``true/false``."""
    annotation = field.annotation
    if annotation is bool:
        return "true/false"
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return " / ".join(m.value for m in annotation)
    lo = hi = None
    lo_op = hi_op = "<="
    for m in field.metadata:
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, lo_op = m.gt, "<"
        if getattr(m, "le", None) is not None:
            hi = m.le
        if getattr(m, "lt", None) is not None:
            hi, hi_op = m.lt, "<"
    fmt = "{:,}".format if annotation is int else "{:g}".format
    left = f"{fmt(lo)} {lo_op} " if lo is not None else ""
    right = f" {hi_op} {fmt(hi)}" if hi is not None else ""
    return f"{left}x{right}" if (left or right) else "any"


def parameter_rows(fitted: dict[str, dict] | None = None) -> list[dict[str, str]]:
    """Every parameter as a row: group, name, meaning, unit, accepted range, default and
    source.

    ``fitted`` maps a dotted parameter path to ``{"value": v, "interval": [lo, hi]}`` for
    parameters a calibration fitted; their source then says so, with the value.
    """
    fitted = fitted or {}
    rows = []
    for group, model in PARAMETER_GROUPS.items():
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra or {}
            default = field.default
            if isinstance(default, StrEnum):
                default = default.value
            source = str(extra.get("source", ASSUMPTION))
            fit = fitted.get(f"{group}.{name}")
            if fit is not None:
                source += (f"; fitted for El Salvador up to 2013 (protocol A): posterior "
                           f"median {fit['value']:.4g}")
                if fit.get("interval"):
                    lo, hi = fit["interval"]
                    source += f", 90% interval {lo:.3g}-{hi:.3g}"
            rows.append(
                {
                    "parameter": f"{group}.{name}",
                    "meaning": field.description or "",
                    "unit": str(extra.get("unit", "")),
                    "range": value_range(field),
                    "default": str(default),
                    "source": source,
                }
            )
    return rows


def parameter_table_markdown(fitted: dict[str, dict] | None = None) -> str:
    """The parameter table as Markdown (used by the README and ``trucesim params``)."""
    lines = [
        "| parameter | meaning | unit | range | default | source |",
        "|---|---|---|---|---|---|",
    ]
    for r in parameter_rows(fitted):
        cells = [f"`{r['parameter']}`", r["meaning"], r["unit"], r["range"], r["default"],
                 r["source"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
