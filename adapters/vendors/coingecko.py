"""CoinGecko: prices, market caps, 24 h volumes and market-cap ranks (a `PriceSource`).

Endpoints (https://docs.coingecko.com/reference/simple-price and
https://docs.coingecko.com/reference/coins-markets):

- ``GET /api/v3/simple/price?ids=&vs_currencies=&include_market_cap=true&include_24hr_vol=true
  &include_last_updated_at=true`` answers ``{"bitcoin": {"usd": 67187.33, "usd_market_cap":
  ..., "usd_24h_vol": ..., "last_updated_at": 1711356300}}``;
- ``GET /api/v3/coins/markets?vs_currency=&ids=`` answers a list of coins with
  ``current_price``, ``market_cap``, ``market_cap_rank``, ``total_volume`` and ``last_updated``
  (ISO-8601). `CoinGeckoClient.prices` (the port) uses it because it carries the rank.

The key (secret ``coingecko_api_key``) is optional: CoinGecko also answers keyless callers,
with a lower limit. It travels in the ``x-cg-demo-api-key`` header (``x-cg-pro-api-key`` with
the pro base URL).

Bad data: coins are independent, so a coin with a missing or mistyped field is dropped and
counted (``lockgate_vendor_dropped_items_total``) and the other coins are kept; a body that is
not JSON or not the documented object/list is refused whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Final

import msgspec

from adapters.secrets import Secret, SecretProvider
from adapters.vendors.decoding import build, decode, decode_item, from_unix, present, upper_code
from adapters.vendors.http import Runtime, VendorClient, VendorHttp, VendorHttpConfig, read_key
from adapters.vendors.metrics import VendorMetrics
from adapters.vendors.ports import Dropped, Fetched, VendorPrice

VENDOR: Final = "coingecko"
SECRET_NAME: Final = "coingecko_api_key"
DEFAULT_BASE_URL: Final = "https://api.coingecko.com"
# Lockgate ticker -> CoinGecko coin id; CoinGecko keys coins by slug-like ids, not tickers.
DEFAULT_ASSET_IDS: Final[Mapping[str, str]] = {
    "BTC": "bitcoin", "ETH": "ethereum", "XRP": "ripple", "XLM": "stellar", "NEO": "neo",
    "BNB": "binancecoin", "SOL": "solana", "ADA": "cardano", "DOGE": "dogecoin", "USDT": "tether",
}
UtcDateTime = Annotated[datetime, msgspec.Meta(tz=True)]


@dataclass(frozen=True, slots=True)
class CoinGeckoConfig:
    """Where CoinGecko is and how to ask it (the demo plan allows about 30 calls a minute)."""

    http: VendorHttpConfig = field(default_factory=lambda: VendorHttpConfig(
        DEFAULT_BASE_URL, rate_per_second=0.5, burst=2))
    asset_ids: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ASSET_IDS))
    key_header: str = "x-cg-demo-api-key"


class _Market(msgspec.Struct):
    """The fields of one ``/coins/markets`` entry that Lockgate keeps (others are ignored)."""

    id: str
    symbol: str
    current_price: Decimal | None
    last_updated: UtcDateTime | None
    market_cap: Decimal | None = None
    market_cap_rank: int | None = None
    total_volume: Decimal | None = None


_SimpleQuote = dict[str, Decimal | None]


class CoinGeckoClient(VendorClient):
    """An async CoinGecko client; implements `PriceSource`."""

    vendor: str = VENDOR

    def __init__(self, config: CoinGeckoConfig | None = None, *, api_key: Secret | None = None,
                 metrics: VendorMetrics | None = None, runtime: Runtime | None = None) -> None:
        self.config = config or CoinGeckoConfig()
        headers = {self.config.key_header: api_key} if api_key is not None else {}
        self._http = VendorHttp(VENDOR, self.config.http, metrics=metrics, header_keys=headers,
                                runtime=runtime)
        self._tickers = {coin: ticker for ticker, coin in self.config.asset_ids.items()}

    @classmethod
    def from_secrets(cls, config: CoinGeckoConfig | None = None, *,
                     secrets: SecretProvider | None = None, metrics: VendorMetrics | None = None,
                     runtime: Runtime | None = None) -> CoinGeckoClient:
        """Build a client whose key (optional) comes from the secrets provider chain."""
        key = read_key(secrets, SECRET_NAME)
        return cls(config, api_key=key, metrics=metrics, runtime=runtime)

    async def prices(self, assets: Sequence[str], vs_currency: str = "USD",
                     ) -> Fetched[VendorPrice]:
        """Return price, market cap, volume and rank per asset (``/coins/markets``)."""
        return await self.markets(assets, vs_currency)

    async def markets(self, assets: Sequence[str], vs_currency: str = "USD",
                      ) -> Fetched[VendorPrice]:
        """Return ``/coins/markets`` for ``assets`` (tickers) in ``vs_currency``."""
        answer = await self._http.get("/api/v3/coins/markets", {
            "vs_currency": vs_currency.lower(), "ids": self._ids(assets),
            "order": "market_cap_desc", "per_page": "250", "page": "1", "precision": "full"})
        raws = decode(self._http, answer.body, list[msgspec.Raw])
        items: list[VendorPrice] = []
        dropped: list[Dropped] = []
        for index, raw in enumerate(raws):
            where = f"$[{index}]"
            coin = decode_item(self._http, raw, _Market, where, dropped)
            if coin is None:
                continue
            item = build(self._http, where, dropped, self._market_price, coin, vs_currency,
                         answer.available_at)
            if item is not None:
                items.append(item)
        return Fetched(tuple(items), tuple(dropped))

    async def simple_prices(self, assets: Sequence[str], vs_currency: str = "USD",
                            ) -> Fetched[VendorPrice]:
        """Return ``/simple/price`` (price, market cap, 24 h volume; no rank) for ``assets``."""
        vs = vs_currency.lower()
        answer = await self._http.get("/api/v3/simple/price", {
            "ids": self._ids(assets), "vs_currencies": vs, "include_market_cap": "true",
            "include_24hr_vol": "true", "include_last_updated_at": "true", "precision": "full"})
        coins = decode(self._http, answer.body, dict[str, msgspec.Raw])
        items: list[VendorPrice] = []
        dropped: list[Dropped] = []
        for coin_id, raw in coins.items():
            where = f"$.{coin_id}"
            quote = decode_item(self._http, raw, _SimpleQuote, where, dropped)
            if quote is None:
                continue
            item = build(self._http, where, dropped, self._simple_price, coin_id, quote, vs,
                         answer.available_at)
            if item is not None:
                items.append(item)
        return Fetched(tuple(items), tuple(dropped))

    def _market_price(self, coin: _Market, vs_currency: str, available_at: datetime,
                      ) -> VendorPrice:
        return VendorPrice(
            vendor=VENDOR, asset=self._ticker(coin.id, coin.symbol),
            vs_currency=upper_code(vs_currency),
            price=present(coin.current_price, "current_price"),
            market_cap=coin.market_cap, volume_24h=coin.total_volume,
            market_cap_rank=coin.market_cap_rank,
            observed_at=present(coin.last_updated, "last_updated").astimezone(UTC),
            available_at=available_at)

    def _simple_price(self, coin_id: str, quote: _SimpleQuote, vs: str, available_at: datetime,
                      ) -> VendorPrice:
        return VendorPrice(
            vendor=VENDOR, asset=self._ticker(coin_id, coin_id), vs_currency=upper_code(vs),
            price=present(quote.get(vs), vs), market_cap=quote.get(f"{vs}_market_cap"),
            volume_24h=quote.get(f"{vs}_24h_vol"),
            observed_at=from_unix(present(quote.get("last_updated_at"), "last_updated_at")),
            available_at=available_at)

    def _ids(self, assets: Sequence[str]) -> str:
        return ",".join(self.config.asset_ids.get(upper_code(a), a.lower()) for a in assets)

    def _ticker(self, coin_id: str, symbol: str) -> str:
        return self._tickers.get(coin_id, upper_code(symbol))
