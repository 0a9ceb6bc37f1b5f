"""Calibration and validation against the observed record: calibration files
(:mod:`.problem`), the fit (:mod:`.fit`), the record (:mod:`.observed`) and the
validation report (:mod:`.validation`)."""
