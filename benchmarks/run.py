"""Model benchmarks: one command, every workload measured side by side in one run.

    .venv/bin/python benchmarks/run.py            # full table (a few minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # smaller worlds, for a smoke check
    .venv/bin/python benchmarks/run.py --baseline ../old/src   # this checkout vs another

Each workload runs in its own subprocess (so its peak RSS is its own) on one core. The
table gives wall time, CPU time (``time.process_time``), nanoseconds per clique-day
(per agent-step for Mesa's BoltzmannWealth example) and peak memory, and the ratios the
project tracks. Per-unit costs and ratios use CPU time, which other load on a shared
machine inflates less than wall time. ``--baseline SRC`` runs every workload a second
time with ``PYTHONPATH=SRC`` (another checkout's ``src`` folder, e.g. main before a change
to the daily step), so the two are measured side by side in the same run. Each workload
runs ``--rounds`` times (3), the checkouts alternating within each round, and the best
round is reported: a shared machine's speed drifts by 10-20% over minutes, more than
most changes to the day, and noise only ever adds time.

``--old-command`` runs every model workload a second time with the old command layer
(issue 20's ``command_state`` and ``strategic_stance`` off), side by side.

* default El Salvador 7-year run, model construction included (target <= 0.1 s, issue 20);
* full model at 3 cliques (what a day costs whatever its size: the per-day fixed cost)
  and 100 cliques (the size of the tests' and of a calibration's small runs);
* full model at 10,000, 60,000 and 100,000 cliques, the daily step with recording
  (target <= 40 ns per clique-day at 100,000, issue 20; cost ratio 100k/10k per day <= 12);
* 100,000 cliques for 7 years with daily recording: peak memory (target <= 1 GiB);
* Mesa's BoltzmannWealth (N=10,000, 100x100 grid, 100 steps) per agent-step, and the
  ratio of its cost to ours per clique-day (target >= 40).

``compile`` times the model's first use on a machine (an empty numba cache: every
kernel compiles), which later runs load from the cache instead, on two cores (target
<= 15 s wall, issue 23).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ONE_CORE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


#: Scenario the workloads are built from (``--scenario``; passed to the subprocesses).
SCENARIO_ENV = "TRUCESIM_BENCH_SCENARIO"


#: Set to 1 to run the workloads with every mechanism switch of docs/model.md off (``--off``).
OFF_ENV = "TRUCESIM_BENCH_2B_OFF"


#: Set to 1 to run the workloads with the old command layer (issue 20's switches
#: ``command_state`` and ``strategic_stance`` off: the daily lottery, pressure by rule).
OLD_COMMAND_ENV = "TRUCESIM_BENCH_OLD_COMMAND"


def _base_scenario():
    from trucesim import load_scenario

    scenario = load_scenario(os.environ.get(SCENARIO_ENV, "el-salvador-2010-2016"))
    if os.environ.get(OLD_COMMAND_ENV) == "1":
        scenario = scenario.with_overrides({"mechanisms.command_state": False,
                                            "mechanisms.strategic_stance": False})
    if os.environ.get(OFF_ENV) == "1":
        from trucesim.scenario.params import Mechanisms

        scenario = scenario.with_overrides(
            {f"mechanisms.{m}": False for m in Mechanisms.design_2b()})
    return scenario


def _model_class():
    try:
        from trucesim.core.model import TruceModel
    except ImportError:  # a baseline from before the layered layout
        from trucesim.model import TruceModel
    return TruceModel


def _warm_up() -> None:
    """Import everything and load the compiled kernels (from numba's cache) untimed."""
    TruceModel = _model_class()

    TruceModel(bench_scenario(50, 10), rng=0, agents=False).run()


def workload_default(repeats: int) -> dict:
    TruceModel = _model_class()

    scenario = _base_scenario()
    TruceModel(scenario, rng=0, agents=False).run()  # warm caches and imports
    times, cpus = [], []
    for r in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        model = TruceModel(scenario, rng=r, agents=False)
        model.run()
        cpus.append(time.process_time() - c)
        times.append(time.perf_counter() - t)
    wall = sorted(times)[len(times) // 2]
    cpu = sorted(cpus)[len(cpus) // 2]
    days = scenario.days + scenario.world.burn_in_days
    return {"wall_s": wall, "cpu_s": cpu, "units": scenario.world.cliques * days,
            "per_unit_ns": cpu / (scenario.world.cliques * days) * 1e9,
            "note": f"median of {repeats}, construction included, {days} days"}


def bench_scenario(cliques: int, days: int):
    """The calibrated El Salvador world at ``cliques`` cliques, over ``days`` days: half
    under the pre-truce regime, half under the truce (every mechanism active)."""
    import datetime as dt

    from trucesim import Scenario

    data = _base_scenario().to_data()
    start = dt.date(2012, 1, 1)
    data.update(
        start=start,
        end=start + dt.timedelta(days=days - 1),
        events=[],
        phases=[data["phases"][0] | {"start": start},
                data["phases"][1] | {"start": start + dt.timedelta(days=days // 2)}],
    )
    data["world"] |= {"cliques": cliques, "burn_in_days": 0}
    return Scenario.parse(data, f"benchmark-{cliques}")


def workload_world(cliques: int, days: int, full_years: bool = False) -> dict:
    TruceModel = _model_class()

    if full_years:
        scenario = _base_scenario().with_overrides(
            {"world.cliques": cliques, "world.burn_in_days": 0})
    else:
        scenario = bench_scenario(cliques, days)
    _warm_up()
    t0 = time.perf_counter()
    model = TruceModel(scenario, rng=1, agents=False)
    build = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), time.process_time()
    model.run()
    cpu = time.process_time() - c1
    wall = time.perf_counter() - t1
    n_days = scenario.days
    return {"wall_s": wall, "cpu_s": cpu, "units": cliques * n_days,
            "per_unit_ns": cpu / (cliques * n_days) * 1e9,
            "note": f"{n_days} days, {_fronts(model)} directed fronts, "
                    f"{cpu / n_days * 1e6:.1f} us per day; "
                    f"construction {build:.1f} s not included"}


def _fronts(model) -> int:
    """Number of directed fronts (on this checkout or a baseline's)."""
    if hasattr(model, "front_edges"):
        return len(model.front_edges())
    return model.territory.fronts


def workload_boltzmann(steps: int = 100) -> dict:
    from mesa.examples.basic.boltzmann_wealth_model.model import (
        BoltzmannScenario,
        BoltzmannWealth,
    )

    n = 10_000
    model = BoltzmannWealth(BoltzmannScenario(n=n, width=100, height=100, rng=1))
    t, c = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    cpu = time.process_time() - c
    wall = time.perf_counter() - t
    return {"wall_s": wall, "cpu_s": cpu, "units": n * steps,
            "per_unit_ns": cpu / (n * steps) * 1e9,
            "note": f"Mesa BoltzmannWealth N={n}, 100x100, {steps} steps (agent-steps)"}


def workload_compile(ahead: bool = False) -> dict:
    """First use of the model with an empty numba cache (compile, then run), on the two
    cores the machine has; with ``ahead``, a second process compiles from the other end
    of the day, as a simulating command starts it (``trucesim.cli.warm``; a checkout
    without it compiles in one process)."""
    TruceModel = _model_class()

    scenario = bench_scenario(50, 10)
    t, c = time.perf_counter(), time.process_time()
    if ahead:
        try:
            from trucesim.cli import warm
        except ImportError:
            warm = None
        if warm is not None:
            warm.start()
    TruceModel(scenario, rng=0, agents=False).run()
    cpu = time.process_time() - c
    wall = time.perf_counter() - t
    return {"wall_s": wall, "cpu_s": cpu, "units": 0, "per_unit_ns": float("nan"),
            "note": "numba compiles the day on first use and caches it (not per run)"}


#: Workloads run for this checkout and for the baseline.
MODEL_WORKLOADS = ("compile", "compile_ahead", "default", "cliques_3", "cliques_100",
                   "cliques_10k", "cliques_60k", "cliques_100k", "cliques_100k_7y")

WORKLOADS = {
    "compile": lambda q: workload_compile(),
    "compile_ahead": lambda q: workload_compile(ahead=True),
    "default": lambda q: workload_default(3 if q else 5),
    "cliques_3": lambda q: workload_world(3, 1000 if q else 4000),
    "cliques_100": lambda q: workload_world(100, 1000 if q else 4000),
    "cliques_10k": lambda q: workload_world(10_000, 60 if q else 200),
    "cliques_60k": lambda q: workload_world(60_000, 30 if q else 200),
    "cliques_100k": lambda q: workload_world(100_000, 30 if q else 200),
    "cliques_100k_7y": lambda q: workload_world(100_000, 0, full_years=True),
    "mesa_boltzmann": lambda q: workload_boltzmann(20 if q else 100),
}


def run_child(name: str, quick: bool, source: str | None = None,
              extra_env: dict | None = None) -> dict:
    env = {**os.environ, **ONE_CORE, **(extra_env or {})}
    if source is not None:
        env["PYTHONPATH"] = source
        env["TRUCESIM_ENGINE"] = "numba"  # a baseline with engines: its compiled one
    cores = "0"
    with tempfile.TemporaryDirectory(prefix="trucesim-numba-cache-") as cache:
        if name.startswith("compile"):  # first use: an empty cache, the machine's two cores
            env["NUMBA_CACHE_DIR"] = cache
            cores = "0,1"
        cmd = [sys.executable, __file__, "--child", name] + (["--quick"] if quick else [])
        # Pin to one core (two for the first compile) where the OS allows it.
        if hasattr(os, "sched_setaffinity"):
            cmd = ["taskset", "-c", cores, *cmd] if _has_taskset() else cmd
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _has_taskset() -> bool:
    from shutil import which

    return which("taskset") is not None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller workloads (smoke check)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--skip", nargs="*", default=[], help="workloads to skip")
    ap.add_argument("--baseline", default=None,
                    help="src folder of another checkout, measured side by side")
    ap.add_argument("--off", action="store_true",
                    help="also measure this checkout with every mechanism switch off, "
                         "side by side (the scenario's switches otherwise)")
    ap.add_argument("--old-command", action="store_true",
                    help="also measure this checkout with the old command layer (switches "
                         "command_state and strategic_stance off), side by side")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds per workload, the checkouts alternating within each; the "
                         "best round is reported (default 3; 1 with --quick)")
    ap.add_argument("--scenario", default=None,
                    help="scenario file or bundled name the workloads are built from "
                         "(default: el-salvador-2010-2016)")
    args = ap.parse_args()
    if args.scenario:
        os.environ[SCENARIO_ENV] = str(Path(args.scenario).resolve()) if Path(
            args.scenario).exists() else args.scenario
    if args.child:
        result = WORKLOADS[args.child](args.quick)
        result["peak_rss_mib"] = _peak_rss_mib()
        print(json.dumps(result))
        return

    import numpy

    import trucesim

    sources = {"this": None}
    envs = {"this": {}}
    if args.off:
        sources["2b off"] = None
        envs["2b off"] = {OFF_ENV: "1"}
    if args.old_command:
        sources["old command"] = None
        envs["old command"] = {OLD_COMMAND_ENV: "1"}
    if args.baseline:
        sources["baseline"] = str(Path(args.baseline).resolve())
        envs["baseline"] = {}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu_model()},"
          f" python {platform.python_version()}, numpy {numpy.__version__},"
          f" load average {os.getloadavg()[0]:.1f}")
    print(f"this: {os.path.dirname(trucesim.__file__)}; baseline: {args.baseline}; "
          f"scenario: {os.environ.get(SCENARIO_ENV, 'el-salvador-2010-2016')}")
    # A shared machine's speed drifts by 10-20% over minutes (other tenants), more than
    # most changes to the day: each workload runs in rounds, this checkout and the others
    # alternating within a round, and the best round of each is reported (noise only
    # ever adds time).
    rounds = 1 if args.quick else max(args.rounds, 1)
    results: dict[str, dict] = {}
    for name in WORKLOADS:
        if name in args.skip or (args.quick and name == "cliques_100k_7y"):
            continue
        measure = "wall_s" if name.startswith("compile") else "cpu_s"
        labels = list(sources.items()) if name in MODEL_WORKLOADS else [("", None)]
        for round_ in range(rounds):  # the checkouts in turn, first in alternate rounds
            for label, source in labels[::-1] if round_ % 2 else labels:
                key = f"{name} [{label}]" if label else name
                r = run_child(name, args.quick, source, envs.get(label))
                print(f"  {key:28s} {round_ + 1}/{rounds} {r['wall_s']:9.3f} s wall "
                      f"{r['cpu_s']:9.3f} s cpu "
                      f"{r['per_unit_ns']:9.1f} ns/unit  "
                      f"{r['peak_rss_mib']:8.0f} MiB  {r['note']}", flush=True)
                seen = results.get(key, {}).get("rounds", []) + [round(r[measure], 3)]
                if key not in results or r[measure] < results[key][measure]:
                    results[key] = r
                results[key]["rounds"] = seen
    for key, r in results.items():
        if len(r["rounds"]) > 1:
            unit = "wall s" if key.startswith("compile") else "CPU s"
            r["note"] += f"; best of {len(r['rounds'])} rounds ({unit}: {r['rounds']})"

    print("\nns per clique-day (per agent-step for Mesa) and the ratios use CPU time "
          "(time.process_time), which a loaded machine inflates less than wall time.")
    print("\n| workload | wall (s) | CPU (s) | ns per clique-day | peak RSS (MiB) | note |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        unit = "agent-step" if name == "mesa_boltzmann" else ""
        per_unit = "" if r["units"] == 0 else f"{r['per_unit_ns']:.1f} {unit}"
        print(f"| {name} | {r['wall_s']:.3f} | {r['cpu_s']:.3f} | {per_unit} | "
              f"{r['peak_rss_mib']:.0f} | {r['note']} |")
    print()
    print("| ratio | " + " | ".join(sources) + " | target |")
    print("|---|" + "---|" * len(sources) + "---|")
    for label, target, better, value in _checks(results):
        cells = []
        for source in sources:
            v = value(lambda name, s=source: results.get(f"{name} [{s}]"))
            ok = v is not None and (v <= target if better == "<=" else v >= target)
            cells.append("n/a" if v is None else f"{v:.2f} {'(met)' if ok else '(NOT met)'}")
        print(f"| {label} | " + " | ".join(cells) + f" | {better} {target:g} |")
    for other in list(sources)[1:]:
        if "default [this]" in results and f"default [{other}]" in results:
            a, b = (results[f"default [{s}]"]["cpu_s"] for s in ("this", other))
            print(f"\ndefault run, {other} / this CPU time: {b / a:.2f}x")


def _checks(results: dict) -> list:
    """(label, target, direction, value(get)) for each tracked ratio; ``get(name)`` gives
    a workload's result for one engine, or None."""
    mesa = results.get("mesa_boltzmann")

    def ns(name):
        return lambda get: get(name)["per_unit_ns"] if get(name) else None

    def scaling(get):
        big, small = get("cliques_100k"), get("cliques_10k")
        if not (big and small):
            return None
        return (big["per_unit_ns"] * 100_000) / (small["per_unit_ns"] * 10_000)

    def vs_mesa(get):
        ours = get("cliques_100k")
        return mesa["per_unit_ns"] / ours["per_unit_ns"] if (mesa and ours) else None

    def default_cpu(get):
        return get("default")["cpu_s"] if get("default") else None

    def memory(get):
        return get("cliques_100k_7y")["peak_rss_mib"] if get("cliques_100k_7y") else None

    def compile_wall(name):
        return lambda get: get(name)["wall_s"] if get(name) else None

    return [
        ("first-use compile, 2 cores (wall s)", 15, "<=", compile_wall("compile")),
        ("first-use compile as a command does it, compiling ahead (wall s)", 15, "<=",
         compile_wall("compile_ahead")),
        ("default 7-year run (CPU s, construction included)", 0.1, "<=", default_cpu),
        ("ns per clique-day at 100k", 40, "<=", ns("cliques_100k")),
        ("time per day 100k / 10k", 12, "<=", scaling),
        ("Mesa BoltzmannWealth ns per agent-step / ours at 100k", 40, ">=", vs_mesa),
        ("ns per clique-day at 100k, whole 7-year scenario (every regime)", 100, "<=",
         ns("cliques_100k_7y")),
        ("peak RSS 100k cliques 7 years (MiB)", 1024, "<=", memory),
    ]


if __name__ == "__main__":
    main()
