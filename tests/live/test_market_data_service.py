"""The ingest stage end to end: a real WebSocket feed, cut mid-stream, into PostgreSQL and the
bus, with zero missing and zero duplicate trades once recovery ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing

import asyncpg
from prometheus_client import CollectorRegistry

from adapters.bus.postgres import PostgresBus, PostgresHotState
from adapters.exchanges.binance.feed import BinanceMarketFeed, FeedConfig
from adapters.exchanges.binance.metrics import FeedMetrics
from adapters.storage.connect import app_dsn
from adapters.storage.trades import TradeStore
from adapters.telemetry.ingest_metrics import IngestMetrics
from domain.market import Trade
from live.ingest import IngestConfig, TradeIngestor
from live.market_data import MarketDataService
from live.publish import MarketPublisher, trade_stream
from tests.adapters.exchanges.binance.local_stream_server import LocalStreamServer
from tests.adapters.exchanges.binance.recorded import (
    BTCUSDT,
    RecordedBackfiller,
    read_trades,
    trade_frames,
)

STREAM = "btcusdt@trade"


async def until_last(feed: BinanceMarketFeed, last_id: str) -> AsyncIterator[object]:
    """Pass the feed's events through, ending after the recording's last trade."""
    async with aclosing(feed.events()) as events:
        async for event in events:
            yield event
            if isinstance(event, Trade) and event.trade_id == last_id:
                break
    await feed.aclose()


async def test_a_connection_cut_mid_stream_leaves_no_gap_and_no_duplicate(
    migrated_database: str, app_role: str,
) -> None:
    # Arrange: 6,000 recorded trades; the server cuts the connection twice, losing frames.
    rows = read_trades()[:6_000]
    dsn = app_dsn(migrated_database, app_role)
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4)
    bus, hot = PostgresBus(pool), PostgresHotState(pool)
    ingestor = TradeIngestor(TradeStore(pool), IngestMetrics.create(CollectorRegistry()),
                             IngestConfig(batch_size=1_000, flush_interval_s=0.05))
    writer = asyncio.create_task(ingestor.run())
    async with LocalStreamServer(trade_frames(rows), drop_at={1_500: 40, 4_000: 300}) as server:
        feed = BinanceMarketFeed(
            server.ws_base_url, [STREAM], [BTCUSDT],
            backfiller=RecordedBackfiller.from_csv(trades=rows),
            config=FeedConfig(backoff_initial_s=0.01, backoff_max_s=0.05,
                              keepalive_interval_s=None),
            metrics=FeedMetrics.create(CollectorRegistry()))
        service = MarketDataService(until_last(feed, str(rows[-1].trade_id)), ingestor,
                                    MarketPublisher(bus, hot))
        # Act
        await asyncio.wait_for(service.run(), timeout=60)
    await ingestor.stop()
    await writer
    # Assert: PostgreSQL holds every recorded trade exactly once
    stored = await pool.fetch("select trade_id from trades order by trade_id::bigint")
    assert [int(r["trade_id"]) for r in stored] == [row.trade_id for row in rows]
    # ...the bus carried them in order (the cut frames came back through backfill, in place)
    delivered = await bus.replay(trade_stream("BINANCE:BTC/USDT"), count=10_000)
    assert [int(d.envelope.payload["trade_id"]) for d in delivered] == [r.trade_id for r in rows]
    # ...and hot state has the latest trade
    latest = await hot.get("market", "BINANCE:BTC/USDT")
    assert latest is not None and int(latest["last_trade_id"]) == rows[-1].trade_id
    assert server.connections == 3
    assert service.missing == 0
    await bus.close()
    await pool.close()


async def test_rolling_stats_reach_hot_state_and_match_the_trades(
    migrated_database: str, app_role: str,
) -> None:
    # Arrange: 3,000 recorded trades (a few minutes, well inside 24 hours)
    from decimal import Decimal

    from adapters.bus.memory import InMemoryBus, InMemoryHotState

    rows = read_trades()[:3_000]
    pool = await asyncpg.create_pool(app_dsn(migrated_database, app_role), min_size=1,
                                     max_size=2)
    hot = InMemoryHotState()
    ingestor = TradeIngestor(TradeStore(pool), IngestMetrics.create(CollectorRegistry()))
    writer = asyncio.create_task(ingestor.run())
    async with LocalStreamServer(trade_frames(rows)) as server:
        feed = BinanceMarketFeed(server.ws_base_url, [STREAM], [BTCUSDT],
                                 config=FeedConfig(keepalive_interval_s=None),
                                 metrics=FeedMetrics.create(CollectorRegistry()))
        service = MarketDataService(until_last(feed, str(rows[-1].trade_id)), ingestor,
                                    MarketPublisher(InMemoryBus(), hot))
        # Act
        await asyncio.wait_for(service.run(), timeout=60)
    await ingestor.stop()
    await writer
    await pool.close()
    # Assert: the figures equal a direct computation over the same trades
    stats = await hot.get("market", "BINANCE:BTC/USDT")
    assert stats is not None
    prices = [Decimal(r.price) for r in rows]
    assert Decimal(stats["open_24h"]) == prices[0]
    assert Decimal(stats["last_24h"]) == prices[-1]
    assert Decimal(stats["high_24h"]) == max(prices)
    assert Decimal(stats["low_24h"]) == min(prices)
    assert Decimal(stats["volume_24h"]) == sum(Decimal(r.qty) for r in rows)
    assert Decimal(stats["quote_volume_24h"]) == sum(Decimal(r.qty) * Decimal(r.price)
                                                     for r in rows)
    assert stats["count_24h"] == len(rows)
