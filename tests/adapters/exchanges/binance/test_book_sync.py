"""OrderBookSync against the fake venue over real sockets: the local book equals the venue's.

The venue tests replay the recorded BTCUSDT depth at 20x, with a ``BinanceMarketFeed`` on
``btcusdt@depth@100ms`` and an ``OrderBookSync`` fetching snapshots with ccxt. To compare, a
test pauses the replay through the control API, waits until the local book stands at the
venue's REST ``lastUpdateId`` and checks the top 20 levels a side, exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from adapters.exchanges.binance.book_sync import (
    BookMetrics,
    BookSyncConfig,
    OrderBookSync,
    SnapshotOutcome,
    SnapshotRejected,
)
from adapters.exchanges.binance.book_top import LatestTops, TopOfBook
from adapters.exchanges.binance.depth_rest import CcxtDepthSource, snapshot_from_payload
from adapters.exchanges.binance.feed import BinanceMarketFeed
from adapters.exchanges.binance.metrics import FeedMetrics
from adapters.exchanges.binance.orderbook import BookStatus, DepthDiff, Level, LocalOrderBook
from adapters.exchanges.binance.rest import load_instruments, spot_client
from adapters.exchanges.fake_venue import FakeVenueConfig, RunningVenue, serve
from domain.instruments import Instrument
from tests.conftest import SHARED_DATA

STREAM = "btcusdt@depth@100ms"
TOP = 20
# ccxt paces depth calls by weight: 1000 levels cost 0.5 s of its budget, 5000 would cost 2.5 s.
CONFIG = BookSyncConfig(depth_limit=1000, top_levels=TOP, backoff_initial_s=0.05,
                        backoff_max_s=0.5, fetch_timeout_s=5)


@pytest.fixture
async def venue() -> AsyncIterator[RunningVenue]:
    """A BTCUSDT venue replaying on its own at 20x (a diff every ~5 ms)."""
    if not (SHARED_DATA / "orderbook").is_dir():
        pytest.fail(f"recorded order books expected at {SHARED_DATA / 'orderbook'}")
    running = await serve(FakeVenueConfig(data_dir=SHARED_DATA, symbols=("BTCUSDT",), speed=20))
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def http(venue: RunningVenue) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP to the venue: its control API and the reference REST book."""
    async with httpx.AsyncClient(base_url=venue.rest_url, timeout=10) as client:
        yield client


class Harness:
    """A feed and a sync on one venue; ``pump`` feeds the sync and checks what it published."""

    def __init__(self, venue: RunningVenue, instrument: Instrument, client: Any,
                 registry: CollectorRegistry, on_top: Callable[[TopOfBook], None] | None) -> None:
        self.instrument = instrument
        self.registry = registry
        self.tops: list[TopOfBook] = []
        self.checked = 0  # applied diffs after which the published top was compared
        self.mismatches: list[int] = []  # update ids where it differed from the book
        self._forward = on_top
        self.sync = OrderBookSync([instrument], CcxtDepthSource(client), config=CONFIG,
                                  metrics=BookMetrics.create(registry), on_top=self._on_top)
        self.feed = BinanceMarketFeed(venue.ws_url, [STREAM], [instrument],
                                      metrics=FeedMetrics.create(registry))

    @property
    def book(self) -> LocalOrderBook:
        return self.sync.book(self.instrument.id)

    def count(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, {"symbol": "BTCUSDT", **labels}) or 0.0

    def _on_top(self, top: TopOfBook) -> None:
        self.tops.append(top)
        if self._forward is not None:
            self._forward(top)

    async def pump(self) -> None:
        # After every applied diff the newest published top must be the book's top: the sync
        # skips publishing only when nothing in the top levels changed.
        async for event in self.feed:
            assert isinstance(event, DepthDiff)
            if await self.sync.on_diff(event) is BookStatus.APPLIED:
                self.checked += 1
                last = self.tops[-1]
                if (last.bids, last.asks) != (tuple(self.book.bids(TOP)),
                                              tuple(self.book.asks(TOP))):
                    self.mismatches.append(event.final_update_id)


@contextlib.asynccontextmanager
async def harness(venue: RunningVenue, *, before_start: Callable[[], Any] | None = None,
                  on_top: Callable[[TopOfBook], None] | None = None) -> AsyncIterator[Harness]:
    """Load the instrument with ccxt, then run feed and sync until the block ends."""
    client = spot_client(venue.rest_url, venue.ws_url)
    try:
        [instrument] = await load_instruments(client, ["BTC/USDT"])
        h = Harness(venue, instrument, client, CollectorRegistry(), on_top)
        if before_start is not None:
            await before_start()
        pump = asyncio.create_task(h.pump())
        try:
            yield h
            assert not h.mismatches
        finally:
            await h.feed.aclose()
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            await h.sync.aclose()
    finally:
        await client.close()


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def wait_synced_and_moving(h: Harness, diffs: int = 100) -> None:
    """Wait until the book is synchronised and ``diffs`` live diffs have been applied on it."""
    await wait_for(lambda: h.sync.synced[h.instrument.id])
    start = h.checked
    await wait_for(lambda: h.checked >= start + diffs)


def snapshot_outcomes(h: Harness) -> dict[str, float]:
    return {o.value: h.count("lockgate_book_snapshots_total", outcome=o.value)
            for o in SnapshotOutcome}


def decimals(levels: list[Level], instrument: Instrument) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(p).scaleb(-instrument.price_precision),
             Decimal(s).scaleb(-instrument.size_precision)) for p, s in levels]


async def assert_equals_venue(h: Harness, http: httpx.AsyncClient) -> int:
    """Pause the replay, wait for the last diff, compare top levels; return the update id."""
    paused = await http.post("/_control/replay/pause")
    assert paused.status_code == 200, paused.text
    response = await http.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": TOP})
    assert response.status_code == 200, response.text
    venue_book = response.json()
    await wait_for(lambda: h.book.last_update_id == venue_book["lastUpdateId"])
    assert decimals(h.book.bids(TOP), h.instrument) == [
        (Decimal(p), Decimal(s)) for p, s in venue_book["bids"]]
    assert decimals(h.book.asks(TOP), h.instrument) == [
        (Decimal(p), Decimal(s)) for p, s in venue_book["asks"]]
    assert len(venue_book["bids"]) == len(venue_book["asks"]) == TOP
    update_id: int = venue_book["lastUpdateId"]
    return update_id


async def test_book_syncs_and_equals_the_venue_book(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    tops = LatestTops()
    async with harness(venue, on_top=tops) as h:
        await wait_synced_and_moving(h)
        update_id = await assert_equals_venue(h, http)

        latest = await asyncio.wait_for(anext(tops), 1)  # conflated: only the newest is left
        assert latest.synced and latest.update_id is not None
        assert latest.update_id <= update_id
        assert latest.bids == tuple(h.book.bids(TOP)) and latest.asks == tuple(h.book.asks(TOP))
        quote = latest.quote()
        assert quote is not None and quote.bid < quote.ask
        # One fetch in flight at a time: the diffs buffered meanwhile did not start others.
        assert snapshot_outcomes(h) == {"applied": 1, "resync": 0, "rejected": 0, "failed": 0}
        assert h.count("lockgate_book_resyncs_total") == 0
        assert h.count("lockgate_book_synced") == 1
        assert h.count("lockgate_book_buffered_diffs") == 0


@pytest.mark.parametrize("fault", ["malformed", "reorder"])
async def test_a_broken_chain_resyncs_to_the_venue_book(
        venue: RunningVenue, http: httpx.AsyncClient, fault: str) -> None:
    async with harness(venue) as h:
        await wait_synced_and_moving(h)
        response = await http.post(f"/_control/faults/{fault}", json={"n": 1, "stream": STREAM})
        assert response.status_code == 200, response.text

        await wait_for(lambda: h.count("lockgate_book_resyncs_total") == 1)
        await wait_for(lambda: h.count("lockgate_book_snapshots_total", outcome="applied") == 2)
        await assert_equals_venue(h, http)

        assert h.count("lockgate_book_resyncs_total") == 1
        assert h.count("lockgate_book_synced") == 1
        # Consumers were told to stop serving the discarded book, then got the new one.
        assert [t.synced for t in h.tops].count(False) == 1
        assert h.tops[-1].synced and h.tops[-1].bids == tuple(h.book.bids(TOP))
        if fault == "malformed":  # the cut frame is counted by the feed, not silently lost
            assert h.registry.get_sample_value(
                "lockgate_feed_parse_errors_total",
                {"stream": "unknown", "reason": "malformed_json"}) == 1


async def test_failed_snapshot_requests_are_retried(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    async def two_server_errors() -> None:
        response = await http.post("/_control/faults/http_error", json={"status": 503, "n": 2})
        assert response.status_code == 200, response.text

    async with harness(venue, before_start=two_server_errors) as h:
        await wait_synced_and_moving(h)
        await assert_equals_venue(h, http)

        assert snapshot_outcomes(h) == {"applied": 1, "resync": 0, "rejected": 0, "failed": 2}
        assert h.count("lockgate_book_resyncs_total") == 0


async def test_aclose_cancels_a_fetch_in_flight(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    client = spot_client(venue.rest_url, venue.ws_url)
    registry = CollectorRegistry()
    try:
        [instrument] = await load_instruments(client, ["BTC/USDT"])
        stalled = await http.post("/_control/faults/stall",
                                  json={"seconds": 0.6, "channel": "rest"})
        assert stalled.status_code == 200, stalled.text
        sync = OrderBookSync([instrument], CcxtDepthSource(client), config=CONFIG,
                             metrics=BookMetrics.create(registry))
        feed = BinanceMarketFeed(venue.ws_url, [STREAM], [instrument],
                                 metrics=FeedMetrics.create(registry))
        pump = asyncio.create_task(sync.run(feed))
        book = sync.book(instrument.id)
        await wait_for(lambda: book.buffered >= 5)  # the snapshot hangs in the stalled venue

        async with asyncio.timeout(0.5):
            await sync.aclose()
        await asyncio.sleep(0.8)  # past the stall: a fetch still running would land now

        assert book.buffered > 5 and not sync.synced[instrument.id]  # diffs still buffered
        assert registry.get_sample_value("lockgate_book_buffered_diffs",
                                         {"symbol": "BTCUSDT"}) == book.buffered
        assert all(registry.get_sample_value("lockgate_book_snapshots_total",
                                             {"symbol": "BTCUSDT", "outcome": o.value}) == 0
                   for o in SnapshotOutcome)
        await feed.aclose()
        await asyncio.wait_for(pump, 2)  # run() ends with the feed
    finally:
        await client.close()


def _btc() -> Instrument:
    return FakeVenueConfig(data_dir=SHARED_DATA).instruments()["BTCUSDT"]


@pytest.mark.parametrize(("payload", "why"), [
    ([], "schema"),
    ({"bids": [], "asks": []}, "lastUpdateId"),
    ({"lastUpdateId": "7", "bids": [], "asks": []}, "schema"),
    ({"lastUpdateId": 0, "bids": [], "asks": []}, "lastUpdateId 0"),
    ({"lastUpdateId": 7, "bids": [["1.00", "1", "x"]], "asks": []}, "schema"),
    ({"lastUpdateId": 7, "bids": [["1.001", "1"]], "asks": []}, "bad_number"),
    ({"lastUpdateId": 7, "bids": [["1e3", "1"]], "asks": []}, "bad_number"),
    ({"lastUpdateId": 7, "bids": [["0.00", "1"]], "asks": []}, "non_positive"),
    ({"lastUpdateId": 7, "bids": [["1.00", "0"]], "asks": []}, "non_positive"),
    ({"lastUpdateId": 7, "bids": [["2.00", "1"]], "asks": [["1.00", "1"]]}, "crossed_book"),
    ({"lastUpdateId": 7, "bids": [["1.00", "1"], ["1.00", "2"]], "asks": []}, "repeats"),
])
def test_malformed_snapshots_are_rejected_with_the_reason(payload: Any, why: str) -> None:
    with pytest.raises(SnapshotRejected, match=why) as caught:
        snapshot_from_payload(payload, _btc())
    assert str(caught.value).startswith("BTCUSDT depth snapshot")


def test_a_valid_snapshot_becomes_fixed_point_levels() -> None:
    btc = _btc()  # tick 0.01, step 0.00001: the wire's eight places are padding zeros
    snapshot = snapshot_from_payload({"lastUpdateId": 42, "bids": [["61829.76000000", "0.5"]],
                                      "asks": [["61829.77", "1.25000000"]]}, btc)
    assert snapshot.last_update_id == 42
    assert snapshot.bids == ((6182976, 50000),) and snapshot.asks == ((6182977, 125000),)


def test_config_refuses_impossible_settings() -> None:
    for bad in ({"depth_limit": 0}, {"depth_limit": 5001}, {"top_levels": 0},
                {"backoff_initial_s": 0}, {"backoff_jitter": 1}, {"fetch_timeout_s": 0}):
        with pytest.raises(ValueError):
            BookSyncConfig(**bad)
