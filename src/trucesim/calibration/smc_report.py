"""The report of ``trucesim calibrate``: the posterior predictive table and the Markdown
report (tolerance schedule, posterior, predictive checks)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trucesim.calibration.problem import CalibrationProblem
from trucesim.calibration.smc_folder import HISTORY
from trucesim.scenario.posterior import Posterior
from trucesim.stats import POINTS, quantiles

#: Fresh simulations from the posterior for the predictive checks.
PREDICTIVE_DRAWS = 100


def predictive_table(problem: CalibrationProblem, sims: np.ndarray) -> pd.DataFrame:
    """Per target statistic: observed and the simulated 5%, 50% and 95% (mean per day)."""
    rows = []
    for i, s in enumerate(problem.stats):
        col = sims[:, i][np.isfinite(sims[:, i])]
        q = quantiles(col) if len(col) else [math.nan] * 3
        rows.append({
            "target": problem.spec.targets[problem.target_of[i]].name, "row": s.row.id,
            "metric": s.metric, "days": s.row.days, "observed_per_day": s.observed,
            "sim_q05": float(q[0]), "sim_median": float(q[1]), "sim_q95": float(q[2]),
            "inside_90": bool(q[0] <= s.observed <= q[2]), "baseline": s.baseline,
        })
    return pd.DataFrame(rows)


def _num(x: float) -> str:
    return f"{x:.4g}"


def report(problem: CalibrationProblem, posterior: Posterior, table: pd.DataFrame,
           pred: pd.DataFrame, calibration_file: str, elapsed: float) -> str:
    """The calibration report (Markdown)."""
    spec, m = problem.spec, problem.spec.method
    qs = posterior.quantiles(POINTS)
    last = table.iloc[-1]
    lines = [
        f"# Calibration posterior: {calibration_file}", "",
        f"Protocol {spec.protocol}: data up to {problem.data_until}; scenario "
        f"`{problem.scenario.name}` simulated {problem.scenario.start} to {problem.fit_end}; "
        f"{len(problem.stats)} statistics from {len(spec.targets)} targets.",
        f"Method: pyabc ABC-SMC, {m.population_size} particles"
        f"{f' (adaptive, at most {m.max_population_size})' if m.adaptive_population else ''}, "
        f"tolerance the {'median' if m.epsilon == 'median' else f'{m.alpha:g} quantile'} of "
        f"the previous generation's distances (unweighted), perturbation kernel "
        f"{m.kernel_scaling:g} x Silverman's bandwidth, one simulation per particle, seed "
        f"{spec.seed}.",
        f"{len(table)} generations, {int(table['simulations'].sum())} simulations "
        f"(plus the prior sample that set the first tolerance); final epsilon "
        f"{_num(last['epsilon'])}, acceptance rate {last['acceptance_rate']:.3f}, effective "
        f"sample size {last['ess']:.0f} of {int(last['particles'])}; this session "
        f"{elapsed:.0f} s.", "",
        "## Tolerance schedule", "",
        "| generation | epsilon | particles | simulations | acceptance rate | ESS |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(f"| {r.generation} | {_num(r.epsilon)} | {r.particles} | {r.simulations} "
                     f"| {r.acceptance_rate:.3f} | {r.ess:.0f} |")
    lines += ["", "## Posterior (weighted; last generation)", "",
              "| parameter | prior | median | 90% interval |", "|---|---|---|---|"]
    for name, p in problem.priors.items():
        lo, med, hi = qs[name]
        prior = (f"{p.prior} [{_num(p.low)}, {_num(p.high)}]"
                 if p.prior not in ("normal", "lognormal") else
                 f"{p.prior}({_num(p.mean)}, {_num(p.sd)}) on [{_num(p.low)}, {_num(p.high)}]")
        lines.append(f"| `{name}` | {prior} | {_num(med)} | {_num(lo)} to {_num(hi)} |")
    inside = int(pred["inside_90"].sum())
    lines += ["", f"## Posterior predictive checks ({PREDICTIVE_DRAWS} fresh runs of "
              "posterior draws)", "",
              f"The observed value lies inside the simulated 90% interval for {inside} of "
              f"{len(pred)} statistics (mean per day over each row's span).", "",
              "| target | data row | observed | simulated median | simulated 90% | inside |",
              "|---|---|---|---|---|---|"]
    for r in pred.itertuples():
        base = f" (incl. baseline {r.baseline:g})" if r.baseline else ""
        lines.append(f"| {r.target} | `{r.row}`{base} | {r.observed_per_day:.3f} | "
                     f"{r.sim_median:.3f} | {r.sim_q05:.3f} to {r.sim_q95:.3f} | "
                     f"{'yes' if r.inside_90 else 'NO'} |")
    lines += ["", "Figures: `marginals.png` (each parameter's posterior against its prior), "
              "`pairs.png` (pairwise posterior), `predictive.png` (the checks above). "
              f"The history (`{HISTORY}`) can be inspected with pyabc "
              "(`pyabc.History('sqlite:///history.db')`)."]
    return "\n".join(lines) + "\n"
