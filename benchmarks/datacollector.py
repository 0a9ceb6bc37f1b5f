"""Cost of ``model.datacollector``: the same day-by-day Mesa loop with and without it,
measured side by side in one run (interleaved repeats, median CPU time).

    .venv/bin/python benchmarks/datacollector.py             # El Salvador, 7 years
    .venv/bin/python benchmarks/datacollector.py --cliques 10000 --agents

Variants, each ``while model.running: model.step()`` over the scenario then the table:

* ``without``: the daily step alone (``TruceModel._simulate`` one day at a time, no
  datacollector touched), then ``to_frame()``;
* ``with``: ``TruceModel.step()`` as Mesa calls it, then
  ``model.datacollector.get_model_vars_dataframe()`` (model variables read from the
  record arrays);
* ``per-day reporters``: for contrast, what the datacollector avoids: a plain
  ``mesa.DataCollector`` with one Python reporter per column, collected every day;
* ``agent reporters`` (with ``--agents``): ``agent_reporters=True`` (every clique and
  leader every day, through the agent views: slow, which is why it is off by default).

Model construction (and burn-in) is outside the timed part.
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial

import mesa
import numpy as np

from trucesim import TruceModel, load_scenario
from trucesim.core.agents import Clique


class _Without(TruceModel):
    """The daily step with no datacollector involved."""

    def step(self) -> None:
        if not self.finished:
            self._simulate(self.day + 1)
        self.running = not self.finished


def _today(column: str, model: TruceModel):
    """Yesterday's recorded value of a column (a per-day Python reporter)."""
    i = model.burn_in + model.day - 1
    if column in model.daily.dtype.names:
        return model.daily[column][i].item()
    metric, gang = column.split("_", 1)[0], column.split("_", 1)[1]
    return model.gang_daily[metric][i, model.gang_names.index(gang)].item()


class _PerDayReporters(TruceModel):
    """A Mesa DataCollector with one Python reporter per column, collected daily."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        columns = [c for c in self.to_frame().columns if c not in ("date", "phase", "regime")]
        self.naive = mesa.DataCollector(
            model_reporters={c: partial(_today, c) for c in columns})

    def step(self) -> None:
        super().step()
        self.naive.collect(self)


def _loop(model, table) -> tuple[float, float]:
    """CPU seconds of the day-by-day loop, and of building the table at the end."""
    c = time.process_time()
    while model.running:
        model.step()
    c1 = time.process_time()
    table(model)
    return c1 - c, time.process_time() - c1


VARIANTS = {
    "without": (_Without, {}, lambda m: m.to_frame()),
    "with": (TruceModel, {}, lambda m: m.datacollector.get_model_vars_dataframe()),
    "per-day reporters": (_PerDayReporters, {},
                          lambda m: m.naive.get_model_vars_dataframe()),
    "agent reporters": (TruceModel, {"agent_reporters": True},
                        lambda m: m.datacollector.get_agenttype_vars_dataframe(Clique)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="el-salvador-2010-2016")
    ap.add_argument("--cliques", type=int, default=None, help="world size (default: the "
                    "scenario's)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--agents", action="store_true", help="also time agent reporters")
    args = ap.parse_args()
    scenario = load_scenario(args.scenario)
    if args.cliques:
        scenario = scenario.with_overrides({"world.cliques": args.cliques})
    days = scenario.days
    variants = {k: v for k, v in VARIANTS.items() if args.agents or k != "agent reporters"}
    for cls, kwargs, table in variants.values():  # warm up: kernels, imports
        _loop(cls(scenario, rng=0, **kwargs), table)
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    tables: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.repeats):
        for name, (cls, kwargs, table) in variants.items():
            model = cls(scenario, rng=r, **kwargs)
            steps, build = _loop(model, table)
            cpu[name].append(steps + build)
            tables[name].append(build)
    n = scenario.world.cliques
    print(f"{scenario.name}: {n} cliques, {days} days, median of {args.repeats} "
          f"(CPU time, interleaved), load average {os.getloadavg()[0]:.1f}")
    print("| variant | CPU (s) | of which the table (ms) | µs per day | ns per clique-day "
          "| vs without |")
    print("|---|---|---|---|---|---|")
    base = float(np.median(cpu["without"])) if "without" in cpu else None
    for name, values in cpu.items():
        t = float(np.median(values))
        ratio = f"{t / base:.3f}x" if base else ""
        build = float(np.median(tables[name])) * 1e3
        print(f"| {name} | {t:.3f} | {build:.1f} | {t / days * 1e6:.1f} "
              f"| {t / (days * n) * 1e9:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
