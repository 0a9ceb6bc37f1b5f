"""The figures of ``trucesim calibrate``: posterior marginals against the priors, the
pairwise posterior, and the posterior predictive checks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from trucesim.atomic import atomic_path
from trucesim.calibration.problem import CalibrationProblem
from trucesim.calibration.smc_report import PREDICTIVE_DRAWS
from trucesim.scenario.posterior import Posterior
from trucesim.stats import POINTS


def _title(problem: CalibrationProblem, calibration_file: str) -> str:
    return (f"{Path(calibration_file).name}: protocol {problem.spec.protocol}, data up to "
            f"{problem.data_until}")


def _log_axis(axis, set_scale) -> None:
    """A log scale labelled at powers of ten only (no crowded minor labels)."""
    from matplotlib.ticker import NullFormatter

    set_scale("log")
    axis.set_minor_formatter(NullFormatter())


def marginals_figure(problem: CalibrationProblem, posterior: Posterior, calibration_file: str):
    """Each parameter's weighted posterior histogram over its prior range."""
    import matplotlib.pyplot as plt

    d = len(posterior.names)
    cols = min(4, d)
    rows = math.ceil(d / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows),
                             layout="constrained", squeeze=False)
    qs = posterior.quantiles(POINTS)
    for j, (name, p) in enumerate(problem.priors.items()):
        ax = axes[j // cols][j % cols]
        x = posterior.values[:, j]
        lo, hi = prior_range(p)
        if p.log:
            bins = np.geomspace(lo, hi, 25)
            _log_axis(ax.xaxis, ax.set_xscale)
        else:
            bins = np.linspace(lo, hi, 25)
        ax.hist(x, bins=bins, weights=posterior.weights, density=True, color="#0072B2",
                alpha=0.7, label="posterior")
        q05, med, q95 = qs[name]
        ax.axvline(med, color="black", lw=1.2, label="median")
        ax.axvspan(q05, q95, color="#E69F00", alpha=0.2, label="90% interval")
        ax.set_xlim(lo, hi)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(f"value (prior: {p.prior} on [{lo:.3g}, {hi:.3g}])", fontsize=7)
        ax.set_yticks([])
        if j == 0:
            ax.legend(fontsize=6)
    for k in range(d, rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle(f"Posterior marginals (weighted, x axis = prior range); "
                 f"{_title(problem, calibration_file)}", fontsize=10)
    return fig


def prior_range(p) -> tuple[float, float]:
    """The axis range of a prior: its bounds, or for a lognormal one its 0.1% and 99.9%
    points (its lower bound may be 0)."""
    if p.prior == "lognormal":
        return p.quantile(0.001), p.quantile(0.999)
    return float(p.low), float(p.high)


def pairs_figure(problem: CalibrationProblem, posterior: Posterior, calibration_file: str):
    """Pairwise scatter of the particles (size by weight) over the prior ranges."""
    import matplotlib.pyplot as plt

    names = list(problem.priors)
    d = len(names)
    fig, axes = plt.subplots(d, d, figsize=(1.9 * d + 1, 1.9 * d + 1), layout="constrained",
                             squeeze=False)
    size = 4 + 60 * posterior.weights / posterior.weights.max()
    for i, ni in enumerate(names):
        for j, nj in enumerate(names):
            ax = axes[i][j]
            pi, pj = problem.priors[ni], problem.priors[nj]
            if i == j:
                ax.hist(posterior.values[:, j], bins=20, weights=posterior.weights,
                        color="#0072B2", alpha=0.7)
                ax.set_yticks([])
            elif i > j:
                ax.scatter(posterior.values[:, j], posterior.values[:, i], s=size, alpha=0.35,
                           color="#0072B2", lw=0)
                ax.set_ylim(*prior_range(pi))
                if pi.log:
                    _log_axis(ax.yaxis, ax.set_yscale)
            else:
                ax.axis("off")
                continue
            ax.set_xlim(*prior_range(pj))
            if pj.log:
                _log_axis(ax.xaxis, ax.set_xscale)
            ax.tick_params(labelsize=5)
            if i == d - 1:
                ax.set_xlabel(nj, fontsize=6)
            if j == 0 and i > 0:
                ax.set_ylabel(ni, fontsize=6)
    fig.suptitle(f"Pairwise posterior (dot size = weight, axes = prior ranges); "
                 f"{_title(problem, calibration_file)}", fontsize=9)
    return fig


def predictive_figure(problem: CalibrationProblem, pred: pd.DataFrame, calibration_file: str):
    """Simulated 90% interval and median against the observed value, per statistic."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.32 * len(pred) + 1.8), layout="constrained")
    y = np.arange(len(pred))[::-1]
    obs = pred["observed_per_day"].to_numpy()
    ax.hlines(y, pred["sim_q05"] / obs, pred["sim_q95"] / obs, color="#0072B2", lw=3,
              label="simulated 90% interval")
    ax.plot(pred["sim_median"] / obs, y, "o", color="#0072B2", label="simulated median")
    ax.axvline(1.0, color="black", lw=1, label="observed")
    ax.set_yticks(y, [f"{m} {r.split(':', 1)[1]}" for m, r in
                      zip(pred["metric"], pred["row"], strict=True)], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("simulated / observed mean per day over the row's span (log scale)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"Posterior predictive checks ({PREDICTIVE_DRAWS} runs); "
                 f"{_title(problem, calibration_file)}", fontsize=9)
    return fig


def save(fig, path: Path) -> None:
    """Write ``fig`` to ``path`` as a PNG (atomically) and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
