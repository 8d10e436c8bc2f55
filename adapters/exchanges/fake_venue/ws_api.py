"""The WebSocket API (``/ws-api/v3``), as far as user data needs it.

Requests are ``{"id", "method", "params"}``; answers ``{"id", "status": 200, "result",
"rateLimits"}`` or ``{"id", "status": 4xx, "error": {"code", "msg"}, "rateLimits"}``. Methods:
``ping``, ``time``, ``userDataStream.subscribe.signature``, ``userDataStream.unsubscribe``,
``session.subscriptions`` and the listenKey trio ``userDataStream.start``/``ping``/``stop``.
``userDataStream.subscribe`` needs a ``session.logon``, which Binance allows only with Ed25519
keys; the venue has HMAC keys only, so it answers that as Binance would answer an HMAC session.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocketDisconnect

from adapters.exchanges.fake_venue.auth import (
    account_for_key,
    check_signature,
    check_timing,
    ws_payload,
)
from adapters.exchanges.fake_venue.limits import RateLimited
from adapters.exchanges.fake_venue.streams import Connection
from adapters.exchanges.fake_venue.wire import VenueError, dumps

if TYPE_CHECKING:
    from adapters.exchanges.fake_venue.venue import Venue

CONNECT_WEIGHT = 2
_WEIGHTS = {"ping": 1, "time": 1}


class WsApiSession:
    """One WebSocket API connection."""

    def __init__(self, venue: Venue, conn: Connection, ip: str) -> None:
        self.venue = venue
        self.conn = conn
        self.ip = ip
        self.next_subscription = 0

    def _rate_limits(self) -> list[dict[str, Any]]:
        return [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self.venue.limiter.limit, "count": self.venue.limiter.used(self.ip)}]

    def answer(self, text: str) -> dict[str, Any]:
        """Answer one request."""
        try:
            request = json.loads(text)
        except ValueError:
            return self._error(None, VenueError(-1135, "Invalid JSON Request"))
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return self._error(request.get("id") if isinstance(request, dict) else None,
                               VenueError(-1102, "Mandatory parameter 'method' was not sent, "
                                                 "was empty/null, or malformed."))
        ident = request.get("id")
        params = request.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise VenueError(-1130, "Data sent for parameter 'params' is not valid.")
            self.venue.limiter.charge(self.ip, _WEIGHTS.get(request["method"], 2))
            result = self._dispatch(request["method"], params)
        except VenueError as exc:
            return self._error(ident, exc)
        return {"id": ident, "status": 200, "result": result, "rateLimits": self._rate_limits()}

    def _error(self, ident: Any, exc: VenueError) -> dict[str, Any]:
        error: dict[str, Any] = {"code": exc.code, "msg": exc.msg}
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            error["data"] = {"retryAfter": self.venue.wall_ms() + exc.retry_after * 1000}
        return {"id": ident, "status": exc.status, "error": error,
                "rateLimits": self._rate_limits()}

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        venue = self.venue
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": venue.wall_ms()}
        if method == "userDataStream.subscribe.signature":
            account = account_for_key(venue.accounts, params.get("apiKey"))
            check_signature(account, ws_payload(params), params.get("signature"))
            recv = params.get("recvWindow")
            check_timing(str(params.get("timestamp") or ""),
                         None if recv is None else str(recv), venue.wall_ms())
            if venue.users.subscription_of(self.conn, account) is not None:
                # Binance allows one subscription per account and connection (SUBSCRIPTION_ACTIVE).
                raise VenueError(-2035, "User Data Stream subscription already active.")
            sub_id = self.next_subscription
            self.next_subscription += 1
            venue.users.subscribe(self.conn, account, sub_id)
            return {"subscriptionId": sub_id}
        if method == "userDataStream.subscribe":
            raise VenueError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        if method == "userDataStream.unsubscribe":
            wanted = params.get("subscriptionId")
            for sub_id in venue.users.unsubscribe(self.conn, wanted):
                self.conn.send(dumps({"subscriptionId": sub_id, "event": {
                    "e": "eventStreamTerminated", "E": venue.now_ms()}}), faultable=False)
            return {}
        if method == "session.subscriptions":
            return [{"subscriptionId": s} for s in venue.users.subscribed_ids(self.conn)]
        if method == "userDataStream.start":
            account = account_for_key(venue.accounts, params.get("apiKey"))
            return {"listenKey": venue.users.create(account)}
        if method in ("userDataStream.ping", "userDataStream.stop"):
            account = account_for_key(venue.accounts, params.get("apiKey"))
            if method == "userDataStream.ping":
                venue.users.keepalive(account, params.get("listenKey"))
            else:
                venue.users.close(account, params.get("listenKey"))
            return {}
        raise VenueError(-1020, "This operation is not supported.")

    def _forget_subscriptions(self, conn: Connection) -> None:
        self.venue.users.unsubscribe(conn)

    async def serve(self) -> None:
        """Run the connection until it closes."""
        venue = self.venue
        venue.hub.register(self.conn)
        self.conn.on_close.append(self._forget_subscriptions)
        self.conn.start()
        try:
            while True:
                text = await self.conn.ws.receive_text()
                self.conn.send(dumps(self.answer(text)), faultable=False)
        except (WebSocketDisconnect, RuntimeError, KeyError):
            pass
        finally:
            self.conn.close()
