"""What a filtered ensemble's numbers can honestly say: enough particles for an interval,
a warning when the ensemble collapsed, and a note where a weighted mean lies outside its
own 5-95% band.

* **Fewest particles.** A 5-95% interval over fewer than :data:`MIN_PARTICLES` particles
  is the smallest and largest particle, not an interval: ``--particles 1`` printed
  "9,751 (9,751-9,751)" and "lower in 100% of particles" as if they carried posterior,
  state and noise uncertainty. Commands refuse fewer (:func:`check_particles`).
* **Collapse.** After weighting by a period, the effective sample size (ESS,
  ``1 / sum(w**2)``) says how many particles the weights rest on. Below
  :data:`COLLAPSE_SHARE` of the ensemble (or below :data:`MIN_PARTICLES`) the period's
  band rests on a handful of particles and understates the uncertainty:
  :func:`collapse_warning` says so, naming the period.
* **Mean outside its band.** A weighted mean is a weighted average, the 5% and 95% points
  are particles' values: when one particle holds most of the weight, both points are
  that particle and the mean (pulled by the rest) lies outside them.
  :func:`annotate_bands` adds ``mean_in_band`` and a ``note`` saying why.
"""

from __future__ import annotations

import pandas as pd

from trucesim.scenario.errors import ConfigError

#: Fewest particles whose 5-95% intervals are printed (the 5% and 95% points of fewer
#: than 10 values are their extremes).
MIN_PARTICLES = 10
#: An ESS below this share of the ensemble after a period is reported as a collapse.
COLLAPSE_SHARE = 0.05


def check_particles(particles: int, key: str = "--particles") -> None:
    """Refuse fewer than :data:`MIN_PARTICLES` particles, in one line."""
    if particles < MIN_PARTICLES:
        raise ConfigError(key, "", f"{particles} is below {MIN_PARTICLES}, the fewest particles "
                          "whose 5-95% intervals mean anything (with fewer, the 5% and 95% "
                          "points are the smallest and largest particle)")


def collapse_warning(table: pd.DataFrame, particles: int) -> str | None:
    """One line naming the periods after which the ensemble rested on few particles
    (ESS below :data:`COLLAPSE_SHARE` of ``particles`` or below :data:`MIN_PARTICLES`),
    or None."""
    floor = max(COLLAPSE_SHARE * particles, min(MIN_PARTICLES, particles / 2))
    low = table[table["ess"] < floor]
    if low.empty:
        return None
    worst = low.loc[low["ess"].idxmin()]
    return (f"warning: the ensemble collapsed after {len(low)} of {len(table)} periods (effective "
            f"sample size below {floor:.1f} of {particles}; lowest {worst['ess']:.1f} after "
            f"{worst['period']}): those periods' bands rest on a few particles and understate "
            "the uncertainty; use more particles")


def annotate_bands(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``mean_in_band`` (the filtered mean within its own 5-95% band) and a
    ``note`` saying why where it is not (the weight concentrated on one or a few
    particles, with the ESS)."""
    out = table.copy()
    inside = (out["filtered_mean"] >= out["filtered_p05"]) & (
        out["filtered_mean"] <= out["filtered_p95"])
    out["mean_in_band"] = inside
    out["note"] = [
        "" if ok else (f"mean outside the 5-95% band: the weights rest on about {ess:.1f} "
                       "particles, so the 5% and 95% points are one or two particles' values "
                       "while the weighted mean also counts the rest")
        for ok, ess in zip(inside, out["ess"], strict=True)]
    return out
