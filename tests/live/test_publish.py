"""Market events reach the bus in the envelope and hot state keeps the latest value."""

from __future__ import annotations

from adapters.bus.memory import InMemoryBus, InMemoryHotState
from domain.market import Quote
from domain.wire import TRADE_TYPE, trade_from_payload
from live.publish import MarketPublisher, quote_stream, trade_stream
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
    latest = await hot.get("last_trade", str(BTC))
    assert latest is not None and latest["trade_id"] == trades[2].trade_id


async def test_quotes_go_to_their_stream_and_hot_state() -> None:
    bus, hot = InMemoryBus(), InMemoryHotState()
    quote = Quote(BTC, 1_723_161_255_000_000_000, 6_100_000, 6_100_001, 150, 20, 2, 5)

    await MarketPublisher(bus, hot).publish_quote(quote)

    (delivered,) = await bus.replay(quote_stream(str(BTC)))
    assert delivered.envelope.payload["bid"] == "61000.00"
    assert (await hot.get("quote", str(BTC)))["ask_size"] == "0.00020"
