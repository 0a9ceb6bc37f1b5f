"""The validation report as Markdown, and the plain-words out-of-sample verdict."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from trucesim.calibration.validation.facts import Fact
from trucesim.calibration.validation.stats import FIT_CUTOFF, KATZ_RATE_RATIO
from trucesim.stats import interval


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
        lines.append(f"**WARNING: the calibration used data after {FIT_CUTOFF} (its data_until "
                     f"is {ctx['data_until']}); 2014-2016 are NOT out of sample.**\n")
    lines += [
        f"# Validation of {ctx['scenario']}", "",
        f"{ctx['replicates']} replicates, root seed {ctx['seed']}, simulated "
        f"{ctx['start']} to {ctx['end']} with the real event timeline; calibration "
        f"`{ctx['calibration_file']}` (fitted to data up to {ctx['data_until']}). "
        f"{intervals_sentence(ctx)} {ctx['elapsed']:.0f} s.", "",
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
    lines += ["", "![facts](facts.png)", ""]
    if "surge" in ctx:
        lines += out_of_sample_sections(ctx)
    lines += ["## Out-of-sample assessment", "", ctx["assessment"],
              "", "## Parameters", "",
              "Fitted values with the range among the best evaluations of the calibration; "
              "fixed values with their source (\"assumption\" where none).", "",
              _md_table(ctx["parameters"]), ""]
    return "\n".join(lines)


def intervals_sentence(ctx: dict[str, Any]) -> str:
    """Which uncertainty the report's intervals carry, in words."""
    post = ctx.get("posterior")
    if not post:
        return ("Intervals are the central 90% of replicates and carry noise only, at one "
                "fitted point: simulation noise at the fitted values, not parameter "
                "uncertainty.")
    held = post.get("held_at_scenario_value") or []
    return ("Intervals are posterior predictive: the central 90% of replicates, replicate r "
            f"running draw r of the posterior `{post['file']}` (protocol {post['protocol']}, "
            f"fitted to data up to {post['data_until']}, {post['particles']} particles, "
            f"effective size {post['effective_size']:.0f}), in this and in the "
            "Honduras-like scenario; they carry posterior parameters and noise, in and out "
            "of sample." + (f" Held at the scenario's value: {', '.join(held)}." if held
                            else ""))


def assessment(annual: pd.DataFrame, facts: list[Fact], ablation: bool = True) -> str:
    """Plain-words verdict on the out-of-sample fit, and what the model does not have when
    it falls short of 2015.

    Good: every out-of-sample total inside the 90% interval and a mean absolute error
    under 15%; poor: none inside, or an error of 25% or more; otherwise mixed.
    ``ablation``: whether the report has an ablation section to point to.
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
            f"The model falls short of the 2015 record year by "
            f"{-out.loc[2015, 'error']:.0%}. What it does not have: violence rates that "
            "change in time other than through its mechanisms and the dated events; "
            "killings by extermination groups as a stream of their own; and any measured "
            "size for the Barrio 18 Revolucionarios and MS-503 splits (their dates and "
            "shares are assumptions)." + (
                " The ablation section gives what each mechanism that is on contributes to "
                "the surge." if ablation else " The ablation was not run (ablation "
                "replicates 0): run validate with --ablation-replicates to see what each "
                "mechanism contributes to the surge."))
    return " ".join(parts)


def _pct(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:+.0%}"


def out_of_sample_sections(ctx: dict[str, Any]) -> list[str]:
    """The surge, communique, police-deaths, Honduras-like and ablation sections: each as
    it comes out of the model (nothing here was fitted)."""
    lines = ["## Out of sample, as it comes (nothing below was fitted or tuned)", ""]
    if ctx.get("posterior") and ctx.get("ablation") is not None:
        lines += ["Every interval below except the ablation's is posterior predictive (one "
                  "posterior draw per replicate); the ablation runs at the fitted point, "
                  "so its ranges are noise only.", ""]
    elif ctx.get("posterior"):
        lines += ["Every interval below is posterior predictive (one posterior draw per "
                  "replicate).", ""]
    med, lo, hi = interval(ctx["surge"])
    obs = ctx["observed_surge"]
    verdict = ("inside" if lo <= obs <= hi else "below" if obs < lo else "above")
    lines += [
        "### The surge: 2015 over the pre-truce level", "",
        f"Mean recorded homicides per day in 2015 over January 2010-February 2012: "
        f"simulated {med:.2f} [90%: {lo:.2f}, {hi:.2f}], observed {obs:.2f} (PNC totals; "
        f"January-February 2012 at the observed early-2012 daily mean). The observed "
        f"surge is {verdict} the simulated interval"
        + ("." if verdict == "inside" else
           f": the model {'misses' if verdict == 'above' else 'overshoots'} the surge "
           f"by {abs(obs / med - 1):.0%} of the simulated median."), "",
    ]
    com: pd.DataFrame = ctx["communiques"]
    lines += ["### Responses to the communiques after 2013", "",
              "Change in recorded homicides per day over the 7 and 30 days from each "
              "communique (the day itself included) against the 30 days before it; "
              "simulated median [90% interval] and mean over replicates; observed where "
              "the record has figures tiling both windows.", ""]
    if com.empty:
        lines += ["The scenario has no communique after 2013.", ""]
    else:
        t = pd.DataFrame({
            "date": com["date"], "communique": com["communique"], "stance": com["stance"],
            "gangs": com["gangs"], "window": com["window"],
            "simulated [90%]": [f"{_pct(m)} [{_pct(a)}, {_pct(b)}]"
                                for m, a, b in zip(com["simulated"], com["p05"], com["p95"],
                                                   strict=True)],
            "simulated mean": [_pct(x) for x in com["simulated_mean"]],
            "observed": [_pct(x) if math.isfinite(x) else n
                         for x, n in zip(com["observed"], com["observed_note"], strict=True)],
        })
        lines += [_md_table(t), ""]
        if not com["observed"].notna().any():
            lines += ["The record in the data file has no daily or weekly homicide figures "
                      "around these dates (annual totals, and monthly PNC counts for "
                      "January-June 2016 only), so no communique response can be compared "
                      "on the same windows; the monthly figures, where they exist, are "
                      "given for context, and they mix the communique with everything "
                      "else that month (the April 2016 extraordinary measures).", ""]
    deaths: pd.DataFrame = ctx["deaths"]
    lines += ["### Police killed and gang members killed by police, per year", "",
              "Simulated mean, median and 90% interval of the annual count over "
              "replicates; observed where the data file has the year.", ""]
    d = deaths.assign(observed=[("" if not math.isfinite(x) else f"{x:.0f}")
                                for x in deaths["observed"]],
                      inside_90=[("" if v is None else "yes" if v else "no")
                                 for v in deaths["inside_90"]])
    lines += [_md_table(d.rename(columns={"simulated": "simulated median",
                                          "inside_90": "observed inside 90%"}), "{:.1f}"),
              ""]
    years = sorted(set(deaths.loc[deaths["observed"].notna(), "year"]))
    later = [y for y in years if y > FIT_CUTOFF.year]
    lines += [f"The record has annual figures for {', '.join(map(str, years)) or 'no year'} "
              + ("only (all in the fitting window); no year after "
                 f"{FIT_CUTOFF.year} can be compared with it." if not later else
                 f"(out of sample: {', '.join(map(str, later))})."), ""]
    n = ctx["honduras_window"]
    hm, hl, hh = interval(ctx["honduras_change"])
    lines += [
        "### The Honduras-like truce", "",
        f"Change in recorded homicides per day over the {n} days from the truce's start "
        f"({ctx['honduras_start']}) against the {n} days before, in the honduras-like-2013 "
        f"scenario with the fitted El Salvador values: "
        f"{_pct(hm)} [90%: {_pct(hl)}, {_pct(hh)}] (median over replicates). The data "
        "file has no Honduran figure; the record is "
        "qualitative: the Honduran truce of 2013 did nothing measurable. "
        + ("The simulated median is within 10% of no change, as in the record."
           if abs(hm) <= 0.10 else
           "The simulated median is more than 10% away from no change: the model makes "
           "this truce do something the record says it did not."), "",
    ]
    abl = ctx.get("ablation")
    lines += ["### Ablation: each mechanism's contribution", ""]
    if abl is None:
        lines += ["Not run (ablation replicates 0).", ""]
        return lines
    t = abl.table
    lines += [
        f"Exact Shapley contributions of each mechanism switch on in the scenario "
        f"({', '.join(abl.mechanisms)}): all {2 ** len(abl.mechanisms)} on/off combinations "
        f"run through the sweep runner (trucesim attribute), {abl.replicates} replicate(s) "
        f"each with common random numbers, {abl.elapsed:.0f} s. The surge here is the "
        "runner's `year.2015.homicides / phase.pre_truce.homicides` (pre-truce phase to "
        "7 March 2012), the drop its `truce_rate_ratio` (truce phases, March 2012-May 2014, "
        "over the pre-truce phase). `shapley` on the replicate-mean outcome; p05-p95 over "
        "per-replicate Shapley values. The contributions of an outcome sum to all on minus "
        "all off.", "",
        _md_table(t, "{:.3f}"), "",
    ]
    for outcome, group in t.groupby("outcome", sort=False):
        small = group[(group["p05"] <= 0) & (group["p95"] >= 0)
                      & (group["shapley"].abs() < 0.02)]["mechanism"].tolist()
        if small:
            lines.append(f"- {outcome}: no measurable contribution (|Shapley| < 0.02, "
                         f"range straddling 0) from {', '.join(small)}.")
    lines.append("")
    return lines
