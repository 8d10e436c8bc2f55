"""The feed recovers what a cut connection missed over the venue's REST history, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from adapters.exchanges.binance.backfill import MissingData
from adapters.exchanges.binance.feed import BinanceMarketFeed, FeedConfig
from adapters.exchanges.binance.metrics import FeedMetrics
from adapters.exchanges.binance.rest import load_instruments, spot_client
from adapters.exchanges.binance.rest_backfill import RestBackfiller
from adapters.exchanges.fake_venue import DEMO_API_KEY, DEMO_SECRET_KEY, RunningVenue
from domain.market import Trade


@pytest.mark.parametrize("stream", ["btcusdt@aggTrade", "btcusdt@trade"])
async def test_a_cut_stream_is_recovered_over_rest_before_live_events_resume(
    venue: RunningVenue, stream: str,
) -> None:
    # Arrange: the feed on the venue, recovering gaps through ccxt pointed at the same venue
    # historicalTrades wants an API key, even on Binance: the venue's demo pair
    client = spot_client(venue.rest_url, venue.ws_url, DEMO_API_KEY, DEMO_SECRET_KEY)
    await venue.replay.step(20)
    (instrument,) = await load_instruments(client, ["BTC/USDT"])
    registry = CollectorRegistry()
    feed = BinanceMarketFeed(venue.ws_url, [stream], [instrument],
                             config=FeedConfig(backoff_initial_s=0.05, keepalive_interval_s=None),
                             metrics=FeedMetrics.create(registry),
                             backfiller=RestBackfiller(client))
    events: list[Trade | MissingData] = []

    async def consume() -> None:
        async for event in feed:
            assert isinstance(event, Trade | MissingData)
            events.append(event)

    consumer = asyncio.create_task(consume())
    connections = lambda: len(venue.venue.hub.connections)  # noqa: E731
    await _until(lambda: connections() == 1)
    # Act: trades while connected, trades while the connection is cut, trades after
    await venue.replay.step(1000)
    await _until(lambda: len(events) > 5)
    venue.faults.drop_connections("market")
    await venue.replay.step(1000)
    await _until(lambda: connections() == 1)
    await venue.replay.step(1000)
    await asyncio.sleep(0.5)
    await _settled(events)
    consumer.cancel()
    await feed.aclose()
    await client.close()
    # Assert: ids contiguous from the first event on, nothing missing, some of it backfilled
    ids = [int(e.trade_id) for e in events if isinstance(e, Trade)]
    assert not [e for e in events if isinstance(e, MissingData)]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    backfilled = registry.get_sample_value(
        "lockgate_feed_events_total", {"stream": stream, "source": "backfill"})
    assert backfilled is not None and backfilled > 0


async def _until(condition: Callable[[], bool], seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.02)


async def _settled(events: list[Trade | MissingData]) -> None:
    """Wait until no event has arrived for a moment."""
    seen = -1
    while seen != len(events):
        seen = len(events)
        await asyncio.sleep(0.3)

