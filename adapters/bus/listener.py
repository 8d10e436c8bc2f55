"""One LISTEN connection per bus that wakes the consumers blocked on each stream."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg

# The channel the append trigger of V0002__bus.sql notifies, with the stream name as payload.
CHANNEL = "lockgate_bus"


class Listener:
    """Hold a pool connection that LISTENs on ``CHANNEL``; wake watchers of the notified stream.

    A watcher is an ``asyncio.Event`` that is set when its stream gets a message (or when the
    connection is lost, so the watcher looks again and the next ``start`` reconnects).
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        """Listen through a connection taken from ``pool`` on the first ``start``."""
        self._pool = pool
        self._conn: Any = None
        self._starting = asyncio.Lock()
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self._closed = False

    async def start(self) -> None:
        """Make sure a live connection is listening (cheap when it already is; none once closed)."""
        if self._closed or self._listening():
            return
        async with self._starting:
            if self._closed or self._listening():
                return
            await self._release()
            conn = await self._pool.acquire()
            try:
                await conn.add_listener(CHANNEL, self._on_notify)
            except BaseException:
                await self._pool.release(conn)
                raise
            conn.add_termination_listener(self._on_terminated)
            self._conn = conn

    @contextmanager
    def watch(self, stream: str) -> Iterator[asyncio.Event]:
        """Yield an event that is set when ``stream`` gets a message; stop watching on exit."""
        event = asyncio.Event()
        watchers = self._watchers.setdefault(stream, set())
        watchers.add(event)
        try:
            yield event
        finally:
            watchers.discard(event)
            if not watchers:
                self._watchers.pop(stream, None)

    async def close(self) -> None:
        """Stop listening, give the connection back to the pool and wake every watcher."""
        self._closed = True
        async with self._starting:
            await self._release()
        self._wake_all()

    def _listening(self) -> bool:
        if self._conn is None:
            return False
        try:
            return not self._conn.is_closed()
        except asyncpg.InterfaceError:
            return False  # the pool took the proxy back when its connection died

    async def _release(self) -> None:
        alive = self._listening()
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if alive:
            await conn.remove_listener(CHANNEL, self._on_notify)
        # The pool resets a live connection (UNLISTEN *); releasing a dead one does nothing.
        await self._pool.release(conn)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, stream: str) -> None:
        for event in self._watchers.get(stream, ()):
            event.set()

    def _on_terminated(self, _conn: object) -> None:
        # Each watcher looks again, and its next start() listens anew.
        self._wake_all()

    def _wake_all(self) -> None:
        for watchers in self._watchers.values():
            for event in watchers:
                event.set()
