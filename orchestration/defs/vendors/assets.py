"""Raw vendor data assets: prices and market caps, news posts, on-chain metrics.

Each asset asks every enabled vendor of its kind through the kind's port, stores what came back
with ``adapters.storage.vendor_data`` (idempotent: the first value received for a key is kept,
so ``available_at`` never moves later) and reports per vendor how many items were new and how
many a vendor's payload had to drop. The values are snapshots of "now", so the assets are not
partitioned; the hourly schedule keeps them fresh.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import dagster as dg

from adapters.storage.vendor_data import VendorDataStore
from adapters.vendors import (
    Fetched,
    MetricPoint,
    NewsPost,
    NewsSource,
    OnChainSource,
    PriceSource,
    VendorPrice,
)
from orchestration.defs.vendors.resources import VendorApis
from orchestration.resources import DatabaseResource

VENDOR_PRICES = dg.AssetKey(["raw", "vendor_prices"])
VENDOR_NEWS = dg.AssetKey(["raw", "vendor_news"])
VENDOR_METRICS = dg.AssetKey(["raw", "vendor_metrics"])
GROUP = "vendors"
METRICS_OVERLAP = timedelta(days=1)


async def _collect(sources: Sequence[Any],
                   fetch: Callable[[Any], AsyncIterator[Fetched[Any]]],
                   store: Callable[[Sequence[Any]], Awaitable[int]]) -> dict[str, Any]:
    """Fetch from each source (closing it after), store the items; return counts per vendor."""
    metadata: dict[str, Any] = {"vendors": ", ".join(s.vendor for s in sources) or "none"}
    total_new = 0
    for source in sources:
        items = new = dropped = 0
        try:
            async for fetched in fetch(source):
                items += len(fetched.items)
                dropped += len(fetched.dropped)
                new += await store(fetched.items)
        finally:
            await source.aclose()
        total_new += new
        metadata.update({f"{source.vendor}_items": items, f"{source.vendor}_new": new,
                         f"{source.vendor}_dropped": dropped})
    metadata["rows_new"] = total_new
    return metadata


@dg.asset(key=VENDOR_PRICES, group_name=GROUP, kinds={"postgres"},
          description="Prices, market caps, 24 h volumes and ranks (table raw_vendor_prices).")
def raw_vendor_prices(database: DatabaseResource,
                      vendors: VendorApis) -> dg.MaterializeResult[None]:
    """Fetch the latest prices of the configured assets from each price vendor."""
    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        async def fetch(source: PriceSource) -> AsyncIterator[Fetched[VendorPrice]]:
            yield await source.prices(vendors.assets, vendors.vs_currency)

        return await _collect(vendors.price_sources(), fetch, VendorDataStore(conn).copy_prices)

    return dg.MaterializeResult(metadata=database.run(work))


@dg.asset(key=VENDOR_NEWS, group_name=GROUP, kinds={"postgres"},
          description="News posts with readers' votes (table raw_vendor_news).")
def raw_vendor_news(database: DatabaseResource,
                    vendors: VendorApis) -> dg.MaterializeResult[None]:
    """Fetch the latest posts about the configured assets from each news vendor."""
    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        async def fetch(source: NewsSource) -> AsyncIterator[Fetched[NewsPost]]:
            yield await source.posts(vendors.assets)

        return await _collect(vendors.news_sources(), fetch, VendorDataStore(conn).copy_news)

    return dg.MaterializeResult(metadata=database.run(work))


@dg.asset(key=VENDOR_METRICS, group_name=GROUP, kinds={"postgres"},
          description="On-chain metrics per asset (table raw_vendor_metrics): the whole "
                      "history the first time, then from the last stored point on.")
def raw_vendor_metrics(database: DatabaseResource,
                       vendors: VendorApis) -> dg.MaterializeResult[None]:
    """Fetch the configured metrics of the configured assets from each on-chain vendor."""
    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        async def fetch(source: OnChainSource) -> AsyncIterator[Fetched[MetricPoint]]:
            for metric in vendors.metrics:
                for asset in vendors.assets:
                    last = await conn.fetchval(
                        "select max(observed_at) from raw_vendor_metrics"
                        " where vendor = $1 and metric = $2 and asset = $3",
                        source.vendor, metric, asset)
                    # One point back: the newest interval may have been revised since.
                    since = None if last is None else last - METRICS_OVERLAP
                    yield await source.series(metric, asset, since=since,
                                              interval=vendors.metric_interval)

        return await _collect(vendors.onchain_sources(), fetch,
                              VendorDataStore(conn).copy_metrics)

    return dg.MaterializeResult(metadata=database.run(work))
