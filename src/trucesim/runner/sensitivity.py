"""Sensitivity indices of a sweep outcome with SALib (``trucesim analyze``).

Works on the results folder of a ``sobol`` or ``morris`` design. The outcome of each
design point is its mean over the successful replicates (common random numbers make
the points comparable); the indices are computed on the stored design in design order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trucesim.atomic import write_parquet
from trucesim.runner.experiment import RESERVED_COLUMNS
from trucesim.scenario.errors import ConfigError


def point_means(results, outcome: str) -> np.ndarray:
    """Mean of ``outcome`` over successful, finite replicates, for every design point."""
    runs = results.runs
    source = str(results.store.runs_path)
    if outcome not in runs.columns:
        valid = [c for c in runs.columns if c not in RESERVED_COLUMNS
                 and c not in results.design["parameters"]]
        raise ConfigError(source, "--outcome", f"no outcome {outcome!r}; valid: {', '.join(valid)}")
    ok = runs[runs["status"] == "ok"]
    means = ok.groupby("point")[outcome].mean()  # NaN replicates are skipped
    n_points = len(results.design["points"])
    means = means.reindex(range(n_points))
    missing = np.flatnonzero(~np.isfinite(means.to_numpy()))
    if len(missing):
        raise ConfigError(source, "--outcome", (
            f"{outcome!r} is missing or NaN at {len(missing)} of {n_points} design points "
            f"(first: point {missing[0]}); every point needs a value (finish the sweep, "
            "or pick an outcome defined for every run)"))
    return means.to_numpy(dtype=float)


def sensitivity_table(results, method: str, outcome: str) -> pd.DataFrame:
    """Sobol (S1, ST with confidence) or Morris (mu*, sigma) indices of ``outcome``."""
    design = results.design
    manifest = str(results.store.manifest_path)
    if design["method"] != method:
        raise ConfigError(manifest, "design.method",
                          f"the sweep used design {design['method']!r}; "
                          f"--method {method} needs a {method!r} design")
    problem = dict(design["problem"])
    y = point_means(results, outcome)
    exp = results.manifest["experiment"]
    seed = int(results.manifest["root_seed"]) % 2**32
    names = problem["names"]
    if method == "sobol":
        from SALib.analyze import sobol

        si = sobol.analyze(problem, y, calc_second_order=exp["design"]["second_order"],
                           seed=seed, print_to_console=False)
        cols = ["S1", "S1_conf", "ST", "ST_conf"]
    else:
        from SALib.analyze import morris

        x = np.array([[p[n] for n in names] for p in design["points"]], dtype=float)
        si = morris.analyze(problem, x, y, num_levels=exp["design"]["levels"], seed=seed,
                            print_to_console=False)
        cols = ["mu", "mu_star", "sigma", "mu_star_conf"]
    table = pd.DataFrame({c: np.asarray(si[c], dtype=float) for c in cols},
                         index=pd.Index(names, name="parameter"))
    table.insert(0, "outcome", outcome)
    return table


def sobol_view(table: pd.DataFrame) -> pd.DataFrame:
    """Sobol indices with their 95% confidence intervals, as printed by ``analyze``."""
    def cell(value: float, conf: float) -> str:
        return f"{value:.3f} [{value - conf:.3f}, {value + conf:.3f}]"

    return pd.DataFrame({
        "outcome": table["outcome"],
        "S1 [95% CI]": [cell(v, c) for v, c in zip(table["S1"], table["S1_conf"], strict=True)],
        "ST [95% CI]": [cell(v, c) for v, c in zip(table["ST"], table["ST_conf"], strict=True)],
    }, index=table.index)


def sobol_warnings(table: pd.DataFrame) -> list[str]:
    """Why Sobol indices from a small sample should not be read at face value.

    Indices lie in [0, 1] and S1 <= ST; estimates outside that, or confidence intervals
    wider than 0.2, mean the sample is too small for the parameters' effects.
    """
    out = []
    negative = table.index[table["S1"] < 0].tolist()
    above = table.index[table["ST"] > 1].tolist()
    wide = table.index[(table[["S1_conf", "ST_conf"]] > 0.1).any(axis=1)].tolist()
    if negative:
        out.append(f"negative first-order index for {', '.join(negative)}: indices lie in "
                   "[0, 1], so these are sampling noise")
    if above:
        out.append(f"total index above 1 for {', '.join(above)}: indices lie in [0, 1], so "
                   "these are sampling noise")
    if wide:
        out.append(f"confidence intervals wider than 0.2 for {', '.join(wide)}")
    if out:
        out.append("the Sobol sample is too small to separate these effects: raise "
                   "design.samples (a power of 2) and run the sweep again")
    return out


def analyze(folder: str | Path, method: str, outcome: str) -> tuple[pd.DataFrame, list[Path]]:
    """Compute the indices, write them as CSV and Parquet in the folder; return both."""
    from trucesim.runner.results import SweepResults

    results = SweepResults(folder)
    table = sensitivity_table(results, method, outcome)
    slug = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in outcome)
    base = Path(folder) / f"sensitivity-{method}-{slug}"
    from trucesim.atomic import atomic_path

    with atomic_path(base.with_suffix(".csv")) as tmp:
        table.to_csv(tmp)
    write_parquet(base.with_suffix(".parquet"), table.reset_index())
    return table, [base.with_suffix(".csv"), base.with_suffix(".parquet")]
