"""What every fake vendor shares: the request log, key checks, faults and JSON answers.

A vendor fake subclasses `FakeVendor`, lists its routes, renders its documented payloads and
its documented error bodies; `FakeVendor.answer` runs the common flow for each request: log it
(key values masked), check the key, stall if asked, apply an armed fault, render, encode.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from adapters.vendors.fake.faults import Fault, VendorFaults
from adapters.vendors.fake.market import MarketData

# Vendors write numbers as JSON numbers; Decimal keeps their digits exactly.
_ENCODER: Final = msgspec.json.Encoder(decimal_format="number")
KEY_MASK: Final = "<key>"
Render = Callable[[Request, dict[str, str]], Any]


def encode(payload: Any) -> bytes:
    """Encode a payload the way the vendors do (Decimals as JSON numbers)."""
    return _ENCODER.encode(payload)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None,
                  ) -> Response:
    """Return a JSON response."""
    return Response(encode(payload), status, headers=headers, media_type="application/json")


def text_response(text: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """Return a plain-text response."""
    return Response(text, status, headers=headers, media_type="text/plain")


class Refusal(Exception):
    """A renderer refuses the request with the vendor's own error answer (400, 404...)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the fake saw it (key values masked)."""

    path: str
    params: dict[str, str]
    key_sent: bool
    fault: str | None
    at: float


class FakeVendor(ABC):
    """One fake vendor: its key, its fault switchboard, its request log and its routes."""

    name: ClassVar[str]
    key_params: ClassVar[tuple[str, ...]] = ()
    key_headers: ClassVar[tuple[str, ...]] = ()
    keyless_ok: ClassVar[bool] = False

    def __init__(self, market: MarketData, api_key: str, now: Callable[[], datetime]) -> None:
        self.market = market
        self.api_key = api_key
        self.now = now
        self.faults = VendorFaults()
        self.requests: list[Seen] = []

    @abstractmethod
    def routes(self) -> list[BaseRoute]:
        """Return the vendor's routes (mounted under ``/<name>``)."""

    @abstractmethod
    def unauthorized(self, missing: bool) -> Response:
        """Return the vendor's answer to a missing or wrong key."""

    @abstractmethod
    def rate_limited(self, retry_after: str | None) -> Response:
        """Return the vendor's 429 answer."""

    @abstractmethod
    def server_error(self, status: int) -> Response:
        """Return the vendor's answer to an internal failure."""

    @abstractmethod
    def corrupt(self, payload: Any, kind: str) -> Any:
        """Return ``payload`` with its first item's field mistyped or nulled (``kind``)."""

    def wrong_envelope(self, payload: Any) -> Any:
        """Return ``payload`` wrapped the wrong way round."""
        return {"data": payload} if isinstance(payload, list) else [payload]

    def presented_key(self, request: Request) -> str | None:
        """Return the key the request carries, in a header or a query parameter."""
        for header in self.key_headers:
            if request.headers.get(header):
                return request.headers[header]
        for param in self.key_params:
            if request.query_params.get(param):
                return request.query_params[param]
        return None

    async def answer(self, request: Request, render: Render) -> Response:
        """Answer one request: check the key, log, stall, fault, render, encode."""
        params = {k: (KEY_MASK if k in self.key_params else v)
                  for k, v in request.query_params.items()}
        key = self.presented_key(request)
        refused = (key is None and not self.keyless_ok) or (
            key is not None and not hmac.compare_digest(key.encode(), self.api_key.encode()))
        # A refused request leaves the armed faults for the next authorised one.
        stall, fault = (0.0, None) if refused else self.faults.take()
        self.requests.append(Seen(request.url.path, params, key is not None,
                                  fault.kind if fault else None, time.monotonic()))
        if stall:
            await asyncio.sleep(stall)
        if refused:
            return self.unauthorized(missing=key is None)
        if fault is not None and fault.kind == "server_error":
            return self.server_error(fault.status)
        if fault is not None and fault.kind == "rate_limit":
            return self.rate_limited(fault.retry_after)
        try:
            payload = render(request, dict(request.query_params))
        except Refusal as refusal:
            return refusal.response
        return json_response(payload) if fault is None else self._faulty(payload, fault)

    def _faulty(self, payload: Any, fault: Fault) -> Response:
        if fault.kind == "malformed":
            body = encode(payload)
            return Response(body[: max(1, len(body) // 2)], 200, media_type="application/json")
        if fault.kind == "wrong_envelope":
            return json_response(self.wrong_envelope(payload))
        return json_response(self.corrupt(payload, fault.kind))
