"""The vendor APIs as one Dagster resource: which vendors, where they are, what to ask for.

Clients come from ``adapters.vendors`` behind their ports (`PriceSource`, `NewsSource`,
`OnChainSource`); keys come from the secrets chain (``LOCKGATE_SECRET_<VENDOR>_API_KEY`` or a
mounted file), never from this configuration. A vendor takes part when it is named in
``vendors``, or, with ``vendors`` unset, when its key is present or its URL was changed from
the vendor's own (the local fakes answer keyless tests and demos): a fresh clone with no keys
and no network builds without vendor data instead of failing.

The fixture is the same resource pointed at the local fakes (``python -m
adapters.vendors.fake``) with `fakes_url`, over real sockets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import dagster as dg
from pydantic import Field

from adapters.secrets import default_secret_provider
from adapters.vendors import (
    CoinGeckoClient,
    CoinGeckoConfig,
    CoinMarketCapClient,
    CoinMarketCapConfig,
    CryptoPanicClient,
    CryptoPanicConfig,
    GlassnodeClient,
    GlassnodeConfig,
    NewsSource,
    OnChainSource,
    PriceSource,
    VendorHttpConfig,
    coingecko,
    coinmarketcap,
    cryptopanic,
    glassnode,
)

PRICE_VENDORS = ("coingecko", "coinmarketcap")
NEWS_VENDORS = ("cryptopanic",)
ONCHAIN_VENDORS = ("glassnode",)
_DEFAULTS = {
    "coingecko": (coingecko.DEFAULT_BASE_URL, coingecko.SECRET_NAME),
    "coinmarketcap": (coinmarketcap.DEFAULT_BASE_URL, coinmarketcap.SECRET_NAME),
    "cryptopanic": (cryptopanic.DEFAULT_BASE_URL, cryptopanic.SECRET_NAME),
    "glassnode": (glassnode.DEFAULT_BASE_URL, glassnode.SECRET_NAME),
}


class VendorApis(dg.ConfigurableResource["VendorApis"]):
    """Which vendors to ask, where, and for which assets and metrics."""

    vendors: list[str] | None = None
    fakes_url: str | None = None
    coingecko_url: str = coingecko.DEFAULT_BASE_URL
    coinmarketcap_url: str = coinmarketcap.DEFAULT_BASE_URL
    cryptopanic_url: str = cryptopanic.DEFAULT_BASE_URL
    glassnode_url: str = glassnode.DEFAULT_BASE_URL
    assets: list[str] = Field(default_factory=lambda: ["BTC", "ETH"])
    vs_currency: str = "USD"
    metrics: list[str] = Field(
        default_factory=lambda: ["addresses/active_count", "transactions/count"])
    metric_interval: str = "24h"

    def base_url(self, vendor: str) -> str:
        """Return where ``vendor`` is asked (its fake under `fakes_url` when set)."""
        if self.fakes_url:
            return f"{self.fakes_url.rstrip('/')}/{vendor}"
        url: str = getattr(self, f"{vendor}_url")
        return url

    def enabled(self, vendor: str) -> bool:
        """Return True when ``vendor`` takes part (see the module docstring)."""
        if self.vendors is not None:
            return vendor in self.vendors
        default_url, secret = _DEFAULTS[vendor]
        return (self.base_url(vendor) != default_url
                or default_secret_provider().get(secret) is not None)

    def price_sources(self) -> list[PriceSource]:
        """Return a client per enabled price vendor (close them with ``aclose``)."""
        return [self._client(vendor) for vendor in PRICE_VENDORS if self.enabled(vendor)]

    def news_sources(self) -> list[NewsSource]:
        """Return a client per enabled news vendor."""
        return [self._client(vendor) for vendor in NEWS_VENDORS if self.enabled(vendor)]

    def onchain_sources(self) -> list[OnChainSource]:
        """Return a client per enabled on-chain vendor."""
        return [self._client(vendor) for vendor in ONCHAIN_VENDORS if self.enabled(vendor)]

    def _client(self, vendor: str) -> Any:
        url = self.base_url(vendor)

        def http(default: VendorHttpConfig) -> VendorHttpConfig:
            # Keep each vendor's own rate limits; only the address changes.
            return replace(default, base_url=url)

        builders: dict[str, Callable[[], Any]] = {
            "coingecko": lambda: CoinGeckoClient.from_secrets(
                CoinGeckoConfig(http=http(CoinGeckoConfig().http))),
            "coinmarketcap": lambda: CoinMarketCapClient.from_secrets(
                CoinMarketCapConfig(http=http(CoinMarketCapConfig().http))),
            "cryptopanic": lambda: CryptoPanicClient.from_secrets(
                CryptoPanicConfig(http=http(CryptoPanicConfig().http))),
            "glassnode": lambda: GlassnodeClient.from_secrets(
                GlassnodeConfig(http=http(GlassnodeConfig().http))),
        }
        return builders[vendor]()
