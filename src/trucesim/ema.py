"""trucesim as an EMA Workbench model (``pip install 'trucesim[ema]'``, ema-workbench 3.0).

:func:`ema_model` turns a scenario into an ``ema_workbench.ReplicatorModel``:

- **uncertainties** (``RealParameter``/``IntegerParameter``) chosen by dotted path, with
  ranges given, from a posterior (its particles' smallest and largest values) or from the
  parameter table's bounds (:func:`trucesim.discovery.uncertainty`); EMA 3.0 wants
  Python identifiers as names, so each is named by :func:`ema_name`
  (``command.compliance`` -> ``command_compliance``; ``model.function.names`` maps each
  name back to its paths);
- **levers**: the scenario's branches as one ``CategoricalParameter`` named ``branch``
  (EMA 3.0 reserves ``policy``: it is a column of its experiments table), and regime
  fields by dotted path (``variants.truce.phases.0.overrides.isolation``);
- **outcomes** from the daily metrics: for each column, ``<column>`` (the mean over
  replications of its total over the window), ``<column>_replicates`` (an
  ``ArrayOutcome``: each replication's total, so paired differences between branches can
  be taken) and, with ``series=True``, ``<column>_daily`` (an ``ArrayOutcome``:
  replications x days over the window);
- **replications** with common random numbers: replication ``r`` of every experiment is
  seeded ``SeedSequence(seed, spawn_key=(r,))``, as replicate ``r`` of a trucesim sweep, so
  branches and lever settings are compared on paired runs and an experiment equals the
  sweep runner's run with the same values and seed.

EMA 3.0 may hand a categorical lever to the model as the category's index rather than
its value (its issue #453, e.g. from its optimisers); the model function accepts both.

Nothing else in trucesim imports ``ema_workbench``: importing this module does.
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from trucesim.discovery import Uncertainty, uncertainty, window_totals
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.load import load_scenario
from trucesim.scenario.schema import BASE, Scenario

try:
    import warnings

    with warnings.catch_warnings():  # "ipyparallel not installed": not used here
        warnings.filterwarnings("ignore", message=".*ipyparallel.*")
        import ema_workbench as _ema
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("trucesim.ema needs the EMA Workbench: pip install 'trucesim[ema]'") \
        from exc

#: The lever holding the scenario's branches (EMA reserves ``policy``).
BRANCH = "branch"
#: Names EMA 3.0 uses for columns of its experiments table.
RESERVED = frozenset({"policy", "scenario", "model"})


@dataclass(frozen=True)
class TrucesimRun:
    """The model function EMA calls once per replication (picklable, so EMA's
    multiprocessing evaluator can ship it to workers).

    Called with every uncertainty and lever by name, plus ``replicate`` (from the
    replications list); returns the outcomes of that one run.
    """

    scenario: Scenario
    names: dict[str, tuple[str, ...]]  # parameter name -> dotted paths it sets
    integers: frozenset[str]
    branches: tuple[str, ...]
    columns: tuple[str, ...]
    window: tuple[dt.date, dt.date]
    seed: int
    series: bool = False

    def branch_name(self, value: Any) -> str:
        """A branch from its name or, as EMA 3.0 may pass it, its index (issue #453)."""
        if isinstance(value, str) and value in self.branches:
            return value
        if isinstance(value, numbers.Integral) and 0 <= int(value) < len(self.branches):
            return self.branches[int(value)]
        name = getattr(value, "name", None)  # an ema Category
        if name in self.branches:
            return name
        raise ValueError(f"unknown branch {value!r}; valid: {', '.join(self.branches)}")

    def overrides(self, values: dict[str, Any]) -> dict[str, Any]:
        """Dotted-path overrides from EMA's parameter values."""
        out: dict[str, Any] = {}
        for name, paths in self.names.items():
            if name not in values:
                continue
            v = values[name]
            v = v.item() if isinstance(v, np.generic) else v
            if name in self.integers:
                v = int(round(v))
            for p in paths:
                out[p] = v
        return out

    def run_scenario(self, values: dict[str, Any]) -> Scenario:
        """The scenario one experiment runs: the overrides, then the branch."""
        s = self.scenario.with_overrides(self.overrides(values))
        branch = self.branch_name(values.get(BRANCH, self.branches[0]))
        return s.variant(None if branch == BASE else branch)

    def __call__(self, replicate: int = 0, **values: Any) -> dict[str, Any]:
        from trucesim.api import simulate

        daily = simulate(self.run_scenario(values),
                         seed=np.random.SeedSequence(self.seed, spawn_key=(int(replicate),)))
        daily = daily.assign(run_id="run")
        totals = window_totals(daily, list(self.columns), self.window)
        out: dict[str, Any] = {}
        for c in self.columns:
            total = float(totals[c].iloc[0])
            out[c] = total
            out[f"{c}_replicates"] = total
            if self.series:
                dates = daily["date"]
                inside = ((dates >= np.datetime64(self.window[0]))
                          & (dates <= np.datetime64(self.window[1])))
                out[f"{c}_daily"] = daily.loc[inside, c].to_numpy(float)
        return out


def ema_model(scenario: str | Scenario, *, uncertainties: list[str] | dict[str, Any] = (),
              posterior: bool | str | None = None, branches: bool | list[str] = True,
              levers: list[str] | dict[str, Any] = (), outcomes: list[str] = ("homicides",),
              window: str | tuple[dt.date, dt.date] | None = None, replications: int = 10,
              seed: int | None = None, series: bool = False,
              name: str | None = None) -> _ema.ReplicatorModel:
    """An EMA ``ReplicatorModel`` of a scenario.

    Args:
        scenario: a scenario (file, bundled name or loaded :class:`Scenario`).
        uncertainties: dotted paths (``"command.compliance"``, ``"gangs.*.cohesion"``),
            each optionally ``PATH=LOW:HIGH``, or a mapping path -> ``(low, high)`` or None.
        posterior: ranges of uncertainties without one from a posterior: True (the
            scenario's own ``posterior`` file) or a posterior file; with no
            ``uncertainties``, every parameter of the posterior.
        branches: the scenario's branches as the lever ``branch`` (True: every variant, or
            ``base`` when it has none; a list: those; False: no branch lever, the base
            timeline).
        levers: regime fields (or any numeric parameter) as levers, like uncertainties.
        outcomes: daily columns (``homicides``: recorded homicides).
        window: ``"START:END"`` or two dates; default: from the first branch's departure
            to the scenario's end.
        replications: runs per experiment (common random numbers across experiments).
        seed: root seed of the replications (default: the scenario's).
        series: also return each column's daily series over the window.
        name: the model's name (default: the scenario's, as a Python identifier).

    Raises:
        ConfigError: an unknown path, a range outside the table's bounds, an unknown
            branch or column, a name EMA reserves.
    """
    from trucesim.discovery import parse_window
    from trucesim.runner.experiment import daily_column_names
    from trucesim.scenario.posterior import Posterior
    from trucesim.uncertainty import parameter_draws

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    post: Posterior | None = None
    if posterior not in (None, False):
        draws = parameter_draws(sc, posterior)
        post = draws.posterior if draws is not None else None
    unc = _parameters(uncertainties, sc, post, "uncertainties")
    if not unc and post is not None:
        unc = [uncertainty(n, sc, post, "uncertainties") for n in post.names]
    lev = _parameters(levers, sc, None, "levers")
    if branches is True:
        chosen = list(sc.variants) or [BASE]
    elif branches is False:
        chosen = [BASE]
    else:
        chosen = list(branches)
        for b in chosen:
            if b not in sc.branch_names:
                raise ConfigError("branches", b, f"unknown branch; valid: "
                                  f"{', '.join(sc.branch_names)}")
    valid_cols = daily_column_names(sc)[3:]
    for c in outcomes:
        if c not in valid_cols:
            raise ConfigError("outcomes", c, f"unknown daily column; valid: "
                              f"{', '.join(valid_cols[:12])}, ...")
    names = [ema_name(u.key) for u in unc + lev]
    for u, n in zip(unc + lev, names, strict=True):
        if n in RESERVED or n == BRANCH or n == "replicate":
            raise ConfigError("uncertainties", u.key, f"its EMA name {n!r} is reserved by EMA "
                              f"or this adapter ({', '.join(sorted(RESERVED | {BRANCH}))}, "
                              "replicate)")
    seen: dict[str, str] = {}
    for u in unc + lev:  # one path, one role: a later override would silently win
        for path in u.paths:
            if path in seen:
                raise ConfigError("levers" if u in lev else "uncertainties", u.key,
                                  f"{path!r} is already set by {seen[path]!r}")
            seen[path] = u.key
    if len(set(names)) != len(names):
        raise ConfigError("uncertainties", "", f"two parameters have the same EMA name: "
                          f"{', '.join(names)}")
    if isinstance(window, tuple):
        win = window
    else:
        win = parse_window(window, sc, [b for b in chosen if b != BASE], "window")
    fn = TrucesimRun(sc, {ema_name(u.key): u.paths for u in unc + lev},
                     frozenset(ema_name(u.key) for u in unc + lev if u.integer), tuple(chosen),
                     tuple(outcomes), win, sc.seed if seed is None else int(seed), series)
    model = _ema.ReplicatorModel(name or _identifier(sc.name), function=fn)
    model.uncertainties = [_ema_parameter(u) for u in unc]
    lever_params = [_ema_parameter(u) for u in lev]
    if len(chosen) > 1:  # one branch is no lever: every experiment runs it
        lever_params.insert(0, _ema.CategoricalParameter(BRANCH, chosen))
    model.levers = lever_params
    outs = []
    for c in outcomes:
        outs.append(_ema.ScalarOutcome(c, variable_name=c, function=np.mean))
        outs.append(_ema.ArrayOutcome(f"{c}_replicates", variable_name=f"{c}_replicates"))
        if series:
            outs.append(_ema.ArrayOutcome(f"{c}_daily", variable_name=f"{c}_daily"))
    model.outcomes = outs
    if replications < 1:
        raise ConfigError("replications", str(replications), "must be at least 1")
    model.replications = [{"replicate": r} for r in range(replications)]
    return model


def _parameters(spec: list[str] | dict[str, Any], sc: Scenario, post: Any,
                option: str) -> list[Uncertainty]:
    if isinstance(spec, dict):
        texts = [k if v is None else f"{k}={v[0]}:{v[1]}" for k, v in spec.items()]
    else:
        texts = list(spec)
    return [uncertainty(t, sc, post, option) for t in texts]


def ema_name(path: str) -> str:
    """The EMA name of a dotted path: EMA 3.0 wants Python identifiers, so ``.`` becomes
    ``_`` and a ``*`` segment ``all`` (``gangs.*.cohesion`` -> ``gangs_all_cohesion``)."""
    return _identifier(path.replace("*", "all"))


def _ema_parameter(u: Uncertainty):
    name = ema_name(u.key)
    if u.integer:
        return _ema.IntegerParameter(name, int(np.ceil(u.low)), int(np.floor(u.high)))
    return _ema.RealParameter(name, u.low, u.high)


def _identifier(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "_" for ch in text)
    return out if out and not out[0].isdigit() else f"m_{out}"
