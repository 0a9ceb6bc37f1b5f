"""``trucesim validate``: the calibrated model against El Salvador's record, in and out of sample.

Simulates 2010-2016 with the real event timeline from the calibrated scenario (many
replicates) and writes ``validation.md`` plus figures:

* in-sample fit (rows up to 2013-12-31, the only ones the calibration saw) and
  out-of-sample annual totals 2014-2016, each with the simulated 90% interval;
* the truce effect as a rate ratio (March 2012-December 2013 over January 2010-February
  2012) against the 0.55-0.61 of Katz, Hedberg and Amaya (2016);
* a checklist of stylised facts with the simulated figure and pass or fail;
* the parameter table: fitted values with their interval, fixed values with their source.
* out of sample, as it comes: the 2015 surge, the responses to the communiques after
  2013, police killed and killed by police per year, the Honduras-like truce's 28-day
  change, and the mechanisms' Shapley contributions to the surge and the 2012 drop.

The package is split by concern: :mod:`.simulate` (the replicates), :mod:`.stats`
(interval, rate ratios, annual and in-sample tables), :mod:`.outofsample` (the
out-of-sample sections and the ablation), :mod:`.facts` (the checklist),
:mod:`.parameters` (the parameter table), :mod:`.figures` (matplotlib), :mod:`.markdown`
(the report text) and :mod:`.validate` (the command, which writes the folder).
"""

from trucesim.calibration.validation.validate import run_validation

__all__ = ["run_validation"]
