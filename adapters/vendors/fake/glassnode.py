"""Fake Glassnode API: ``/v1/metrics/<category>/<metric>``.

Formats from Glassnode's own documentation:

- https://docs.glassnode.com/basic-api/endpoints (e.g. ``/indicators``, ``/entities``): query
  ``a`` (asset), ``s``/``u`` (unix since/until), ``i`` (``10m``, ``1h``, ``24h``, ``1w``), ``f``
  (json), ``timestamp_format`` (unix); the answer is ``[{"t": 1677715200, "v": 110600.96}, ...]``;
  the documented failures are 400 "Bad Request - Invalid parameters or unsupported asset",
  401 "Unauthorized - Invalid or missing API key" and 429 "Too Many Requests - Rate limit
  exceeded" (the page gives their descriptions, not bodies: the fake answers those texts);
- https://docs.glassnode.com/data/general-information/timestamps-and-resolutions: ``t`` is the
  UTC start of the interval; a point exists once its interval is over;
- https://docs.glassnode.com/basic-api/api-key: the key goes in ``X-Api-Key`` or ``api_key``;
- https://docs.glassnode.com/basic-api/api-credits: 429 answers carry ``x-rate-limit-limit``,
  ``x-rate-limit-remaining`` and ``x-rate-limit-reset``.

Metrics served: ``market/price_usd_close``, ``market/marketcap_usd``,
``addresses/active_count``, ``transactions/count``, ``indicators/sopr``; at most 2000 points.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.vendors.fake.base import FakeVendor, Refusal, text_response
from adapters.vendors.fake.market import BY_TICKER, METRICS

STEPS: Final = {"10m": timedelta(minutes=10), "1h": timedelta(hours=1),
                "24h": timedelta(days=1), "1w": timedelta(weeks=1)}
MAX_POINTS: Final = 2000
_BAD_REQUEST: Final = "Bad Request - Invalid parameters or unsupported asset"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# Glassnode weeks start on Monday; the epoch was a Thursday.
_MONDAY: Final = datetime(1970, 1, 5, tzinfo=UTC)


class FakeGlassnode(FakeVendor):
    """Glassnode's metrics API, answering from `MarketData`."""

    name: ClassVar[str] = "glassnode"
    key_headers: ClassVar[tuple[str, ...]] = ("X-Api-Key",)
    key_params: ClassVar[tuple[str, ...]] = ("api_key",)

    def routes(self) -> list[BaseRoute]:
        """Return the served endpoint."""
        async def metric(request: Request) -> Response:
            return await self.answer(request, self._series)

        return [Route("/v1/metrics/{metric:path}", metric)]

    def unauthorized(self, missing: bool) -> Response:
        """Answer 401 with the documented description."""
        return text_response("Unauthorized - Invalid or missing API key", 401)

    def rate_limited(self, retry_after: str | None) -> Response:
        """Answer 429 with the documented description and rate-limit headers."""
        headers = {"x-rate-limit-limit": "600", "x-rate-limit-remaining": "0",
                   "x-rate-limit-reset": retry_after or "60"}
        if retry_after:
            headers["Retry-After"] = retry_after
        return text_response("Too Many Requests - Rate limit exceeded", 429, headers)

    def server_error(self, status: int) -> Response:
        """Answer 5xx with a plain description."""
        return text_response("Internal Server Error" if status == 500
                             else "Service Unavailable", status)

    def corrupt(self, payload: Any, kind: str) -> Any:
        """Mistype or null the first point's value."""
        if isinstance(payload, list) and payload:
            payload[0]["v"] = "abc" if kind == "wrong_type" else None
        return payload

    def _series(self, request: Request, params: dict[str, str]) -> Any:
        metric = request.path_params["metric"].strip("/")
        if metric not in METRICS:
            raise Refusal(text_response("404 page not found", 404))
        asset = BY_TICKER.get(params.get("a", "").upper())
        step = STEPS.get(params.get("i", "24h"))
        if asset is None or step is None or params.get("f", "json").lower() != "json":
            raise Refusal(text_response(_BAD_REQUEST, 400))
        try:
            until = _at(params.get("u")) or self.now()
            since = _at(params.get("s")) or until - 30 * step
        except ValueError:
            raise Refusal(text_response(_BAD_REQUEST, 400)) from None
        now = self.now()
        points: list[dict[str, Any]] = []
        t = _align(since, step)
        if t < since:
            t += step
        while t <= until and t + step <= now and len(points) < MAX_POINTS:
            points.append({"t": int(t.timestamp()), "v": self.market.metric(metric, asset, t)})
            t += step
        return points


def _at(value: str | None) -> datetime | None:
    return None if not value else datetime.fromtimestamp(int(value), UTC)


def _align(at: datetime, step: timedelta) -> datetime:
    """Return the start of the interval of length ``step`` that holds ``at``."""
    origin = _MONDAY if step == STEPS["1w"] else _EPOCH
    return origin + (at - origin) // step * step
