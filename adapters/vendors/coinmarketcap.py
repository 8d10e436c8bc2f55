"""CoinMarketCap: latest quotes with market cap, 24 h volume and CMC rank (a `PriceSource`).

Endpoint (https://coinmarketcap.com/api/documentation/v1/#operation/getV1CryptocurrencyQuotesLatest,
error codes: https://coinmarketcap.com/api/documentation/guides/errors-and-rate-limits):
``GET /v1/cryptocurrency/quotes/latest?symbol=BTC,ETH&convert=USD`` with the key in the
``X-CMC_PRO_API_KEY`` header (secret ``coinmarketcap_api_key``, required). Every answer is
``{"status": {"timestamp", "error_code", "error_message", "elapsed", "credit_count"},
"data": {"BTC": {"id", "name", "symbol", "slug", "cmc_rank", "last_updated",
"quote": {"USD": {"price", "volume_24h", "market_cap", "last_updated", ...}}}}}``; v1 returns one
object per symbol (the highest-ranked coin using it).

Bad data: a ``status`` that is missing, mistyped or carries a non-zero ``error_code`` refuses the
whole answer (the data cannot be trusted); inside ``data`` coins are independent, so a coin
with a mistyped field is dropped and counted and the other coins are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Final

import msgspec

from adapters.secrets import Secret, SecretProvider
from adapters.vendors.decoding import build, decode, decode_item, present, upper_code
from adapters.vendors.http import Runtime, VendorClient, VendorHttp, VendorHttpConfig, require_key
from adapters.vendors.metrics import Rejection, VendorMetrics
from adapters.vendors.ports import Dropped, Fetched, VendorPrice

VENDOR: Final = "coinmarketcap"
SECRET_NAME: Final = "coinmarketcap_api_key"
DEFAULT_BASE_URL: Final = "https://pro-api.coinmarketcap.com"
KEY_HEADER: Final = "X-CMC_PRO_API_KEY"
UtcDateTime = Annotated[datetime, msgspec.Meta(tz=True)]


@dataclass(frozen=True, slots=True)
class CoinMarketCapConfig:
    """Where CoinMarketCap is and how fast to ask (the Basic plan allows 30 calls a minute)."""

    http: VendorHttpConfig = field(default_factory=lambda: VendorHttpConfig(
        DEFAULT_BASE_URL, rate_per_second=0.5, burst=2))


class _Status(msgspec.Struct):
    error_code: int
    error_message: str | None = None


class _Envelope(msgspec.Struct):
    status: _Status
    data: dict[str, msgspec.Raw] | None = None


class _Quote(msgspec.Struct):
    price: Decimal | None
    last_updated: UtcDateTime
    volume_24h: Decimal | None = None
    market_cap: Decimal | None = None


class _Coin(msgspec.Struct):
    symbol: str
    quote: dict[str, _Quote]
    cmc_rank: int | None = None


class CoinMarketCapClient(VendorClient):
    """An async CoinMarketCap client; implements `PriceSource`."""

    vendor: str = VENDOR

    def __init__(self, api_key: Secret, config: CoinMarketCapConfig | None = None, *,
                 metrics: VendorMetrics | None = None, runtime: Runtime | None = None) -> None:
        self.config = config or CoinMarketCapConfig()
        self._http = VendorHttp(VENDOR, self.config.http, metrics=metrics,
                                header_keys={KEY_HEADER: api_key}, runtime=runtime)

    @classmethod
    def from_secrets(cls, config: CoinMarketCapConfig | None = None, *,
                     secrets: SecretProvider | None = None, metrics: VendorMetrics | None = None,
                     runtime: Runtime | None = None) -> CoinMarketCapClient:
        """Build a client whose key comes from the secrets provider chain (required)."""
        return cls(require_key(secrets, SECRET_NAME), config, metrics=metrics, runtime=runtime)

    async def prices(self, assets: Sequence[str], vs_currency: str = "USD",
                     ) -> Fetched[VendorPrice]:
        """Return the latest quote of each asset (by symbol) in ``vs_currency``."""
        currency = upper_code(vs_currency)
        answer = await self._http.get("/v1/cryptocurrency/quotes/latest", {
            "symbol": ",".join(upper_code(a) for a in assets), "convert": currency})
        envelope = decode(self._http, answer.body, _Envelope)
        if envelope.status.error_code != 0:
            raise self._http.reject(Rejection.VENDOR_ERROR, "$.status.error_code",
                                    f"{envelope.status.error_code}: "
                                    f"{envelope.status.error_message}")
        if envelope.data is None:
            raise self._http.reject(Rejection.INVALID_PAYLOAD, "$.data",
                                    "no data in a successful answer")
        items: list[VendorPrice] = []
        dropped: list[Dropped] = []
        for key, raw in envelope.data.items():
            where = f"$.data.{key}"
            coin = decode_item(self._http, raw, _Coin, where, dropped)
            if coin is None:
                continue
            item = build(self._http, where, dropped, _price, coin, currency,
                         answer.available_at)
            if item is not None:
                items.append(item)
        return Fetched(tuple(items), tuple(dropped))


def _price(coin: _Coin, currency: str, available_at: datetime) -> VendorPrice:
    quote = present(coin.quote.get(currency), f"quote.{currency}")
    return VendorPrice(
        vendor=VENDOR, asset=upper_code(coin.symbol), vs_currency=currency,
        price=present(quote.price, f"quote.{currency}.price"), market_cap=quote.market_cap,
        volume_24h=quote.volume_24h, market_cap_rank=coin.cmc_rank,
        observed_at=quote.last_updated.astimezone(UTC), available_at=available_at)
