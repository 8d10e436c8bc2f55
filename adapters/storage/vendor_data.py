"""Vendor data in PostgreSQL: idempotent bulk loads of prices, news and metrics with COPY.

Each batch is copied into a temporary stage and inserted ``on conflict do nothing`` on the
table's natural key (vendor + what + when), in one transaction: fetching the same vendor answer
twice (a retried Dagster run, an overlapping backfill) stores it once, and the first value
Lockgate received for a key is the one kept, so ``available_at`` never moves later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import asyncpg

from adapters.storage.common import CONNECTION_ERRORS, StorageUnavailable, connection
from adapters.vendors.ports import MetricPoint, NewsPost, VendorPrice

_PRICES: Final = ("vendor", "asset", "vs_currency", "price", "market_cap", "volume_24h",
                  "market_cap_rank", "observed_at", "available_at")
_NEWS: Final = ("vendor", "post_id", "title", "url", "source", "published_at", "available_at",
                "currencies", "votes_positive", "votes_negative")
_METRICS: Final = ("vendor", "metric", "asset", "observed_at", "value", "available_at")
_KEYS: Final = {
    "raw_vendor_prices": ("vendor", "asset", "vs_currency", "observed_at"),
    "raw_vendor_news": ("vendor", "post_id"),
    "raw_vendor_metrics": ("vendor", "metric", "asset", "observed_at"),
}


class VendorDataStore:
    """Writes vendor values over an asyncpg connection or pool; each method returns new rows."""

    def __init__(self, db: asyncpg.Connection | asyncpg.Pool) -> None:
        self._db = db

    async def copy_prices(self, prices: Sequence[VendorPrice]) -> int:
        """Store prices in ``raw_vendor_prices``; return how many were new."""
        return await self._copy("raw_vendor_prices", _PRICES, [
            (p.vendor, p.asset, p.vs_currency, p.price, p.market_cap, p.volume_24h,
             p.market_cap_rank, p.observed_at, p.available_at) for p in prices])

    async def copy_news(self, posts: Sequence[NewsPost]) -> int:
        """Store posts in ``raw_vendor_news``; return how many were new."""
        return await self._copy("raw_vendor_news", _NEWS, [
            (p.vendor, p.post_id, p.title, p.url, p.source, p.published_at, p.available_at,
             list(p.currencies), p.votes_positive, p.votes_negative) for p in posts])

    async def copy_metrics(self, points: Sequence[MetricPoint]) -> int:
        """Store metric points in ``raw_vendor_metrics``; return how many were new."""
        return await self._copy("raw_vendor_metrics", _METRICS, [
            (p.vendor, p.metric, p.asset, p.observed_at, p.value, p.available_at)
            for p in points])

    async def _copy(self, table: str, columns: tuple[str, ...],
                    records: list[tuple[Any, ...]]) -> int:
        """Raise ``StorageUnavailable`` when the database cannot be reached: the batch was
        stored whole or not at all (one transaction) and may be written again as it is."""
        if not records:
            return 0
        try:
            return await self._copy_locked(table, columns, records)
        except CONNECTION_ERRORS as exc:
            raise StorageUnavailable(f"{table} not stored: {type(exc).__name__}: {exc}") from exc

    async def _copy_locked(self, table: str, columns: tuple[str, ...],
                           records: list[tuple[Any, ...]]) -> int:
        stage = f"lockgate_{table}_stage"
        names = ", ".join(columns)
        async with connection(self._db) as conn, conn.transaction():
            # The stage copies the columns (and NOT NULLs), not the checks: the insert into
            # the real table applies those.
            await conn.execute(f"create temporary table if not exists {stage}"
                               f" (like {table} including defaults) on commit delete rows")
            await conn.copy_records_to_table(stage, records=records, columns=list(columns))
            status = await conn.execute(
                f"insert into {table} ({names}) select {names} from pg_temp.{stage}"
                f" on conflict ({', '.join(_KEYS[table])}) do nothing")
        return int(status.rpartition(" ")[2])
