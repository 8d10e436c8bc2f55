"""Instrument identifiers and instruments: kind, precision and the venue's filters as data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from domain.errors import InvalidValue

_VENUE = re.compile(r"^[A-Z][A-Z0-9_-]*$")
_ASSET = re.compile(r"^[A-Z0-9]+$")


class InstrumentKind(StrEnum):
    """What is traded: spot now; perpetual swaps are modelled so they can follow."""

    SPOT = "spot"
    PERPETUAL = "perpetual"


@dataclass(frozen=True, slots=True)
class InstrumentId:
    """An instrument on a venue, written ``VENUE:BASE/QUOTE`` (e.g. ``BINANCE:BTC/USDT``).

    Perpetuals carry the settlement asset as in ccxt: ``BINANCE:BTC/USDT:USDT``.
    """

    venue: str
    base: str
    quote: str
    settle: str | None = None
    # Ids are dict keys on the hot path: hash once, not per lookup.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.venue, self.base, self.quote, self.settle)))
        if not _VENUE.match(self.venue):
            raise InvalidValue(f"venue must be upper-case letters/digits, got {self.venue!r}")
        if self.settle == "":
            raise InvalidValue("settle asset must be None or a code, not empty")
        for asset in (self.base, self.quote, *([self.settle] if self.settle is not None else [])):
            if not _ASSET.match(asset):
                raise InvalidValue(f"asset must be upper-case letters/digits, got {asset!r}")

    @classmethod
    def parse(cls, text: str) -> InstrumentId:
        """Parse ``VENUE:BASE/QUOTE[:SETTLE]``; venue and assets are upper-cased."""
        venue, sep, rest = text.strip().partition(":")
        symbol, settle_sep, settle = rest.partition(":")
        base, slash, quote = symbol.partition("/")
        malformed = settle_sep and not settle
        if not sep or not slash or not venue or not base or not quote or malformed:
            raise InvalidValue(f"instrument id must look like 'BINANCE:BTC/USDT', got {text!r}")
        return cls(venue.upper(), base.upper(), quote.upper(), settle.upper() or None)

    def __hash__(self) -> int:
        return self._hash

    @property
    def symbol(self) -> str:
        """Return the ccxt-style symbol, e.g. ``BTC/USDT``."""
        return f"{self.base}/{self.quote}" + (f":{self.settle}" if self.settle else "")

    def __str__(self) -> str:
        return f"{self.venue}:{self.symbol}"


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable instrument with its precision and the venue's order filters.

    ``price_precision``/``size_precision`` are the decimal places of the kernel's fixed-point
    raw ints. ``tick_size``, ``step_size``, ``min_qty`` and ``min_notional`` mirror Binance's
    PRICE_FILTER, LOT_SIZE and NOTIONAL filters; ``None`` means the venue imposes none.
    """

    id: InstrumentId
    kind: InstrumentKind
    price_precision: int
    size_precision: int
    tick_size: Decimal | None = None
    step_size: Decimal | None = None
    min_qty: Decimal | None = None
    min_notional: Decimal | None = None
    max_leverage: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if not 0 <= self.price_precision <= 18 or not 0 <= self.size_precision <= 18:
            raise InvalidValue("precision must be between 0 and 18 decimal places")
        for name in ("tick_size", "step_size", "min_qty", "min_notional"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value <= 0):
                raise InvalidValue(f"{name} must be a positive decimal, got {value}")
        if not self.max_leverage.is_finite() or self.max_leverage < 1:
            raise InvalidValue(f"max leverage must be at least 1, got {self.max_leverage}")
        if self.kind is InstrumentKind.SPOT and self.max_leverage != 1:
            raise InvalidValue("spot instruments trade without leverage")

    @property
    def base(self) -> str:
        """Return the base asset."""
        return self.id.base

    @property
    def quote(self) -> str:
        """Return the quote (cash) asset."""
        return self.id.quote

    def check_order(self, quantity: Decimal, price: Decimal | None) -> str | None:
        """Return why the venue's filters would refuse this order, or ``None`` if they pass."""
        if self.step_size is not None and quantity % self.step_size != 0:
            return f"quantity {quantity} is not a multiple of the step size {self.step_size}"
        if self.min_qty is not None and quantity < self.min_qty:
            return f"quantity {quantity} is below the minimum {self.min_qty}"
        if price is not None:
            if self.tick_size is not None and price % self.tick_size != 0:
                return f"price {price} is not a multiple of the tick size {self.tick_size}"
            if self.min_notional is not None and quantity * price < self.min_notional:
                return f"notional {quantity * price} is below the minimum {self.min_notional}"
        return None
