"""Fixtures: the fake vendors on 127.0.0.1 (ephemeral port, clock pinned), metrics, fast configs.

Retries and the rate limit sleep through `RecordingSleep`, which records each delay and yields
without waiting: tests assert on the delays asked for, never on how long anything took.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from adapters.secrets import EnvSecretProvider
from adapters.vendors.fake import DEMO_API_KEYS, FakeVendorsConfig, RunningFakes, serve_fakes
from adapters.vendors.http import Runtime, VendorHttpConfig
from adapters.vendors.metrics import VendorMetrics

# A pinned clock makes every fake answer the same on every run (2018-06-01 lies inside the
# shared candles' range, so prices are real closes).
AS_OF = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)


class RecordingSleep:
    """An ``asyncio.sleep`` stand-in: records each delay, then only yields to the loop."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


class ManualClock:
    """A monotonic clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.delays: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay
        await asyncio.sleep(0)


@pytest.fixture
async def fakes() -> AsyncIterator[RunningFakes]:
    """The four fakes, serving on a free port with their clock pinned at `AS_OF`."""
    running = await serve_fakes(FakeVendorsConfig(port=0, as_of=AS_OF))
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def registry() -> CollectorRegistry:
    """A registry of the test's own."""
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> VendorMetrics:
    """Vendor metrics on the test's registry."""
    return VendorMetrics.create(registry)


@pytest.fixture
def sleeps() -> RecordingSleep:
    """The sleep the clients run on."""
    return RecordingSleep()


@pytest.fixture
def runtime(sleeps: RecordingSleep) -> Runtime:
    """A runtime with recorded sleeps and seeded jitter."""
    return Runtime(sleep=sleeps, rng=random.Random(5))


@pytest.fixture
def demo_secrets() -> EnvSecretProvider:
    """The real environment provider over a mapping holding the fakes' demo keys."""
    return EnvSecretProvider(environ={
        f"LOCKGATE_SECRET_{vendor.upper()}_API_KEY": key for vendor, key in DEMO_API_KEYS.items()})


def fast(base_url: str, **overrides: Any) -> VendorHttpConfig:
    """Return an HTTP config for tests: no throttling to speak of, short timeouts."""
    settings: dict[str, Any] = {"rate_per_second": 1000.0, "burst": 1000, "timeout_s": 2.0,
                                "max_attempts": 4, "backoff_base_s": 0.5} | overrides
    return VendorHttpConfig(base_url, **settings)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """Return a metric sample's value (0 when never incremented)."""
    return registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def closed_port() -> int:
    """Return a local port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
