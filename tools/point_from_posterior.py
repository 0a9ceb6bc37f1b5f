"""Write the scenarios' point values from the bundled protocol-A posterior.

    python tools/point_from_posterior.py

A scenario run without ``--posterior`` uses one parameter vector: the weighted posterior
median of each parameter of ``src/trucesim/bundled/posterior/el-salvador-A.toml`` (data up
to 2013-12-31 only), written to ``src/trucesim/bundled/scenarios/calibrated/el-salvador.toml``
with the 5-95% posterior quantiles as its intervals (``make posterior`` runs this after the
calibrations). Runs with ``--posterior`` draw from the posterior itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "src" / "trucesim" / "bundled"


def point_toml(posterior) -> str:
    """The calibrated-values file for ``posterior``: medians, and 5-95% intervals."""
    q = posterior.quantiles((0.05, 0.5, 0.95))
    lines = [
        "# Point values of the El Salvador scenarios: the weighted posterior median of each",
        "# parameter of the protocol-A posterior (../../posterior/el-salvador-A.toml, data up",
        "# to 2013-12-31 only), written by `python tools/point_from_posterior.py`. A scenario",
        "# uses it with `calibration = \"<this file>\"`; values the scenario file sets itself win.",
        f'description = "Weighted posterior medians of {posterior.description}"',
        "",
        "[overrides]",
    ]
    lines += [f'"{name}" = {lo_mid_hi[1]:.6g}' for name, lo_mid_hi in q.items()]
    lines += [
        "",
        "[fit]",
        f"data_until = {posterior.data_until.isoformat()}",
        f'method = "{posterior.description}"',
        'posterior = "../../posterior/el-salvador-A.toml"',
        f"effective_sample_size = {posterior.effective_size:.1f}",
        'interval = "weighted 5-95% quantiles of the posterior"',
        "",
        "[fit.intervals]",
    ]
    lines += [f'"{name}" = [{lo:.6g}, {hi:.6g}]' for name, (lo, _, hi) in q.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    from trucesim.atomic import atomic_path
    from trucesim.scenario.posterior import load_posterior

    posterior = load_posterior(BUNDLED / "posterior" / "el-salvador-A.toml")
    if posterior.protocol != "A":
        print("error: el-salvador-A.toml is not a protocol-A posterior", file=sys.stderr)
        return 2
    target = BUNDLED / "scenarios" / "calibrated" / "el-salvador.toml"
    with atomic_path(target) as tmp:
        Path(tmp).write_text(point_toml(posterior))
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
