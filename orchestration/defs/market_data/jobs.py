"""Jobs of raw market data's schedule and sensor: rebuild candles and features by UTC day."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.features.layout import CANDLES, FEATURES
from orchestration.defs.market_data.assets import RAW_EXCHANGE_CANDLES

# The candle and feature steps of the dbt project (their groups), with their checks.
CANDLES_AND_FEATURES = dg.AssetSelection.groups(CANDLES, FEATURES)

rebuild_days_job = dg.define_asset_job(
    "rebuild_candles_and_features", selection=CANDLES_AND_FEATURES,
    description="Rebuild the candles and features of one UTC day (trades arrived or changed).")

daily_job = dg.define_asset_job(
    "daily_market_data",
    selection=dg.AssetSelection.assets(RAW_EXCHANGE_CANDLES) | CANDLES_AND_FEATURES,
    description="Load the venue's candles of a finished UTC day, then rebuild its candles and "
                "features.")
