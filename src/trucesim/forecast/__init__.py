"""Forecast skill: proper scores, baselines and the rolling-origin backtest.

- :mod:`~trucesim.forecast.scores`: the weighted interval score (Bracher et al. 2021) with
  its three parts, absolute error of the median, interval coverage, and the pairwise
  relative WIS of the COVID-19 Forecast Hub (Cramer et al. 2022).
- :mod:`~trucesim.forecast.baselines`: a flat baseline and a negative-binomial one, fitted
  on the record known at the origin.
- :mod:`~trucesim.forecast.backtest`: the rolling-origin driver (any forecaster given as a
  callable), resumable, writing tidy Parquet tables.
- :mod:`~trucesim.forecast.report`: ``report.md`` from the driver's tables.

Nothing here is imported by the core.
"""
