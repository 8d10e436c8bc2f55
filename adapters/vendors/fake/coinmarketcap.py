"""Fake CoinMarketCap Pro API: ``/v1/cryptocurrency/quotes/latest``.

Formats from CoinMarketCap's own documentation:

- https://coinmarketcap.com/api/documentation/v1/#operation/getV1CryptocurrencyQuotesLatest
  (and the "standardized JSON response format" guide): every answer is ``{"status":
  {"timestamp", "error_code", "error_message", "elapsed", "credit_count"}, "data": ...}``; with
  ``symbol=BTC,ETH`` the data is keyed by symbol, each coin ``{"id", "name", "symbol", "slug",
  "num_market_pairs", "date_added", "tags", "max_supply", "circulating_supply",
  "total_supply", "platform", "cmc_rank", "last_updated", "quote": {"USD": {"price",
  "volume_24h", "percent_change_1h", "percent_change_24h", "percent_change_7d",
  "market_cap", "last_updated"}}}``;
- https://coinmarketcap.com/api/documentation/guides/errors-and-rate-limits: 401 with
  ``error_code`` 1001 "This API Key is invalid." or 1002 "API key missing.", 429 with 1008
  "You've exceeded your API Key's HTTP request rate limit. Rate limits reset every minute.",
  500; the ``status`` object is present on errors too.

Keys: ``X-CMC_PRO_API_KEY`` header or ``CMC_PRO_API_KEY`` parameter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.vendors.fake.base import FakeVendor, Refusal, json_response
from adapters.vendors.fake.market import BY_TICKER, FIAT_PER_USD, Quote


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class FakeCoinMarketCap(FakeVendor):
    """CoinMarketCap's Pro API, answering from `MarketData`."""

    name: ClassVar[str] = "coinmarketcap"
    key_headers: ClassVar[tuple[str, ...]] = ("X-CMC_PRO_API_KEY",)
    key_params: ClassVar[tuple[str, ...]] = ("CMC_PRO_API_KEY",)

    def routes(self) -> list[BaseRoute]:
        """Return the served endpoint."""
        async def quotes_latest(request: Request) -> Response:
            return await self.answer(request, self._quotes)

        return [Route("/v1/cryptocurrency/quotes/latest", quotes_latest)]

    def _status(self, code: int = 0, message: str | None = None) -> dict[str, Any]:
        return {"timestamp": _iso(self.now()), "error_code": code, "error_message": message,
                "elapsed": 10, "credit_count": 0 if code else 1, "notice": None}

    def _error(self, status: int, code: int, message: str,
               headers: dict[str, str] | None = None) -> Response:
        return json_response({"status": self._status(code, message)}, status, headers)

    def unauthorized(self, missing: bool) -> Response:
        """Answer 401 with error code 1002 (missing) or 1001 (invalid)."""
        if missing:
            return self._error(401, 1002, "API key missing.")
        return self._error(401, 1001, "This API Key is invalid.")

    def rate_limited(self, retry_after: str | None) -> Response:
        """Answer 429 with error code 1008 (the per-minute limit)."""
        return self._error(429, 1008, "You've exceeded your API Key's HTTP request rate limit. "
                                      "Rate limits reset every minute.",
                           {"Retry-After": retry_after} if retry_after else None)

    def server_error(self, status: int) -> Response:
        """Answer 5xx with a status object."""
        return self._error(status, status, "An internal server error occurred.")

    def corrupt(self, payload: Any, kind: str) -> Any:
        """Mistype or null the first coin's price."""
        coins = payload.get("data") or {}
        if coins:
            first = next(iter(coins.values()))
            quote = next(iter(first["quote"].values()))
            quote["price"] = "n/a" if kind == "wrong_type" else None
        return payload

    def _quotes(self, request: Request, params: dict[str, str]) -> Any:
        convert = (params.get("convert") or "USD").upper()
        if convert not in FIAT_PER_USD and convert != "BTC":
            raise Refusal(self._error(400, 400, f'Invalid value for "convert": "{convert}"'))
        symbols = [s.upper() for s in params.get("symbol", "").split(",") if s]
        if not symbols:
            raise Refusal(self._error(400, 400, '"value" must contain at least one of '
                                                '[id, symbol, slug]'))
        unknown = [s for s in symbols if s not in BY_TICKER]
        if unknown and params.get("skip_invalid") != "true":
            raise Refusal(self._error(400, 400, f'Invalid value for "symbol": "{unknown[0]}"'))
        now = self.now()
        quotes = self.market.quotes(now, convert)
        before = {h: self.market.quotes(now - timedelta(hours=h), convert) for h in (1, 24, 168)}
        data = {s: self._coin(quotes[s], {h: q[s] for h, q in before.items()}, convert)
                for s in symbols if s in BY_TICKER}
        return {"status": self._status(), "data": data}

    def _coin(self, quote: Quote, before: dict[int, Quote], convert: str) -> dict[str, Any]:
        asset = quote.asset
        return {
            "id": asset.cmc_id, "name": asset.name, "symbol": asset.ticker,
            "slug": asset.name.lower(), "num_market_pairs": 500 + asset.cmc_id % 97,
            "date_added": "2013-04-28T00:00:00.000Z", "tags": ["mineable"],
            "max_supply": None, "circulating_supply": asset.supply,
            "total_supply": asset.supply, "is_active": 1, "platform": None,
            "cmc_rank": quote.rank, "is_fiat": 0, "last_updated": _iso(quote.updated_at),
            "quote": {convert: {
                "price": quote.price, "volume_24h": quote.volume_24h,
                "percent_change_1h": _change(quote.price, before[1].price),
                "percent_change_24h": _change(quote.price, before[24].price),
                "percent_change_7d": _change(quote.price, before[168].price),
                "market_cap": quote.market_cap, "last_updated": _iso(quote.updated_at)}}}


def _change(now: Decimal, before: Decimal) -> Decimal:
    return ((now - before) / before * 100).quantize(Decimal("1e-8"))
