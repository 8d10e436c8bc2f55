"""Data-quality suites (great_expectations) for candles and features.

The suites import pandas and great_expectations, which take seconds to load: asset checks import
these modules inside their bodies, so loading the code location stays fast.
"""
