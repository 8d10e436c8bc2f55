"""Public REST endpoints (``/api/v3/ping``, ``time``, ``exchangeInfo``, ``depth``, ``klines``,
``trades``, ``ticker/bookTicker``, ``ticker/24hr``, ``ticker/price``, ``avgPrice``), with the
request weights Binance documents.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.routing import Route

from adapters.exchanges.fake_venue.klines import INTERVALS
from adapters.exchanges.fake_venue.rest_common import Ctx, endpoint
from adapters.exchanges.fake_venue.wire import ZERO, VenueError, fmt

DEPTH_LIMITS = (1, 5, 10, 20, 50, 100, 500, 1000, 5000)


def _symbols_param(ctx: Ctx) -> list[str] | None:
    """Return ``symbol`` or the JSON list ``symbols`` (validated), or None for all."""
    if ctx.get("symbol") and ctx.get("symbols"):
        raise VenueError(-1128, "Combination of optional parameters invalid.")
    if ctx.get("symbol"):
        return [ctx.symbol()]
    text = ctx.get("symbols")
    if text is None:
        return None
    try:
        names = json.loads(text)
    except ValueError as exc:
        raise VenueError(-1100, "Illegal characters found in parameter 'symbols'.") from exc
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise VenueError(-1100, "Illegal characters found in parameter 'symbols'.")
    if len(set(names)) != len(names):
        raise VenueError(-1151, "Symbol is present multiple times in the list.")
    for name in names:
        if name not in ctx.venue.markets:
            raise VenueError(-1121, "Invalid symbol.")
    return names


def _count_weight(ctx: Ctx, one: int, many: int) -> int:
    return one if ctx.get("symbol") else many


@endpoint(1)
def ping(ctx: Ctx) -> dict[str, Any]:
    """Test connectivity."""
    return {}


@endpoint(1)
def server_time(ctx: Ctx) -> dict[str, Any]:
    """Return the server's (wall) time, which signed requests are checked against."""
    return {"serverTime": ctx.venue.wall_ms()}


@endpoint(20)
def exchange_info(ctx: Ctx) -> dict[str, Any]:
    """Return trading rules, rate limits and symbols."""
    venue = ctx.venue
    names = _symbols_param(ctx) or list(venue.rules)
    cfg = venue.config
    return {
        "timezone": "UTC",
        "serverTime": venue.wall_ms(),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": cfg.weight_limit},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
             "limit": cfg.order_limit_10s},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
             "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": [venue.rules[n].exchange_info() for n in names],
    }


def _depth_limit(ctx: Ctx) -> int:
    limit = ctx.int_or_none("limit") or 100
    return max(1, min(limit, 5000))


def _depth_weight(ctx: Ctx) -> int:
    limit = _depth_limit(ctx)
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


@endpoint(_depth_weight)
def depth(ctx: Ctx) -> dict[str, Any]:
    """Return the order book; ``lastUpdateId`` continues the ``@depth`` diff stream."""
    book = ctx.venue.markets[ctx.symbol()].book
    limit = _depth_limit(ctx)
    return {"lastUpdateId": book.last_update_id, "bids": book.top("bids", limit),
            "asks": book.top("asks", limit)}


@endpoint(2)
def klines(ctx: Ctx) -> list[list[Any]]:
    """Return klines built from the trades replayed so far."""
    symbol = ctx.symbol()
    interval = ctx.need("interval")
    if interval not in INTERVALS:
        raise VenueError(-1120, "Invalid interval.")
    limit = ctx.int_or_none("limit") or 500
    if not 1 <= limit <= 1000:
        raise VenueError(-1130, "Data sent for parameter 'limit' is not valid.")
    start, end = ctx.int_or_none("startTime"), ctx.int_or_none("endTime")
    if start is not None and end is not None and start > end:
        raise VenueError(-1023, "Start time is greater than end time.")
    series = ctx.venue.markets[symbol].klines.get(interval)
    series.roll(ctx.venue.now_ms())
    return series.rows(start, end, limit)


@endpoint(25)
def trades(ctx: Ctx) -> list[dict[str, Any]]:
    """Return the most recent replayed trades (oldest first), as ``GET /api/v3/trades``."""
    market = ctx.venue.markets[ctx.symbol()]
    limit = ctx.int_or_none("limit") or 500
    if not 1 <= limit <= 1000:
        raise VenueError(-1130, "Data sent for parameter 'limit' is not valid.")
    return [_trade_row(t) for t in list(market.recent_trades)[-limit:]]


@endpoint(25)
def historical_trades(ctx: Ctx) -> list[dict[str, Any]]:
    """Return replayed trades from ``fromId`` on, as ``GET /api/v3/historicalTrades``."""
    market = ctx.venue.markets[ctx.symbol()]
    limit = ctx.int_or_none("limit") or 500
    if not 1 <= limit <= 1000:
        raise VenueError(-1130, "Data sent for parameter 'limit' is not valid.")
    return [_trade_row(t) for t in market.trades_from(ctx.int_or_none("fromId"), limit)]


@endpoint(4)
def agg_trades(ctx: Ctx) -> list[dict[str, Any]]:
    """Return replayed aggregate trades, as ``GET /api/v3/aggTrades`` (``fromId`` or a time
    window of at most an hour, else the latest)."""
    market = ctx.venue.markets[ctx.symbol()]
    limit = ctx.int_or_none("limit") or 500
    if not 1 <= limit <= 1000:
        raise VenueError(-1130, "Data sent for parameter 'limit' is not valid.")
    start, end = ctx.int_or_none("startTime"), ctx.int_or_none("endTime")
    if start is not None and end is not None and not 0 <= end - start <= 3_600_000:
        raise VenueError(-1127, "More than 1 hours between startTime and endTime.")
    rows = market.aggs_from(ctx.int_or_none("fromId"), start, end, limit)
    return [{"a": a.agg_id, "p": a.price_text, "q": a.qty_text, "f": a.first_id,
             "l": a.last_id, "T": a.ts, "m": a.buyer_maker, "M": True} for a in rows]


def _trade_row(t: Any) -> dict[str, Any]:
    return {"id": t.trade_id, "price": t.price_text, "qty": t.qty_text,
            "quoteQty": fmt(t.price * t.qty), "time": t.ts, "isBuyerMaker": t.buyer_maker,
            "isBestMatch": True}


@endpoint(lambda ctx: _count_weight(ctx, 2, 4))
def book_ticker(ctx: Ctx) -> Any:
    """Return the best bid/ask of one symbol (an object) or several (a list)."""
    names = _symbols_param(ctx)
    rows = [ctx.venue.markets[n].book_ticker() for n in (names or ctx.venue.markets)]
    return rows[0] if ctx.get("symbol") else rows


@endpoint(lambda ctx: _count_weight(ctx, 2, 80))
def ticker_24hr(ctx: Ctx) -> Any:
    """Return 24-hour rolling statistics of one symbol (an object) or several (a list)."""
    names = _symbols_param(ctx)
    now = ctx.venue.now_ms()
    rows = [ctx.venue.markets[n].ticker_24hr(now) for n in (names or ctx.venue.markets)]
    return rows[0] if ctx.get("symbol") else rows


@endpoint(lambda ctx: _count_weight(ctx, 2, 4))
def ticker_price(ctx: Ctx) -> Any:
    """Return the last price of one symbol (an object) or several (a list)."""
    names = _symbols_param(ctx)
    rows = [{"symbol": n, "price": fmt(ctx.venue.markets[n].last_price or ZERO)}
            for n in (names or ctx.venue.markets)]
    return rows[0] if ctx.get("symbol") else rows


@endpoint(2)
def avg_price(ctx: Ctx) -> dict[str, Any]:
    """Return the volume-weighted price of the last five minutes of replayed trades."""
    market = ctx.venue.markets[ctx.symbol()]
    series = market.klines.get("1m")
    recent = [k for k in [*series.closed, *([series.open] if series.open else [])]
              if k.n][-5:]
    volume = sum((k.v for k in recent), ZERO)
    price = sum((k.q for k in recent), ZERO) / volume if volume else (market.last_price or ZERO)
    return {"mins": 5, "price": fmt(Decimal(price)), "closeTime": market.last_trade_ts}


ROUTES = [
    Route("/api/v3/ping", ping),
    Route("/api/v3/time", server_time),
    Route("/api/v3/exchangeInfo", exchange_info),
    Route("/api/v3/depth", depth),
    Route("/api/v3/klines", klines),
    Route("/api/v3/trades", trades),
    Route("/api/v3/historicalTrades", historical_trades),
    Route("/api/v3/aggTrades", agg_trades),
    Route("/api/v3/ticker/bookTicker", book_ticker),
    Route("/api/v3/ticker/24hr", ticker_24hr),
    Route("/api/v3/ticker/price", ticker_price),
    Route("/api/v3/avgPrice", avg_price),
]
