"""The ingest stage with order books: trades, quotes and book tops from the venue, live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from adapters.bus.memory import InMemoryBus, InMemoryHotState
from adapters.exchanges.binance.rest import load_instruments, spot_client
from adapters.exchanges.fake_venue import (
    DEMO_API_KEY,
    DEMO_SECRET_KEY,
    FakeVenueConfig,
    RunningVenue,
    serve,
)
from adapters.storage.connect import app_dsn
from adapters.telemetry.ingest_metrics import IngestMetrics
from live.ingest_stage import run_ingest
from live.publish import trade_stream
from tests.conftest import SHARED_DATA

BTC = "BINANCE:BTC/USDT"


@pytest.fixture
async def venue() -> AsyncIterator[RunningVenue]:
    """The venue replaying the recorded market at 20x."""
    running = await serve(FakeVenueConfig(data_dir=SHARED_DATA, speed=20))
    try:
        yield running
    finally:
        await running.stop()


def _levels(rows: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(p), Decimal(q)) for p, q in rows]


def _same_top(book: dict[str, Any], rest: dict[str, Any]) -> bool:
    return bool(book) and all(_levels(book[side]) == _levels(rest[side])
                              for side in ("bids", "asks"))


async def test_books_trades_and_quotes_reach_hot_state_the_bus_and_postgres(
    venue: RunningVenue, migrated_database: str, app_role: str,
) -> None:
    # Arrange
    from prometheus_client import CollectorRegistry

    client = spot_client(venue.rest_url, venue.ws_url, DEMO_API_KEY, DEMO_SECRET_KEY)
    instruments = await load_instruments(client, ["BTC/USDT"])
    pool = await asyncpg.create_pool(app_dsn(migrated_database, app_role), min_size=1,
                                     max_size=3)
    bus, hot = InMemoryBus(), InMemoryHotState()
    http = httpx.AsyncClient(base_url=venue.rest_url, timeout=10)
    rest_book: dict[str, Any] = {}

    async def stop_when(feed: asyncio.Task[None]) -> None:
        # Once the book is synced, freeze the market and wait for our book to catch up
        async with asyncio.timeout(60):
            while not ((await hot.get("book", BTC)) or {}).get("synced"):
                await asyncio.sleep(0.05)
            assert (await http.post("/_control/replay/pause")).status_code == 200
            rest_book.update((await http.get("/api/v3/depth", params={
                "symbol": "BTCUSDT", "limit": 20})).json())
            # A top is published when the best levels change, so once the book has applied
            # every diff the published levels are the venue's (whichever diff last moved them)
            while not _same_top((await hot.get("book", BTC)) or {}, rest_book):
                await asyncio.sleep(0.05)
        assert not feed.done()

    # Act
    summary = await run_ingest(client, venue.ws_url, instruments, pool, bus, hot, depth=True,
                               stop_when=stop_when,
                               metrics=IngestMetrics.create(CollectorRegistry()))
    stored = await pool.fetchval("select count(*) from trades")
    await pool.close()
    await http.aclose()
    await client.close()
    # Assert: the book's top 20 levels equal the venue's own, level for level
    book = await hot.get("book", BTC)
    assert book is not None and book["synced"]
    assert _levels(book["bids"]) == _levels(rest_book["bids"]) and len(book["bids"]) == 20
    assert _levels(book["asks"]) == _levels(rest_book["asks"]) and len(book["asks"]) == 20
    # ...and trades went to PostgreSQL and the bus, the latest values to the market record
    market = await hot.get("market", BTC)
    assert market is not None and {"last_price", "bid", "ask"} <= market.keys()
    assert stored > 0 and await bus.length(trade_stream(BTC)) == stored
    assert summary.startswith(f"ingested {stored} trades")
