"""Regenerate a bundled posterior: calibrate, then copy the posterior file into the package.

    python tools/bundle_posterior.py calibration/el-salvador-2013.toml A [--workers 2]
    python tools/bundle_posterior.py calibration/el-salvador-2016-07-14.toml B [--workers 2]

(``make posterior`` runs both.) Each run starts afresh in its own folder,
``results/posterior-<protocol>-<UTC time>`` (nothing earlier is touched or resumed, so a
changed model is never mixed with an old history), runs ``trucesim calibrate`` with the
settings in the calibration file, checks that the posterior is of the protocol asked
for, and writes it to ``src/trucesim/bundled/posterior/el-salvador-<protocol>.toml``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "src" / "trucesim" / "bundled" / "posterior"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("calibration", type=Path)
    p.add_argument("protocol", choices=["A", "B"])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=Path, default=None,
                   help="calibration folder (default: results/posterior-<protocol>-<time>)")
    args = p.parse_args(argv)

    from trucesim.atomic import atomic_path
    from trucesim.calibration.smc import run_calibration
    from trucesim.calibration.smc_folder import POSTERIOR
    from trucesim.scenario.posterior import load_posterior

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "results" / f"posterior-{args.protocol}-{stamp}"
    code = run_calibration(args.calibration, workers=args.workers, out=out)
    if code != 0:
        return code
    posterior = load_posterior(out / POSTERIOR)
    if posterior.protocol != args.protocol:
        print(f"error: {out / POSTERIOR}: protocol {posterior.protocol}, not {args.protocol}",
              file=sys.stderr)
        return 2
    target = BUNDLED / f"el-salvador-{args.protocol}.toml"
    with atomic_path(target) as tmp:
        shutil.copyfile(out / POSTERIOR, tmp)
    print(f"bundled {target.relative_to(ROOT)} (from {out})")
    return 0


if __name__ == "__main__":
    import matplotlib

    from trucesim.scenario.errors import ConfigError

    matplotlib.use("Agg")
    try:
        sys.exit(main())
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
