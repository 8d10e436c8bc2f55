"""The ingest stage wired: Binance feed -> PostgreSQL, the bus, hot state (and order books).

``lockgate ingest`` runs it on its own; the live runner will run the same wiring as its
``ingest`` stage.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from adapters.exchanges.binance.book_sync import OrderBookSync
from adapters.exchanges.binance.book_top import LatestTops
from adapters.exchanges.binance.depth_rest import CcxtDepthSource
from adapters.exchanges.binance.feed import BinanceMarketFeed
from adapters.exchanges.binance.rest_backfill import RestBackfiller
from adapters.exchanges.binance.streams import binance_symbol
from adapters.storage.trades import TradeStore
from adapters.telemetry.ingest_metrics import IngestMetrics
from domain.instruments import Instrument
from domain.messaging import Bus, HotState
from live.bus_monitor import watch_stream_lengths
from live.ingest import TradeIngestor
from live.market_data import MarketDataService, publish_books
from live.publish import MarketPublisher, quote_stream, trade_stream

StopWhen = Callable[["asyncio.Task[None]"], Awaitable[None]]
"""Return when the stage should stop (a signal, a duration) or the feed task ends."""


async def run_ingest(client: Any, ws_url: str, instruments: Sequence[Instrument],
                     pool: asyncpg.Pool, bus: Bus, hot: HotState, *, depth: bool,
                     stop_when: StopWhen, metrics: IngestMetrics | None = None) -> str:
    """Ingest until ``stop_when`` returns, then drain everything buffered; return a summary.

    ``client`` is ccxt's Binance client (REST backfill of gaps, order-book snapshots).
    """
    kinds = ("trade", "bookTicker", "depth@100ms") if depth else ("trade", "bookTicker")
    streams = [f"{binance_symbol(i.id).lower()}@{kind}" for i in instruments for kind in kinds]
    # Gaps after a reconnect are recovered over REST before live events resume.
    feed = BinanceMarketFeed(ws_url, streams, instruments, backfiller=RestBackfiller(client))
    metrics = metrics or IngestMetrics.create()
    ingestor = TradeIngestor(TradeStore(pool), metrics)
    writer = asyncio.create_task(ingestor.run())
    publisher = MarketPublisher(bus, hot)
    tops = LatestTops()
    books = OrderBookSync(instruments, CcxtDepthSource(client), on_top=tops) if depth else None
    service = MarketDataService(feed, ingestor, publisher, metrics=metrics, books=books)
    consumer = asyncio.create_task(service.run())
    helpers = [asyncio.create_task(watch_stream_lengths(
        bus, [stream(str(i.id)) for i in instruments for stream in (trade_stream, quote_stream)],
        metrics.stream_length)), asyncio.create_task(publish_books(tops, publisher))]
    await stop_when(consumer)
    if books is not None:
        await books.aclose()
    for task in (consumer, *helpers):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await feed.aclose()
    await ingestor.stop()
    await writer
    return (f"ingested {service.trades} trades ({ingestor.stored} new rows, "
            f"{ingestor.duplicates} duplicates), {service.quotes} quotes; "
            f"{service.unpublished_dropped} trades and {service.quotes_skipped} quotes "
            f"not published ({service.publish_failures} failed writes)")
