"""Fake CoinGecko API v3: ``/simple/price``, ``/coins/markets`` and ``/ping``.

Formats from CoinGecko's own reference pages:

- https://docs.coingecko.com/v3.0.1/reference/simple-price: ``{"bitcoin": {"usd": 67187.33,
  "usd_market_cap": 1317802988326.25, "usd_24h_vol": 31260929299.52, "usd_24h_change": 3.63,
  "last_updated_at": 1711356300}}``, one entry per known id (unknown ids are left out);
- https://docs.coingecko.com/reference/coins-markets: a list of coins with ``id``, ``symbol``
  (lower case), ``name``, ``image``, ``current_price``, ``market_cap``, ``market_cap_rank``,
  ``total_volume``, ``high_24h``, ``low_24h``, ``price_change_24h``, supply fields and
  ``last_updated`` (ISO-8601, milliseconds, ``Z``);
- https://docs.coingecko.com/reference/common-errors-rate-limit (and /docs/errors-and-rate-limits):
  401 for a wrong key (CoinGecko codes 10010/10011), 429 when rate limited, 500/503; error
  bodies are ``{"status": {"error_code": ..., "error_message": ...}}``, the 429 one with
  CoinGecko's "You've exceeded the Rate Limit" message.

Keys: ``x-cg-demo-api-key``/``x-cg-pro-api-key`` headers or ``x_cg_demo_api_key``/
``x_cg_pro_api_key`` parameters; like the real public API, a request with no key is served.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.vendors.fake.base import FakeVendor, Refusal, json_response
from adapters.vendors.fake.market import ASSETS, BY_GECKO_ID, FIAT_PER_USD, Quote

_RATE_LIMITED = ("You've exceeded the Rate Limit. Please visit "
                 "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for "
                 "higher rate limits.")
_CURRENCIES = {*(c.lower() for c in FIAT_PER_USD), "btc"}


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None,
           ) -> Response:
    return json_response({"status": {"error_code": code, "error_message": message}}, status,
                         headers)


class FakeCoinGecko(FakeVendor):
    """CoinGecko's public/demo API, answering from `MarketData`."""

    name: ClassVar[str] = "coingecko"
    key_headers: ClassVar[tuple[str, ...]] = ("x-cg-demo-api-key", "x-cg-pro-api-key")
    key_params: ClassVar[tuple[str, ...]] = ("x_cg_demo_api_key", "x_cg_pro_api_key")
    keyless_ok: ClassVar[bool] = True

    def routes(self) -> list[BaseRoute]:
        """Return the served endpoints."""
        async def simple_price(request: Request) -> Response:
            return await self.answer(request, self._simple_price)

        async def markets(request: Request) -> Response:
            return await self.answer(request, self._markets)

        async def ping(request: Request) -> Response:
            return await self.answer(request, lambda _r, _p: {"gecko_says": "(V3) To the Moon!"})

        return [Route("/api/v3/simple/price", simple_price),
                Route("/api/v3/coins/markets", markets), Route("/api/v3/ping", ping)]

    def unauthorized(self, missing: bool) -> Response:
        """Answer 401 with CoinGecko's invalid-key error."""
        if missing:
            return _error(401, 10002, "API Key Missing")
        return _error(401, 10010, "Invalid API Key: you have provided incorrect API key "
                                  "credentials")

    def rate_limited(self, retry_after: str | None) -> Response:
        """Answer 429 with CoinGecko's rate-limit body."""
        return _error(429, 429, _RATE_LIMITED,
                      {"Retry-After": retry_after} if retry_after else None)

    def server_error(self, status: int) -> Response:
        """Answer 5xx with a CoinGecko status body."""
        message = ("The service is currently unavailable. Please check the API status and "
                   "updates on https://status.coingecko.com" if status == 503 else
                   "Internal Server Error")
        return _error(status, status, message)

    def corrupt(self, payload: Any, kind: str) -> Any:
        """Mistype or null the price of the first coin."""
        bad = "n/a" if kind == "wrong_type" else None
        if isinstance(payload, list) and payload:
            payload[0]["current_price"] = bad
        elif isinstance(payload, dict) and payload:
            first = next(iter(payload.values()))
            first[next(iter(first))] = bad
        return payload

    def _currency(self, value: str | None, name: str) -> str:
        if not value:
            raise Refusal(json_response({"error": f"Missing parameter {name}"}, 400))
        if value.lower() not in _CURRENCIES:
            raise Refusal(json_response({"error": f"invalid {name}"}, 400))
        return value.lower()

    def _simple_price(self, request: Request, params: dict[str, str]) -> Any:
        names = [c for c in params.get("vs_currencies", "").split(",") if c] or [""]
        currencies = [self._currency(c, "vs_currencies") for c in names]
        ids = [i for i in params.get("ids", "").split(",") if i in BY_GECKO_ID]
        flag = {k: params.get(k) == "true" for k in (
            "include_market_cap", "include_24hr_vol", "include_24hr_change",
            "include_last_updated_at")}
        now = self.now()
        quotes = {vs: self.market.quotes(now, vs.upper()) for vs in currencies}
        before = {vs: self.market.quotes(now - timedelta(days=1), vs.upper())
                  for vs in currencies}
        out: dict[str, dict[str, Any]] = {}
        for coin_id in ids:
            ticker = BY_GECKO_ID[coin_id].ticker
            entry: dict[str, Any] = {}
            for vs in currencies:
                quote = quotes[vs][ticker]
                entry[vs] = quote.price
                if flag["include_market_cap"]:
                    entry[f"{vs}_market_cap"] = quote.market_cap
                if flag["include_24hr_vol"]:
                    entry[f"{vs}_24h_vol"] = quote.volume_24h
                if flag["include_24hr_change"]:
                    entry[f"{vs}_24h_change"] = _change(quote.price, before[vs][ticker].price)
            if flag["include_last_updated_at"]:
                entry["last_updated_at"] = int(quotes[currencies[0]][ticker].updated_at.timestamp())
            out[coin_id] = entry
        return out

    def _markets(self, request: Request, params: dict[str, str]) -> Any:
        vs = self._currency(params.get("vs_currency"), "vs_currency")
        now = self.now()
        quotes = self.market.quotes(now, vs.upper())
        before = self.market.quotes(now - timedelta(days=1), vs.upper())
        wanted = [i for i in params.get("ids", "").split(",") if i]
        coins = sorted((a for a in ASSETS if not wanted or a.gecko_id in wanted),
                       key=lambda a: quotes[a.ticker].rank)
        per_page = min(250, max(1, int(params.get("per_page", "100") or 100)))
        page = max(1, int(params.get("page", "1") or 1))
        chosen = coins[(page - 1) * per_page: page * per_page]
        return [_market_entry(quotes[a.ticker], before[a.ticker]) for a in chosen]


def _change(now: Decimal, before: Decimal) -> Decimal:
    return ((now - before) / before * 100).quantize(Decimal("1e-8"))


def _market_entry(quote: Quote, before: Quote) -> dict[str, Any]:
    asset = quote.asset
    return {
        "id": asset.gecko_id, "symbol": asset.ticker.lower(), "name": asset.name,
        "image": f"https://coin-images.coingecko.com/coins/images/{asset.cmc_id}/large/"
                 f"{asset.gecko_id}.png",
        "current_price": quote.price, "market_cap": quote.market_cap,
        "market_cap_rank": quote.rank, "fully_diluted_valuation": None,
        "total_volume": quote.volume_24h, "high_24h": max(quote.price, before.price),
        "low_24h": min(quote.price, before.price),
        "price_change_24h": quote.price - before.price,
        "price_change_percentage_24h": _change(quote.price, before.price),
        "circulating_supply": asset.supply, "total_supply": asset.supply, "max_supply": None,
        "roi": None, "last_updated": _iso(quote.updated_at)}
