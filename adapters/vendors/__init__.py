"""Vendor data: CoinGecko, CoinMarketCap, CryptoPanic and Glassnode behind one port per kind.

- Ports and values: `PriceSource` (`VendorPrice`), `NewsSource` (`NewsPost`), `OnChainSource`
  (`MetricPoint`); each fetch returns `Fetched` (the items and what had to be dropped).
- Clients: `CoinGeckoClient`, `CoinMarketCapClient`, `CryptoPanicClient`, `GlassnodeClient`,
  each built with ``from_secrets(config)`` (keys from the secrets chain: ``coingecko_api_key``,
  ``coinmarketcap_api_key``, ``cryptopanic_api_key``, ``glassnode_api_key``) and a config
  whose ``http.base_url`` may point at the local fakes (``adapters.vendors.fake``).
- Shared plumbing (rate limit, retries, key hygiene): ``adapters.vendors.http``; metrics:
  ``adapters.vendors.metrics``; storage: ``adapters.storage.vendor_data``.

    async with CoinGeckoClient.from_secrets() as gecko:
        fetched = await gecko.prices(["BTC", "ETH"], "USD")
"""

from typing import TYPE_CHECKING

from adapters.vendors.coingecko import CoinGeckoClient, CoinGeckoConfig
from adapters.vendors.coinmarketcap import CoinMarketCapClient, CoinMarketCapConfig
from adapters.vendors.cryptopanic import CryptoPanicClient, CryptoPanicConfig
from adapters.vendors.errors import (
    VendorAuthError,
    VendorError,
    VendorPayloadError,
    VendorRequestRefused,
    VendorUnavailable,
)
from adapters.vendors.glassnode import GlassnodeClient, GlassnodeConfig
from adapters.vendors.http import Runtime, VendorHttpConfig
from adapters.vendors.metrics import VendorMetrics
from adapters.vendors.ports import (
    Dropped,
    Fetched,
    MetricPoint,
    NewsPost,
    NewsSource,
    OnChainSource,
    PriceSource,
    VendorPrice,
)

if TYPE_CHECKING:
    # mypy proves each client fits its port; nothing runs at import time.
    _GECKO: type[PriceSource] = CoinGeckoClient
    _CMC: type[PriceSource] = CoinMarketCapClient
    _PANIC: type[NewsSource] = CryptoPanicClient
    _GLASSNODE: type[OnChainSource] = GlassnodeClient

__all__ = [
    "CoinGeckoClient",
    "CoinGeckoConfig",
    "CoinMarketCapClient",
    "CoinMarketCapConfig",
    "CryptoPanicClient",
    "CryptoPanicConfig",
    "Dropped",
    "Fetched",
    "GlassnodeClient",
    "GlassnodeConfig",
    "MetricPoint",
    "NewsPost",
    "NewsSource",
    "OnChainSource",
    "PriceSource",
    "Runtime",
    "VendorAuthError",
    "VendorError",
    "VendorHttpConfig",
    "VendorMetrics",
    "VendorPayloadError",
    "VendorPrice",
    "VendorRequestRefused",
    "VendorUnavailable",
]
