"""Ports for vendor data (one per kind of data) and the values that cross them.

A premium feed replaces a vendor by implementing the same port: the Dagster assets and the
storage writers see only `PriceSource`, `NewsSource` and `OnChainSource` and their values.

Every value carries two times: the vendor's own (``observed_at`` / ``published_at``: when the
vendor says the value was true or published) and ``available_at`` (when Lockgate received it).
Features read vendor data point-in-time, as of ``available_at`` (ARCHITECTURE.md, decision 2),
so a backtest never sees a value before Lockgate could have seen it live.

Assets are upper-case tickers (``BTC``) and currencies upper-case codes (``USD``) whatever the
vendor spells them: each adapter translates to the vendor's own identifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Generic, Protocol, TypeVar, runtime_checkable

import msgspec

from domain.errors import InvalidValue

_ZERO = timedelta(0)


def _utc(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() != _ZERO:
        raise InvalidValue(f"{name} must be a UTC datetime, got {value!r}")


def _finite(name: str, value: Decimal, *, positive: bool = False, non_negative: bool = False,
            ) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidValue(f"{name} must be a finite Decimal, got {value!r}")
    if positive and value <= 0:
        raise InvalidValue(f"{name} must be positive, got {value}")
    if non_negative and value < 0:
        raise InvalidValue(f"{name} must not be negative, got {value}")


def _code(name: str, value: str) -> None:
    if not value or value != value.strip() or value != value.upper():
        raise InvalidValue(f"{name} must be a non-empty upper-case code, got {value!r}")


class VendorPrice(msgspec.Struct, frozen=True, kw_only=True):
    """A vendor's price of ``asset`` in ``vs_currency``, with market cap, volume and rank."""

    vendor: str
    asset: str
    vs_currency: str
    price: Decimal
    market_cap: Decimal | None = None
    volume_24h: Decimal | None = None
    market_cap_rank: int | None = None
    observed_at: datetime
    available_at: datetime

    def __post_init__(self) -> None:
        """Refuse NaN, infinite or non-positive prices, negative caps and non-UTC times."""
        _code("asset", self.asset)
        _code("vs_currency", self.vs_currency)
        _finite("price", self.price, positive=True)
        if self.market_cap is not None:
            _finite("market_cap", self.market_cap, non_negative=True)
        if self.volume_24h is not None:
            _finite("volume_24h", self.volume_24h, non_negative=True)
        if self.market_cap_rank is not None and self.market_cap_rank < 1:
            raise InvalidValue(f"market_cap_rank must be at least 1, got {self.market_cap_rank}")
        _utc("observed_at", self.observed_at)
        _utc("available_at", self.available_at)


class NewsPost(msgspec.Struct, frozen=True, kw_only=True):
    """A news post with the currencies it concerns and its readers' votes."""

    vendor: str
    post_id: str
    title: str
    url: str
    source: str | None
    published_at: datetime
    available_at: datetime
    currencies: tuple[str, ...] = ()
    votes_positive: int = 0
    votes_negative: int = 0

    def __post_init__(self) -> None:
        """Refuse empty ids, titles or URLs, negative votes and non-UTC times."""
        for name in ("post_id", "title", "url"):
            if not getattr(self, name):
                raise InvalidValue(f"{name} must not be empty")
        for code in self.currencies:
            _code("currency", code)
        if self.votes_positive < 0 or self.votes_negative < 0:
            raise InvalidValue("votes must not be negative")
        _utc("published_at", self.published_at)
        _utc("available_at", self.available_at)


class MetricPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One point of a vendor metric's time series (``observed_at``: the interval's start)."""

    vendor: str
    metric: str
    asset: str
    observed_at: datetime
    value: Decimal
    available_at: datetime

    def __post_init__(self) -> None:
        """Refuse an empty metric name, NaN or infinite values and non-UTC times."""
        if not self.metric:
            raise InvalidValue("metric must not be empty")
        _code("asset", self.asset)
        _finite("value", self.value)
        _utc("observed_at", self.observed_at)
        _utc("available_at", self.available_at)


class Dropped(msgspec.Struct, frozen=True):
    """An item left out of an otherwise valid payload: where it was and why (no values)."""

    where: str
    reason: str


T = TypeVar("T")


class Fetched(msgspec.Struct, Generic[T], frozen=True):
    """What a fetch returned: the valid items and the items it had to leave out."""

    items: tuple[T, ...]
    dropped: tuple[Dropped, ...] = ()


@runtime_checkable
class PriceSource(Protocol):
    """Prices, market caps, 24 h volumes and market-cap ranks of assets."""

    vendor: str

    async def prices(self, assets: Sequence[str], vs_currency: str = "USD",
                     ) -> Fetched[VendorPrice]:
        """Return the latest price of each asset the vendor knows, in ``vs_currency``."""
        ...


@runtime_checkable
class NewsSource(Protocol):
    """News posts with readers' votes."""

    vendor: str

    async def posts(self, currencies: Sequence[str] = (), *, max_pages: int = 5,
                    ) -> Fetched[NewsPost]:
        """Return the latest posts (about ``currencies`` if given), newest first."""
        ...


@runtime_checkable
class OnChainSource(Protocol):
    """Time series of on-chain (and market) metrics per asset."""

    vendor: str

    async def series(self, metric: str, asset: str, *, since: datetime | None = None,
                     until: datetime | None = None, interval: str = "24h",
                     ) -> Fetched[MetricPoint]:
        """Return the points of ``metric`` for ``asset`` between ``since`` and ``until``."""
        ...
