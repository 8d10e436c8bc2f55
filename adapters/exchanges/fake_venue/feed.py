"""Turn each replayed event into market state and the market-stream messages it causes.

Payload shapes follow the live captures in ``binance_fixtures/spot/ws`` (``trade``, ``bookTicker``,
``depth@100ms``). ``@depth`` (1000 ms) merges the 100 ms diffs of each second into one diff
(first ``U``, last ``u``, newest quantity per level), as Binance does; ``@depth<N>`` sends the top
of the book. Klines are pushed every 2 s (1 s for ``1s``) and once more, closed, at their end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.exchanges.fake_venue.market import MarketState
from adapters.exchanges.fake_venue.recording import (
    AggTradeEvent,
    BookResetEvent,
    DepthEvent,
    Level,
    MarketEvent,
    QuoteEvent,
    Recording,
    TradeEvent,
)
from adapters.exchanges.fake_venue.streams import StreamHub

_TOP = (5, 10, 20)


class _SecondDiff:
    """Diffs of one second merged into one ``@depth`` (1000 ms) message."""

    def __init__(self) -> None:
        self.second = -1
        self.ts = 0
        self.first_id = 0
        self.last_id = 0
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}


class MarketFeed:
    """Applies events to the markets and publishes stream messages."""

    def __init__(self, markets: dict[str, MarketState], recordings: dict[str, Recording],
                 hub: StreamHub, on_trade: Callable[[TradeEvent], None]) -> None:
        self.markets = markets
        self.recordings = recordings
        self.hub = hub
        self.on_trade = on_trade
        self._seconds = {s: _SecondDiff() for s in markets}
        self._last_ticker = dict.fromkeys(markets, -1)

    def __call__(self, event: MarketEvent) -> None:
        """Handle one event (the replay's sink)."""
        market = self.markets[event.symbol]
        low = event.symbol.lower()
        self._close_klines(market, event.ts)  # klines that ended before this event close first
        if isinstance(event, TradeEvent):
            market.on_trade(event, event.ts)
            self.hub.publish(f"{low}@trade", {
                "e": "trade", "E": event.ts, "s": event.symbol, "t": event.trade_id,
                "p": event.price_text, "q": event.qty_text, "T": event.ts,
                "m": event.buyer_maker, "M": True})
            self.on_trade(event)
        elif isinstance(event, AggTradeEvent):
            market.agg_history.append(event)
            self.hub.publish(f"{low}@aggTrade", {
                "e": "aggTrade", "E": event.ts, "s": event.symbol, "a": event.agg_id,
                "p": event.price_text, "q": event.qty_text, "f": event.first_id,
                "l": event.last_id, "T": event.ts, "m": event.buyer_maker, "M": True})
        elif isinstance(event, QuoteEvent):
            market.quote = event
            self.hub.publish(f"{low}@bookTicker", {
                "u": event.update_id, "s": event.symbol, "b": event.bid, "B": event.bid_qty,
                "a": event.ask, "A": event.ask_qty})
        elif isinstance(event, DepthEvent):
            self._diff(market, event.ts, event.first_id, event.last_id, event.bids, event.asks)
        else:
            self._reset(market, event)
        self._push_periodic(market, event.ts)

    def _reset(self, market: MarketState, event: BookResetEvent) -> None:
        rec = self.recordings[event.symbol]
        bids, asks = market.book.diff_to(rec.snapshot_bids, rec.snapshot_asks)
        self._diff(market, event.ts, event.update_id, event.update_id, bids, asks)

    def _diff(self, market: MarketState, ts: int, first_id: int, last_id: int,
              bids: tuple[Level, ...], asks: tuple[Level, ...]) -> None:
        market.book.apply(bids, asks, last_id)
        low = market.symbol.lower()
        self.hub.publish(f"{low}@depth@100ms", _depth_update(
            ts, market.symbol, first_id, last_id, bids, asks))
        for n in _TOP:
            if self.hub.wants(f"{low}@depth{n}@100ms"):
                self.hub.publish(f"{low}@depth{n}@100ms", self._top(market, n))
        acc = self._seconds[market.symbol]
        if ts // 1000 != acc.second:
            self._flush_second(market)
            acc.second, acc.first_id = ts // 1000, first_id
        acc.ts, acc.last_id = ts, last_id
        acc.bids.update(bids)
        acc.asks.update(asks)

    def _flush_second(self, market: MarketState) -> None:
        acc = self._seconds[market.symbol]
        if acc.second < 0:
            return
        low = market.symbol.lower()
        payload = _depth_update(acc.ts, market.symbol, acc.first_id, acc.last_id,
                                tuple(acc.bids.items()), tuple(acc.asks.items()))
        self.hub.publish(f"{low}@depth", payload)
        self.hub.publish(f"{low}@depth@1000ms", payload)
        for n in _TOP:
            for name in (f"{low}@depth{n}", f"{low}@depth{n}@1000ms"):
                if self.hub.wants(name):
                    self.hub.publish(name, self._top(market, n))
        acc.bids.clear()
        acc.asks.clear()

    @staticmethod
    def _top(market: MarketState, n: int) -> dict[str, Any]:
        return {"lastUpdateId": market.book.last_update_id, "bids": market.book.top("bids", n),
                "asks": market.book.top("asks", n)}

    def _close_klines(self, market: MarketState, now: int) -> None:
        """Close the klines that ended before ``now`` and push them (``x: true``)."""
        low = market.symbol.lower()
        wanted = self.hub.kline_wanted.get(low, set())
        for interval, series in market.klines.series.items():
            finished = series.roll(now)
            if finished and interval in wanted:
                for kline in finished:
                    self.hub.publish(f"{low}@kline_{interval}",
                                     _kline_event(now, market.symbol, interval, kline, True))

    def _push_periodic(self, market: MarketState, now: int) -> None:
        """Push the open klines and the tickers whose cadence is due."""
        low = market.symbol.lower()
        for interval in self.hub.kline_wanted.get(low, set()):
            series = market.klines.series.get(interval)
            cadence = 1000 if interval == "1s" else 2000
            if series is not None and series.open is not None and (
                    now - series.last_push >= cadence):
                series.last_push = now
                self.hub.publish(f"{low}@kline_{interval}", _kline_event(
                    now, market.symbol, interval, series.open, False))
        if now - self._last_ticker[market.symbol] >= 1000 and (
                self.hub.wants(f"{low}@ticker") or self.hub.wants(f"{low}@miniTicker")):
            self._last_ticker[market.symbol] = now
            self._publish_tickers(market, now)

    def _publish_tickers(self, market: MarketState, now: int) -> None:
        low = market.symbol.lower()
        t = market.ticker_24hr(now)
        self.hub.publish(f"{low}@ticker", {
            "e": "24hrTicker", "E": now, "s": t["symbol"], "p": t["priceChange"],
            "P": t["priceChangePercent"], "w": t["weightedAvgPrice"], "x": t["prevClosePrice"],
            "c": t["lastPrice"], "Q": t["lastQty"], "b": t["bidPrice"], "B": t["bidQty"],
            "a": t["askPrice"], "A": t["askQty"], "o": t["openPrice"], "h": t["highPrice"],
            "l": t["lowPrice"], "v": t["volume"], "q": t["quoteVolume"], "O": t["openTime"],
            "C": t["closeTime"], "F": t["firstId"], "L": t["lastId"], "n": t["count"]})
        self.hub.publish(f"{low}@miniTicker", {
            "e": "24hrMiniTicker", "E": now, "s": t["symbol"], "c": t["lastPrice"],
            "o": t["openPrice"], "h": t["highPrice"], "l": t["lowPrice"], "v": t["volume"],
            "q": t["quoteVolume"]})


def _depth_update(ts: int, symbol: str, first_id: int, last_id: int, bids: tuple[Level, ...],
                  asks: tuple[Level, ...]) -> dict[str, Any]:
    return {"e": "depthUpdate", "E": ts, "s": symbol, "U": first_id, "u": last_id,
            "b": [list(level) for level in bids], "a": [list(level) for level in asks]}


def _kline_event(now: int, symbol: str, interval: str, kline: Any, closed: bool) -> dict[str, Any]:
    return {"e": "kline", "E": now, "s": symbol, "k": kline.stream_body(symbol, interval, closed)}
