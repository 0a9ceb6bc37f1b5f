"""Write the provisional nowcast posterior, src/trucesim/bundled/posterior/el-salvador-B.toml.

Hand-made until the ABC-SMC posterior (trucesim calibrate, protocol B) replaces it: 200
equally weighted parameter vectors, each parameter drawn log-normally around the value
of calibrated/el-salvador.toml with its [fit.intervals] range as +-2 sd, truncated to
that range. Run from the repository root: python tools/provisional_posterior.py
"""

import datetime as dt
import math
import tomllib
from pathlib import Path

import numpy as np

from trucesim.scenario.params import MODEL_VERSION
from trucesim.scenario.posterior import Posterior, posterior_toml

ROOT = Path(__file__).resolve().parent.parent / "src" / "trucesim" / "bundled"
N, SEED = 200, 2016


def main() -> None:
    fit = tomllib.loads((ROOT / "scenarios" / "calibrated" / "el-salvador.toml").read_text())
    rng = np.random.default_rng(SEED)
    names, columns = [], []
    for name, centre in fit["overrides"].items():
        lo, hi = fit["fit"]["intervals"][name]
        sd = math.log(hi / lo) / 4.0
        values = []
        while len(values) < N:
            v = centre * math.exp(rng.normal(0.0, sd))
            if lo <= v <= hi:
                values.append(v)
        names.append(name)
        columns.append(values)
    posterior = Posterior(
        names=tuple(names), values=np.array(columns).T, weights=np.full(N, 1.0 / N),
        protocol="B", data_until=dt.date(2013, 12, 31), seed=SEED, model_version=MODEL_VERSION,
        scenario="el-salvador-2010-2016", calibration="calibrated/el-salvador.toml",
        description=(
            "PROVISIONAL, hand-made (tools/provisional_posterior.py), not a fit: 200 equally "
            "weighted draws, each parameter log-normal around the differential-evolution "
            "values of calibrated/el-salvador.toml (data to 2013-12-31) with its "
            "[fit.intervals] range as +-2 sd, truncated to it. To be replaced by the "
            "pyabc ABC-SMC protocol B posterior."),
    )
    out = ROOT / "posterior" / "el-salvador-B.toml"
    out.parent.mkdir(exist_ok=True)
    out.write_text(posterior_toml(posterior))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
