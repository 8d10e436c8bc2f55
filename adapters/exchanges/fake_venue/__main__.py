"""Run the fake Binance spot venue as a process: ``python -m adapters.exchanges.fake_venue``.

On start it prints one JSON line with its addresses (``rest``, ``ws``, ``wsApi``, ``control``)
so a parent process can read them; it stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path

from adapters.embedded_server import serve_until_signalled
from adapters.exchanges.fake_venue.app import serve
from adapters.exchanges.fake_venue.config import KNOWN_SYMBOLS, FakeVenueConfig, default_data_dir


def _speed(text: str) -> float | None:
    if text in ("max", "fast"):
        return None
    value = float(text.removesuffix("x"))
    if not value > 0:
        raise argparse.ArgumentTypeError("speed must be positive, or 'max'")
    return value


def parse_args(argv: Sequence[str] | None = None) -> FakeVenueConfig:
    """Return the venue configuration the command line asks for."""
    parser = argparse.ArgumentParser(prog="python -m adapters.exchanges.fake_venue",
                                     description="Fake Binance spot venue replaying recorded data")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--speed", type=_speed, default=1.0,
                        help="replay speed factor, e.g. 10 or 10x; 'max' for as fast as possible")
    parser.add_argument("--paused", action="store_true",
                        help="do not replay until POST /_control/replay/{step,advance,resume}")
    parser.add_argument("--no-loop", action="store_true", help="stop at the end of the recording")
    parser.add_argument("--symbols", default=",".join(KNOWN_SYMBOLS),
                        help="comma-separated, from: " + ", ".join(KNOWN_SYMBOLS))
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--weight-limit", type=int, default=6000)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    return FakeVenueConfig(
        host=args.host, port=args.port, data_dir=args.data_dir,
        symbols=tuple(s.strip().upper() for s in args.symbols.split(",") if s.strip()),
        speed=args.speed, autoplay=not args.paused, loop=not args.no_loop,
        weight_limit=args.weight_limit, log_level=args.log_level)


async def run(config: FakeVenueConfig) -> None:
    """Serve until SIGINT or SIGTERM."""
    running = await serve(config)
    await serve_until_signalled(running, {
        "rest": running.rest_url, "ws": running.ws_url, "wsApi": running.ws_api_url,
        "control": f"{running.rest_url}/_control/status", "port": running.port})


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
