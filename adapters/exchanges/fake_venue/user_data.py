"""User data streams: the WebSocket API subscription and the legacy listenKey flow.

Binance documents the WebSocket API (``/ws-api/v3``) as the way to receive ``executionReport``
and ``outboundAccountPosition``: ``userDataStream.subscribe.signature`` (apiKey, timestamp,
signature over the sorted params) answers a ``subscriptionId`` and events then arrive as
``{"subscriptionId": n, "event": {...}}``. The legacy flow is kept as well:
``POST /api/v3/userDataStream`` returns a ``listenKey`` (the same one, extended, while it lives),
``PUT`` keeps it alive, ``DELETE`` ends it, and ``/ws/<listenKey>`` carries the bare events
(``/stream?streams=<listenKey>`` wrapped). A key not kept alive expires after
``listen_key_ttl_s`` with a ``listenKeyExpired`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.exchanges.fake_venue.accounts import Account
from adapters.exchanges.fake_venue.streams import Connection
from adapters.exchanges.fake_venue.wire import VenueError, dumps

_KEY_CHARS = string.ascii_letters + string.digits
UNKNOWN_LISTEN_KEY = VenueError(-1125, "This listenKey does not exist.")


@dataclass(slots=True)
class ListenKey:
    """A legacy user data stream."""

    key: str
    account: Account
    expires_at: float
    connections: set[Connection] = field(default_factory=set)


class UserStreams:
    """Delivers each account's events to its listenKey streams and WebSocket API subscribers."""

    def __init__(self, ttl_s: float, wall_ms: Callable[[], int],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.wall_ms = wall_ms
        self.clock = clock
        self.keys: dict[str, ListenKey] = {}
        self.subscriptions: dict[str, dict[Connection, int]] = {}  # api key -> conn -> sub id
        self._task: asyncio.Task[None] | None = None

    # -- legacy listenKey -----------------------------------------------------------------
    def create(self, account: Account) -> str:
        """Return the account's live listenKey (extended) or a new one."""
        for entry in self.keys.values():
            if entry.account is account:
                entry.expires_at = self.clock() + self.ttl_s
                return entry.key
        key = "".join(secrets.choice(_KEY_CHARS) for _ in range(60))
        self.keys[key] = ListenKey(key, account, self.clock() + self.ttl_s)
        return key

    def _owned(self, account: Account, key: str | None) -> ListenKey:
        entry = self.keys.get(key or "")
        if entry is None or entry.account is not account:
            raise UNKNOWN_LISTEN_KEY
        return entry

    def keepalive(self, account: Account, key: str | None) -> None:
        """Extend a listenKey (``PUT``)."""
        self._owned(account, key).expires_at = self.clock() + self.ttl_s

    def close(self, account: Account, key: str | None) -> None:
        """End a listenKey (``DELETE``) and close its connections."""
        entry = self._owned(account, key)
        del self.keys[entry.key]
        for conn in list(entry.connections):
            conn.close(1000, "listenKey closed", flush=True)

    def attach(self, conn: Connection, key: str) -> bool:
        """Route a listenKey's events to a connection; False if the key is unknown."""
        entry = self.keys.get(key)
        if entry is None:
            return False
        entry.connections.add(conn)
        conn.on_close.append(entry.connections.discard)
        return True

    def expire(self) -> None:
        """End every listenKey not kept alive, telling its listeners why."""
        now = self.clock()
        for entry in [e for e in self.keys.values() if e.expires_at <= now]:
            del self.keys[entry.key]
            event = {"e": "listenKeyExpired", "E": self.wall_ms(), "listenKey": entry.key}
            for conn in list(entry.connections):
                self._send_keyed(conn, entry.key, event)
                conn.close(1000, "listenKey expired", flush=True)

    def start(self) -> None:
        """Start the expiry watch."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        """Stop the expiry watch."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.ttl_s / 4))
            self.expire()

    # -- WebSocket API subscriptions ------------------------------------------------------
    def subscribe(self, conn: Connection, account: Account, sub_id: int) -> None:
        """Deliver ``account``'s events to ``conn`` as subscription ``sub_id``."""
        subs = self.subscriptions.setdefault(account.api_key, {})
        subs[conn] = sub_id

    def subscription_of(self, conn: Connection, account: Account) -> int | None:
        """Return the id of ``account``'s subscription on ``conn``, if any."""
        return self.subscriptions.get(account.api_key, {}).get(conn)

    def unsubscribe(self, conn: Connection, sub_id: int | None = None) -> list[int]:
        """End ``conn``'s subscriptions (one, or all); return the ids ended."""
        ended = []
        for subs in self.subscriptions.values():
            current = subs.get(conn)
            if current is not None and (sub_id is None or current == sub_id):
                del subs[conn]
                ended.append(current)
        return sorted(ended)

    def subscribed_ids(self, conn: Connection) -> list[int]:
        """Return ``conn``'s active subscription ids."""
        return sorted(subs[conn] for subs in self.subscriptions.values() if conn in subs)

    # -- delivery -------------------------------------------------------------------------
    def publish(self, account: Account, event: dict[str, Any]) -> None:
        """Send one account event to every listener of that account."""
        raw = dumps(event)
        for entry in self.keys.values():
            if entry.account is account:
                for conn in list(entry.connections):
                    conn.send(f'{{"stream":"{entry.key}","data":{raw}}}' if conn.combined else raw)
        for conn, sub_id in list(self.subscriptions.get(account.api_key, {}).items()):
            conn.send(f'{{"subscriptionId":{sub_id},"event":{raw}}}')

    @staticmethod
    def _send_keyed(conn: Connection, key: str, event: dict[str, Any]) -> None:
        raw = dumps(event)
        conn.send(f'{{"stream":"{key}","data":{raw}}}' if conn.combined else raw, faultable=False)
