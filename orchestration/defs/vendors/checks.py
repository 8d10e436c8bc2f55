"""Freshness of vendor data: the newest value each vendor table received is recent enough.

Warnings only: a vendor that is down, or not configured, must not stop candles and features.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import dagster as dg
from dagster import AssetCheckExecutionContext

from orchestration.defs.vendors.assets import VENDOR_METRICS, VENDOR_NEWS, VENDOR_PRICES
from orchestration.resources import DatabaseResource

# The schedule runs hourly; two missed runs in a row is worth a warning. Metrics are daily.
MAX_AGE = {VENDOR_PRICES: timedelta(hours=2), VENDOR_NEWS: timedelta(hours=2),
           VENDOR_METRICS: timedelta(days=2)}
_TABLES = {VENDOR_PRICES: "raw_vendor_prices", VENDOR_NEWS: "raw_vendor_news",
           VENDOR_METRICS: "raw_vendor_metrics"}


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("freshness", asset=key, blocking=False,
                             description=f"The newest row arrived at most {age} ago.")
           for key, age in MAX_AGE.items()],
    can_subset=True, name="vendor_freshness")
def vendor_freshness(context: AssetCheckExecutionContext,
                     database: DatabaseResource) -> Iterator[dg.AssetCheckResult]:
    """Warn per vendor table whose newest ``available_at`` is too old (or which is empty)."""
    async def newest(conn: asyncpg.Connection) -> dict[dg.AssetKey, datetime | None]:
        return {key: await conn.fetchval(f"select max(available_at) from {table}")
                for key, table in _TABLES.items()}

    latest = database.run(newest)
    now = datetime.now(tz=UTC)
    for check_key in context.selected_asset_check_keys:
        seen = latest[check_key.asset_key]
        age = None if seen is None else now - seen
        yield dg.AssetCheckResult(
            asset_key=check_key.asset_key, check_name="freshness",
            passed=age is not None and age <= MAX_AGE[check_key.asset_key],
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"newest": seen.isoformat() if seen else "none",
                      "age_hours": round(age.total_seconds() / 3600, 2) if age else -1.0})
