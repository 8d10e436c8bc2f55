"""One symbol's live market state, moved by replay events and read by REST, streams and matching.

``OrderBook`` is the book a client rebuilds from ``/depth`` plus ``@depth`` diffs (its
``last_update_id`` is the snapshot's ``lastUpdateId``); ``touch`` is the latest ``bookTicker``;
trades feed the klines and the 24-hour statistics.
"""

from __future__ import annotations

import heapq
from collections import deque
from decimal import Decimal
from typing import Any

from adapters.exchanges.fake_venue.klines import KlineBook
from adapters.exchanges.fake_venue.recording import (
    ZERO_QTY,
    AggTradeEvent,
    Level,
    QuoteEvent,
    TradeEvent,
)
from adapters.exchanges.fake_venue.wire import ZERO, fmt

RECENT_TRADES = 1000  # what GET /api/v3/trades can return at most
# How far back GET /api/v3/historicalTrades reaches (bounded: loop mode replays forever).
TRADE_HISTORY = 200_000


class OrderBook:
    """Price levels by side, keyed by their eight-place text; quantities as text too."""

    def __init__(self, bids: tuple[Level, ...], asks: tuple[Level, ...], last_update_id: int):
        self.bids: dict[str, str] = dict(bids)
        self.asks: dict[str, str] = dict(asks)
        self.last_update_id = last_update_id

    def apply(self, bids: tuple[Level, ...], asks: tuple[Level, ...], last_update_id: int) -> None:
        """Apply a diff: absolute quantities, zero removes the level."""
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, qty in levels:
                if qty == ZERO_QTY:
                    side.pop(price, None)
                else:
                    side[price] = qty
        self.last_update_id = last_update_id

    def diff_to(self, bids: tuple[Level, ...], asks: tuple[Level, ...]) -> tuple[
            tuple[Level, ...], tuple[Level, ...]]:
        """Return the diff that turns this book into the given one (for a loop restart)."""
        out: list[tuple[Level, ...]] = []
        for mine, theirs in ((self.bids, dict(bids)), (self.asks, dict(asks))):
            removed = [(p, ZERO_QTY) for p in mine if p not in theirs]
            changed = [(p, q) for p, q in theirs.items() if mine.get(p) != q]
            out.append(tuple(removed + changed))
        return out[0], out[1]

    def top(self, side: str, limit: int) -> list[list[str]]:
        """Return the best ``limit`` levels of ``side`` ("bids" or "asks") as ``[price, qty]``."""
        levels = self.bids if side == "bids" else self.asks
        pick = heapq.nlargest if side == "bids" else heapq.nsmallest
        return [[p, levels[p]] for p in pick(limit, levels, key=float)]

    def walk(self, side: str, beyond: Decimal) -> list[tuple[Decimal, Decimal]]:
        """Return the levels of ``side`` strictly worse than ``beyond``, best first."""
        levels = self.asks if side == "asks" else self.bids
        rows = [(Decimal(p), Decimal(q)) for p, q in levels.items()]
        if side == "asks":
            return sorted(r for r in rows if r[0] > beyond)
        return sorted((r for r in rows if r[0] < beyond), reverse=True)


class MarketState:
    """Everything the venue knows about one symbol's market at the current replay time."""

    def __init__(self, symbol: str, bids: tuple[Level, ...], asks: tuple[Level, ...],
                 snapshot_id: int) -> None:
        self.symbol = symbol
        self.book = OrderBook(bids, asks, snapshot_id)
        self.quote: QuoteEvent | None = None
        self.last_trade: TradeEvent | None = None
        self.last_trade_ts = 0
        self.recent_trades: deque[TradeEvent] = deque(maxlen=RECENT_TRADES)
        self.trade_history: deque[TradeEvent] = deque(maxlen=TRADE_HISTORY)
        self.agg_history: deque[AggTradeEvent] = deque(maxlen=TRADE_HISTORY)
        self.klines = KlineBook(symbol)

    @property
    def touch(self) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
        """Return (bid, bid qty, ask, ask qty) from the latest bookTicker, if one was seen."""
        q = self.quote
        if q is None:
            return None
        return Decimal(q.bid), Decimal(q.bid_qty), Decimal(q.ask), Decimal(q.ask_qty)

    @property
    def last_price(self) -> Decimal | None:
        """Return the last trade's price."""
        return None if self.last_trade is None else self.last_trade.price

    def on_trade(self, trade: TradeEvent, ts: int) -> None:
        """Record a trade stamped ``ts`` (venue time)."""
        self.last_trade = trade
        self.last_trade_ts = ts
        self.recent_trades.append(trade)
        self.trade_history.append(trade)
        self.klines.on_trade(trade, ts)

    def trades_from(self, from_id: int | None, limit: int) -> list[TradeEvent]:
        """Return up to ``limit`` replayed trades from id ``from_id`` on (the latest if None)."""
        history = self.trade_history
        if from_id is None:
            return list(history)[-limit:]
        if not history or from_id > history[-1].trade_id:
            return []
        # Ids are contiguous within the kept history, so the start is an offset, not a search.
        start = max(0, from_id - history[0].trade_id)
        return [history[i] for i in range(start, min(start + limit, len(history)))]

    def aggs_from(self, from_id: int | None, start_ms: int | None, end_ms: int | None,
                  limit: int) -> list[AggTradeEvent]:
        """Return up to ``limit`` replayed aggregate trades: from id ``from_id`` on, else within
        ``start_ms..end_ms`` (inclusive), else the latest."""
        history = self.agg_history
        if from_id is not None:
            if not history or from_id > history[-1].agg_id:
                return []
            start = max(0, from_id - history[0].agg_id)  # ids are contiguous: an offset
            return [history[i] for i in range(start, min(start + limit, len(history)))]
        if start_ms is None and end_ms is None:
            return list(history)[-limit:]
        low, high = start_ms or 0, end_ms if end_ms is not None else 2**63
        return [a for a in history if low <= a.ts <= high][:limit]

    def book_ticker(self) -> dict[str, Any]:
        """Return ``GET /api/v3/ticker/bookTicker`` for this symbol."""
        q = self.quote
        if q is None:
            return {"symbol": self.symbol, "bidPrice": fmt(ZERO), "bidQty": fmt(ZERO),
                    "askPrice": fmt(ZERO), "askQty": fmt(ZERO)}
        return {"symbol": self.symbol, "bidPrice": q.bid, "bidQty": q.bid_qty,
                "askPrice": q.ask, "askQty": q.ask_qty}

    def ticker_24hr(self, now: int) -> dict[str, Any]:
        """Return ``GET /api/v3/ticker/24hr`` for this symbol, over one-minute klines."""
        closed, current = self.klines.day_window(now)
        window = [*closed, *([current] if current is not None and current.n else [])]
        traded = [k for k in window if k.n]
        volume = sum((k.v for k in traded), ZERO)
        quote_volume = sum((k.q for k in traded), ZERO)
        last = self.last_trade
        open_price = traded[0].o if traded else ZERO
        last_price = last.price if last is not None else ZERO
        change = last_price - open_price if traded else ZERO
        percent = (change / open_price * 100).quantize(Decimal("0.001")) if open_price else ZERO
        q = self.quote
        return {
            "symbol": self.symbol,
            "priceChange": fmt(change),
            "priceChangePercent": f"{percent:f}",
            "weightedAvgPrice": fmt(quote_volume / volume) if volume else fmt(ZERO),
            "prevClosePrice": fmt(traded[0].o) if traded else fmt(ZERO),
            "lastPrice": fmt(last_price),
            "lastQty": fmt(last.qty) if last is not None else fmt(ZERO),
            "bidPrice": q.bid if q else fmt(ZERO),
            "bidQty": q.bid_qty if q else fmt(ZERO),
            "askPrice": q.ask if q else fmt(ZERO),
            "askQty": q.ask_qty if q else fmt(ZERO),
            "openPrice": fmt(open_price),
            "highPrice": fmt(max((k.h for k in traded), default=ZERO)),
            "lowPrice": fmt(min((k.l for k in traded), default=ZERO)),
            "volume": fmt(volume),
            "quoteVolume": fmt(quote_volume),
            "openTime": now - 86_400_000,
            "closeTime": now,
            "firstId": traded[0].f if traded else -1,
            "lastId": traded[-1].L if traded else -1,
            "count": sum(k.n for k in traded),
        }
