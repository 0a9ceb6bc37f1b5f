"""Posterior samples: fitted parameter vectors with their weights, one small TOML file.

A posterior file is what a calibration (ABC-SMC, :mod:`trucesim.calibration`) leaves
behind and what forecasts integrate over. It is read here, below the application layer,
so that a scenario can name one and :func:`trucesim.scenario.load.load_scenario` can
draw from it::

    format = "trucesim-posterior/1"
    model_version = "2"             # trucesim.scenario.params.MODEL_VERSION when fitted
    protocol = "A"                  # A: hindcast (data to the case's hindcast cutoff);
                                    # B: nowcast (data to the case's as-of date)
    data_until = 2012-12-31         # the last day of data the fit saw
    scenario = "scenario.toml"
    calibration = "calibration.toml"
    overrides = {"world.cliques" = 100}  # the calibration's fixed values ({} if none)
    description = "pyabc ABC-SMC, 8 generations, 500 particles"
    seed = 2013                     # root of the draw sequence (draw k is the same on every load)
    weights = [0.0021, 0.0019]      # one per particle, non-negative, normalised on load

    [parameters]                    # dotted path into the scenario -> one value per particle
    "violence.mu" = [0.0013, 0.0016]
    "command.contact_rate" = [0.51, 0.47]

Draw ``k`` of a posterior is particle ``indices(k + 1)[k]``: a weighted draw with
replacement from a sequence seeded by the file's ``seed``, so replicate ``k`` of every
branch of a comparison gets the same parameter vector (paired comparisons), and the
same run gives the same draws on every machine.

A posterior applies only to what it was fitted to: its ``scenario`` (or a scenario
whose file names this posterior itself), with the calibration's fixed ``overrides``
(:func:`trucesim.uncertainty.parameter_draws` refuses anything else). A file without
``overrides`` (written before they were recorded) is refused: whether its calibration
fixed values cannot be known, and running it on other fixed values would be silently
wrong; add ``overrides = {}`` to it if its calibration had none.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trucesim.scenario.errors import ConfigError
from trucesim.scenario.files import read_text
from trucesim.scenario.params import MODEL_VERSION
from trucesim.stats import POINTS, effective_size, weighted_quantiles

FORMAT = "trucesim-posterior/1"
#: The protocols: A, a hindcast (data up to a case's hindcast cutoff); B, a nowcast (data
#: up to a case's as-of date). A case checks a posterior's data_until against its dates
#: (:meth:`trucesim.cases.Case.check_posterior`).
PROTOCOLS = ("A", "B")
_KEYS = {"format", "model_version", "protocol", "data_until", "scenario", "calibration",
         "overrides", "description", "seed", "weights", "parameters"}


@dataclass(frozen=True)
class Posterior:
    """A weighted sample of parameter vectors.

    Attributes:
        names: dotted parameter paths, in the column order of ``values``.
        values: particles x parameters.
        weights: one per particle, summing to 1.
        protocol: ``"A"`` (hindcast) or ``"B"`` (nowcast).
        data_until: the last day of data the fit used.
        seed: root of the draw sequence.
        model_version: the model version it was fitted to.
        scenario: the scenario it was fitted to ("" only for one built in code).
        overrides: the calibration's fixed dotted-path values (the world it was fitted in).
        calibration, description: where it came from, in words.
        source: the file it was read from.
    """

    names: tuple[str, ...]
    values: np.ndarray
    weights: np.ndarray
    protocol: str
    data_until: dt.date
    seed: int = 0
    model_version: str = MODEL_VERSION
    scenario: str = ""
    calibration: str = ""
    description: str = ""
    source: str = "<posterior>"
    overrides_fixed: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.weights)

    @property
    def effective_size(self) -> float:
        """Kish's effective sample size of the weights (:func:`trucesim.stats.effective_size`)."""
        return effective_size(self.weights)

    def indices(self, count: int) -> np.ndarray:
        """The particles of draws ``0 .. count - 1`` (weighted, with replacement)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        known = self._cache.get("indices")
        if known is None or len(known) < count:
            rng = np.random.default_rng(self.seed)
            known = rng.choice(len(self.weights), size=max(count, 1), p=self.weights)
            self._cache["indices"] = known
        return known[:count]

    def overrides(self, draw: int) -> dict[str, float]:
        """The parameter values of draw ``draw``, by dotted path."""
        i = int(self.indices(draw + 1)[draw])
        return {name: float(self.values[i, j]) for j, name in enumerate(self.names)}

    def quantiles(self, q: tuple[float, ...] = POINTS) -> dict[str, tuple[float, ...]]:
        """Weighted quantiles of each parameter's marginal, by dotted path."""
        return {name: weighted_quantiles(self.values[:, j], self.weights, q)
                for j, name in enumerate(self.names)}

    def to_data(self) -> dict[str, Any]:
        """The file's contents as a mapping (what :func:`parse_posterior` reads back)."""
        return {
            "format": FORMAT,
            "model_version": self.model_version,
            "protocol": self.protocol,
            "data_until": self.data_until,
            "scenario": self.scenario,
            "calibration": self.calibration,
            "overrides": dict(self.overrides_fixed),
            "description": self.description,
            "seed": int(self.seed),
            "weights": [float(w) for w in self.weights],
            "parameters": {n: [float(v) for v in self.values[:, j]]
                           for j, n in enumerate(self.names)},
        }


def posterior_toml(posterior: Posterior) -> str:
    """The TOML text of a posterior file (floats written with 10 significant digits)."""
    d = posterior.to_data()

    def num(x: float) -> str:
        return f"{x:.10g}"

    lines = [
        "# A posterior sample written by trucesim: parameter vectors with weights.",
        f'format = "{FORMAT}"',
        f'model_version = "{d["model_version"]}"',
        f'protocol = "{d["protocol"]}"',
        f"data_until = {d['data_until'].isoformat()}",
        f"scenario = {_quote(d['scenario'])}",
        f"calibration = {_quote(d['calibration'])}",
        "overrides = {" + ", ".join(f"{_quote(k)} = {_toml_value(v)}"
                                    for k, v in d["overrides"].items()) + "}",
        f"description = {_quote(d['description'])}",
        f"seed = {d['seed']}",
        "weights = [" + ", ".join(num(w) for w in d["weights"]) + "]",
        "",
        "[parameters]",
    ]
    for name, vals in d["parameters"].items():
        lines.append(f'"{name}" = [' + ", ".join(num(v) for v in vals) + "]")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, int) else f"{value:.17g}"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_quote(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} to a posterior file")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def parse_posterior(data: dict[str, Any], source: str = "<posterior>") -> Posterior:
    """Check a posterior mapping and build it.

    Raises:
        ConfigError: ``file: key: reason`` for a wrong format, another model version, an
            unknown protocol, a data_until that is not a date, particles of unequal length,
            negative or all-zero weights, or non-finite values.
    """
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(source, unknown[0], f"unknown key (valid: {', '.join(sorted(_KEYS))})")
    if data.get("format") != FORMAT:
        raise ConfigError(source, "format", f"{data.get('format')!r} is not a trucesim "
                          f"posterior file (expected {FORMAT!r})")
    version = data.get("model_version")
    if version != MODEL_VERSION:
        raise ConfigError(source, "model_version", f"fitted to model version {version!r}; this "
                          f"trucesim runs model version {MODEL_VERSION!r}: refit with "
                          "`trucesim calibrate`")
    protocol = data.get("protocol")
    if protocol not in PROTOCOLS:
        raise ConfigError(source, "protocol", f"{protocol!r} is not a protocol (valid: A, B)")
    until = data.get("data_until")
    if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
        raise ConfigError(source, "data_until", "missing or not a date (YYYY-MM-DD)")
    scenario = data.get("scenario")
    if not isinstance(scenario, str) or not scenario:
        raise ConfigError(source, "scenario", "missing: the name of the scenario it was "
                          "fitted to")
    if "overrides" not in data:
        raise ConfigError(source, "overrides", "missing: this posterior was written before "
                          "posteriors recorded their calibration's fixed values, which "
                          "cannot be known now; refit with `trucesim calibrate`, or add "
                          "`overrides = {}` if its calibration fixed none")
    fixed = data["overrides"]
    if not isinstance(fixed, dict):
        raise ConfigError(source, "overrides", "must be a table of dotted-path values")
    params = data.get("parameters")
    if not isinstance(params, dict) or not params:
        raise ConfigError(source, "parameters", "missing or empty table of dotted paths")
    weights = _vector(data.get("weights"), source, "weights")
    if np.any(weights < 0) or not weights.max() > 0:
        raise ConfigError(source, "weights", "must be non-negative with a positive sum")
    weights = weights / weights.max()  # 1e308s would overflow their sum

    columns = []
    for name, vals in params.items():
        col = _vector(vals, source, f"parameters.{name}")
        if len(col) != len(weights):
            raise ConfigError(source, f"parameters.{name}", f"{len(col)} values for "
                              f"{len(weights)} weights")
        columns.append(col)
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(source, "seed", "must be a non-negative integer")
    return Posterior(
        names=tuple(params), values=np.column_stack(columns), weights=weights / weights.sum(),
        protocol=protocol, data_until=until, seed=seed, model_version=version,
        scenario=scenario, calibration=str(data.get("calibration", "")),
        description=str(data.get("description", "")), source=source,
        overrides_fixed=copy.deepcopy(fixed),  # the parsed mapping is shared (_parsed)
    )


def _vector(values: Any, source: str, key: str) -> np.ndarray:
    if not isinstance(values, list) or not values:
        raise ConfigError(source, key, "must be a non-empty list of numbers")
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        raise ConfigError(source, key, "must hold numbers only")
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ConfigError(source, key, "holds a non-finite value (inf or nan)")
    return arr


def load_posterior(path: str | Path) -> Posterior:
    """Read and check a posterior file (:func:`parse_posterior`).

    Raises:
        ConfigError: ``file: key: reason`` (also for an unreadable or malformed file).
    """
    path = Path(path)
    text = read_text(path)
    try:
        data = _parsed(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"malformed TOML: {exc}") from None
    return parse_posterior(data, str(path))


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> dict[str, Any]:
    """The TOML of a posterior file's text, parsed once per distinct text: a case, a
    nowcast and its branches read the same file again and again, and parsing a bundled
    posterior (55 kB) takes about 9 ms, building it from the mapping under 1 ms.
    :func:`parse_posterior` only reads the mapping, so one parse serves every call."""
    return tomllib.loads(text)
