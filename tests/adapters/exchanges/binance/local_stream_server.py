"""A test-only WebSocket server that replays recorded frames the way Binance streams them.

It serves ``/stream?streams=...`` on 127.0.0.1 with ``websockets.serve`` (real sockets) and
plays one timeline of text frames across connections, as a live venue would: frames sent
while no client is connected are lost. Faults are scripted by frame index:

* ``drop_at[i] = lost``: abort the TCP connection before frame ``i``; the next connection
  resumes ``lost`` frames later (what Binance published meanwhile);
* ``hold_at[i] = lost``: stop sending before frame ``i`` but keep the connection open (the
  client must leave on its own, e.g. at its maximum connection age), then resume likewise;
* ``ping_payload``: ping the client when it connects and record the round trip.

Until the fake venue (``adapters/exchanges/fake_venue``) is ready the feed tests use this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from types import TracebackType

from websockets.asyncio.server import Server, ServerConnection, serve


class LocalStreamServer:
    """Replay ``frames`` to combined-stream clients; use as ``async with``."""

    def __init__(
        self,
        frames: Sequence[bytes],
        *,
        drop_at: Mapping[int, int] | None = None,
        hold_at: Mapping[int, int] | None = None,
        ping_payload: bytes | None = None,
    ) -> None:
        self.frames = frames
        self._drop_at = dict(drop_at or {})
        self._hold_at = dict(hold_at or {})
        self._ping_payload = ping_payload
        self.cursor = 0
        self.paths: list[str] = []
        self.pong_latencies: list[float] = []
        self.sent = 0
        self._server: Server | None = None

    @property
    def ws_base_url(self) -> str:
        """Return ``ws://127.0.0.1:<port>``."""
        assert self._server is not None, "start the server first"
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    @property
    def connections(self) -> int:
        """Return how many clients have connected so far."""
        return len(self.paths)

    async def __aenter__(self) -> LocalStreamServer:
        # Keepalive pings off: only the pings a test asks for travel.
        self._server = await serve(self._handler, "127.0.0.1", 0, ping_interval=None)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        self.paths.append(path)
        if not path.startswith("/stream?streams="):
            await ws.close(1008, "combined streams only")
            return
        if self._ping_payload is not None:
            pong = await ws.ping(self._ping_payload)
            # The waiter resolves only on a pong echoing this payload.
            self.pong_latencies.append(await asyncio.wait_for(pong, timeout=5))
        while self.cursor < len(self.frames):
            index = self.cursor
            if index in self._drop_at:
                self.cursor += self._drop_at.pop(index)
                ws.transport.abort()  # no close frame: what a network failure looks like
                return
            if index in self._hold_at:
                self.cursor += self._hold_at.pop(index)
                break
            await ws.send(self.frames[index], text=True)
            self.sent += 1
            self.cursor += 1
        await ws.wait_closed()  # idle until the client leaves
