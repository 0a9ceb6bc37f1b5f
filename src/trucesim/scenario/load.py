"""Reading scenarios: scenario files, the calibration and posterior files they name, and
the bundled files. The I/O half of the scenario layer; :mod:`trucesim.scenario.schema` is
the model half (what the kernels need), and reads no files.

A loaded :class:`~trucesim.scenario.schema.Scenario` records which dotted paths its file
sets (:attr:`~trucesim.scenario.schema.Scenario.file_keys`), so what depends on them (a
calibration's or posterior's values yield to the file's own) is decided at load time,
never by reading the file again.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from trucesim.scenario.errors import ConfigError
from trucesim.scenario.files import is_bare_name, named_path, read_text
from trucesim.scenario.posterior import Posterior, load_posterior
from trucesim.scenario.schema import Scenario, dotted_paths, resourced, set_path, walk_path


def bundled_dir(kind: str = "scenarios") -> Path:
    """Folder holding the bundled files of ``kind`` ("scenarios" or "experiments")."""
    return Path(str(resources.files("trucesim") / "bundled" / kind))


def bundled_scenarios(kind: str = "scenarios") -> dict[str, Path]:
    """Bundled files of ``kind`` (default: scenarios) by name (file stem)."""
    return {p.stem: p for p in sorted(bundled_dir(kind).glob("*.toml"))}


def resolve_path(spec: str | Path, kind: str = "scenarios") -> Path:
    """A path on disk, or the name of a bundled file of ``kind``.

    Only a bare name (no folder, no ``.toml``, e.g. ``honduras-like-2013``) names a bundled
    file, and only when no such file exists here; a path that does not exist is returned
    as is (and reported missing when read), never swapped for a bundled file.
    """
    path = Path(spec)
    if path.exists() or not is_bare_name(spec):
        return path
    return bundled_scenarios(kind).get(path.name, path)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file (a regular UTF-8 file of at most 16 MB; a BOM is accepted),
    turning any problem into a one-line ConfigError."""
    path = Path(path)
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"malformed TOML: {exc}") from None


def load_scenario(path: str | Path, *, calibrated: bool = True,
                  draw: int | None = None) -> Scenario:
    """Load and validate a scenario file (or a bundled scenario by name).

    If the file names a ``calibration`` file (and ``calibrated`` is true), that file's
    ``[overrides]`` (dotted path -> value) are applied, except paths the scenario file
    sets itself. With ``draw = k``, the scenario's ``posterior`` file's draw ``k``
    (:meth:`Posterior.overrides <trucesim.scenario.posterior.Posterior.overrides>`) is
    applied on top, again except paths the scenario file sets itself. Every variant is
    applied once, so that its overrides are checked exactly as ``run`` applies them.

    Raises:
        ConfigError: with ``file: key.path: reason`` for any problem.
    """
    path = resolve_path(path)
    raw = read_toml(path)
    scenario = Scenario.parse(raw, str(path), dotted_paths(raw))
    if calibrated and scenario.calibration:
        scenario = _calibrated(scenario, path)
    if draw is not None:
        if draw < 0:
            raise ConfigError(str(path), "posterior", f"draw {draw} is negative")
        values = posterior_of(scenario).overrides(draw)
        scenario = scenario.with_overrides(
            {k: v for k, v in values.items() if not scenario.sets(k)})
    for name in scenario.variants:  # overrides checked exactly as `run` applies them
        scenario.variant(name)
    return scenario


def _calibrated(scenario: Scenario, path: Path) -> Scenario:
    """Apply the overrides of the scenario's calibration file (not those its file sets)."""
    cal_path = named_path(scenario.calibration, path, "calibration")
    cal = read_toml(cal_path)
    source = str(cal_path)
    unknown = sorted(set(cal) - {"description", "overrides", "fit"})
    if unknown:
        raise ConfigError(source, unknown[0], "unknown key (valid: description, overrides, fit)")
    overrides = cal.get("overrides")
    if not isinstance(overrides, dict):
        raise ConfigError(source, "overrides", "missing table of dotted-path values")
    data = scenario.to_data()
    for key, value in overrides.items():
        if not scenario.sets(key):
            set_path(data, key, value, source)
    try:
        return Scenario.parse(data, str(path), scenario.file_keys)
    except ConfigError as exc:
        raise resourced(exc, source) from None


def posterior_of(scenario: Scenario) -> Posterior:
    """The posterior file the scenario names, read and checked.

    Raises:
        ConfigError: when the scenario names none, or the file is invalid
            (:func:`trucesim.scenario.posterior.load_posterior`).
    """
    if not scenario.posterior:
        raise ConfigError(scenario.source, "posterior", "this scenario names no posterior file")
    path = named_path(scenario.posterior, scenario.source, "posterior")
    posterior = load_posterior(path)
    missing = [n for n in posterior.names if walk_path(scenario.to_data(), n)[1] is not None]
    if missing:
        raise ConfigError(str(path), f"parameters.{missing[0]}", "names no parameter of "
                          f"scenario {scenario.name!r}")
    check_fixed_values(scenario, posterior)
    return posterior


def check_fixed_values(scenario: Scenario, post: Posterior) -> None:
    """Refuse a posterior whose calibration fixed values (``overrides``) the scenario does
    not have: it was fitted in another world (``world.cliques = 100``).

    Raises:
        ConfigError: ``posterior file: overrides.<path>: reason``.
    """
    data = scenario.to_data()
    for key, fixed in post.overrides_fixed.items():
        value, missing = walk_path(data, key)
        same = value == fixed
        if (not same and isinstance(value, int | float) and isinstance(fixed, int | float)
                and not isinstance(value, bool) and not isinstance(fixed, bool)):
            same = abs(float(value) - float(fixed)) <= 1e-9 * max(1.0, abs(float(fixed)))
        if missing is not None or not same:
            shown = "not set" if missing is not None else repr(value)
            raise ConfigError(post.source, f"overrides.{key}", f"fitted with {key} = "
                              f"{fixed!r}, but scenario {scenario.name!r} has {shown}: run it "
                              "with the same fixed values, or refit")


def bundled_fit() -> dict[str, dict]:
    """Fitted values and intervals of the bundled El Salvador calibration, by dotted path."""
    cal = read_toml(bundled_dir() / "calibrated" / "el-salvador.toml")
    intervals = cal.get("fit", {}).get("intervals", {})
    return {
        key: {"value": value, "interval": intervals.get(key)}
        for key, value in cal.get("overrides", {}).items()
    }


def scenario_from(spec: Scenario | str | os.PathLike) -> Scenario:
    """A scenario, or the one a path or bundled name designates (loaded with
    :func:`load_scenario`): what :class:`~trucesim.core.model.TruceModel` accepts.

    Raises:
        ConfigError: ``name: scenario: reason`` when ``spec`` is neither a file nor a
            bundled scenario's name (the bundled names are listed), or any problem of the
            file.
    """
    if isinstance(spec, Scenario):
        return spec
    if not isinstance(spec, str | os.PathLike):
        raise TypeError(f"scenario must be a Scenario, a path or a bundled name, not {spec!r}")
    if not resolve_path(spec).exists():
        bundled = ", ".join(bundled_scenarios())
        raise ConfigError(str(spec), "scenario",
                          f"no such file, and no bundled scenario of that name "
                          f"(bundled: {bundled})")
    return load_scenario(spec)
