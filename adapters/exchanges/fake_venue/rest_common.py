"""What every REST endpoint shares: parameters, weights, security, errors and headers.

Parameters come from the query string and a form body (the query string wins a duplicate name,
as on Binance); a name repeated within one of them is -1101. Every answer carries
``X-MBX-USED-WEIGHT-1M``; SIGNED endpoints check ``X-MBX-APIKEY``, then the HMAC signature over
the raw query string plus body, then ``timestamp``/``recvWindow`` (so a correctly signed but stale
request answers -1021, a tampered one -1022).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from adapters.exchanges.fake_venue.accounts import Account
from adapters.exchanges.fake_venue.auth import (
    account_for_key,
    check_signature,
    check_timing,
    rest_payload,
)
from adapters.exchanges.fake_venue.limits import RateLimited
from adapters.exchanges.fake_venue.wire import (
    VenueError,
    dumps,
    mandatory,
    parse_decimal,
    parse_int,
)

if TYPE_CHECKING:
    from adapters.exchanges.fake_venue.venue import Venue

Security = Literal["NONE", "API_KEY", "SIGNED"]
Handler = Callable[["Ctx"], Any]
_HTTP_ERROR_BODIES = {
    429: (-1003, "Too many requests queued."),
    418: (-1003, "Way too much request weight used; IP banned. Please use WebSocket Streams "
                 "for live updates to avoid bans."),
    503: (-1008, "Server is currently overloaded with other requests. Please try again in a "
                 "few minutes."),
}


def _pairs(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key in out:
            raise VenueError(-1101, "Duplicate values for a parameter detected.")
        out[key] = value
    return out


@dataclass(slots=True)
class Ctx:
    """One REST request as an endpoint sees it."""

    venue: Venue
    request: Request
    params: dict[str, str]
    ip: str
    account: Account | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """Return a parameter; an empty value counts as not sent."""
        value = self.params.get(name)
        return value if value else None

    def need(self, name: str) -> str:
        """Return a mandatory parameter, or raise -1102."""
        value = self.get(name)
        if value is None:
            raise mandatory(name)
        return value

    def int_or_none(self, name: str) -> int | None:
        """Return an optional INT/LONG parameter."""
        value = self.get(name)
        return None if value is None else parse_int(name, value)

    def decimal_or_none(self, name: str) -> Decimal | None:
        """Return an optional DECIMAL parameter."""
        value = self.get(name)
        return None if value is None else parse_decimal(name, value)

    def symbol(self, name: str = "symbol") -> str:
        """Return a mandatory, known symbol, or raise -1102/-1121."""
        symbol = self.need(name)
        if symbol not in self.venue.markets:
            raise VenueError(-1121, "Invalid symbol.")
        return symbol

    def optional_symbol(self) -> str | None:
        """Return the ``symbol`` parameter if sent (it must be known)."""
        return None if self.get("symbol") is None else self.symbol()

    @property
    def signed_account(self) -> Account:
        """Return the authenticated account (SIGNED and API_KEY endpoints)."""
        assert self.account is not None
        return self.account


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    """Return a JSON answer encoded as the fixtures show it (compact, key order kept)."""
    return Response(dumps(payload), status, headers, media_type="application/json;charset=UTF-8")


def endpoint(weight: int | Callable[[Ctx], int], security: Security = "NONE"
             ) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler with Binance's parameter, weight, security and error handling."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            venue: Venue = request.app.state.venue
            await venue.faults.hold("rest")
            ip = request.client.host if request.client else "unknown"
            injected = venue.faults.take_http_error()
            if injected is not None:
                code, msg = _HTTP_ERROR_BODIES.get(injected, (-1000, "An unknown error occurred "
                                                                     "while processing the "
                                                                     "request."))
                headers = {"X-MBX-USED-WEIGHT-1M": str(venue.limiter.used(ip))}
                if injected in (418, 429):
                    headers["Retry-After"] = "1"
                return json_response({"code": code, "msg": msg}, injected, headers)
            ctx: Ctx | None = None
            try:
                raw_query = request.scope.get("query_string", b"").decode("latin-1")
                raw_body = (await request.body()).decode("utf-8") if request.method != "GET" \
                    else ""
                params = _pairs(raw_body) | _pairs(raw_query)
                ctx = Ctx(venue, request, params, ip)
                venue.limiter.charge(ip, weight(ctx) if callable(weight) else weight)
                if security != "NONE":
                    ctx.account = account_for_key(venue.accounts,
                                                  request.headers.get("X-MBX-APIKEY"))
                if security == "SIGNED":
                    check_signature(ctx.signed_account, rest_payload(raw_query, raw_body),
                                    ctx.get("signature"))
                    check_timing(ctx.get("timestamp"), ctx.get("recvWindow"), venue.wall_ms())
                result = handler(ctx)
                headers = {"X-MBX-USED-WEIGHT-1M": str(venue.limiter.used(ip)), **ctx.headers}
                return json_response(result, 200, headers)
            except RateLimited as exc:
                headers = {"X-MBX-USED-WEIGHT-1M": str(venue.limiter.used(ip))}
                if exc.retry_after is not None:
                    headers["Retry-After"] = str(exc.retry_after)
                return json_response(exc.body(), exc.status, headers)
            except VenueError as exc:
                return json_response(exc.body(), exc.status, {
                    "X-MBX-USED-WEIGHT-1M": str(venue.limiter.used(ip))})

        run.__name__ = handler.__name__
        run.__doc__ = handler.__doc__
        return run

    return wrap
