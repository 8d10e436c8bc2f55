"""msgspec schemas of Binance spot market-data payloads, exactly as they travel on the wire.

Field names follow Binance's one-letter keys through ``msgspec.field(name=...)``; prices and
quantities stay strings here (Binance sends decimal text) and become fixed-point ints in
``parse``. Unknown keys are ignored, so additive changes on Binance's side do not break us;
missing keys or wrong JSON types fail decoding. Sources: Binance's "WebSocket Streams" and
"Market data endpoints" pages (spot).
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType, field

PriceLevel = tuple[str, str]
"""``[price, quantity]`` as Binance sends it in depth payloads."""


class Frame(msgspec.Struct, frozen=True):
    """Any text frame: a combined-stream envelope, a raw payload or a control message.

    Only the keys needed to tell them apart are decoded; the payload itself stays raw so the
    stream-specific schema can decode it once.
    """

    stream: str | None = None
    # msgspec cannot put Raw in a union: an empty Raw stands for "absent".
    data: msgspec.Raw = msgspec.Raw()
    event_type: str | None = field(default=None, name="e")
    # Replies to SUBSCRIBE-style requests carry an id; server notices come wrapped in "event".
    id: int | str | UnsetType | None = UNSET
    event: msgspec.Raw = msgspec.Raw()


class EventProbe(msgspec.Struct, frozen=True):
    """The event type of a payload, for notices that share a stream with market data."""

    event_type: str | None = field(default=None, name="e")


class IntervalProbe(msgspec.Struct, frozen=True):
    """The interval of a kline payload's candle."""

    interval: str = field(name="i")


class RawProbe(msgspec.Struct, frozen=True):
    """What names the stream of a raw (un-enveloped) payload: event type, symbol, interval."""

    symbol: str = field(name="s")
    event_type: str | None = field(default=None, name="e")
    kline: IntervalProbe | None = field(default=None, name="k")


class TradeMsg(msgspec.Struct, frozen=True):
    """``<symbol>@trade``: one trade with a unique buyer and seller."""

    event_type: str = field(name="e")
    event_time: int = field(name="E")
    symbol: str = field(name="s")
    trade_id: int = field(name="t")
    price: str = field(name="p")
    quantity: str = field(name="q")
    trade_time: int = field(name="T")
    buyer_is_maker: bool = field(name="m")


class AggTradeMsg(msgspec.Struct, frozen=True):
    """``<symbol>@aggTrade``: trades of one taker order at one price, aggregated."""

    event_type: str = field(name="e")
    event_time: int = field(name="E")
    symbol: str = field(name="s")
    agg_trade_id: int = field(name="a")
    price: str = field(name="p")
    quantity: str = field(name="q")
    first_trade_id: int = field(name="f")
    last_trade_id: int = field(name="l")
    trade_time: int = field(name="T")
    buyer_is_maker: bool = field(name="m")


class KlineData(msgspec.Struct, frozen=True):
    """The candle inside a kline event (``k``)."""

    open_time: int = field(name="t")
    close_time: int = field(name="T")
    symbol: str = field(name="s")
    interval: str = field(name="i")
    first_trade_id: int = field(name="f")
    last_trade_id: int = field(name="L")
    open: str = field(name="o")
    close: str = field(name="c")
    high: str = field(name="h")
    low: str = field(name="l")
    volume: str = field(name="v")
    trades: int = field(name="n")
    closed: bool = field(name="x")


class KlineMsg(msgspec.Struct, frozen=True):
    """``<symbol>@kline_<interval>``: the current candle, pushed every one or two seconds."""

    event_type: str = field(name="e")
    event_time: int = field(name="E")
    symbol: str = field(name="s")
    kline: KlineData = field(name="k")


class BookTickerMsg(msgspec.Struct, frozen=True):
    """``<symbol>@bookTicker``: best bid and ask; spot sends no event time, only ``u``."""

    update_id: int = field(name="u")
    symbol: str = field(name="s")
    bid: str = field(name="b")
    bid_qty: str = field(name="B")
    ask: str = field(name="a")
    ask_qty: str = field(name="A")
    # Present in some captures (and on futures); absent on today's spot stream.
    event_time: int | None = field(default=None, name="E")


class DepthUpdateMsg(msgspec.Struct, frozen=True):
    """``<symbol>@depth[@100ms]``: absolute quantities of changed levels, ids ``U``..``u``."""

    event_type: str = field(name="e")
    event_time: int = field(name="E")
    symbol: str = field(name="s")
    first_update_id: int = field(name="U")
    final_update_id: int = field(name="u")
    bids: list[PriceLevel] = field(name="b")
    asks: list[PriceLevel] = field(name="a")
    # Futures only: the previous event's ``u``. Spot chains by ``U == previous u + 1``.
    prev_final_update_id: int | None = field(default=None, name="pu")


class DepthSnapshotMsg(msgspec.Struct, frozen=True):
    """REST ``GET /api/v3/depth`` response: the book as of ``lastUpdateId``."""

    last_update_id: int = field(name="lastUpdateId")
    bids: list[PriceLevel]
    asks: list[PriceLevel]


# Decoders are built once: msgspec compiles each schema on construction.
FRAME = msgspec.json.Decoder(Frame)
EVENT_PROBE = msgspec.json.Decoder(EventProbe)
RAW_PROBE = msgspec.json.Decoder(RawProbe)
TRADE = msgspec.json.Decoder(TradeMsg)
AGG_TRADE = msgspec.json.Decoder(AggTradeMsg)
KLINE = msgspec.json.Decoder(KlineMsg)
BOOK_TICKER = msgspec.json.Decoder(BookTickerMsg)
DEPTH_UPDATE = msgspec.json.Decoder(DepthUpdateMsg)
DEPTH_SNAPSHOT = msgspec.json.Decoder(DepthSnapshotMsg)
