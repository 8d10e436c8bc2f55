"""Test helpers: a signed Binance REST client over httpx and a WebSocket reader.

Requests are signed exactly as Binance documents (HMAC-SHA256 over the query string plus body),
with the venue's own ``sign`` only as the HMAC; the tests of ``auth`` prove that ``sign`` matches
Binance's official vectors.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from adapters.exchanges.fake_venue import DEMO_API_KEY, DEMO_SECRET_KEY, sign


def now_ms() -> int:
    """Return the wall clock in ms (what a client stamps ``timestamp`` with)."""
    return time.time_ns() // 1_000_000


class SignedClient:
    """A minimal Binance spot REST client for the tests."""

    def __init__(self, http: httpx.AsyncClient, api_key: str = DEMO_API_KEY,
                 secret: str = DEMO_SECRET_KEY) -> None:
        self.http = http
        self.api_key = api_key
        self.secret = secret

    async def signed(self, method: str, path: str, **params: Any) -> httpx.Response:
        """Send a SIGNED request (params in the query for GET/DELETE, in the body otherwise)."""
        params.setdefault("timestamp", now_ms())
        query = urlencode({k: v for k, v in params.items() if v is not None})
        query += "&signature=" + sign(self.secret, query)
        headers = {"X-MBX-APIKEY": self.api_key}
        if method in ("GET", "DELETE"):
            return await self.http.request(method, f"{path}?{query}", headers=headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return await self.http.request(method, path, content=query, headers=headers)

    async def ok(self, method: str, path: str, **params: Any) -> Any:
        """Send a SIGNED request that must succeed; return its JSON."""
        response = await self.signed(method, path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def balances(self) -> dict[str, tuple[str, str]]:
        """Return ``{asset: (free, locked)}`` from ``GET /api/v3/account``."""
        info = await self.ok("GET", "/api/v3/account")
        return {b["asset"]: (b["free"], b["locked"]) for b in info["balances"]}


def connect(url: str) -> websockets.connect:
    """Open a WebSocket that keeps reading while the test is busy elsewhere.

    With the default bounded queue a client that stops calling ``recv`` stops reading the
    socket, and a venue streaming into it could then not deliver its close frame.
    """
    return websockets.connect(url, max_queue=None, close_timeout=2)


async def recv_json(ws: ClientConnection, timeout: float = 5.0) -> Any:
    """Return the next message as JSON."""
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws: ClientConnection, match: Any, timeout: float = 5.0) -> Any:
    """Return the first JSON message for which ``match(message)`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        message = await recv_json(ws, max(left, 0.01))
        if match(message):
            return message


async def drain(ws: ClientConnection, api: bool = False, timeout: float = 10.0) -> list[Any]:
    """Return every message queued for ``ws`` so far, then stop.

    It sends a request the venue answers on the same connection (``LIST_SUBSCRIPTIONS`` on a
    stream, ``ping`` on the WebSocket API) and reads up to its answer: the venue sends each
    connection's messages in order, so everything queued before has arrived by then.
    """
    global _barriers  # noqa: PLW0603 - a process-wide counter keeps the ids unique
    _barriers += 1
    ident = f"barrier{_barriers}"
    request = {"id": ident, "method": "ping"} if api else {"method": "LIST_SUBSCRIPTIONS",
                                                            "id": ident}
    await ws.send(json.dumps(request))
    out = []
    while True:
        message = await recv_json(ws, timeout)
        if isinstance(message, dict) and message.get("id") == ident:
            return out
        out.append(message)


_barriers = 0
