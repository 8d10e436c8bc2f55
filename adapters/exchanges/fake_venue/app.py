"""The fake venue's web app (REST, market streams, user data, control) and ``serve``.

One server answers everything Binance spreads over several hosts: REST under ``/api/v3``, market
streams under ``/ws`` and ``/stream``, the WebSocket API under ``/ws-api/v3``, and the control API
under ``/_control``. ``serve`` runs it in the current event loop on a real socket.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from adapters.embedded_server import EmbeddedServer, serve_app
from adapters.exchanges.fake_venue import control, rest_market, rest_trading
from adapters.exchanges.fake_venue.config import FakeVenueConfig
from adapters.exchanges.fake_venue.faults import Faults
from adapters.exchanges.fake_venue.replay import Replayer
from adapters.exchanges.fake_venue.streams import Connection
from adapters.exchanges.fake_venue.venue import Venue
from adapters.exchanges.fake_venue.ws_api import CONNECT_WEIGHT, WsApiSession
from adapters.exchanges.urls import rewrite_urls

_LISTEN_KEY = re.compile(r"^[A-Za-z0-9]{60}$")


def _client_ip(ws: WebSocket) -> str:
    return ws.client.host if ws.client else "unknown"


async def _streams(ws: WebSocket, names: list[str], combined: bool) -> None:
    venue: Venue = ws.app.state.venue
    keys = [n for n in names if _LISTEN_KEY.match(n)]
    # Binance accepts any name in the path and simply sends nothing for one it does not know
    # (ccxt.pro connects to /ws/<counter> and subscribes afterwards); a dead listenKey is refused.
    markets = [n for n in names if n not in keys and venue.hub.valid(n)]
    if any(k not in venue.users.keys for k in keys):
        await ws.close(1008)  # before accept: the handshake is refused
        return
    await ws.accept()
    conn = Connection(ws, "user" if keys and not markets else "market", combined, venue.faults,
                      venue.config.max_queued_messages)
    for key in keys:
        venue.users.attach(conn, key)
    await venue.hub.serve(conn, markets)


async def raw_streams(ws: WebSocket) -> None:
    """``/ws`` and ``/ws/<stream>[/<stream>...]``: raw payloads (a listenKey: user data)."""
    path = ws.path_params.get("path", "")
    await _streams(ws, [p for p in path.split("/") if p], combined=False)


async def combined_streams(ws: WebSocket) -> None:
    """``/stream?streams=a/b``: payloads wrapped as ``{"stream", "data"}``."""
    names = [p for p in ws.query_params.get("streams", "").split("/") if p]
    await _streams(ws, names, combined=True)


async def ws_api(ws: WebSocket) -> None:
    """``/ws-api/v3``: the WebSocket API (user data subscriptions)."""
    venue: Venue = ws.app.state.venue
    await ws.accept()
    with contextlib.suppress(Exception):  # connecting costs weight, but never refuses here
        venue.limiter.charge(_client_ip(ws), CONNECT_WEIGHT)
    conn = Connection(ws, "user", False, venue.faults, venue.config.max_queued_messages)
    await WsApiSession(venue, conn, _client_ip(ws)).serve()


def build_app(venue: Venue) -> Starlette:
    """Return the ASGI app serving ``venue``."""
    app = Starlette(routes=[
        *rest_market.ROUTES,
        *rest_trading.ROUTES,
        *control.ROUTES,
        WebSocketRoute("/ws", raw_streams),
        WebSocketRoute("/ws/{path:path}", raw_streams),
        WebSocketRoute("/stream", combined_streams),
        WebSocketRoute("/ws-api/v3", ws_api),
    ])
    app.state.venue = venue
    return app


@dataclass
class RunningVenue:
    """A venue serving on a real socket: its addresses, its controls and ``stop``."""

    venue: Venue
    server: EmbeddedServer

    @property
    def host(self) -> str:
        """Return the address the venue listens on."""
        return self.server.host

    @property
    def port(self) -> int:
        """Return the port the venue listens on."""
        return self.server.port

    @property
    def rest_url(self) -> str:
        """Return the REST base (``http://host:port``; endpoints under ``/api/v3``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Return the market-stream base (``ws://host:port``; ``/ws/<stream>``, ``/stream``)."""
        return f"ws://{self.host}:{self.port}"

    @property
    def ws_api_url(self) -> str:
        """Return the WebSocket API endpoint."""
        return f"ws://{self.host}:{self.port}/ws-api/v3"

    @property
    def faults(self) -> Faults:
        """Return the fault switchboard."""
        return self.venue.faults

    @property
    def replay(self) -> Replayer:
        """Return the replay (``step``/``advance``/``run_until`` when not autoplaying)."""
        return self.venue.replay

    def local_urls(self, urls: Mapping[str, Any]) -> dict[str, Any]:
        """Rewrite every URL in a (nested) mapping to this venue, keeping paths.

        Meant for ``ccxt.binance().urls['api']``: ``https://api.binance.com/api/v3`` becomes
        ``http://127.0.0.1:<port>/api/v3`` and ``wss://stream.binance.com:9443/ws`` becomes
        ``ws://127.0.0.1:<port>/ws``.
        """
        return rewrite_urls(urls, self.rest_url, self.ws_url)

    async def stop(self) -> None:
        """Stop serving, close connections and stop the replay."""
        await self.venue.stop()
        await self.server.stop()


async def serve(config: FakeVenueConfig) -> RunningVenue:
    """Start a venue on ``config.host:config.port`` (0 picks a free port) and return it running."""
    venue = Venue(config)
    server = await serve_app(
        build_app(venue), config.host, config.port, name="fake-venue-server",
        log_level=config.log_level, ws="websockets-sansio",
        ws_ping_interval=config.ws_ping_interval, ws_ping_timeout=config.ws_ping_timeout,
        ws_per_message_deflate=False)
    await venue.start()
    return RunningVenue(venue, server)
