"""Daily partitions (UTC days) shared by raw market data and the candles and features built on it.

One partition is one UTC day of bars. Runs over many days (a backfill, ``lockgate build``) run
once for the whole range (`SINGLE_RUN`): each step loads or rebuilds the range in one pass instead
of starting dbt once per day.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

# Binance spot opened in July 2017; nothing Lockgate reads is older.
FIRST_DAY = "2017-07-01"

# end_offset=1 adds today, still open: trades arriving live are rebuilt the same day.
daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC", end_offset=1)

SINGLE_RUN = dg.BackfillPolicy.single_run()


def partition_window(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> tuple[datetime, datetime] | None:
    """Return the ``[start, end)`` UTC range of the run's partitions, or None when unpartitioned.

    Asset checks have no partitions of their own; they see the run's partition (range) here.
    """
    op = (context.op_execution_context if isinstance(context, dg.AssetCheckExecutionContext)
          else context)
    if not (op.has_partition_key or op.has_partition_key_range):
        return None
    window = op.partition_time_window
    return window.start.astimezone(UTC), window.end.astimezone(UTC)


def day_key(moment: datetime) -> str:
    """Return the partition key of the UTC day holding ``moment``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
