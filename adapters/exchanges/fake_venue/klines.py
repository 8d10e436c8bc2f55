"""Klines built from the replayed trades, for ``GET /api/v3/klines`` and ``<symbol>@kline_<i>``.

``1s`` and ``1m`` are kept from the first trade; a longer interval starts when first asked for,
filled from the ``1m`` history (every longer interval is made of whole minutes), and then follows
the trades. An interval without trades still yields a kline (open = high = low = close = the last
close, no volume), as Binance's do.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from adapters.exchanges.fake_venue.recording import TradeEvent
from adapters.exchanges.fake_venue.wire import ZERO, fmt

_S = 1000
_M = 60 * _S
_D = 1440 * _M
FIXED: Final[dict[str, int]] = {
    "1s": _S, "1m": _M, "3m": 3 * _M, "5m": 5 * _M, "15m": 15 * _M, "30m": 30 * _M,
    "1h": 60 * _M, "2h": 120 * _M, "4h": 240 * _M, "6h": 360 * _M, "8h": 480 * _M,
    "12h": 720 * _M, "1d": _D, "3d": 3 * _D, "1w": 7 * _D,
}
INTERVALS: Final = (*FIXED, "1M")
_MONDAY_OFFSET = 4 * _D  # 1970-01-01 was a Thursday; Binance's weeks open on Monday
KEEP = 5000  # closed klines kept per interval (REST returns at most 1000 per call)
_MAX_FILL = 10_000


def open_time(interval: str, ts: int) -> int:
    """Return the open time of the ``interval`` kline holding ``ts`` (ms)."""
    if interval == "1M":
        moment = datetime.fromtimestamp(ts / 1000, tz=UTC)
        return int(datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp() * 1000)
    size = FIXED[interval]
    shift = _MONDAY_OFFSET if interval == "1w" else 0
    return (ts - shift) // size * size + shift


def close_time(interval: str, start: int) -> int:
    """Return the close time (last ms) of the kline opening at ``start``."""
    if interval == "1M":
        moment = datetime.fromtimestamp(start / 1000, tz=UTC)
        year, month = divmod(moment.month, 12)
        nxt = datetime(moment.year + year, month + 1, 1, tzinfo=UTC)
        return int(nxt.timestamp() * 1000) - 1
    return start + FIXED[interval] - 1


class Kline:
    """One kline being built or closed."""

    __slots__ = ("L", "Q", "V", "c", "close", "f", "h", "l", "n", "o", "q", "start", "v")

    def __init__(self, start: int, close: int, price: Decimal) -> None:
        self.start, self.close = start, close
        self.o = self.h = self.l = self.c = price
        self.v = self.q = self.V = self.Q = ZERO
        self.n = 0
        self.f = self.L = -1

    def add(self, price: Decimal, qty: Decimal, trade_id: int, taker_buy: bool) -> None:
        """Fold one trade in."""
        if self.n == 0:
            self.o = self.h = self.l = price
            self.f = trade_id
        self.h = max(self.h, price)
        self.l = min(self.l, price)
        self.c = price
        self.v += qty
        self.q += price * qty
        if taker_buy:
            self.V += qty
            self.Q += price * qty
        self.n += 1
        self.L = trade_id

    def merge(self, other: Kline) -> None:
        """Fold a shorter kline (inside this one, later than what is folded so far) in."""
        if other.n == 0:
            if self.n == 0:
                self.o = self.h = self.l = self.c = other.c
            return
        if self.n == 0:
            self.o, self.h, self.l, self.f = other.o, other.h, other.l, other.f
        self.h, self.l, self.c = max(self.h, other.h), min(self.l, other.l), other.c
        self.v += other.v
        self.q += other.q
        self.V += other.V
        self.Q += other.Q
        self.n += other.n
        self.L = other.L

    def rest_row(self) -> list[Any]:
        """Return the kline as ``GET /api/v3/klines`` lists it."""
        return [self.start, fmt(self.o), fmt(self.h), fmt(self.l), fmt(self.c), fmt(self.v),
                self.close, fmt(self.q), self.n, fmt(self.V), fmt(self.Q), "0"]

    def stream_body(self, symbol: str, interval: str, closed: bool) -> dict[str, Any]:
        """Return the ``k`` object of a kline stream event."""
        return {"t": self.start, "T": self.close, "s": symbol, "i": interval, "f": self.f,
                "L": self.L, "o": fmt(self.o), "c": fmt(self.c), "h": fmt(self.h),
                "l": fmt(self.l), "v": fmt(self.v), "n": self.n, "x": closed, "q": fmt(self.q),
                "V": fmt(self.V), "Q": fmt(self.Q), "B": "0"}


class KlineSeries:
    """The klines of one symbol and interval: closed history and the open one."""

    def __init__(self, interval: str) -> None:
        self.interval = interval
        self.closed: deque[Kline] = deque(maxlen=KEEP)
        self.open: Kline | None = None
        self.last_push = -1  # venue time of the last stream update, for the 1-2 s cadence

    def _start(self, ts: int, price: Decimal) -> Kline:
        start = open_time(self.interval, ts)
        return Kline(start, close_time(self.interval, start), price)

    def roll(self, now: int) -> list[Kline]:
        """Close every kline that ended before ``now``; return them (oldest first)."""
        finished: list[Kline] = []
        while self.open is not None and now > self.open.close:
            done = self.open
            self.closed.append(done)
            finished.append(done)
            if len(finished) >= _MAX_FILL:  # a long jump in time: skip the empty stretch
                self.open = self._start(now, done.c)
                break
            self.open = self._start(done.close + 1, done.c)
        return finished

    def add(self, trade: TradeEvent, ts: int) -> None:
        """Fold a trade (stamped ``ts`` in venue time) into the open kline."""
        if self.open is None:
            self.open = self._start(ts, trade.price)
        self.open.add(trade.price, trade.qty, trade.trade_id, not trade.buyer_maker)

    def backfill(self, minutes: KlineSeries) -> None:
        """Build this (longer) interval's history from the one-minute series."""
        for minute in [*minutes.closed, *([minutes.open] if minutes.open else [])]:
            if self.open is None or minute.start > self.open.close:
                if self.open is not None:
                    self.closed.append(self.open)
                self.open = self._start(minute.start, minute.c if minute.n == 0 else minute.o)
            self.open.merge(minute)

    def rows(self, start: int | None, end: int | None, limit: int) -> list[list[Any]]:
        """Return REST rows overlapping ``[start, end]``: the first ``limit`` (the last if open)."""
        every = [*self.closed, *([self.open] if self.open else [])]
        picked = [k for k in every
                  if (start is None or k.start >= start) and (end is None or k.start <= end)]
        picked = picked[:limit] if start is not None else picked[-limit:]
        return [k.rest_row() for k in picked]


class KlineBook:
    """All kline series of one symbol."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.series: dict[str, KlineSeries] = {"1s": KlineSeries("1s"), "1m": KlineSeries("1m")}

    def get(self, interval: str) -> KlineSeries:
        """Return (starting if needed) the series of ``interval``; it must be a known interval."""
        found = self.series.get(interval)
        if found is None:
            found = KlineSeries(interval)
            found.backfill(self.series["1m"])
            self.series[interval] = found
        return found

    def on_trade(self, trade: TradeEvent, ts: int) -> None:
        """Fold a trade into every series (after rolling them to its time)."""
        for series in self.series.values():
            series.roll(ts)
            series.add(trade, ts)

    def day_window(self, now: int) -> tuple[list[Kline], Kline | None]:
        """Return the one-minute klines of the last 24 hours and the open one (for 24hr stats)."""
        minutes = self.series["1m"]
        since = now - _D
        return [k for k in minutes.closed if k.start >= since], minutes.open
