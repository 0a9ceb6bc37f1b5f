"""Which uncertainty a forecast's intervals carry, and the posterior draws that add to it.

Without a posterior, every replicate runs at one parameter point (the scenario's values,
calibrated or not): the spread over replicates is simulation noise only. With a
posterior (:mod:`trucesim.scenario.posterior`), replicate ``r`` runs with posterior draw
``r`` (and, as always, the ``r``-th child seed), in every branch of a comparison, so
branches stay paired and the intervals carry parameter uncertainty as well as noise
.

:class:`ParameterDraws` is a posterior bound to a scenario: the parameters it sets and
those it holds because the scenario file sets them itself (as ``load_scenario(path,
draw=k)`` does: a value written in the scenario file wins). Its draws are plain dicts of
dotted path -> float, so they travel inside a task to a worker that cannot read files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trucesim.scenario.errors import ConfigError, ConfigErrors
from trucesim.scenario.posterior import Posterior, load_posterior
from trucesim.scenario.schema import (
    Scenario,
    check_fixed_values,
    posterior_of,
    read_toml,
    walk_path,
)

#: What the intervals carry without a posterior.
NOISE_ONLY = "noise only, at one fitted point"
#: What the intervals carry with one.
POSTERIOR = "posterior parameters and noise"

#: How a caller names the posterior: None/False (none), True (the scenario's own
#: ``posterior`` file), a path, or a loaded :class:`Posterior`.
PosteriorSpec = Posterior | str | Path | bool | None


@dataclass(frozen=True)
class ParameterDraws:
    """A posterior applied to one scenario.

    Attributes:
        posterior: the sample.
        held: posterior parameters the scenario file sets itself (kept at its value).
    """

    posterior: Posterior
    held: tuple[str, ...] = ()

    def overrides(self, draw: int) -> dict[str, float]:
        """The dotted-path values of draw ``draw`` (those not held)."""
        values = self.posterior.overrides(draw)
        return {k: v for k, v in values.items() if k not in self.held}

    def apply(self, scenario: Scenario, draw: int) -> Scenario:
        """``scenario`` with draw ``draw``'s values (variants still apply on top)."""
        return scenario.with_overrides(self.overrides(draw), source=scenario.source)

    @property
    def label(self) -> str:
        return POSTERIOR

    def describe(self) -> dict[str, Any]:
        """Where the draws come from, for manifests and summaries (JSON-ready)."""
        p = self.posterior
        return {
            "file": p.source, "protocol": p.protocol, "data_until": p.data_until.isoformat(),
            "particles": len(p), "effective_size": round(p.effective_size, 1),
            "seed": p.seed, "model_version": p.model_version, "parameters": list(p.names),
            "held_at_scenario_value": list(self.held),
            "drawing": "replicate r uses draw r (Posterior.overrides(r)) in every branch",
        }

    def settings(self) -> dict[str, Any]:
        """Everything about the draws that changes results (for result-folder settings)."""
        data = self.posterior.to_data()
        data["data_until"] = data["data_until"].isoformat()
        data["held"] = list(self.held)
        return data


def label(draws: ParameterDraws | None) -> str:
    """What the intervals of runs made with ``draws`` carry."""
    return NOISE_ONLY if draws is None else POSTERIOR


def parameter_draws(scenario: Scenario, posterior: PosteriorSpec,
                    relative_to: str | Path | None = None,
                    fitted_to: str | None = None) -> ParameterDraws | None:
    """Bind a posterior to ``scenario`` (None when ``posterior`` is None or False).

    ``True`` takes the scenario's own ``posterior`` file; a path is read (relative paths
    against the current folder, or against ``relative_to``'s folder when given). Every
    parameter of the posterior must name a parameter of the scenario, and the posterior
    must have been fitted to it (:func:`check_fitted_to`; ``fitted_to`` names the
    scenario it must have been fitted to when that is not ``scenario.name``).

    Raises:
        ConfigError: ``file: key: reason`` for a missing, malformed or foreign file (another
            model version, an unknown parameter, bad weights).
    """
    if posterior is None or posterior is False:
        return None
    if posterior is True:
        post = posterior_of(scenario)
    elif isinstance(posterior, Posterior):
        post = posterior
    else:
        path = Path(posterior)
        if relative_to is not None and not path.is_absolute():
            path = Path(relative_to).parent / path
        post = load_posterior(path)
    check_fitted_to(scenario, post, fitted_to)
    data = scenario.to_data()
    for name in post.names:
        node, missing = walk_path(data, name)
        if missing is not None or isinstance(node, dict | list):
            raise ConfigError(post.source, f"parameters.{name}", "names no parameter of "
                              f"scenario {scenario.name!r}")
    draws = ParameterDraws(post, _held(scenario, post))
    _check_particles(scenario, draws)
    return draws


def _declared(scenario: Scenario, post: Posterior) -> bool:
    """Whether the scenario's own file names this posterior file (``posterior = ...``)."""
    if not scenario.posterior:
        return False
    try:
        from trucesim.scenario.files import named_path

        own = named_path(scenario.posterior, scenario.source, "posterior")
        return own.resolve() == Path(post.source).resolve()
    except (ConfigError, OSError):
        return False


def _same_world(scenario: Scenario, fitted: str) -> bool:
    """Whether ``fitted`` is a bundled scenario with ``scenario``'s world and gangs (a
    case's branch scenario continues its timeline's world: a posterior of one fits both)."""
    from trucesim.scenario.schema import bundled_scenarios, load_scenario

    if fitted not in bundled_scenarios():
        return False
    other = load_scenario(fitted)
    return other.world == scenario.world and other.gangs == scenario.gangs


def check_fitted_to(scenario: Scenario, post: Posterior, fitted_to: str | None = None) -> None:
    """Refuse a posterior fitted to another scenario or with other fixed values.

    The posterior's ``scenario`` must be ``fitted_to`` (default: the scenario's name), or
    the scenario's own file must name the posterior, or it must be a bundled scenario
    with the same world and gangs (a case's branch scenario continues the world of its
    timeline; another case's scenario has other gangs); each of the
    calibration's fixed ``overrides`` must have the same value in the scenario.

    Raises:
        ConfigError: ``posterior file: key: reason``.
    """
    name = fitted_to or scenario.name
    if (post.scenario and post.scenario != name and not _declared(scenario, post)
            and not _same_world(scenario, post.scenario)):
        raise ConfigError(post.source, "scenario", f"fitted to scenario {post.scenario!r}, "
                          f"not {name!r}: a posterior applies only to the scenario it was "
                          "fitted to, one whose file names it as its posterior, or a bundled "
                          "scenario of the same world and gangs")
    check_fixed_values(scenario, post)


def _check_particles(scenario: Scenario, draws: ParameterDraws) -> None:
    """Refuse a posterior with a particle the scenario would refuse (before any run)."""
    post = draws.posterior
    names = [n for n in post.names if n not in draws.held]
    for i in range(len(post)):
        values = {n: float(post.values[i, post.names.index(n)]) for n in names}
        try:
            scenario.with_overrides(values)
        except ConfigError as exc:
            first = exc.errors[0] if isinstance(exc, ConfigErrors) else exc
            shown = values.get(first.key)
            raise ConfigError(post.source, f"parameters.{first.key}" if shown is not None
                              else "parameters", f"particle {i}"
                              + (f" ({shown:g})" if shown is not None else "")
                              + f": {first.reason}") from None


def _held(scenario: Scenario, post: Posterior) -> tuple[str, ...]:
    """Posterior parameters that the scenario's file sets itself (as load_scenario)."""
    path = Path(scenario.source)
    try:
        raw = read_toml(path) if path.is_file() else {}
    except ConfigError:  # a scenario built in code from a file since changed: none held
        raw = {}
    return tuple(n for n in post.names if walk_path(raw, n)[1] is None)
