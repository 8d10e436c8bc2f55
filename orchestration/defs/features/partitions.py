"""Partitions of the dbt steps: the candle and feature steps share raw market data's UTC days
(`orchestration.defs.market_data.partitions`); vendor features and P&L are unpartitioned."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.features.layout import PARTITIONED_GROUPS
from orchestration.defs.market_data.partitions import SINGLE_RUN, daily_partitions


def partitions_for(group: str) -> dg.DailyPartitionsDefinition | None:
    """Return the partitions of a dbt step (``candles``, ``features``...), or None."""
    return daily_partitions if group in PARTITIONED_GROUPS else None


def backfill_policy_for(group: str) -> dg.BackfillPolicy | None:
    """Return the backfill policy of a dbt step: one dbt run per backfill when partitioned."""
    return SINGLE_RUN if group in PARTITIONED_GROUPS else None
