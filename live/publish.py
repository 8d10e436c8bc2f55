"""Publish normalised market events: to the bus (in the envelope) and to hot state.

Streams are ``md.trades.<instrument>`` and ``md.quotes.<instrument>``. With order books on,
hot state keeps each book's top levels under ``book`` (``bids``/``asks`` as ``[price, size]``
decimal strings, best first; ``update_id``; ``synced``). Hot state keeps one
record per instrument in the namespace ``market`` (a Redis hash), like an exchange's ticker:
the latest trade (``last_*``), best bid/ask (``bid``, ``ask``, ``bid_size``, ``ask_size``,
``quote_ts_event``) and rolling 24-hour statistics (``*_24h``). Each write restarts the record's
TTL, so a record whose feed went quiet disappears, and the ``*ts_event`` fields tell how old
each part is.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from adapters.exchanges.binance.book_top import TopOfBook
from domain.fixed import raw_to_text
from domain.market import Quote, Trade
from domain.messaging import Bus, Envelope, HotState
from domain.wire import QUOTE_TYPE, SCHEMA_VERSION, TRADE_TYPE, quote_payload, trade_payload

HOT_TTL_MS = 60_000
MARKET_NAMESPACE = "market"
BOOK_NAMESPACE = "book"


def trade_stream(instrument: str) -> str:
    """Return the bus stream of an instrument's trades."""
    return f"md.trades.{instrument}"


def quote_stream(instrument: str) -> str:
    """Return the bus stream of an instrument's best bid/ask."""
    return f"md.quotes.{instrument}"


class MarketPublisher:
    """Append market events to the bus and keep the latest values in hot state."""

    def __init__(self, bus: Bus, hot: HotState, hot_ttl_ms: int = HOT_TTL_MS) -> None:
        self._bus = bus
        self._hot = hot
        self._ttl = hot_ttl_ms
        self.published = 0

    async def publish_trades(self, trades: Sequence[Trade]) -> None:
        """Append the trades in order (one batch per instrument), then store each latest."""
        batches: dict[str, list[Envelope]] = defaultdict(list)
        for trade in trades:
            instrument = str(trade.instrument_id)
            # The id is the exchange's own key of the trade: a republished trade (after a
            # reconnect) carries the same id, so consumers can drop it.
            batches[instrument].append(Envelope(
                id=f"{instrument}/trade/{trade.trade_id}",
                type=TRADE_TYPE, schema_version=SCHEMA_VERSION, ts_event=trade.ts_event,
                payload=trade_payload(trade)))
        for instrument, envelopes in batches.items():
            await self._bus.append_many(trade_stream(instrument), envelopes)
            last = envelopes[-1].payload
            await self._hot.merge(MARKET_NAMESPACE, instrument, {
                "last_price": last["price"], "last_qty": last["qty"],
                "last_trade_id": last["trade_id"], "last_aggressor": last["aggressor"],
                "last_ts_event": last["ts_event"]}, ttl_ms=self._ttl)
            self.published += len(envelopes)

    async def publish_stats(self, instrument: str, stats: dict[str, object]) -> None:
        """Store an instrument's rolling 24-hour statistics (``RollingStats.snapshot``)."""
        await self._hot.merge(MARKET_NAMESPACE, instrument, {
            "window_start_ns" if name == "window_start_ns" else f"{name}_24h": value
            for name, value in stats.items() if name != "ts_event"}, ttl_ms=self._ttl)

    async def publish_quote(self, quote: Quote) -> None:
        """Append a best bid/ask and store it as the latest."""
        payload = quote_payload(quote)
        instrument = str(quote.instrument_id)
        await self._bus.append(quote_stream(instrument), Envelope(
            id=uuid.uuid4().hex, type=QUOTE_TYPE, schema_version=SCHEMA_VERSION,
            ts_event=quote.ts_event, payload=payload))
        await self._hot.merge(MARKET_NAMESPACE, instrument, {
            "bid": payload["bid"], "ask": payload["ask"], "bid_size": payload["bid_size"],
            "ask_size": payload["ask_size"], "quote_ts_event": payload["ts_event"]},
            ttl_ms=self._ttl)
        self.published += 1

    async def publish_book(self, top: TopOfBook) -> None:
        """Store the top levels of an instrument's local order book as the latest."""
        pp, sp = top.price_precision, top.size_precision
        await self._hot.put(BOOK_NAMESPACE, str(top.instrument_id), {
            "synced": top.synced, "update_id": top.update_id, "ts_event": top.ts_event,
            "bids": [[raw_to_text(p, pp), raw_to_text(q, sp)] for p, q in top.bids],
            "asks": [[raw_to_text(p, pp), raw_to_text(q, sp)] for p, q in top.asks]},
            ttl_ms=self._ttl)
