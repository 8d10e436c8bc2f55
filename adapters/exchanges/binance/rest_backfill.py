"""Recover what a stream missed from Binance's REST history, through ccxt.

Trades come from ``GET /api/v3/historicalTrades`` and aggregate trades from
``GET /api/v3/aggTrades`` (both by id, 1000 a page), closed klines from ``GET /api/v3/klines``.
What the exchange's history no longer holds stays missing: the feed reports it as
``MissingData``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ccxt.async_support as ccxt

from adapters.exchanges.binance.parse import to_fixed
from adapters.exchanges.binance.streams import binance_symbol
from domain.instruments import Instrument
from domain.market import AggressorSide, Bar, Trade
from domain.timeframes import Timeframe

PAGE = 1000
_NS_PER_MS = 1_000_000


class RestBackfiller:
    """A ``Backfiller`` over ccxt's Binance client (pointed at Binance or the local venue)."""

    def __init__(self, client: ccxt.binance) -> None:
        self._client = client

    async def trades_between(
        self, instrument: Instrument, from_id: int, to_id: int
    ) -> Sequence[Trade]:
        """Page through trades ``from_id..to_id`` by id."""
        symbol = binance_symbol(instrument.id)
        out: list[Trade] = []
        next_id = from_id
        while next_id <= to_id:
            rows = await self._client.publicGetHistoricalTrades(
                {"symbol": symbol, "fromId": next_id, "limit": min(PAGE, to_id - next_id + 1)})
            if not rows:
                break  # the venue's history does not reach that far: the rest stays missing
            out.extend(trade_from_rest(row, instrument) for row in rows)
            next_id = int(rows[-1]["id"]) + 1
        return out

    async def agg_trades_between(
        self, instrument: Instrument, from_id: int, to_id: int
    ) -> Sequence[Trade]:
        """Page through aggregate trades ``from_id..to_id`` by aggregate id."""
        symbol = binance_symbol(instrument.id)
        out: list[Trade] = []
        next_id = from_id
        while next_id <= to_id:
            rows = await self._client.publicGetAggTrades(
                {"symbol": symbol, "fromId": next_id, "limit": min(PAGE, to_id - next_id + 1)})
            if not rows:
                break
            out.extend(agg_trade_from_rest(row, instrument) for row in rows)
            next_id = int(rows[-1]["a"]) + 1
        return out

    async def klines_between(
        self, instrument: Instrument, interval: Timeframe, from_open_ns: int, to_open_ns: int
    ) -> Sequence[Bar]:
        """Page through closed klines opening in ``from_open_ns..to_open_ns``."""
        symbol = binance_symbol(instrument.id)
        out: list[Bar] = []
        start_ms = from_open_ns // _NS_PER_MS
        end_ms = to_open_ns // _NS_PER_MS
        while start_ms <= end_ms:
            rows = await self._client.publicGetKlines({
                "symbol": symbol, "interval": str(interval), "startTime": start_ms,
                "endTime": end_ms, "limit": PAGE})
            if not rows:
                break
            out.extend(bar_from_rest(row, instrument, interval) for row in rows)
            start_ms = int(rows[-1][0]) + 1
        return out


def trade_from_rest(row: Mapping[str, Any], instrument: Instrument) -> Trade:
    """Convert one ``historicalTrades`` row into a domain trade (exact fixed-point)."""
    return Trade(instrument.id, int(row["time"]) * _NS_PER_MS,
                 to_fixed(str(row["price"]), instrument.price_precision),
                 to_fixed(str(row["qty"]), instrument.size_precision),
                 AggressorSide.SELL if row["isBuyerMaker"] else AggressorSide.BUY,
                 str(row["id"]), instrument.price_precision, instrument.size_precision)


def agg_trade_from_rest(row: Mapping[str, Any], instrument: Instrument) -> Trade:
    """Convert one ``aggTrades`` row into a domain trade whose id is the aggregate id."""
    return Trade(instrument.id, int(row["T"]) * _NS_PER_MS,
                 to_fixed(str(row["p"]), instrument.price_precision),
                 to_fixed(str(row["q"]), instrument.size_precision),
                 AggressorSide.SELL if row["m"] else AggressorSide.BUY,
                 str(row["a"]), instrument.price_precision, instrument.size_precision)


def bar_from_rest(row: Sequence[Any], instrument: Instrument, interval: Timeframe) -> Bar:
    """Convert one ``klines`` row into a closed domain bar."""
    pp, sp = instrument.price_precision, instrument.size_precision
    open_ns = int(row[0]) * _NS_PER_MS
    return Bar.checked(instrument.id, open_ns, open_ns + interval.nanos,
                       to_fixed(str(row[1]), pp), to_fixed(str(row[2]), pp),
                       to_fixed(str(row[3]), pp), to_fixed(str(row[4]), pp),
                       to_fixed(str(row[5]), sp), pp, sp)
