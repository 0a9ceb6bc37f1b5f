"""How fast the dashboard's territory map follows the model at the default scale.

Measures, for the bundled 2016-letter scenario (600 cliques): building the map once,
the per-step recolour (``TerritoryMap.update``), encoding the PNG the browser receives,
and, for comparison, rebuilding the whole drawing each step. Prints milliseconds.

Run:  .venv/bin/python benchmarks/dashboard_map.py [--steps 50]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np

from trucesim.dashboard.charts import HomicideChart
from trucesim.dashboard.model import DashboardModel
from trucesim.dashboard.territory_map import TerritoryMap

CPU: list[tuple[str, float]] = []


def _ms(fn, repeat: int, label: str = "") -> np.ndarray:
    """Wall milliseconds of each call; CPU milliseconds are kept per label in CPU."""
    times = []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(1000 * (time.perf_counter() - t))
        CPU.append((label, 1000 * (time.process_time() - c)))
    return np.array(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50, help="steps measured (default: 50)")
    args = ap.parse_args()
    model = DashboardModel(scenario_name="el-salvador-2016-letter")
    t = time.perf_counter()
    tmap = TerritoryMap(model)
    build = 1000 * (time.perf_counter() - t)
    chart = HomicideChart(model)

    def png(fig):
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return len(buf.getvalue())

    update, encode, rebuild, chart_ms, step = [], [], [], [], []
    for _ in range(args.steps):
        step.append(_ms(lambda: [model.step() for _ in range(7)], 1, "step7")[0] / 7)
        update.append(_ms(lambda: tmap.update("restraint", True), 1, "update")[0])
        encode.append(_ms(lambda: png(tmap.figure), 1, "encode")[0])
        chart_ms.append(_ms(lambda: (chart.update(), png(chart.figure)), 1, "chart")[0])
    for _ in range(min(args.steps, 10)):
        rebuild.append(_ms(lambda: png(TerritoryMap(model).figure), 1, "rebuild")[0])
    size = png(tmap.figure)
    print(f"world: {model.territory.n} cliques, {len(model.territory.edges)} edges, "
          f"{len(model.front_edges()) // 2} fronts; {args.steps} frames of 7 days")
    print(f"map build (once):            {build:7.1f} ms")
    for name, label, values, per in (
        ("model step (per day)", "step7", step, 7),
        ("map update (recolour)", "update", update, 1),
        ("map PNG encode", "encode", encode, 1),
        ("homicide chart update+PNG", "chart", chart_ms, 1),
        ("full map rebuild+PNG", "rebuild", rebuild, 1),
    ):
        v = np.array(values)
        cpu = np.median([c for lab, c in CPU if lab == label]) / per
        print(f"{name:28s} wall median {np.median(v):7.1f} ms  p90 {np.percentile(v, 90):7.1f} ms"
              f"   cpu median {cpu:7.1f} ms")
    print(f"map PNG size: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
