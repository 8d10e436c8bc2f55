"""The stream client over real local sockets, replaying recorded Binance trades and candles."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from contextlib import aclosing

import msgspec
import pytest
from prometheus_client import CollectorRegistry

from adapters.exchanges.binance.backfill import MissingData
from adapters.exchanges.binance.feed import (
    BinanceMarketFeed,
    FeedConfig,
    FeedUnavailable,
    MarketEvent,
    backoff_delay,
)
from adapters.exchanges.binance.metrics import FeedMetrics
from domain.market import Bar, Trade
from tests.adapters.exchanges.binance.local_stream_server import LocalStreamServer
from tests.adapters.exchanges.binance.recorded import (
    BTCUSDT,
    CandleRow,
    RecordedBackfiller,
    TradeRow,
    envelope,
    kline_frames,
    to_bar,
    to_trade,
    trade_frames,
    trade_payload,
)

TRADE_STREAM = "btcusdt@trade"
KLINE_STREAM = "btcusdt@kline_1m"
FAST = FeedConfig(backoff_initial_s=0.01, backoff_max_s=0.05, keepalive_interval_s=None)


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """Sum the samples of ``name`` whose labels include ``labels``."""
    return sum(sample.value for family in registry.collect() for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())


async def consume(feed: BinanceMarketFeed, done: Callable[[MarketEvent], bool],
                  timeout: float = 20.0) -> list[MarketEvent]:
    """Collect events until ``done`` says so; then close the feed."""
    out: list[MarketEvent] = []
    async with asyncio.timeout(timeout), aclosing(feed.events()) as events:
        async for event in events:
            out.append(event)
            if done(event):
                break
    await feed.aclose()
    return out


def last_trade(rows: list[TradeRow]) -> Callable[[MarketEvent], bool]:
    final = str(rows[-1].trade_id)
    return lambda event: isinstance(event, Trade) and event.trade_id == final


def trade_ids(events: list[MarketEvent]) -> list[int]:
    return [int(e.trade_id) for e in events if isinstance(e, Trade)]


def _assert_conserved(registry: CollectorRegistry) -> None:
    # Every frame ends as exactly one of: live event, ignored, parse error, rejection.
    received = metric(registry, "lockgate_feed_messages_total")
    accounted = (metric(registry, "lockgate_feed_events_total", source="live")
                 + metric(registry, "lockgate_feed_ignored_total")
                 + metric(registry, "lockgate_feed_parse_errors_total")
                 + metric(registry, "lockgate_feed_rejected_total"))
    assert received == accounted


async def test_forced_disconnects_end_with_every_trade_once(
    recorded_trades: list[TradeRow], registry: CollectorRegistry, metrics: FeedMetrics
) -> None:
    # Arrange: all 19,904 recorded trades; the connection is cut twice and frames are lost.
    rows = recorded_trades
    backfiller = RecordedBackfiller.from_csv(trades=rows)
    drops = {5_000: 37, 12_000: 500}
    async with LocalStreamServer(trade_frames(rows), drop_at=drops) as server:
        feed = BinanceMarketFeed(server.ws_base_url, [TRADE_STREAM], [BTCUSDT],
                                 backfiller=backfiller, config=FAST, metrics=metrics)
        # Act
        events = await consume(feed, last_trade(rows))
    # Assert: zero missing, zero duplicates, in order, identical to the recording.
    assert events == [to_trade(row) for row in rows]
    assert server.connections == 3
    assert server.paths[0] == f"/stream?streams={TRADE_STREAM}"
    lost = [(rows[i].trade_id, rows[i + n - 1].trade_id) for i, n in drops.items()]
    assert backfiller.calls == [("trades", first, last) for first, last in lost]
    assert metric(registry, "lockgate_feed_reconnects_total", reason="closed") == 2
    assert metric(registry, "lockgate_feed_gaps_found_total", stream=TRADE_STREAM) == 2
    assert metric(registry, "lockgate_feed_gaps_filled_total", stream=TRADE_STREAM) == 2
    assert metric(registry, "lockgate_feed_backfilled_items_total") == 537
    assert metric(registry, "lockgate_feed_missing_items_total") == 0
    assert metric(registry, "lockgate_feed_events_total", source="live") == len(rows) - 537
    _assert_conserved(registry)


def _variant(row: TradeRow, **changes: object) -> bytes:
    payload = trade_payload(row)
    for key, value in changes.items():
        if value is None:
            del payload[key]
        else:
            payload[key] = value
    return envelope(TRADE_STREAM, payload)


async def test_injected_faults_are_counted_and_nothing_else_is_lost(
    recorded_trades: list[TradeRow], registry: CollectorRegistry, metrics: FeedMetrics
) -> None:
    # Arrange: 2,000 recorded trades with duplicates, a swap, corrupt and foreign frames.
    rows = recorded_trades[:2_000]
    frames = trade_frames(rows)
    frames[700], frames[701] = frames[701], frames[700]             # reordered pair
    frames[900] = _variant(rows[900], p="abc")                      # a real trade corrupted
    extras = {
        150: [frames[100]],                                         # duplicate
        300: [_variant(rows[300], p="-61837.63000000"),             # negative price
              _variant(rows[300], q="0.00000000")],                 # zero size
        400: [frames[400][:57]],                                    # malformed JSON
        500: [_variant(rows[500], p=None),                          # missing field
              _variant(rows[500], t=str(rows[500].trade_id))],      # wrong type
        600: [_variant(rows[600], p="61837.631")],                  # finer than the tick
        800: [frames[800].replace(b"btcusdt@trade", b"ethusdt@trade", 1)],  # not subscribed
    }
    timeline = []
    for index, frame in enumerate(frames):
        timeline.append(frame)
        timeline.extend(extras.get(index, []))
    backfiller = RecordedBackfiller.from_csv(trades=rows)
    async with LocalStreamServer(timeline) as server:
        feed = BinanceMarketFeed(server.ws_base_url, [TRADE_STREAM], [BTCUSDT],
                                 backfiller=backfiller, config=FAST, metrics=metrics)
        # Act
        events = await consume(feed, last_trade(rows))
    # Assert: the recording comes out whole, once, in order; every fault is counted.
    assert events == [to_trade(row) for row in rows]
    assert backfiller.calls == [("trades", rows[700].trade_id, rows[700].trade_id),
                                ("trades", rows[900].trade_id, rows[900].trade_id)]

    def counted(name: str, reason: str, stream: str = TRADE_STREAM) -> float:
        return metric(registry, name, stream=stream, reason=reason)

    assert counted("lockgate_feed_rejected_total", "duplicate") == 1
    assert counted("lockgate_feed_rejected_total", "out_of_order") == 1
    assert counted("lockgate_feed_rejected_total", "non_positive") == 2
    assert counted("lockgate_feed_rejected_total", "bad_number") == 2
    assert counted("lockgate_feed_parse_errors_total", "schema") == 2
    assert counted("lockgate_feed_parse_errors_total", "malformed_json", "unknown") == 1
    assert counted("lockgate_feed_parse_errors_total", "unknown_stream", "unknown") == 1
    assert metric(registry, "lockgate_feed_messages_total") == len(timeline)
    assert metric(registry, "lockgate_feed_gaps_filled_total") == 2
    _assert_conserved(registry)


async def test_connection_is_renewed_before_its_maximum_age(
    recorded_trades: list[TradeRow], registry: CollectorRegistry, metrics: FeedMetrics
) -> None:
    # Arrange: the server falls silent after 150 frames and keeps the connection open;
    # 10 frames pass while the client reconnects.
    rows = recorded_trades[:300]
    backfiller = RecordedBackfiller.from_csv(trades=rows)
    config = FeedConfig(backoff_initial_s=0.01, keepalive_interval_s=None,
                        max_connection_age_s=0.5)
    async with LocalStreamServer(trade_frames(rows), hold_at={150: 10}) as server:
        feed = BinanceMarketFeed(server.ws_base_url, [TRADE_STREAM], [BTCUSDT],
                                 backfiller=backfiller, config=config, metrics=metrics)
        # Act
        events = await consume(feed, last_trade(rows))
    # Assert
    assert server.connections == 2
    assert metric(registry, "lockgate_feed_reconnects_total", reason="max_age") == 1
    assert trade_ids(events) == [row.trade_id for row in rows]


async def test_server_shutdown_notice_reconnects_at_once(
    recorded_trades: list[TradeRow], registry: CollectorRegistry, metrics: FeedMetrics
) -> None:
    # Arrange: Binance's shutdown notice, then the server stops sending on that connection.
    rows = recorded_trades[:200]
    notice = msgspec.json.encode({"event": {"e": "serverShutdown", "E": 1723161300000}})
    frames = [*trade_frames(rows[:100]), notice, *trade_frames(rows[100:])]
    async with LocalStreamServer(frames, hold_at={101: 0}) as server:
        feed = BinanceMarketFeed(server.ws_base_url, [TRADE_STREAM], [BTCUSDT],
                                 config=FAST, metrics=metrics)
        # Act
        events = await consume(feed, last_trade(rows))
    # Assert
    assert trade_ids(events) == [row.trade_id for row in rows]
    assert metric(registry, "lockgate_feed_reconnects_total", reason="server_shutdown") == 1
    assert metric(registry, "lockgate_feed_ignored_total", reason="server_shutdown") == 1


async def test_server_pings_are_answered_with_their_payload(
    recorded_trades: list[TradeRow], metrics: FeedMetrics
) -> None:
    # Arrange: Binance pings and drops clients that do not pong; the server pings on connect.
    rows = recorded_trades[:50]
    async with LocalStreamServer(trade_frames(rows), ping_payload=b"binance-20s") as server:
        feed = BinanceMarketFeed(server.ws_base_url, [TRADE_STREAM], [BTCUSDT],
                                 config=FAST, metrics=metrics)
        # Act
        events = await consume(feed, last_trade(rows))
    # Assert: websockets echoed the ping's payload by itself (the waiter matches on it).
    assert len(server.pong_latencies) == 1
    assert len(events) == len(rows)


async def test_a_gap_without_backfiller_is_reported_not_hidden(
    recorded_trades: list[TradeRow], registry: CollectorRegistry, metrics: FeedMetrics
) -> None:
    rows = recorded_trades[:400]
    async with LocalStreamServer(trade_frames(rows), drop_at={200: 25}) as server:
        feed = BinanceMarketFeed(server.ws_base_url, [TRADE_STREAM], [BTCUSDT],
                                 config=FAST, metrics=metrics)
        events = await consume(feed, last_trade(rows))
    holes = [e for e in events if isinstance(e, MissingData)]
    assert holes == [MissingData(BTCUSDT.id, TRADE_STREAM, rows[200].trade_id,
                                 rows[224].trade_id)]
    assert events.index(holes[0]) == 200  # in order: after trade 199, before trade 225
    assert metric(registry, "lockgate_feed_missing_items_total", stream=TRADE_STREAM) == 25


async def test_kline_gaps_are_backfilled_and_a_real_hole_is_reported(
    recorded_candles: list[CandleRow], registry: CollectorRegistry, metrics: FeedMetrics
) -> None:
    # Arrange: recorded 1m candles as kline frames (open update, then close); three candles
    # are lost in a disconnect; the recording itself lacks 2018-04-28T10:12Z.
    candles = recorded_candles
    backfiller = RecordedBackfiller.from_csv(candles=candles)
    final_open = candles[-1].open_ms * 1_000_000
    async with LocalStreamServer(kline_frames(candles), drop_at={400: 6}) as server:
        feed = BinanceMarketFeed(server.ws_base_url, [KLINE_STREAM], [BTCUSDT],
                                 backfiller=backfiller, config=FAST, metrics=metrics)
        # Act
        events = await consume(
            feed, lambda e: isinstance(e, Bar) and e.ts_open == final_open)
    # Assert
    bars = [e for e in events if isinstance(e, Bar)]
    assert bars == [to_bar(row) for row in candles]
    hole_ns = (candles[-1].open_ms - 60_000) * 1_000_000
    assert [e for e in events if isinstance(e, MissingData)] == [
        MissingData(BTCUSDT.id, KLINE_STREAM, hole_ns, hole_ns)]
    assert metric(registry, "lockgate_feed_gaps_found_total") == 2
    assert metric(registry, "lockgate_feed_gaps_filled_total") == 1
    assert metric(registry, "lockgate_feed_missing_items_total") == 1
    assert metric(registry, "lockgate_feed_ignored_total", reason="kline_open") == len(candles) - 3
    _assert_conserved(registry)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_gives_up_after_the_configured_failed_attempts(
    registry: CollectorRegistry, metrics: FeedMetrics
) -> None:
    config = FeedConfig(backoff_initial_s=0.01, backoff_max_s=0.02, max_reconnect_attempts=3)
    feed = BinanceMarketFeed(f"ws://127.0.0.1:{_free_port()}", [TRADE_STREAM], [BTCUSDT],
                             config=config, metrics=metrics)
    with pytest.raises(FeedUnavailable):
        await consume(feed, lambda _: False, timeout=10)
    assert metric(registry, "lockgate_feed_reconnects_total", reason="connect_failed") == 3


@pytest.mark.parametrize("attempt, base", [(0, 0.5), (1, 1.0), (2, 2.0), (5, 16.0), (6, 30.0),
                                           (60, 30.0), (10_000, 30.0)])
def test_backoff_doubles_up_to_the_cap_and_jitters_down(attempt: int, base: float) -> None:
    config = FeedConfig(backoff_initial_s=0.5, backoff_max_s=30.0, backoff_jitter=0.25)
    rng = random.Random(7)
    delays = [backoff_delay(attempt, config, rng) for _ in range(200)]
    assert all(base * 0.75 <= d <= base for d in delays)
    assert len(set(delays)) > 1  # jittered, so reconnecting clients do not stampede


@pytest.mark.parametrize("kwargs", [
    {"max_connection_age_s": 24 * 3600}, {"max_connection_age_s": 0},
    {"backoff_jitter": 1.0}, {"backoff_initial_s": 5, "backoff_max_s": 1},
    {"max_reconnect_attempts": 0}, {"max_queue": 0},
])
def test_config_refuses_unsafe_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FeedConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("streams", [[], ["btcusdt@ticker"], ["ethusdt@trade"],
                                     ["btcusdt@kline_1M"], ["BTCUSDT@trade"]])
def test_feed_refuses_streams_it_cannot_serve(streams: list[str], metrics: FeedMetrics) -> None:
    with pytest.raises(ValueError):
        BinanceMarketFeed("ws://127.0.0.1:1", streams, [BTCUSDT], metrics=metrics)
