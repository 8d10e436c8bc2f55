"""Run the fake vendors as a process: ``python -m adapters.vendors.fake --port 8790``.

On start it prints one JSON line mapping each vendor to the base URL that stands for its real
API host (plus ``port``), so a parent process can read it; it stops on SIGINT or SIGTERM. The
keys the fakes accept are ``adapters.vendors.fake.DEMO_API_KEYS``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from adapters.embedded_server import serve_until_signalled
from adapters.vendors.fake.server import VENDORS, FakeVendorsConfig, serve_fakes


def _as_of(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("--as-of needs a timezone, e.g. 2018-06-01T00:00:00Z")
    return value


def parse_args(argv: Sequence[str] | None = None) -> FakeVendorsConfig:
    """Return the configuration the command line asks for."""
    parser = argparse.ArgumentParser(
        prog="python -m adapters.vendors.fake",
        description="Fake CoinGecko, CoinMarketCap, CryptoPanic and Glassnode APIs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790, help="0 picks a free port")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="shared data folder (default: $LOCKGATE_SHARED_DATA or "
                             "../shared/data); its candles/ drive the prices")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=_as_of, default=None,
                        help="pin the fakes' clock (ISO-8601 with zone); default: now")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    return FakeVendorsConfig(host=args.host, port=args.port, data_dir=args.data_dir,
                             seed=args.seed, as_of=args.as_of, log_level=args.log_level)


async def run(config: FakeVendorsConfig) -> None:
    """Serve until SIGINT or SIGTERM."""
    running = await serve_fakes(config)
    await serve_until_signalled(running, {name: running.base_url(name) for name in VENDORS}
                                | {"port": running.port})


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
