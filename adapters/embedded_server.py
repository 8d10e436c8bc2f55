"""Serve an ASGI app from inside a running event loop: the local fakes and test servers.

uvicorn is made for owning a process; these servers live in someone else's (a test, the
demo), so signal capture is off and a stop is prompt: tests start and stop one each, and a
stalled (faulted) answer must not hold the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.stop_requested = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_requested.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's own shutdown waits for connections to wind down; close them at once.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        await asyncio.sleep(0)
        for task in list(self.server_state.tasks):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()


@dataclass
class EmbeddedServer:
    """An app serving on ``host:port`` in this event loop until ``stop``."""

    host: str
    port: int
    _server: _Server
    _task: asyncio.Task[None]

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        self._server.should_exit = True
        self._server.force_exit = True
        self._server.stop_requested.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def serve_app(app: Any, host: str, port: int, *, name: str, log_level: str = "warning",
                    **uvicorn_options: Any) -> EmbeddedServer:
    """Serve ``app`` on ``host:port`` (0 picks a free port); return once it accepts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit it (Linux): without it, Nagle holds the body uvicorn writes
    # after the headers until the client's delayed ACK, ~40 ms per keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, host=host, port=bound, lifespan="off",
                                    access_log=False, log_level=log_level,
                                    timeout_graceful_shutdown=1, **uvicorn_options))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name=name)
    while not server.started:
        if task.done():
            task.result()  # raises what stopped the server
            raise RuntimeError(f"{name} exited before starting")
        await asyncio.sleep(0.005)
    return EmbeddedServer(host, bound, server, task)


async def serve_until_signalled(running: Any, announcement: dict[str, Any]) -> None:
    """Print ``announcement`` as one JSON line (how a parent learns the URLs), wait for SIGINT
    or SIGTERM, then ``await running.stop()``: the body of a fake's ``python -m`` entry point."""
    sys.stdout.write(json.dumps(announcement) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.stop()
