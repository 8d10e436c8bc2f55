"""Market events reach the bus in the envelope and hot state keeps the latest value."""

from __future__ import annotations

from adapters.bus.memory import InMemoryBus, InMemoryHotState
from domain.fixed import raw_to_text
from domain.market import Quote
from domain.wire import TRADE_TYPE, trade_from_payload
from live.publish import MarketPublisher, quote_stream, trade_stream
from live.rolling_stats import RollingStats
from tests.live.test_ingest import BTC, recorded_trades


async def test_trades_are_appended_in_order_and_the_latest_is_kept() -> None:
    # Arrange
    bus, hot = InMemoryBus(), InMemoryHotState()
    trades = recorded_trades(50)
    publisher = MarketPublisher(bus, hot)

    # Act
    await publisher.publish_trades(trades)
    await publisher.publish_trades(trades[:3])  # republished after a reconnect

    # Assert
    delivered = await bus.replay(trade_stream(str(BTC)), count=1000)
    assert len(delivered) == 53
    assert all(d.envelope.type == TRADE_TYPE and d.envelope.schema_version == 1
               for d in delivered)
    assert [trade_from_payload(d.envelope.payload) for d in delivered[:50]] == trades
    # A republished trade carries the same envelope id, so consumers can drop it.
    assert delivered[50].envelope.id == delivered[0].envelope.id
    latest = await hot.get("market", str(BTC))
    assert latest is not None and latest["last_trade_id"] == trades[2].trade_id
    assert latest["last_price"] == raw_to_text(trades[2].price, trades[2].price_precision)


async def test_quotes_go_to_their_stream_and_hot_state() -> None:
    bus, hot = InMemoryBus(), InMemoryHotState()
    quote = Quote(BTC, 1_723_161_255_000_000_000, 6_100_000, 6_100_001, 150, 20, 2, 5)

    await MarketPublisher(bus, hot).publish_quote(quote)

    (delivered,) = await bus.replay(quote_stream(str(BTC)))
    assert delivered.envelope.payload["bid"] == "61000.00"
    assert await hot.get("market", str(BTC)) == {
        "bid": "61000.00", "ask": "61000.01", "bid_size": "0.00150", "ask_size": "0.00020",
        "quote_ts_event": 1_723_161_255_000_000_000}


async def test_trade_quote_and_statistics_share_one_record_per_instrument() -> None:
    # Arrange
    hot = InMemoryHotState()
    publisher = MarketPublisher(InMemoryBus(), hot)
    trades = recorded_trades(3)
    stats = RollingStats(trades[0].price_precision, trades[0].size_precision)
    for trade in trades:
        stats.add(trade)
    # Act
    await publisher.publish_quote(Quote(BTC, trades[0].ts_event, 6_100_000, 6_100_001, 1, 2, 2,
                                        5))
    await publisher.publish_trades(trades)
    await publisher.publish_stats(str(BTC), stats.snapshot())
    # Assert: nothing overwrote another part
    record = await hot.get("market", str(BTC))
    assert record is not None
    assert record["bid"] == "61000.00"
    assert record["last_trade_id"] == trades[-1].trade_id
    assert record["count_24h"] == 3
    assert record["window_start_ns"] <= trades[0].ts_event
    assert not [name for name in record if name in {"ts_event", "open", "count"}]
