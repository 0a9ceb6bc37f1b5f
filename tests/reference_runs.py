"""Reference runs: fingerprints of bundled runs, to keep the daily step bit-identical.

Each reference run is a scenario (bundled files, with overrides) and a seed; its
fingerprint is a digest of every column of its daily table and of every state array at
the end of the run. ``tests/fixtures/reference_runs.json`` holds the fingerprints of the
code before the daily step was optimised; ``tests/test_reference_runs.py`` checks that
the code still gives them exactly.

Regenerate the file only for a change meant to alter the runs, and say so in the commit:

    .venv/bin/python tests/reference_runs.py --write

Compare another checkout (its ``src`` first on the path) with this one, for any number
of cliques, e.g. the 100,000-clique world:

    PYTHONPATH=../old/src .venv/bin/python tests/reference_runs.py --cliques 100000 > a.json
    .venv/bin/python tests/reference_runs.py --cliques 100000 > b.json && diff a.json b.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "reference_runs.json"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

#: name -> (scenario file, overrides, variant). Together they take every branch of the
#: day: both command layers, every DESIGN 2b switch on and off, the three police
#: allocations, other armed actors, splits, takeovers, street tiers and communiques.
RUNS: dict[str, tuple[str, dict, str | None]] = {
    "el-salvador": ("el-salvador-2010-2016.toml", {}, None),
    "el-salvador-letter": ("el-salvador-2016-letter.toml", {}, None),
    "el-salvador-old-command": ("el-salvador-2010-2016.toml",
                                {"mechanisms.command_state": False,
                                 "mechanisms.strategic_stance": False}, None),
    "el-salvador-switched": ("el-salvador-2010-2016.toml",
                             {"mechanisms.leaderless_retaliation": True,
                              "mechanisms.prison_command": True,
                              "mechanisms.prison_terms": False,
                              "mechanisms.extortion_killings": False,
                              "mechanisms.deterrence_all_streams": False}, None),
    "el-salvador-no-tiers": ("el-salvador-2010-2016.toml",
                             {"mechanisms.command_tiers": False}, None),
    "el-salvador-old-command-no-tiers": ("el-salvador-2010-2016.toml",
                                         {"mechanisms.command_state": False,
                                          "mechanisms.strategic_stance": False,
                                          "mechanisms.command_tiers": False}, None),
    "el-salvador-2b-off": ("el-salvador-2010-2016.toml", "2b-off", None),
    "focused-deterrence": ("focused-deterrence.toml", {}, None),
    "focused-deterrence-hardline": ("focused-deterrence.toml", {}, "hardline"),
    "honduras-like": ("honduras-like-2013.toml", {}, None),
}


#: State arrays renamed since the fixture was written: the array's name now -> the name
#: its digest is recorded under (the same array, so the same digest).
RENAMED = {"cliques.force_excitation": "cliques.police_excitation"}


def _digest(array: np.ndarray) -> str:
    a = np.ascontiguousarray(array)
    if a.dtype == object:
        a = np.array([str(v) for v in a.ravel()])
    return hashlib.sha256(a.tobytes() + repr((a.dtype.str, a.shape)).encode()).hexdigest()[:16]


def fingerprint(model) -> dict[str, str]:
    """Digest of every column of ``model``'s daily table and every state array."""
    frame = model.to_frame()
    out = {f"column:{c}": _digest(np.asarray(frame[c].astype(str) if frame[c].dtype.name
                                              == "category" else frame[c]))
           for c in frame.columns}
    for box_name, box in zip(model.state._fields, model.state, strict=True):
        if box_name == "scratch":
            continue
        for name, array in zip(box._fields, box, strict=True):
            key = f"{box_name}.{name}"
            out[f"state:{RENAMED.get(key, key)}"] = _digest(array)
    return out


def scenario_of(name: str):
    """The scenario and variant of reference run ``name``."""
    from trucesim.scenario.load import load_scenario
    from trucesim.scenario.params import Mechanisms

    file, overrides, variant = RUNS[name]
    scenario = load_scenario(SCENARIOS / file)
    if overrides == "2b-off":
        overrides = {f"mechanisms.{m}": False for m in Mechanisms.design_2b()}
    return (scenario.with_overrides(overrides) if overrides else scenario), variant


def world_scenario(cliques: int, days: int):
    """The El Salvador world at ``cliques`` cliques over ``days`` days, half before and
    half under the truce (as ``benchmarks/run.py`` builds it), no burn-in."""
    from trucesim.scenario.load import load_scenario
    from trucesim.scenario.schema import Scenario

    data = load_scenario(SCENARIOS / "el-salvador-2010-2016.toml").to_data()
    start = dt.date(2012, 1, 1)
    data.update(start=start, end=start + dt.timedelta(days=days - 1), events=[],
                phases=[data["phases"][0] | {"start": start},
                        data["phases"][1] | {"start": start + dt.timedelta(days=days // 2)}])
    data["world"] |= {"cliques": cliques, "burn_in_days": 0}
    return Scenario.parse(data, f"world-{cliques}")


def all_fingerprints(world_cliques: int = 5000, world_days: int = 60) -> dict:
    """Fingerprints of every reference run (seeds 0 and 1) and of the El Salvador world
    at ``world_cliques`` cliques for ``world_days`` days (seed 1)."""
    from trucesim.core.model import TruceModel

    out = {}
    for name in RUNS:
        scenario, variant = scenario_of(name)
        for seed in (0, 1):
            model = TruceModel(scenario, rng=seed, variant=variant, agents=False)
            model.run()
            out[f"{name}/seed={seed}"] = fingerprint(model)
    model = TruceModel(world_scenario(world_cliques, world_days), rng=1, agents=False)
    model.run()
    out[f"world-{world_cliques}x{world_days}/seed=1"] = fingerprint(model)
    return out


def main() -> None:
    """Print the fingerprints as JSON, or write them to the fixture (``--write``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help=f"write {FIXTURE.name}")
    ap.add_argument("--cliques", type=int, default=5000, help="the world's cliques")
    ap.add_argument("--days", type=int, default=60, help="the world's days")
    args = ap.parse_args()
    prints = all_fingerprints(args.cliques, args.days)
    text = json.dumps(prints, indent=1, sort_keys=True) + "\n"
    if args.write:
        FIXTURE.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
