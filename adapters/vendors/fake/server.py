"""Serve the four fake vendors on one real socket, each under its own prefix.

``http://host:port/coingecko`` stands for ``https://api.coingecko.com``,
``/coinmarketcap`` for ``https://pro-api.coinmarketcap.com``, ``/cryptopanic`` for
``https://cryptopanic.com`` and ``/glassnode`` for ``https://api.glassnode.com``: a client's
base URL is the fake's `RunningFakes.base_url` and every documented path works under it.
The server runs in the caller's event loop, like the fake venue (uvicorn, no signal capture,
prompt stop), with uvicorn's access log off because CryptoPanic keys travel in the query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from adapters.embedded_server import EmbeddedServer, serve_app
from adapters.vendors.fake.base import FakeVendor
from adapters.vendors.fake.coingecko import FakeCoinGecko
from adapters.vendors.fake.coinmarketcap import FakeCoinMarketCap
from adapters.vendors.fake.cryptopanic import FakeCryptoPanic
from adapters.vendors.fake.glassnode import FakeGlassnode
from adapters.vendors.fake.market import MarketData
from domain.errors import InvalidValue

# Keys the fakes accept unless told otherwise: demo strings, obviously not credentials. Give
# them to Lockgate as LOCKGATE_SECRET_<VENDOR>_API_KEY for the demo.
DEMO_API_KEYS: Final[Mapping[str, str]] = MappingProxyType({
    "coingecko": "CG-lockgate-demo-key",
    "coinmarketcap": "lockgate-demo-cmc-key",
    "cryptopanic": "lockgate-demo-cryptopanic-token",
    "glassnode": "lockgate-demo-glassnode-key",
})
VENDORS: Final = ("coingecko", "coinmarketcap", "cryptopanic", "glassnode")


@dataclass(frozen=True, slots=True)
class FakeVendorsConfig:
    """Where the fakes listen and what they serve; ``as_of`` pins their clock (None: now)."""

    host: str = "127.0.0.1"
    port: int = 8790
    data_dir: Path | None = None
    seed: int = 7
    as_of: datetime | None = None
    api_keys: Mapping[str, str] = field(default_factory=lambda: dict(DEMO_API_KEYS))
    news_window: int = 45
    log_level: str = "warning"

    def __post_init__(self) -> None:
        """Refuse a naive ``as_of``, a missing key and a bad port."""
        if self.as_of is not None and self.as_of.tzinfo is None:
            raise InvalidValue("as_of must be timezone-aware")
        missing = [v for v in VENDORS if not self.api_keys.get(v)]
        if missing:
            raise InvalidValue(f"api_keys lacks a key for {', '.join(missing)}")
        if not 0 <= self.port <= 65535:
            raise InvalidValue(f"port out of range: {self.port}")


@dataclass
class RunningFakes:
    """The fakes serving on a real socket: their base URLs, their controls and ``stop``."""

    vendors: dict[str, FakeVendor]
    server: EmbeddedServer

    @property
    def host(self) -> str:
        """Return the address the fakes listen on."""
        return self.server.host

    @property
    def port(self) -> int:
        """Return the port the fakes listen on."""
        return self.server.port

    @property
    def url(self) -> str:
        """Return the server's root URL."""
        return f"http://{self.host}:{self.port}"

    def base_url(self, vendor: str) -> str:
        """Return the base URL that stands for ``vendor``'s real API host."""
        if vendor not in self.vendors:
            raise KeyError(f"no fake for {vendor!r}; fakes: {', '.join(self.vendors)}")
        return f"{self.url}/{vendor}"

    def __getitem__(self, vendor: str) -> FakeVendor:
        return self.vendors[vendor]

    async def stop(self) -> None:
        """Stop serving and close connections."""
        await self.server.stop()


def build_fakes(config: FakeVendorsConfig) -> dict[str, FakeVendor]:
    """Return the four fakes sharing one market."""
    market = MarketData(config.data_dir, config.seed)

    def now() -> datetime:
        return config.as_of if config.as_of is not None else datetime.now(UTC)

    keys = config.api_keys
    return {
        "coingecko": FakeCoinGecko(market, keys["coingecko"], now),
        "coinmarketcap": FakeCoinMarketCap(market, keys["coinmarketcap"], now),
        "cryptopanic": FakeCryptoPanic(market, keys["cryptopanic"], now,
                                       window=config.news_window),
        "glassnode": FakeGlassnode(market, keys["glassnode"], now),
    }


def build_app(vendors: Mapping[str, FakeVendor]) -> Starlette:
    """Return the ASGI app mounting each fake under ``/<vendor>``, with an index at ``/``."""
    async def index(request: Request) -> Response:
        root = str(request.base_url).rstrip("/")
        return JSONResponse({name: f"{root}/{name}" for name in vendors})

    return Starlette(routes=[Route("/", index),
                             *(Mount(f"/{name}", routes=fake.routes())
                               for name, fake in vendors.items())])


async def serve_fakes(config: FakeVendorsConfig | None = None) -> RunningFakes:
    """Start the fakes on ``config.host:config.port`` (0 picks a free port); return them running."""
    config = config or FakeVendorsConfig()
    vendors = build_fakes(config)
    server = await serve_app(build_app(vendors), config.host, config.port,
                             name="fake-vendors-server", log_level=config.log_level)
    return RunningFakes(vendors, server)
