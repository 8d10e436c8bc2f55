"""API keys never reach a log line, an exception (message, repr, traceback) or a repr.

Every vendor is driven through failures (refused key, exhausted retries, a payload error, an
unreachable host, a timeout) and through successes (CryptoPanic echoes its key in ``next``)
with every logger at DEBUG, httpx's and httpcore's included.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from adapters.secrets import Secret
from adapters.vendors import (
    CoinGeckoClient,
    CoinGeckoConfig,
    CoinMarketCapClient,
    CoinMarketCapConfig,
    CryptoPanicClient,
    CryptoPanicConfig,
    GlassnodeClient,
    GlassnodeConfig,
    VendorError,
)
from adapters.vendors.fake import FakeVendorsConfig, RunningFakes, serve_fakes
from adapters.vendors.http import Runtime
from adapters.vendors.metrics import VendorMetrics
from tests.adapters.vendors.conftest import AS_OF, fast

KEYS = {vendor: f"LEAK-{vendor}-7f3a9c51d2" for vendor in (
    "coingecko", "coinmarketcap", "cryptopanic", "glassnode")}
Client = CoinGeckoClient | CoinMarketCapClient | CryptoPanicClient | GlassnodeClient
Call = Callable[[Any], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "coingecko": lambda c: c.prices(["BTC"]),
    "coinmarketcap": lambda c: c.prices(["BTC"]),
    "cryptopanic": lambda c: c.posts(),
    "glassnode": lambda c: c.series("indicators/sopr", "BTC"),
}


@pytest.fixture
async def keyed_fakes() -> AsyncIterator[RunningFakes]:
    """Fakes that accept the leak-check keys."""
    running = await serve_fakes(FakeVendorsConfig(port=0, as_of=AS_OF, api_keys=KEYS))
    try:
        yield running
    finally:
        await running.stop()


def make(vendor: str, base_url: str, key: str, metrics: VendorMetrics, runtime: Runtime,
         **http: Any) -> Client:
    config = fast(base_url, **http)
    secret = Secret(key)
    if vendor == "coingecko":
        return CoinGeckoClient(CoinGeckoConfig(http=config), api_key=secret, metrics=metrics,
                               runtime=runtime)
    if vendor == "coinmarketcap":
        return CoinMarketCapClient(secret, CoinMarketCapConfig(http=config), metrics=metrics,
                                   runtime=runtime)
    if vendor == "cryptopanic":
        return CryptoPanicClient(secret, CryptoPanicConfig(http=config), metrics=metrics,
                                 runtime=runtime)
    return GlassnodeClient(secret, GlassnodeConfig(http=config), metrics=metrics,
                           runtime=runtime)


def everything_said(caplog: pytest.LogCaptureFixture, *errors: BaseException) -> str:
    """Return all log text and every rendering of the errors, tracebacks and chains included."""
    parts = [caplog.text, *(r.getMessage() for r in caplog.records)]
    for error in errors:
        parts += [str(error), repr(error), repr(error.args),
                  "".join(traceback.format_exception(error))]
    return "\n".join(parts)


@pytest.mark.parametrize("vendor", sorted(KEYS))
async def test_failures_never_show_the_key(
    vendor: str, keyed_fakes: RunningFakes, fakes: RunningFakes, metrics: VendorMetrics,
    runtime: Runtime, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture,
    closed_port: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    key, call = KEYS[vendor], CALLS[vendor]
    errors: list[BaseException] = []

    async def failing(client: Client) -> None:
        async with client:
            with pytest.raises(VendorError) as caught:
                await call(client)
        errors.append(caught.value)

    # Refused key: ``fakes`` accepts only the demo keys.
    await failing(make(vendor, fakes.base_url(vendor), key, metrics, runtime))
    # Retries exhausted on 5xx and on 429.
    keyed_fakes[vendor].faults.server_error(3)
    await failing(make(vendor, keyed_fakes.base_url(vendor), key, metrics, runtime,
                       max_attempts=3))
    keyed_fakes[vendor].faults.rate_limit(2, retry_after="1")
    await failing(make(vendor, keyed_fakes.base_url(vendor), key, metrics, runtime,
                       max_attempts=2))
    # A refused payload, and a timeout then an unreachable host.
    keyed_fakes[vendor].faults.malformed()
    await failing(make(vendor, keyed_fakes.base_url(vendor), key, metrics, runtime))
    keyed_fakes[vendor].faults.stall(5.0, n=2)
    await failing(make(vendor, keyed_fakes.base_url(vendor), key, metrics, runtime,
                       timeout_s=0.1, max_attempts=2))
    await failing(make(vendor, f"http://127.0.0.1:{closed_port}", key, metrics, runtime,
                       max_attempts=2))
    client = make(vendor, keyed_fakes.base_url(vendor), key, metrics, runtime)
    await client.aclose()

    said = everything_said(caplog, *errors) + repr(client) + generate_latest(registry).decode()
    assert len(errors) == 6
    assert "HTTP Request: GET" in caplog.text  # httpx's own request lines were captured too
    assert key not in said
    assert key not in repr(keyed_fakes[vendor].requests)


async def test_cryptopanic_pages_through_next_links_that_echo_the_key_without_showing_it(
    keyed_fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = KEYS["cryptopanic"]
    keyed_fakes["cryptopanic"].faults.wrong_type(2)  # dropped items are logged with detail

    config = CryptoPanicConfig(http=fast(keyed_fakes.base_url("cryptopanic")))
    async with CryptoPanicClient(Secret(key), config, metrics=metrics, runtime=runtime) as panic:
        fetched = await panic.posts()

    assert len(fetched.items) == 43
    assert "HTTP Request: GET" in caplog.text  # httpx did log each request URL...
    assert "auth_token=" not in caplog.text  # ...but never with the key on it
    assert key not in everything_said(caplog)
