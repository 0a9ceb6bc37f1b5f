"""The validation report as Markdown, and the plain-words out-of-sample verdict."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from trucesim.calibration.observed import FIT_CUTOFF
from trucesim.calibration.validation.facts import Fact
from trucesim.calibration.validation.stats import KATZ_RATE_RATIO


def _md_table(df: pd.DataFrame, floats: str = "{:.2f}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append("" if math.isnan(v) else floats.format(v))
            elif isinstance(v, bool):
                cells.append("yes" if v else "no")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(ctx: dict[str, Any]) -> str:
    """The validation report (Markdown) from the computed context."""
    annual: pd.DataFrame = ctx["annual"]
    out_rows = annual[annual["sample"] == "out"]
    in_rows = annual[annual["sample"] != "out"]
    lines = []
    if ctx["future_data"]:
        lines.append(f"**WARNING: the calibration used data after {FIT_CUTOFF} "
                     "(allow_future_data = true); 2014-2016 are NOT out of sample.**\n")
    lines += [
        f"# Validation of {ctx['scenario']}", "",
        f"{ctx['replicates']} replicates, root seed {ctx['seed']}, simulated "
        f"{ctx['start']} to {ctx['end']} with the real event timeline; calibration "
        f"`{ctx['calibration_file']}` (fitted to data up to {ctx['data_until']}). "
        f"Intervals are the central 90% of replicates: simulation noise at the fitted "
        f"values, not parameter uncertainty. {ctx['elapsed']:.0f} s.", "",
        "![trajectory](trajectory.png)", "",
        "## Annual homicides", "",
        _md_table(annual.assign(error=annual["error"] * 100).rename(
            columns={"error": "error %", "inside_90": "observed inside 90%"}), "{:.0f}"), "",
        f"In sample (2010-2013): mean absolute error {ctx['in_mae']:.0f}% of the observed "
        f"totals; {int(in_rows['inside_90'].sum())}/{len(in_rows)} observed totals inside "
        "the simulated 90% interval.",
        f"Out of sample (2014-2016): mean absolute error {ctx['out_mae']:.0f}%; "
        f"{int(out_rows['inside_90'].sum())}/{len(out_rows)} inside the interval.", "",
        "![annual](annual.png)", "",
        "## In-sample statistics (every data row up to 2013 with a simulated counterpart)", "",
        _md_table(ctx["in_sample"].drop(columns=["source"]), "{:.3f}"), "",
        "## Truce effect", "",
        f"Rate ratio, mean recorded homicides March 2012-December 2013 over January "
        f"2010-February 2012: simulated {ctx['rate_ratio']}; the record (annual totals, "
        f"January-February 2012 at the observed early-2012 daily mean) gives "
        f"{ctx['observed_ratio']:.2f}; Katz, Hedberg and Amaya (2016, Bulletin of the WHO) "
        f"estimate {KATZ_RATE_RATIO[0]}-{KATZ_RATE_RATIO[1]}. Simulated median "
        f"{'inside' if ctx['ratio_inside'] else 'outside'} that range "
        f"({ctx['ratio_share']:.0%} of replicates inside).", "",
        "## Stylised facts", "",
        "| fact | criterion | observed | simulated: median [90%] | share of replicates | result |",
        "|---|---|---|---|---|---|",
    ]
    for f in ctx["facts"]:
        lines.append(f"| {f.name} | {f.criterion} | {f.observed} | {f.simulated} | "
                     f"{f.share:.0%} | {'PASS' if f.passed else 'FAIL'} |")
    lines += ["", "![facts](facts.png)", "", "## Out-of-sample assessment", "", ctx["assessment"],
              "", "## Parameters", "",
              "Fitted values with the range among the best evaluations of the calibration; "
              "fixed values with their source (\"assumption\" where none).", "",
              _md_table(ctx["parameters"]), ""]
    return "\n".join(lines)


def assessment(annual: pd.DataFrame, facts: list[Fact]) -> str:
    """Plain-words verdict on the out-of-sample fit, with what the model likely misses.

    Good: every out-of-sample total inside the 90% interval and a mean absolute error
    under 15%; poor: none inside, or an error of 25% or more; otherwise mixed.
    """
    out = annual[annual["sample"] == "out"].set_index("year")
    inside = int(out["inside_90"].sum())
    mae = float(out["error"].abs().mean() * 100)
    parts = [f"Out of sample the model puts {inside} of {len(out)} observed annual totals inside "
             f"its 90% interval (mean absolute error {mae:.0f}%)."]
    if inside == len(out) and mae < 15:
        parts.append("The out-of-sample fit is good.")
        return " ".join(parts)
    poor = inside == 0 or mae >= 25
    parts.append("The out-of-sample fit is poor." if poor else "The out-of-sample fit is mixed.")
    worst = out["error"].abs().idxmax()
    parts.append(f"The largest miss is {worst}: simulated {out.loc[worst, 'simulated']:.0f} "
                 f"against {out.loc[worst, 'observed']:.0f} observed.")
    if 2015 in out.index and out.loc[2015, "error"] < -0.15:
        parts.append(
            "The model does not produce the 2015 record year: after the truce it returns to "
            "about its pre-truce level, while the record rose far above it. Likely missing: "
            "an escalation of the gangs against each other and the state once the leaders "
            "were back in maximum security (in the model, isolation cuts the leaders' "
            "ability to order escalation as much as restraint, and the fitted violence "
            "rates are constant in time); the growth of the gangs and of their extortion "
            "during the truce; and the war between the two Barrio 18 factions in 2015. "
            "Police killings rise under hardline policy in the model, but their lethal "
            "spiral with the gangs is not fitted (police deaths are set by the regime "
            "presets).")
    return " ".join(parts)
