"""Market data: bars, trades and quotes.

These are the per-event objects of the hot path, so they are light msgspec Structs whose prices
and sizes are fixed-point raw ints (see ``domain.fixed``); ``*_precision`` says their scale.
Timestamps are UTC nanoseconds since the epoch. Use the ``checked`` constructors at boundaries.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from domain.errors import InvalidValue
from domain.fixed import from_raw
from domain.instruments import InstrumentId


class AggressorSide(StrEnum):
    """Which side took liquidity in a trade."""

    BUY = "buy"
    SELL = "sell"


class Bar(msgspec.Struct, frozen=True, gc=False):
    """One OHLCV bar; ``ts_open`` is when the bar opened, ``ts_close`` when it closed."""

    instrument_id: InstrumentId
    ts_open: int
    ts_close: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    price_precision: int
    size_precision: int

    @classmethod
    def checked(
        cls,
        instrument_id: InstrumentId,
        ts_open: int,
        ts_close: int,
        open: int,
        high: int,
        low: int,
        close: int,
        volume: int,
        price_precision: int,
        size_precision: int,
    ) -> Bar:
        """Build a bar after checking the OHLC invariants; raise ``InvalidValue`` otherwise."""
        problem = bar_problem(ts_open, ts_close, open, high, low, close, volume)
        if problem:
            raise InvalidValue(problem)
        return cls(instrument_id, ts_open, ts_close, open, high, low, close, volume,
                   price_precision, size_precision)

    def price(self, raw: int) -> Decimal:
        """Return the exact decimal of a raw price of this bar."""
        return from_raw(raw, self.price_precision)


def bar_problem(
    ts_open: int, ts_close: int, open_: int, high: int, low: int, close: int, volume: int
) -> str | None:
    """Return what is wrong with these bar values, or ``None`` if they are a valid bar."""
    if ts_close <= ts_open:
        return "bar closes before it opens"
    if min(open_, high, low, close) <= 0:
        return "prices must be positive"
    if volume < 0:
        return "volume must not be negative"
    if high < max(open_, close, low):
        return "high is below open, close or low"
    if low > min(open_, close):
        return "low is above open or close"
    return None


class Trade(msgspec.Struct, frozen=True, gc=False):
    """One exchange trade (a print) with its aggressor side."""

    instrument_id: InstrumentId
    ts_event: int
    price: int
    size: int
    aggressor: AggressorSide
    trade_id: str
    price_precision: int
    size_precision: int

    def __post_init__(self) -> None:
        if self.price <= 0 or self.size <= 0:
            raise InvalidValue("a trade needs a positive price and size")


class Quote(msgspec.Struct, frozen=True, gc=False):
    """Best bid and ask with their sizes."""

    instrument_id: InstrumentId
    ts_event: int
    bid: int
    ask: int
    bid_size: int
    ask_size: int
    price_precision: int
    size_precision: int

    def __post_init__(self) -> None:
        if self.bid <= 0 or self.ask <= 0 or self.bid_size < 0 or self.ask_size < 0:
            raise InvalidValue("a quote needs positive prices and non-negative sizes")
        if self.bid > self.ask:
            raise InvalidValue("a quote's bid must not exceed its ask")
