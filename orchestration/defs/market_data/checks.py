"""Checks on raw market data: the candle suite on the venue's bars (blocking), trade freshness.

`candle_suite_result` is shared with the check on the ``fct_candles`` mart
(`orchestration.defs.features.checks`).
"""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
import dagster as dg
from dagster import AssetCheckExecutionContext

from orchestration.defs.market_data.assets import RAW_EXCHANGE_CANDLES, RAW_TRADES
from orchestration.defs.market_data.partitions import partition_window
from orchestration.defs.market_data.resources import CandleQuality
from orchestration.resources import DatabaseResource
from orchestration.sql import quoted

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

# Live ingestion writes trades within seconds; an hour without one means the feed stopped.
TRADES_MAX_AGE = timedelta(hours=1)


def candle_suite_result(context: AssetCheckExecutionContext, database: DatabaseResource,
                        schema: str, table: str, quality: CandleQuality) -> dg.AssetCheckResult:
    """Run the candle suite on the bars of ``schema.table`` in the run's partition window."""
    # pandas and great_expectations take seconds to import: load them when a check runs.
    from orchestration.quality.candles import check_candles  # noqa: PLC0415
    from orchestration.quality.frames import read_bars  # noqa: PLC0415

    window = partition_window(context)
    relation = quoted(schema, table)

    async def read(conn: asyncpg.Connection) -> "pd.DataFrame":
        return await read_bars(conn, relation, window)

    frame = database.run(read)
    outcome = check_candles(frame, quality.limits())
    context.log.info(f"{table}: {outcome.rows} bars, failed rules: "
                     f"{', '.join(outcome.failed_rules) or 'none'}")
    metadata = outcome.metadata()
    if window is not None:
        metadata["window"] = f"{window[0].isoformat()} .. {window[1].isoformat()}"
    return dg.AssetCheckResult(passed=outcome.passed, severity=dg.AssetCheckSeverity.ERROR,
                               metadata=metadata)


@dg.asset_check(asset=RAW_EXCHANGE_CANDLES, name="candle_expectations", blocking=True,
                description="great_expectations candle suite on the venue's bars: nulls, "
                            "ranges, OHLC consistency, monotonic time, duplicate bars, gap ratio,"
                            " price-jump outliers. Blocks everything built from them.")
def exchange_candle_expectations(context: AssetCheckExecutionContext,
                                 database: DatabaseResource,
                                 quality: CandleQuality) -> dg.AssetCheckResult:
    """Validate the venue bars of the run's days."""
    return candle_suite_result(context, database, "public", "exchange_candles", quality)


@dg.asset_check(asset=RAW_TRADES, name="trades_freshness", blocking=False,
                description=f"The newest stored trade is at most {TRADES_MAX_AGE} old "
                            "(warns: history loaded from files is old by nature).")
def trades_freshness(database: DatabaseResource) -> dg.AssetCheckResult:
    """Warn when the newest trade is older than `TRADES_MAX_AGE`."""
    async def newest(conn: asyncpg.Connection) -> datetime | None:
        value: datetime | None = await conn.fetchval("select max(traded_at) from trades")
        return value

    latest = database.run(newest)
    age = None if latest is None else datetime.now(tz=UTC) - latest
    return dg.AssetCheckResult(
        passed=age is not None and age <= TRADES_MAX_AGE, severity=dg.AssetCheckSeverity.WARN,
        metadata={"newest_trade": latest.isoformat() if latest else "none",
                  "age_hours": round(age.total_seconds() / 3600, 2) if age else -1.0})
