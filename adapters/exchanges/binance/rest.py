"""Binance REST through ccxt: a client pointed at any base URL, and instruments from markets.

The same code talks to Binance, its testnet or the local fake venue: every URL of ccxt's
``urls['api']`` is rewritten to the configured base (paths kept), as STACK.md describes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt

from adapters.exchanges.urls import rewrite_urls
from domain.instruments import Instrument, InstrumentId, InstrumentKind

BINANCE_REST = "https://api.binance.com"
BINANCE_WS = "wss://stream.binance.com:9443"


def spot_client(rest_url: str = BINANCE_REST, ws_url: str = BINANCE_WS,
                api_key: str | None = None, secret: str | None = None) -> ccxt.binance:
    """Return ccxt's async Binance client for spot only, pointed at ``rest_url``."""
    options: dict[str, Any] = {
        "enableRateLimit": True,
        # Spot only: otherwise ccxt also calls the futures, margin and currency endpoints.
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                    "fetchMargins": False, "adjustForTimeDifference": True},
    }
    if api_key is not None:
        options.update(apiKey=api_key, secret=secret)
    client = ccxt.binance(options)
    if rest_url != BINANCE_REST or ws_url != BINANCE_WS:
        client.urls["api"] = rewrite_urls(client.urls["api"], rest_url, ws_url)
    return client


def credentials_client(rest_url: str, ws_url: str, provider: Any) -> ccxt.binance:
    """Return a spot client with the API key pair from the secrets provider, if it has one.

    Secrets ``binance_api_key`` and ``binance_api_secret`` (``LOCKGATE_SECRET_BINANCE_API_KEY``
    or mounted files); Binance wants the key even for ``historicalTrades``.
    """
    key, secret = provider.get("binance_api_key"), provider.get("binance_api_secret")
    return spot_client(rest_url, ws_url, api_key=key.reveal() if key else None,
                       secret=secret.reveal() if secret else None)


def instrument_from_market(market: Mapping[str, Any]) -> Instrument:
    """Build an instrument from a ccxt market, reading Binance's own filters from ``info``."""
    info = market["info"]
    filters = {f["filterType"]: f for f in info.get("filters", [])}
    price, lot = filters.get("PRICE_FILTER", {}), filters.get("LOT_SIZE", {})
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    return Instrument(
        id=InstrumentId("BINANCE", info["baseAsset"], info["quoteAsset"]),
        kind=InstrumentKind.SPOT,
        # The wire pads prices and sizes to the assets' precisions (8 for BTCUSDT), which the
        # feed's fixed-point parsing must accept; tick and step sizes are the order filters.
        price_precision=int(info.get("quotePrecision", info.get("quoteAssetPrecision", 8))),
        size_precision=int(info.get("baseAssetPrecision", 8)),
        tick_size=_positive(price.get("tickSize")),
        step_size=_positive(lot.get("stepSize")),
        min_qty=_positive(lot.get("minQty")),
        min_notional=_positive(notional.get("minNotional")),
    )


async def load_instruments(client: ccxt.binance, symbols: list[str]) -> list[Instrument]:
    """Load the markets and return the instruments of ``symbols`` (``BTC/USDT`` style)."""
    markets = await client.load_markets()
    missing = [s for s in symbols if s not in markets]
    if missing:
        raise LookupError(f"unknown symbols on this venue: {', '.join(missing)}")
    return [instrument_from_market(markets[s]) for s in symbols]


async def load_all_instruments(client: ccxt.binance) -> list[tuple[Instrument, str]]:
    """Return every spot instrument of the venue with its trading status (``TRADING``...)."""
    markets = await client.load_markets()
    return [(instrument_from_market(m), str(m["info"].get("status", "UNKNOWN")))
            for m in markets.values() if m.get("spot")]


def _positive(text: str | None) -> Decimal | None:
    if text is None:
        return None
    value = Decimal(text)
    return value.normalize() if value > 0 else None
