"""A local fake Binance spot venue that replays recorded market data and matches orders.

It speaks Binance's REST and WebSocket wire format over real sockets (ARCHITECTURE.md, decision
5), so tests and the demo trade against it with the clients they use for Binance (httpx,
websockets, ccxt, ccxt.pro):

    running = await serve(FakeVenueConfig(speed=None, autoplay=False))
    await running.replay.step(500)         # paused venues move only when told
    running.faults.drop_connections()      # or stall/delay/duplicate/reorder/malformed/http_error
    ...  # REST at running.rest_url, streams at running.ws_url, WS API at running.ws_api_url
    await running.stop()

Served paths: ``/api/v3/...`` (REST), ``/ws``, ``/ws/<stream>``, ``/stream?streams=a/b`` (market
streams; ``/ws/<listenKey>`` for legacy user data), ``/ws-api/v3`` (WebSocket API user data) and
``/_control/...`` (the control API, see ``control``). ``python -m adapters.exchanges.fake_venue``
runs one as a process and prints its addresses as one JSON line.
"""

from adapters.exchanges.fake_venue.app import RunningVenue, serve
from adapters.exchanges.fake_venue.auth import sign
from adapters.exchanges.fake_venue.config import (
    DEMO_API_KEY,
    DEMO_SECRET_KEY,
    AccountConfig,
    FakeVenueConfig,
)

__all__ = [
    "DEMO_API_KEY",
    "DEMO_SECRET_KEY",
    "AccountConfig",
    "FakeVenueConfig",
    "RunningVenue",
    "serve",
    "sign",
]
