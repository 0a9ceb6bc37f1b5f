"""Peak memory of the nowcast filter per particle (600 cliques): one command.

    python benchmarks/nowcast_memory.py 90 [CUTOFF]

Runs the filter (bundled posterior, one thread) with N/3 and N particles to CUTOFF
(default 2011-12-31) under tracemalloc and prints each peak and the difference per
particle (Python's own overhead and numba's code come on top in RSS, printed last).
"""

from __future__ import annotations

import datetime as dt
import gc
import resource
import sys
import time
import tracemalloc

from trucesim.calibration.nowcast import read_posterior, run_filter


def main() -> None:
    post = read_posterior(None)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 90
    cut = dt.date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else dt.date(2011, 12, 31)
    run_filter(4, posterior=post, cutoff=dt.date(2010, 3, 31), workers=1)  # compile
    peaks = {}
    for count in (n // 3, n):
        gc.collect()
        tracemalloc.start()
        started = time.perf_counter()
        result = run_filter(count, posterior=post, cutoff=cut, workers=1)
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peaks[count] = peak
        print(f"{count} particles: peak {peak:,} B, held after {held:,} B, "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        del result
    a, b = sorted(peaks)
    print(f"per particle (peak difference): {(peaks[b] - peaks[a]) / (b - a):,.0f} B")
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
