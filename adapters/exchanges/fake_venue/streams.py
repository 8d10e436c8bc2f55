"""WebSocket market streams: ``/ws/<stream>``, ``/stream?streams=a/b`` and live (un)subscribing.

Raw connections (``/ws``) get each payload as is; combined ones (``/stream``) get
``{"stream": <name>, "data": <payload>}``. ``SUBSCRIBE``, ``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``,
``SET_PROPERTY`` and ``GET_PROPERTY`` answer ``{"result": ..., "id": ...}`` or Binance's
``{"error": {"code", "msg"}, "id"}``. Each connection has its own send queue and sender task, so a
slow reader never blocks the replay; one that falls too far behind is disconnected, as Binance
does. Pings are sent by the server (uvicorn's keepalive, ``ws_ping_interval``); a client that does
not answer within ``ws_ping_timeout`` is disconnected; unsolicited pongs are accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from adapters.exchanges.fake_venue.faults import Channel, Faults
from adapters.exchanges.fake_venue.klines import INTERVALS
from adapters.exchanges.fake_venue.wire import dumps

log = logging.getLogger(__name__)
MAX_STREAMS = 1024
_KINDS = ("trade|aggTrade|bookTicker|ticker|miniTicker|depth|depth@100ms|depth@1000ms"
          "|depth(?:5|10|20)(?:@100ms|@1000ms)?|kline_(?:" + "|".join(INTERVALS) + ")")
_STREAM = re.compile(r"^([a-z0-9]+)@(" + _KINDS + r")$")
_REORDER_WAIT_S = 0.5
_METHODS = "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"


class Connection:
    """One client WebSocket: its subscriptions, send queue and sender task."""

    def __init__(self, ws: WebSocket, channel: Channel, combined: bool, faults: Faults,
                 max_queued: int) -> None:
        self.ws = ws
        self.channel = channel
        self.combined = combined
        self.faults = faults
        self.max_queued = max_queued
        self.streams: set[str] = set()
        self.closed = False
        self.queue: asyncio.Queue[tuple[str, bool, str] | None] = asyncio.Queue()  # None: close
        self._sender: asyncio.Task[None] | None = None
        self._close_args = (1000, "")
        self.on_close: list[Callable[[Connection], None]] = []

    def start(self) -> None:
        """Start the sender task."""
        self._sender = asyncio.get_running_loop().create_task(self._send_loop())

    def send(self, text: str, faultable: bool = True, stream: str = "") -> None:
        """Queue a message (of ``stream``, for faults aimed at one); a reader this far behind is
        disconnected instead."""
        if self.closed:
            return
        if self.queue.qsize() >= self.max_queued:
            log.warning("disconnecting a slow %s client (%d messages queued)", self.channel,
                        self.queue.qsize())
            self.close(1008, "Too slow")
            return
        self.queue.put_nowait((text, faultable, stream))

    def close(self, code: int = 1000, reason: str = "", flush: bool = False) -> None:
        """Close the connection from the server side (idempotent).

        With ``flush`` what is already queued (say, a ``listenKeyExpired`` event) goes out first;
        otherwise the close is abrupt, as a dropped connection's would be.
        """
        if self.closed:
            return
        self.closed = True
        for callback in self.on_close:
            callback(self)
        if flush and self._sender is not None and not self._sender.done():
            self._close_args = (code, reason)
            self.queue.put_nowait(None)
            return
        if self._sender is not None:
            self._sender.cancel()
        asyncio.get_running_loop().create_task(self._close_socket(code, reason))

    async def _close_socket(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):  # the peer may be gone already
            await self.ws.close(code, reason)

    async def _send_loop(self) -> None:
        held: str | None = None
        held_stream = ""  # a reorder aimed at one stream swaps with that stream's next message
        try:
            while True:
                try:
                    item = await asyncio.wait_for(
                        self.queue.get(), timeout=_REORDER_WAIT_S if held else None)
                except TimeoutError:  # nothing came to swap with: release the held message
                    await self.ws.send_text(held or "")
                    held = None
                    continue
                if item is None:
                    await self._close_socket(*self._close_args)
                    return
                text, faultable, stream = item
                if faultable:
                    await self.faults.hold(self.channel)
                    if self.faults.take("malformed", self.channel, stream):
                        text = text[: len(text) // 2]
                    if held is None and self.faults.take("reorder", self.channel, stream):
                        held, held_stream = text, self.faults.aimed_at("reorder", self.channel)
                        continue
                await self.ws.send_text(text)
                if faultable and self.faults.take("duplicate", self.channel, stream):
                    await self.ws.send_text(text)
                if held is not None and held_stream in ("", stream):
                    await self.ws.send_text(held)
                    held = None
        except asyncio.CancelledError:
            raise
        except Exception:  # the client went away mid-send; the receive loop cleans up
            self.closed = True


class StreamHub:
    """Who listens to which market stream; encodes each payload once per publish."""

    def __init__(self, symbols: Iterable[str]) -> None:
        self.symbols = {s.lower() for s in symbols}
        self.subs: dict[str, set[Connection]] = {}
        self.connections: set[Connection] = set()
        self.kline_wanted: dict[str, set[str]] = {}  # lower-case symbol -> intervals
        self.on_kline_wanted: Callable[[str, str], None] = lambda _s, _i: None

    def valid(self, stream: str) -> bool:
        """Return whether ``stream`` names a stream this venue serves."""
        match = _STREAM.match(stream)
        return bool(match) and match.group(1) in self.symbols  # type: ignore[union-attr]

    def wants(self, stream: str) -> bool:
        """Return whether anyone listens to ``stream``."""
        return bool(self.subs.get(stream))

    def publish(self, stream: str, payload: Any) -> None:
        """Send ``payload`` to every subscriber of ``stream``."""
        listeners = self.subs.get(stream)
        if not listeners:
            return
        raw = dumps(payload)
        wrapped = None
        for conn in list(listeners):
            if conn.combined:
                wrapped = wrapped or f'{{"stream":"{stream}","data":{raw}}}'
                conn.send(wrapped, stream=stream)
            else:
                conn.send(raw, stream=stream)

    def subscribe(self, conn: Connection, streams: Iterable[str]) -> None:
        """Add subscriptions."""
        for stream in streams:
            conn.streams.add(stream)
            self.subs.setdefault(stream, set()).add(conn)
            symbol, _, kind = stream.partition("@")
            if kind.startswith("kline_"):
                interval = kind.removeprefix("kline_")
                self.kline_wanted.setdefault(symbol, set()).add(interval)
                self.on_kline_wanted(symbol.upper(), interval)

    def unsubscribe(self, conn: Connection, streams: Iterable[str]) -> None:
        """Remove subscriptions."""
        for stream in list(streams):
            conn.streams.discard(stream)
            listeners = self.subs.get(stream)
            if listeners is not None:
                listeners.discard(conn)
                if not listeners:
                    del self.subs[stream]
                    self._forget_kline(stream)

    def _forget_kline(self, stream: str) -> None:
        symbol, _, kind = stream.partition("@")
        if kind.startswith("kline_"):
            self.kline_wanted.get(symbol, set()).discard(kind.removeprefix("kline_"))

    def register(self, conn: Connection) -> None:
        """Track a connection (for drops)."""
        self.connections.add(conn)
        conn.on_close.append(self.unregister)

    def unregister(self, conn: Connection) -> None:
        """Forget a connection and its subscriptions."""
        self.connections.discard(conn)
        self.unsubscribe(conn, list(conn.streams))

    def drop(self, channel: str) -> int:
        """Close every connection of ``channel``; return how many."""
        victims = [c for c in self.connections if c.channel == channel and not c.closed]
        for conn in victims:
            conn.close(1001, "Dropped by fault injection")
        return len(victims)

    # -- the market endpoint --------------------------------------------------------------
    def control_answer(self, conn: Connection, text: str) -> dict[str, Any]:
        """Answer one client message (SUBSCRIBE and friends)."""
        try:
            message = json.loads(text)
        except ValueError:
            return {"error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}}
        if not isinstance(message, dict):
            return {"error": {"code": 2, "msg": "Invalid request: expected an object"}}
        ident = message.get("id")
        if "method" not in message:
            return {"error": {"code": 2, "msg": "Invalid request: missing field `method`"},
                    "id": ident}
        if not (ident is None or isinstance(ident, int) or (
                isinstance(ident, str) and ident.isalnum() and len(ident) <= 36)):
            return {"error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned "
                                                "integer"}, "id": None}
        method, params = message["method"], message.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return {"error": {"code": 2, "msg": "Invalid request: params must be a list of "
                                                    "stream names"}, "id": ident}
            bad = [p for p in params if not self.valid(p)]
            if bad:
                return {"error": {"code": 2, "msg": f"Invalid request: unknown stream {bad[0]}"},
                        "id": ident}
            if method == "SUBSCRIBE":
                if len(conn.streams | set(params)) > MAX_STREAMS:
                    return {"error": {"code": 2, "msg": "Invalid request: too many streams"},
                            "id": ident}
                self.subscribe(conn, params)
            else:
                self.unsubscribe(conn, params)
            return {"result": None, "id": ident}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": sorted(conn.streams), "id": ident}
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            return self._property(conn, method, params, ident)
        return {"error": {"code": 2, "msg": f"Invalid request: unknown variant `{method}`, "
                                            f"expected one of {_METHODS}"}, "id": ident}

    @staticmethod
    def _property(conn: Connection, method: str, params: Any, ident: Any) -> dict[str, Any]:
        if not isinstance(params, list) or not params or not isinstance(params[0], str):
            return {"error": {"code": 2, "msg": "Invalid request: property name must be a "
                                                "string"}, "id": ident}
        if params[0] != "combined":
            return {"error": {"code": 0, "msg": "Unknown property"}, "id": ident}
        if method == "GET_PROPERTY":
            return {"result": conn.combined, "id": ident}
        if len(params) != 2 or not isinstance(params[1], bool):
            return {"error": {"code": 1, "msg": "Invalid value type: expected Boolean"},
                    "id": ident}
        conn.combined = params[1]
        return {"result": None, "id": ident}

    async def serve(self, conn: Connection, initial: list[str]) -> None:
        """Run one accepted market connection until it closes."""
        self.register(conn)
        self.subscribe(conn, initial)
        conn.start()
        try:
            while True:
                text = await conn.ws.receive_text()
                conn.send(dumps(self.control_answer(conn, text)), faultable=False)
        except (WebSocketDisconnect, RuntimeError, KeyError):
            pass  # the client left (or sent a binary frame, which Binance ignores by closing)
        finally:
            conn.close()
