"""Validate Binance spot payloads into domain objects, or refuse them with ``FeedRejected``.

Decimal text becomes fixed-point ints at the instrument's precision; a value with more
decimals than that precision, a non-decimal, a non-positive price, a crossed book or an
inconsistent candle is refused with one of the bounded ``RejectReason`` values.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

import msgspec

from adapters.exchanges.binance import messages as m
from adapters.exchanges.binance.errors import FeedRejected, RejectReason
from adapters.exchanges.binance.orderbook import DepthDiff, DepthSnapshot, Level
from adapters.exchanges.binance.streams import StreamKind, StreamSpec, binance_symbol
from domain.fixed import pow10
from domain.instruments import Instrument
from domain.market import AggressorSide, Bar, Quote, Trade, bar_problem
from domain.timeframes import Timeframe

NANOS_PER_MS = 1_000_000
_MAX_INT_DIGITS = 30  # far above any price or size; stops absurd numbers early
_T = TypeVar("_T")

MarketData = Trade | Quote | Bar | DepthDiff
"""What a market-data payload becomes."""


class IgnoreReason(StrEnum):
    """Messages that are well-formed but carry no market event (counted, not rejected)."""

    KLINE_OPEN = "kline_open"            # a candle update before the candle closed
    CONTROL = "control"                  # a reply to a request, or an unknown notice
    SERVER_SHUTDOWN = "server_shutdown"  # Binance will drop the connection soon: reconnect


class Ignored(msgspec.Struct, frozen=True):
    """A message deliberately not turned into an event, and why."""

    reason: IgnoreReason


class Parsed(NamedTuple):
    """One decoded frame: its stream (``None`` for control frames) and what it carried."""

    stream: str | None
    item: MarketData | Ignored


def to_fixed(text: str, precision: int) -> int:
    """Convert Binance decimal text (``"61837.63000000"``) into a raw int at ``precision``.

    Only plain ASCII decimals with an optional leading minus are accepted; digits beyond
    ``precision`` must be zeros (Binance pads to eight places).
    """
    if text[:1] == "-":
        return -_unsigned(text[1:], precision, text)
    return _unsigned(text, precision, text)


def _unsigned(body: str, precision: int, text: str) -> int:
    whole, dot, frac = body.partition(".")
    digits = whole + frac
    if not (digits.isdigit() and digits.isascii() and whole and (frac or not dot)
            and len(whole) <= _MAX_INT_DIGITS):
        raise FeedRejected(RejectReason.BAD_NUMBER, f"{text[:40]!r} is not a plain decimal")
    places = len(frac)
    if places <= precision:
        return int(digits) * pow10(precision - places)
    if frac[precision:].rstrip("0"):
        raise FeedRejected(RejectReason.BAD_NUMBER, f"{text!r} has more than {precision} places")
    return int(whole + frac[:precision])


def _positive(text: str, precision: int, what: str) -> int:
    raw = to_fixed(text, precision)
    if raw <= 0:
        raise FeedRejected(RejectReason.NON_POSITIVE, f"{what} {text!r}")
    return raw


def _time_ns(ms: int, what: str) -> int:
    if ms <= 0:
        raise FeedRejected(RejectReason.SCHEMA, f"{what} {ms} is not a time")
    return ms * NANOS_PER_MS


def _check(symbol: str, instrument: Instrument) -> None:
    if symbol != binance_symbol(instrument.id):
        raise FeedRejected(RejectReason.SYMBOL_MISMATCH,
                           f"{symbol!r} on a stream of {binance_symbol(instrument.id)}")


def trade_from_msg(msg: m.TradeMsg, instrument: Instrument) -> Trade:
    """Validate a ``trade`` payload into a ``Trade`` (aggressor: sell when the buyer made)."""
    _check(msg.symbol, instrument)
    return Trade(instrument.id, _time_ns(msg.trade_time, "trade time"),
                 _positive(msg.price, instrument.price_precision, "price"),
                 _positive(msg.quantity, instrument.size_precision, "quantity"),
                 AggressorSide.SELL if msg.buyer_is_maker else AggressorSide.BUY,
                 str(msg.trade_id), instrument.price_precision, instrument.size_precision)


def agg_trade_from_msg(msg: m.AggTradeMsg, instrument: Instrument) -> Trade:
    """Validate an ``aggTrade`` payload into a ``Trade`` whose id is the aggregate id."""
    _check(msg.symbol, instrument)
    if msg.last_trade_id < msg.first_trade_id:
        raise FeedRejected(RejectReason.INCONSISTENT, "last trade id before first")
    return Trade(instrument.id, _time_ns(msg.trade_time, "trade time"),
                 _positive(msg.price, instrument.price_precision, "price"),
                 _positive(msg.quantity, instrument.size_precision, "quantity"),
                 AggressorSide.SELL if msg.buyer_is_maker else AggressorSide.BUY,
                 str(msg.agg_trade_id), instrument.price_precision, instrument.size_precision)


def quote_from_msg(msg: m.BookTickerMsg, instrument: Instrument, ts_recv_ns: int) -> Quote:
    """Validate a ``bookTicker`` payload into a ``Quote``.

    Spot book tickers carry no exchange time, so ``ts_event`` is the local receive time unless
    the payload has ``E``.
    """
    _check(msg.symbol, instrument)
    pp, sp = instrument.price_precision, instrument.size_precision
    bid, ask = _positive(msg.bid, pp, "bid"), _positive(msg.ask, pp, "ask")
    bid_size, ask_size = to_fixed(msg.bid_qty, sp), to_fixed(msg.ask_qty, sp)
    if bid_size < 0 or ask_size < 0:
        raise FeedRejected(RejectReason.NON_POSITIVE, "negative size")
    if bid >= ask:
        raise FeedRejected(RejectReason.CROSSED_BOOK, f"bid {msg.bid} >= ask {msg.ask}")
    ts = _time_ns(msg.event_time, "event time") if msg.event_time is not None else ts_recv_ns
    return Quote(instrument.id, ts, bid, ask, bid_size, ask_size, pp, sp)


def bar_from_msg(msg: m.KlineMsg, instrument: Instrument, interval: Timeframe) -> Bar | None:
    """Validate a ``kline`` payload; return its ``Bar`` once closed, ``None`` while open.

    ``ts_close`` is the next bar's open (Binance's ``T`` is the last millisecond inside).
    """
    k = msg.kline
    _check(msg.symbol, instrument)
    _check(k.symbol, instrument)
    if k.interval != str(interval):
        raise FeedRejected(RejectReason.SCHEMA, f"interval {k.interval!r} on a {interval} stream")
    if not k.closed:
        return None
    ts_open = _time_ns(k.open_time, "open time")
    ts_close = (k.close_time + 1) * NANOS_PER_MS
    if ts_close - ts_open != interval.nanos:
        raise FeedRejected(RejectReason.INCONSISTENT, "close time does not match the interval")
    pp, sp = instrument.price_precision, instrument.size_precision
    o, h, lo, c = (to_fixed(x, pp) for x in (k.open, k.high, k.low, k.close))
    volume = to_fixed(k.volume, sp)
    problem = bar_problem(ts_open, ts_close, o, h, lo, c, volume)
    if problem:
        reason = (RejectReason.NON_POSITIVE if min(o, h, lo, c) <= 0 or volume < 0
                  else RejectReason.INCONSISTENT)
        raise FeedRejected(reason, problem)
    return Bar(instrument.id, ts_open, ts_close, o, h, lo, c, volume, pp, sp)


def _levels(levels: Iterable[m.PriceLevel], instrument: Instrument) -> tuple[Level, ...]:
    pp, sp = instrument.price_precision, instrument.size_precision
    out = []
    for price_text, size_text in levels:
        price, size = to_fixed(price_text, pp), to_fixed(size_text, sp)
        if price <= 0 or size < 0:
            raise FeedRejected(RejectReason.NON_POSITIVE, f"level {price_text} x {size_text}")
        out.append((price, size))
    return tuple(out)


def _uncrossed(bids: tuple[Level, ...], asks: tuple[Level, ...]) -> None:
    # Every level with a size exists in the book at update u, so they must not cross.
    best_bid = max((p for p, s in bids if s), default=None)
    best_ask = min((p for p, s in asks if s), default=None)
    if best_bid is not None and best_ask is not None and best_bid >= best_ask:
        raise FeedRejected(RejectReason.CROSSED_BOOK, "levels cross")


def depth_diff_from_msg(msg: m.DepthUpdateMsg, instrument: Instrument) -> DepthDiff:
    """Validate a ``depthUpdate`` payload into a ``DepthDiff`` (size 0 removes a level)."""
    _check(msg.symbol, instrument)
    if msg.final_update_id < msg.first_update_id:
        raise FeedRejected(RejectReason.INCONSISTENT, "final update id before first")
    bids, asks = _levels(msg.bids, instrument), _levels(msg.asks, instrument)
    _uncrossed(bids, asks)
    return DepthDiff(instrument.id, _time_ns(msg.event_time, "event time"), msg.first_update_id,
                     msg.final_update_id, msg.prev_final_update_id, bids, asks,
                     instrument.price_precision, instrument.size_precision)


def depth_snapshot_from_msg(msg: m.DepthSnapshotMsg, instrument: Instrument) -> DepthSnapshot:
    """Validate a REST depth snapshot (levels must have sizes and must not cross)."""
    bids, asks = _levels(msg.bids, instrument), _levels(msg.asks, instrument)
    if any(size == 0 for _, size in bids + asks):
        raise FeedRejected(RejectReason.NON_POSITIVE, "snapshot level without size")
    _uncrossed(bids, asks)
    return DepthSnapshot(instrument.id, msg.last_update_id, bids, asks,
                         instrument.price_precision, instrument.size_precision)


def decode(decoder: msgspec.json.Decoder[_T], data: Any, stream: str | None = None) -> _T:
    """Decode with ``decoder``; turn msgspec errors into ``FeedRejected``."""
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: check it first
        raise FeedRejected(RejectReason.SCHEMA, str(exc), stream) from None
    except msgspec.DecodeError as exc:
        raise FeedRejected(RejectReason.MALFORMED_JSON, str(exc), stream) from None


def decode_depth_snapshot(body: bytes | str, instrument: Instrument) -> DepthSnapshot:
    """Decode and validate a REST ``GET /api/v3/depth`` response body."""
    return depth_snapshot_from_msg(decode(m.DEPTH_SNAPSHOT, body), instrument)


# Raw payload event type -> the stream-name suffix it arrives on.
_RAW_STREAMS = {"trade": "trade", "aggTrade": "aggTrade", "kline": "kline_",
                "depthUpdate": "depth"}


class BinanceParser:
    """Turn frames of Binance's combined (``{stream, data}``) or raw streams into events.

    ``streams`` restricts combined frames to the subscribed names; without it any supported
    stream of a known instrument is accepted.
    """

    def __init__(self, instruments: Iterable[Instrument], streams: Iterable[str] | None = None):
        self._instruments = {binance_symbol(i.id): i for i in instruments}
        self._specs: dict[str, StreamSpec] = {}
        self._restricted = streams is not None
        for name in streams or ():
            spec = StreamSpec.parse(name)
            if spec.symbol not in self._instruments:
                raise ValueError(f"stream {name!r} has no instrument")
            self._specs[name] = spec

    def parse_frame(self, frame: bytes | str, ts_recv_ns: int) -> Parsed:
        """Decode one WebSocket text frame; raise ``FeedRejected`` for anything invalid."""
        head = decode(m.FRAME, frame)
        if head.stream is not None:
            if not len(head.data):
                raise FeedRejected(RejectReason.SCHEMA, "envelope without data", head.stream)
            spec = self._spec(head.stream)
            try:
                return Parsed(spec.name, self._payload(spec, head.data, ts_recv_ns))
            except FeedRejected as exc:
                if exc.reason is RejectReason.SCHEMA and _is_shutdown(head.data):
                    return Parsed(spec.name, Ignored(IgnoreReason.SERVER_SHUTDOWN))
                exc.stream = spec.name
                raise
        if len(head.event):
            shutdown = _is_shutdown(head.event)
            return Parsed(None, Ignored(IgnoreReason.SERVER_SHUTDOWN if shutdown
                                        else IgnoreReason.CONTROL))
        if head.id is not msgspec.UNSET or len(head.data):
            return Parsed(None, Ignored(IgnoreReason.CONTROL))
        if head.event_type == "serverShutdown":
            return Parsed(None, Ignored(IgnoreReason.SERVER_SHUTDOWN))
        return self._raw(frame, ts_recv_ns)

    def _raw(self, frame: bytes | str, ts_recv_ns: int) -> Parsed:
        # A raw-stream payload: its event type (none for bookTicker) and symbol name the stream.
        probe = decode(m.RAW_PROBE, frame)
        if probe.event_type is None:
            rest = StreamKind.BOOK_TICKER.value
        elif probe.event_type in _RAW_STREAMS:
            rest = _RAW_STREAMS[probe.event_type]
            if rest == "kline_":
                if probe.kline is None:
                    raise FeedRejected(RejectReason.SCHEMA, "kline without k")
                rest += probe.kline.interval
        else:
            raise FeedRejected(RejectReason.UNKNOWN_STREAM, f"event {probe.event_type[:30]!r}")
        spec = self._spec(f"{probe.symbol.lower()}@{rest}")
        return Parsed(spec.name, self._payload(spec, frame, ts_recv_ns))

    def _spec(self, name: str) -> StreamSpec:
        spec = self._specs.get(name)
        if spec is not None:
            return spec
        if self._restricted:
            raise FeedRejected(RejectReason.UNKNOWN_STREAM, f"not subscribed: {name[:60]!r}")
        try:
            spec = StreamSpec.parse(name)
        except ValueError:
            raise FeedRejected(RejectReason.UNKNOWN_STREAM, f"{name[:60]!r}") from None
        if spec.symbol not in self._instruments:
            raise FeedRejected(RejectReason.UNKNOWN_SYMBOL, spec.symbol[:20], name)
        self._specs[name] = spec  # bounded: only names of known instruments get here
        return spec

    def _payload(self, spec: StreamSpec, data: Any, ts_recv_ns: int) -> MarketData | Ignored:
        instrument = self._instruments[spec.symbol]
        kind = spec.kind
        if kind is StreamKind.TRADE:
            trade = decode(m.TRADE, data)
            _expect(trade.event_type, "trade")
            return trade_from_msg(trade, instrument)
        if kind is StreamKind.BOOK_TICKER:
            return quote_from_msg(decode(m.BOOK_TICKER, data), instrument, ts_recv_ns)
        if kind is StreamKind.DEPTH:
            diff = decode(m.DEPTH_UPDATE, data)
            _expect(diff.event_type, "depthUpdate")
            return depth_diff_from_msg(diff, instrument)
        if kind is StreamKind.AGG_TRADE:
            agg = decode(m.AGG_TRADE, data)
            _expect(agg.event_type, "aggTrade")
            return agg_trade_from_msg(agg, instrument)
        kline = decode(m.KLINE, data)
        _expect(kline.event_type, "kline")
        assert spec.interval is not None
        bar = bar_from_msg(kline, instrument, spec.interval)
        return Ignored(IgnoreReason.KLINE_OPEN) if bar is None else bar


def _expect(event_type: str, wanted: str) -> None:
    if event_type != wanted:
        raise FeedRejected(RejectReason.SCHEMA, f"event {event_type[:30]!r} where {wanted!r}")


def _is_shutdown(data: msgspec.Raw) -> bool:
    try:
        return m.EVENT_PROBE.decode(data).event_type == "serverShutdown"
    except msgspec.DecodeError:
        return False
